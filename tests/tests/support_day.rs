//! The support day in the browser: an administrator sets a number's hours and adds an
//! auto-reply rule from the console; a customer's question is answered by the relay with no one
//! replying, and the conversation shows the answer marked as automatic. Headless Chromium
//! against the relay and the sandbox over real HTTP.

use std::collections::HashMap;
use std::time::Duration;

use fantoccini::{Client, Locator};
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::demo::{self, ADMIN_EMAIL};
use switchboard_shared::access::Scope;
use switchboard_tests::{eventually, fill, open_signed_in, screenshot, wait_for, wait_for_text, Driver};

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

/// A signed-in user of the relay's API (the tests' own setup and checks; people use the console).
struct Api {
    http: reqwest::Client,
    base: String,
    cookie: String,
}

impl Api {
    async fn sign_in(base: &str, email: &str) -> Api {
        let http = reqwest::Client::new();
        let r = http
            .post(format!("{base}/api/v1/session"))
            .header("x-requested-with", "switchboard")
            .json(&json!({"email": email, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{email} signs in");
        let cookie = r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        Api { http, base: base.to_owned(), cookie }
    }

    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-requested-with", "switchboard");
        if let Some(body) = body {
            request = request.json(&body);
        }
        let r = request.send().await.unwrap();
        let status = r.status();
        let text = r.text().await.unwrap();
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Opens this user's console event stream: they are on duty while it is held.
    async fn on_duty(&self) -> reqwest::Response {
        let r = self.http.get(format!("{}/api/v1/events", self.base)).header("cookie", &self.cookie).send().await.unwrap();
        assert_eq!(r.status(), 200);
        r
    }

    /// Open conversations per agent id, and the agent of `customer`.
    async fn loads(&self, customer: &str) -> (HashMap<i64, usize>, Option<i64>) {
        let inbox = self.call(reqwest::Method::GET, "/api/v1/conversations", None).await;
        let mut loads = HashMap::new();
        let mut theirs = None;
        for c in inbox["conversations"].as_array().unwrap() {
            if let (Some(a), Some("open")) = (c["assigned_to"].as_i64(), c["status"].as_str()) {
                *loads.entry(a).or_default() += 1;
            }
            if c["contact"] == customer {
                theirs = c["assigned_to"].as_i64();
            }
        }
        (loads, theirs)
    }
}

/// The issue's story, with the relay's clock set: a customer writes at 20:00 and is told at once
/// that agent #103 will help after 09:00; 49 more write during the night; at 09:00 the fifty go
/// 10/10/10/10/10 to the five agents on duty, the reserved customer to #103, who opens that
/// conversation in the console with its history, answers with `/hours` and leaves a note
/// mentioning the administrator, who sees it live. Then an agent closes their console and
/// theirs go to the others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_night_is_shared_at_nine_and_agent_103_answers_with_a_canned_reply_and_a_note() {
    use reqwest::Method;
    let dir = tempfile::tempdir().unwrap();
    let demo = switchboard_tests::start_demo(dir.path(), PASSWORD, |c| c.away_grace_secs = Some(1)).await;
    let number = demo::demo_numbers()[0].id.clone();
    let base = demo.relay.url();
    let admin = Api::sign_in(&base, ADMIN_EMAIL).await;

    // Open every day 09:00–18:00 in Taipei, least-open; the away message names the agent.
    let every_day: Vec<Value> = (0..7).map(|_| json!([{"open": "09:00", "close": "18:00"}])).collect();
    admin
        .call(
            Method::PUT,
            &format!("/api/v1/numbers/{number}/support"),
            Some(json!({"hours": {"week": every_day}, "assignment": "least_open"})),
        )
        .await;
    let away = json!({"name": "Away", "trigger": {"type": "away"}, "lang": "en",
                      "answer": {"type": "text", "text": "We have your message — agent {agent} will help you after {opens_at}."}});
    let rule = admin.call(Method::POST, "/api/v1/auto-replies", Some(away)).await;

    // The team facing customers: the demo's agent #103 and four colleagues; the supervisor takes
    // no conversations today (no code).
    let agents = admin.call(Method::GET, "/api/v1/agents", None).await;
    let id_of =
        |agents: &Value, email: &str| agents.as_array().unwrap().iter().find(|a| a["email"] == email).unwrap()["id"].as_i64().unwrap();
    let supervisor = id_of(&agents, "supervisor@example.com");
    admin.call(Method::PATCH, &format!("/api/v1/agents/{supervisor}"), Some(json!({"code": ""}))).await;
    let mut team = Vec::new();
    for code in [102, 104, 105, 106] {
        let email = format!("agent{code}@example.com");
        auth::upsert_user(&demo.relay.state, &email, &format!("Agent {code}"), PASSWORD, "Agent", &Scope::All).await.unwrap();
        let id = id_of(&admin.call(Method::GET, "/api/v1/agents", None).await, &email);
        admin.call(Method::PATCH, &format!("/api/v1/agents/{id}"), Some(json!({"code": code.to_string()}))).await;
        team.push((id, Api::sign_in(&base, &email).await));
    }
    let agent_103 = id_of(&agents, "agent@example.com");

    // The next 20:00 in Taipei (UTC+8, no daylight saving): less than a day from now, so the
    // customer's message is inside WhatsApp's 24-hour window for the away message.
    let now = demo.relay.state.clock.now_ms();
    let noon_utc = now / 86_400_000 * 86_400_000 + 12 * 3_600_000;
    let evening = if noon_utc > now { noon_utc } else { noon_utc + 86_400_000 };
    demo.relay.state.clock.set(evening);
    let first = "85291230103";
    demo.sandbox.customer_writes(&number, first, "張小姐", "你好，我的訂單 HB-12345 還未收到");
    eventually("the away message", || async { demo.sandbox.ledger().iter().any(|e| e.to == first) }).await;
    let reply: Vec<String> = demo.sandbox.ledger().into_iter().filter(|e| e.to == first).map(|e| e.summary).collect();
    assert_eq!(reply, ["We have your message — agent #103 will help you after 09:00 tomorrow."]);
    assert_eq!(admin.loads(first).await.1, Some(agent_103), "the conversation is reserved for the agent the message named");

    // 49 more write during the night (the away message off, so nothing else is reserved).
    let mut spec = rule.clone();
    spec["enabled"] = json!(false);
    admin.call(Method::PUT, &format!("/api/v1/auto-replies/{}", rule["id"]), Some(spec)).await;
    for i in 1..50 {
        demo.sandbox.customer_writes(&number, &format!("852912{:05}", i), &format!("Customer {i}"), "有人嗎？");
    }
    eventually("fifty waiting", || async {
        admin.call(Method::GET, "/api/v1/conversations", None).await["conversations"].as_array().unwrap().len() == 50
    })
    .await;

    // Five agents on duty: #103 in the console, four with theirs open elsewhere.
    let driver = Driver::start().await.unwrap();
    let c = driver.browser(1280, 1000).await.unwrap();
    open_signed_in(&c, &base, "agent@example.com", PASSWORD, "/inbox").await.unwrap();
    wait_for(&c, ".conn[data-state=live]").await.unwrap();
    let mut streams = Vec::new();
    for (_, api) in &team {
        streams.push(api.on_duty().await);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(admin.loads(first).await.0.values().sum::<usize>(), 1, "nothing moves before the opening");

    // 09:00: ten each, the reserved customer with #103.
    demo.relay.state.clock.set(evening + 13 * 3_600_000);
    eventually("all fifty assigned", || async { admin.loads(first).await.0.values().sum::<usize>() == 50 }).await;
    let (loads, theirs) = admin.loads(first).await;
    assert_eq!(theirs, Some(agent_103));
    let mut counts: Vec<usize> = loads.values().copied().collect();
    counts.sort_unstable();
    assert_eq!(counts, [10, 10, 10, 10, 10], "{loads:?}");
    wait_for_text(&c, "#view-mine .count", "10").await.unwrap();
    screenshot(&c, "inbox-mine-at-nine").await.unwrap();

    // #103 finds the customer, sees the whole history, and answers with /hours.
    c.find(Locator::Css("#view-mine")).await.unwrap().click().await.unwrap();
    fill(&c, "#inbox-search", "張小姐").await.unwrap();
    wait_for_text(&c, "#conversations .conversation-row", "張小姐").await.unwrap();
    eventually("the search leaves one row", || async {
        c.find_all(Locator::Css("#conversations .conversation-row")).await.map(|rows| rows.len() == 1).unwrap_or(false)
    })
    .await;
    c.find(Locator::Css("#conversations .conversation-row a")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#conversation-name", "張小姐").await.unwrap();
    wait_for(&c, "#view-mine.active").await.expect("the list keeps the view chosen when a conversation opens");
    wait_for_text(&c, ".bubble.in .body", "HB-12345").await.unwrap();
    wait_for_text(&c, ".bubble.auto .body", "agent #103 will help you").await.unwrap();
    wait_for(&c, "#reply-text").await.unwrap().send_keys("/hou").await.unwrap();
    wait_for_text(&c, "#suggestions .suggestion", "/hours").await.unwrap();
    screenshot(&c, "composer-canned").await.unwrap();
    c.find(Locator::Css("#suggestions .suggestion")).await.unwrap().click().await.unwrap();
    let inserted = c.execute("return document.querySelector('#reply-text').value", vec![]).await.unwrap();
    assert_eq!(inserted.as_str(), Some("張小姐你好！我們星期一至六 09:00–18:00 營業，星期日及公眾假期休息。"), "placeholders filled");
    c.find(Locator::Css("#send")).await.unwrap().click().await.unwrap();
    eventually("the canned reply sent", || async { demo.sandbox.ledger().iter().filter(|e| e.to == first).count() == 2 }).await;

    // A note for the administrator, who has the console open elsewhere and sees it live.
    let c_admin = driver.browser(1280, 900).await.unwrap();
    open_signed_in(&c_admin, &base, ADMIN_EMAIL, PASSWORD, "/inbox").await.unwrap();
    wait_for(&c_admin, ".conn[data-state=live]").await.unwrap();
    c.find(Locator::Css("#mode-note")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#reply-text")).await.unwrap().send_keys("@Adm").await.unwrap();
    wait_for_text(&c, "#suggestions .suggestion", "@Admin").await.unwrap();
    c.find(Locator::Css("#suggestions .suggestion")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#reply-text")).await.unwrap().send_keys("請幫忙查一下 HB-12345 的物流").await.unwrap();
    c.find(Locator::Css("#send")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, ".note", "請幫忙查一下").await.unwrap();
    screenshot(&c, "conversation-note").await.unwrap();
    wait_for_text(&c_admin, "#mention-toast", "請幫忙查一下 HB-12345").await.unwrap();
    screenshot(&c_admin, "mention-toast").await.unwrap();
    assert_eq!(demo.sandbox.ledger().iter().filter(|e| e.to == first).count(), 2, "a note never reaches the customer");
    // The same two pages in Traditional Chinese.
    c.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#mode-note", "內部備註").await.unwrap();
    wait_for_text(&c, "#view-mine", "我的").await.unwrap();
    screenshot(&c, "conversation-note-zh").await.unwrap();
    c_admin.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();
    wait_for_text(&c_admin, "#mention-toast", "提及了你").await.unwrap();
    screenshot(&c_admin, "mention-toast-zh").await.unwrap();

    // #104 closes their console: after the grace period their ten go to the four still on duty.
    let leaving = team[1].0;
    drop(streams.remove(1));
    eventually("#104's released", || async { !admin.loads(first).await.0.contains_key(&leaving) }).await;
    let (after, _) = admin.loads(first).await;
    assert_eq!(after.values().sum::<usize>(), 50, "nothing of theirs is left waiting: {after:?}");
    assert!(after.values().all(|n| (12..=13).contains(n)), "shared among four: {after:?}");
    c_admin.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();
    // From the inbox the supervisor moves two of #105's conversations to #103 at once (the bulk
    // bar is a chunk of its own, fetched when the inbox first shows it).
    let giver = team[2].0;
    let listed = admin.call(Method::GET, "/api/v1/conversations", None).await;
    let moving: Vec<i64> = listed["conversations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["assigned_to"] == giver && c["status"] == "open")
        .take(2)
        .map(|c| c["id"].as_i64().unwrap())
        .collect();
    assert_eq!(moving.len(), 2, "#105 has conversations: {listed}");
    let (before, _) = admin.loads(first).await;
    for id in &moving {
        // The list may draw its rows again while it catches up with the stream: tick the box
        // on the row as it is now, until it is ticked.
        let css = format!("li[data-conversation='{id}'] .row-check");
        eventually("the row is ticked", || async {
            let Ok(check) = c_admin.find(Locator::Css(&css)).await else { return false };
            if check.is_selected().await.unwrap_or(false) {
                return true;
            }
            let _ = check.click().await;
            false
        })
        .await;
    }
    wait_for_text(&c_admin, "#bulk-count", "2 selected").await.unwrap();
    wait_for(&c_admin, &format!("#bulk-agent option[value='{agent_103}']")).await.unwrap();
    c_admin.find(Locator::Css("#bulk-agent")).await.unwrap().select_by_value(&agent_103.to_string()).await.unwrap();
    screenshot(&c_admin, "inbox-bulk").await.unwrap();
    c_admin.find(Locator::Css("#bulk-move")).await.unwrap().click().await.unwrap();
    wait_for_text(&c_admin, "#bulk-done", "2 conversations moved").await.unwrap();
    for id in &moving {
        wait_for(&c_admin, &format!("li[data-conversation='{id}'][data-assigned='{agent_103}']")).await.unwrap();
    }
    let (moved, _) = admin.loads(first).await;
    let load = |loads: &HashMap<i64, usize>, agent: i64| loads.get(&agent).copied().unwrap_or(0);
    assert_eq!(
        (load(&moved, giver), load(&moved, agent_103)),
        (load(&before, giver) - 2, load(&before, agent_103) + 2),
        "{before:?} → {moved:?}"
    );
    // The administrator's Agents page says who is on duty: #103 online, #104 gone.
    c_admin.goto(&format!("{base}/agents")).await.unwrap();
    wait_for(&c_admin, &format!("tr[data-agent='{agent_103}'] .agent-presence[data-presence=online]")).await.unwrap();
    wait_for(&c_admin, &format!("tr[data-agent='{leaving}'] .agent-presence[data-presence=offline]")).await.unwrap();
    screenshot(&c_admin, "agents-on-duty").await.unwrap();

    // Two agents at once get a capacity of 20, in one change.
    for (id, _) in &team[2..] {
        c_admin.find(Locator::Css(&format!("tr[data-agent='{id}'] .agent-pick"))).await.unwrap().click().await.unwrap();
    }
    wait_for_text(&c_admin, "#agents-bulk-count", "2 selected").await.unwrap();
    fill(&c_admin, "#agents-bulk-capacity", "20").await.unwrap();
    screenshot(&c_admin, "agents-bulk").await.unwrap();
    c_admin.find(Locator::Css("#agents-bulk-apply")).await.unwrap().click().await.unwrap();
    wait_for_text(&c_admin, "#agents-bulk-done", "2 agents changed").await.unwrap();
    let listed = admin.call(Method::GET, "/api/v1/agents", None).await;
    let capacities: Vec<Option<i64>> =
        team.iter().map(|(id, _)| listed.as_array().unwrap().iter().find(|a| a["id"] == *id).unwrap()["capacity"].as_i64()).collect();
    assert_eq!(capacities, [None, None, Some(20), Some(20)]);
    // And the same two work on the first number only, in one change.
    for (id, _) in &team[2..] {
        c_admin.find(Locator::Css(&format!("tr[data-agent='{id}'] .agent-pick"))).await.unwrap().click().await.unwrap();
    }
    c_admin.find(Locator::Css("#agents-bulk-numbers")).await.unwrap().click().await.unwrap();
    wait_for(&c_admin, "#agents-bulk-scope input[type=radio]").await.unwrap();
    let radios = c_admin.find_all(Locator::Css("#agents-bulk-scope input[type=radio]")).await.unwrap();
    radios[1].click().await.unwrap();
    c_admin.find(Locator::Css(&format!("#agents-bulk-scope input[data-number='{number}']"))).await.unwrap().click().await.unwrap();
    c_admin.find(Locator::Css("#agents-bulk-scope-apply")).await.unwrap().click().await.unwrap();
    wait_for_text(&c_admin, "#agents-bulk-done", "2 agents changed").await.unwrap();
    let listed = admin.call(Method::GET, "/api/v1/agents", None).await;
    let scopes: Vec<Value> =
        team.iter().map(|(id, _)| listed.as_array().unwrap().iter().find(|a| a["id"] == *id).unwrap()["scope"].clone()).collect();
    assert_eq!(
        scopes[2..],
        [json!({"kind": "numbers", "numbers": [number.clone()]}), json!({"kind": "numbers", "numbers": [number.clone()]})]
    );

    c_admin.close().await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_sees_the_customers_photo_and_sends_the_price_list_as_a_pdf() {
    use switchboard_sandbox::media::{PARCEL_JPG, PRICE_LIST_PDF};
    use switchboard_sandbox::Sample;
    let dir = tempfile::tempdir().unwrap();
    let demo = switchboard_tests::start_demo(dir.path(), PASSWORD, |_| {}).await;
    let number = demo::demo_numbers()[0].id.clone();
    let driver = Driver::start().await.unwrap();
    let c = driver.browser(1280, 900).await.unwrap();
    let base = demo.relay.url();
    open_signed_in(&c, &base, ADMIN_EMAIL, PASSWORD, "/inbox").await.unwrap();

    // A customer writes, then sends a photo of their parcel and where they are.
    demo.sandbox.customer_writes(&number, "85291230001", "黃小華", "我的包裹到了");
    demo.sandbox.customer_sends(&number, "85291230001", "黃小華", Sample::Photo);
    wait_for_text(&c, "#conversations .conversation-row", "📷 包裹到了").await.unwrap();
    c.find(Locator::Css("#conversations .conversation-row a")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#conversation-name", "黃小華").await.unwrap();
    // The photo is fetched from WhatsApp and shown, with its caption.
    wait_for(&c, ".bubble.in .attachment.image img").await.unwrap();
    wait_for_text(&c, ".bubble.in .caption", "角落壓壞了").await.unwrap();
    eventually("the photo drawn at its size", || async {
        let width =
            c.execute("const i = document.querySelector('.attachment.image img'); return i && i.complete ? i.naturalWidth : 0", vec![]);
        width.await.ok().and_then(|w| w.as_i64()) == Some(480)
    })
    .await;
    // A voice note whose first download fails: the open conversation says it is on its way,
    // then plays it once the retry brings it (the stream's attachment event, no reload).
    demo.sandbox.fail_downloads(1);
    demo.sandbox.customer_sends(&number, "85291230001", "黃小華", Sample::Voice);
    wait_for(&c, ".bubble.in .attachment.pending").await.unwrap();
    wait_for(&c, ".bubble.in .attachment.audio audio").await.unwrap();
    assert!(c.find_all(Locator::Css(".bubble.in .attachment.pending")).await.unwrap().is_empty(), "the waiting note is replaced");
    demo.sandbox.customer_sends(&number, "85291230001", "黃小華", Sample::Location);
    wait_for_text(&c, ".bubble.in .attachment.location", "Star Ferry").await.unwrap();
    let map = c.find(Locator::Css(".bubble.in .attachment.location")).await.unwrap().attr("href").await.unwrap().unwrap();
    assert!(map.starts_with("https://www.openstreetmap.org/?mlat=22.297700&mlon=114.172200"), "{map}");

    // A file WhatsApp does not take is refused in the page, before anything is sent.
    let files = tempfile::tempdir().unwrap();
    let page = files.path().join("notes.html");
    std::fs::write(&page, "<html></html>").unwrap();
    wait_for(&c, "#attach-file").await.unwrap().send_keys(page.to_str().unwrap()).await.unwrap();
    wait_for_text(&c, ".composer .error", "does not accept").await.unwrap();
    assert!(c.find(Locator::Css("#attached")).await.is_err(), "nothing attached");

    // The price list as a PDF, with a caption: attached, sent once, shown as a document.
    let pdf = files.path().join("price-list.pdf");
    std::fs::write(&pdf, PRICE_LIST_PDF).unwrap();
    c.find(Locator::Css("#attach-file")).await.unwrap().send_keys(pdf.to_str().unwrap()).await.unwrap();
    wait_for_text(&c, "#attached .filename", "price-list.pdf").await.unwrap();
    assert!(c.find(Locator::Css(".composer .error")).await.is_err(), "the refusal is gone");
    wait_for(&c, "#reply-text").await.unwrap().send_keys("這是最新價目表").await.unwrap();
    screenshot(&c, "conversation-media").await.unwrap();
    c.find(Locator::Css("#send")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, ".bubble.out .attachment.document .filename", "price-list.pdf").await.unwrap();
    wait_for_text(&c, ".bubble.out .caption", "這是最新價目表").await.unwrap();
    wait_for(&c, ".bubble.out .ticks[data-status=read]").await.unwrap();
    assert!(c.find(Locator::Css("#attached")).await.is_err(), "the composer is empty again");
    wait_for_text(&c, "#conversations .conversation-row .preview", "📄 這是最新價目表").await.unwrap();
    let sent: Vec<_> = demo.sandbox.ledger().into_iter().filter(|e| e.kind == "document").collect();
    assert_eq!(sent.len(), 1, "sent exactly once: {sent:#?}");
    let uploaded = demo.sandbox.media(sent[0].media_id.as_deref().unwrap()).unwrap();
    assert_eq!(uploaded.bytes, PRICE_LIST_PDF, "the customer gets the very file");
    assert_eq!(sent[0].summary, "[document] 這是最新價目表");
    // The photo's bytes are what the customer sent.
    let src = c.find(Locator::Css(".attachment.image img")).await.unwrap().attr("src").await.unwrap().unwrap();
    let got = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch(arguments[0]).then((r) => r.arrayBuffer()).then((b) => done(b.byteLength)).catch((e) => done(String(e)));",
            vec![src.into()],
        )
        .await
        .unwrap();
    assert_eq!(got.as_u64(), Some(PARCEL_JPG.len() as u64));

    // In Traditional Chinese.
    c.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, ".bubble.in .attachment.location", "在地圖中開啟").await.unwrap();
    screenshot(&c, "conversation-media-zh-hant").await.unwrap();
    // On a phone the photo and the document fit the screen.
    c.set_window_size(390, 844).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let overflow = c.execute("return document.documentElement.scrollWidth - document.documentElement.clientWidth", vec![]).await.unwrap();
    assert_eq!(overflow.as_i64(), Some(0), "no sideways scrolling on a phone");
    screenshot(&c, "conversation-media-phone").await.unwrap();
    c.set_window_size(1280, 900).await.unwrap();
    c.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();

    // A customer who last wrote three days ago: only a template may go, filled in and previewed.
    let three_days_ago = (std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() - 3 * 86_400).to_string();
    let body = serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "210000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "85255500101", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Lam Mei Ling"}, "wa_id": "85291230002"}],
            "messages": [{"from": "85291230002", "id": "wamid.THREEDAYS", "timestamp": three_days_ago, "type": "text",
                          "text": {"body": "Is my order ready?"}}]
        }}]}]
    }))
    .unwrap();
    let secret = switchboard_sandbox::SandboxConfig::default().app_secret;
    let r = reqwest::Client::new()
        .post(format!("{base}/webhooks/whatsapp"))
        .header("x-hub-signature-256", switchboard_shared::signature::sign(secret.as_bytes(), &body))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    c.goto(&format!("{base}/inbox")).await.unwrap();
    wait_for_text(&c, "#conversations .conversation-row", "Is my order ready?").await.unwrap();
    c.find(Locator::XPath("//li[contains(@class,'conversation-row')][contains(., 'Is my order ready?')]//a"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    wait_for(&c, "#window-closed").await.unwrap();
    wait_for(&c, "#template-pick option[value='0']").await.unwrap();
    let picked = c
        .execute(
            "const s = document.querySelector('#template-pick');
             const o = [...s.options].find((o) => o.textContent.startsWith('order_update'));
             if (!o) return [...s.options].map((o) => o.textContent).join('|');
             s.value = o.value; s.dispatchEvent(new Event('change', {bubbles: true})); return 'ok';",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(picked, "ok", "order_update offered");
    let offered: Vec<String> = {
        let mut names = Vec::new();
        for o in c.find_all(Locator::Css("#template-pick option")).await.unwrap() {
            names.push(o.text().await.unwrap());
        }
        names
    };
    assert!(
        !offered.iter().any(|n| n.starts_with("spring_sale") || n.starts_with("daily_pick")),
        "pending and photo-header templates are not offered: {offered:?}"
    );
    let params = c.find_all(Locator::Css(".template-param")).await.unwrap();
    assert_eq!(params.len(), 2);
    params[0].send_keys("Mei Ling").await.unwrap();
    params[1].send_keys("A-1024").await.unwrap();
    wait_for_text(&c, "#template-preview", "Hi Mei Ling, your order A-1024 is on its way.").await.unwrap();
    screenshot(&c, "conversation-template").await.unwrap();
    c.find(Locator::Css("#send-template")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, ".bubble.out .body", "your order A-1024 is on its way").await.unwrap();
    eventually("the template in the ledger", || async {
        demo.sandbox.ledger().iter().filter(|e| e.kind == "template" && e.to == "85291230002").count() == 1
    })
    .await;
    c.close().await.unwrap();
}
