//! The support day in the browser: an administrator sets a number's hours and adds an
//! auto-reply rule from the console; a customer's question is answered by the relay with no one
//! replying, and the conversation shows the answer marked as automatic. Headless Chromium
//! against the relay and the sandbox over real HTTP.

use std::time::Duration;

use fantoccini::{Client, Locator};
use switchboard_relay::demo::{self, ADMIN_EMAIL};
use switchboard_tests::{fill, open_signed_in, screenshot, wait_for, wait_for_text, Driver};

const PASSWORD: &str = "e2e-password-1";

/// Sets an input's value as a person choosing it would (a time input's keys depend on the
/// browser's locale), telling the page with an `input` event.
async fn choose(c: &Client, css: &str, value: &str) {
    wait_for(c, css).await.unwrap();
    let script =
        "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true}));";
    c.execute(script, vec![css.into(), value.into()]).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_sets_hours_and_a_rule_that_answers_a_customer_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let demo = switchboard_tests::start_demo(dir.path(), PASSWORD, |_| {}).await;
    let number = demo::demo_numbers()[0].id.clone();
    let driver = Driver::start().await.unwrap();
    let c = driver.browser(1280, 1000).await.unwrap();
    let base = demo.relay.url();
    open_signed_in(&c, &base, ADMIN_EMAIL, PASSWORD, "/auto-replies").await.unwrap();

    // The demo's hours are loaded: Monday to Saturday, Sunday closed; no rules yet.
    wait_for(&c, "#hours tr[data-day=mon] .day-open:checked").await.unwrap();
    wait_for_text(&c, "#rules .empty", "No auto-replies yet").await.unwrap();
    screenshot(&c, "auto-replies-empty").await.unwrap();

    // Open on Sundays too, 10:00 to 16:00.
    c.find(Locator::Css("#hours tr[data-day=sun] .day-open")).await.unwrap().click().await.unwrap();
    choose(&c, "#hours tr[data-day=sun] .day-from", "10:00").await;
    choose(&c, "#hours tr[data-day=sun] .day-until", "16:00").await;
    c.find(Locator::Css("#save-hours")).await.unwrap().click().await.unwrap();
    wait_for(&c, "#hours-saved").await.unwrap();
    let script = "return fetch('/api/v1/numbers/' + arguments[0] + '/support').then(r => r.text())";
    let settings = c.execute(script, vec![number.clone().into()]).await.unwrap().as_str().unwrap_or_default().to_owned();
    assert!(settings.contains(r#"[{"open":"10:00","close":"16:00"}]"#), "Sunday saved: {settings}");

    // A closing time before the opening is refused with the reason, and nothing changes.
    choose(&c, "#hours tr[data-day=sun] .day-until", "09:00").await;
    c.find(Locator::Css("#save-hours")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#hours-error", "closes before it opens").await.unwrap();

    // A keyword rule, written in the form.
    c.find(Locator::Css("#new-rule summary")).await.unwrap().click().await.unwrap();
    fill(&c, "#rule-name", "Opening hours 營業時間").await.unwrap();
    fill(&c, "#rule-words", "hours, 營業時間").await.unwrap();
    fill(&c, "#rule-text", "我們星期一至六 09:00–18:00 營業。").await.unwrap();
    screenshot(&c, "auto-replies-new-rule").await.unwrap();
    c.find(Locator::Css("#save-rule")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#rules .rule-name", "Opening hours 營業時間").await.unwrap();

    // A customer asks; the relay answers at once, and the console marks the answer automatic.
    demo.sandbox.customer_writes(&number, "85291230001", "黃先生", "請問營業時間？");
    for _ in 0..100 {
        if demo.sandbox.ledger().iter().any(|e| e.to == "85291230001") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answers: Vec<String> = demo.sandbox.ledger().into_iter().filter(|e| e.to == "85291230001").map(|e| e.summary).collect();
    assert_eq!(answers, ["我們星期一至六 09:00–18:00 營業。"]);
    c.goto(&format!("{base}/inbox")).await.unwrap();
    wait_for_text(&c, "#conversations .conversation-row", "黃先生").await.unwrap();
    c.find(Locator::Css("#conversations .conversation-row a")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, ".bubble.auto .auto-label", "Opening hours 營業時間").await.unwrap();
    screenshot(&c, "conversation-auto-reply").await.unwrap();

    // The page in Traditional Chinese, with the rule counted.
    c.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();
    c.goto(&format!("{base}/auto-replies")).await.unwrap();
    wait_for_text(&c, "#automation h1", "自動回覆").await.unwrap();
    wait_for_text(&c, "#rules", "已回覆 1 次").await.unwrap();
    screenshot(&c, "auto-replies-zh").await.unwrap();
}
