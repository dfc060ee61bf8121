//! End to end: the relay and the sandbox over real HTTP with signed webhooks, SQLite, and the
//! console in headless Chromium.

use std::time::Duration;

use fantoccini::Locator;
use switchboard_relay::demo::{self, ADMIN_EMAIL};
use switchboard_tests::{screenshot, sign_in, wait_for, wait_for_text, Driver};

const PASSWORD: &str = "e2e-password-1";

async fn start_demo(dir: &std::path::Path) -> demo::Demo {
    switchboard_tests::start_demo(dir, PASSWORD, |_| {}).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agent_sees_a_message_arrive_live_replies_and_watches_the_ticks_reach_read() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_demo(dir.path()).await;
    let driver = Driver::start().await.unwrap();
    let c = driver.browser(1280, 860).await.unwrap();
    let base = demo.relay.url();

    // Sign in; a wrong password first shows a clear error.
    c.goto(&format!("{base}/inbox")).await.unwrap();
    sign_in(&c, ADMIN_EMAIL, "wrong").await.unwrap();
    wait_for_text(&c, ".error", "do not match").await.unwrap();
    sign_in(&c, ADMIN_EMAIL, PASSWORD).await.unwrap();
    wait_for_text(&c, ".empty", "No conversations yet").await.unwrap();
    wait_for(&c, ".conn[data-state=live]").await.unwrap();

    // A customer writes; the message appears without a reload.
    let number = &demo::demo_numbers()[0];
    demo.sandbox.customer_writes(&number.id, "85291234567", "陳美玲", "請問今天有營業嗎？");
    wait_for_text(&c, "#conversations .conversation-row", "請問今天有營業嗎？").await.unwrap();
    wait_for_text(&c, "#unread-total", "1").await.unwrap();
    screenshot(&c, "inbox-live").await.unwrap();

    // Open it and reply.
    c.find(Locator::Css("#conversations .conversation-row a")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#conversation-name", "陳美玲").await.unwrap();
    wait_for(&c, "#reply-text").await.unwrap().send_keys("有的，營業到晚上九點。").await.unwrap();
    c.find(Locator::Css("#send")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, ".bubble.out .body", "營業到晚上九點").await.unwrap();
    // Ticks move live: pending or sent first, then read.
    wait_for(&c, ".bubble.out .ticks[data-status=read]").await.unwrap();
    screenshot(&c, "conversation-read").await.unwrap();
    let ledger = demo.sandbox.ledger();
    assert_eq!(ledger.len(), 1, "sent exactly once: {ledger:?}");
    assert_eq!(ledger[0].summary, "有的，營業到晚上九點。");

    // The customer answers while the conversation is open: it appears live.
    demo.sandbox.customer_writes(&number.id, "85291234567", "陳美玲", "好的，謝謝！");
    wait_for_text(&c, ".bubble.in .body", "好的，謝謝！").await.unwrap();

    // Switch to Traditional Chinese; the choice survives a reload.
    c.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, ".nav a", "收件匣").await.unwrap();
    let lang = c.execute("return document.documentElement.lang", vec![]).await.unwrap();
    assert_eq!(lang, "zh-Hant");
    c.refresh().await.unwrap();
    wait_for_text(&c, ".nav a", "收件匣").await.unwrap();
    wait_for_text(&c, "#send", "傳送").await.unwrap();
    screenshot(&c, "conversation-zh-hant").await.unwrap();

    // The service worker is active, has cached the shell, and holds nothing from the API.
    let cache = c
        .execute_async(
            "const done = arguments[arguments.length - 1];
             navigator.serviceWorker.ready
               .then((r) => caches.keys().then((keys) => Promise.all(keys.map((k) => caches.open(k).then((c) => c.keys()))))
               .then((lists) => done({ active: !!r.active, paths: lists.flat().map((q) => new URL(q.url).pathname) })))
               .catch((e) => done({ error: String(e) }));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(cache["active"], true, "{cache}");
    let paths: Vec<&str> = cache["paths"].as_array().unwrap().iter().filter_map(|p| p.as_str()).collect();
    assert!(paths.contains(&"/app_bg.wasm") && paths.contains(&"/index.html"), "{paths:?}");
    // Every page's own chunk too, so each page opens offline.
    assert!(paths.contains(&"/__wasm_split.js") && paths.iter().filter(|p| p.ends_with(".wasm")).count() > 2, "{paths:?}");
    assert!(!paths.iter().any(|p| p.starts_with("/api/")), "{paths:?}");

    // The numbers overview shows each number's health.
    c.goto(&format!("{base}/numbers")).await.unwrap();
    wait_for_text(&c, ".number h2", "Harbour Bakery").await.unwrap();
    wait_for_text(&c, ".number .state", "已連接").await.unwrap();
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn script_payloads_in_message_text_contact_names_and_group_subjects_render_as_inert_text() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_demo(dir.path()).await;
    let driver = Driver::start().await.unwrap();
    let c = driver.browser(1280, 860).await.unwrap();
    let base = demo.relay.url();
    let number = &demo::demo_numbers()[1];
    let payload = "<img src=x onerror=\"window.__xss=1\"><script>window.__xss=2</script>";
    demo.sandbox.customer_writes(&number.id, "85299990000", "<b onmouseover=\"window.__xss=3\">Eve</b>", payload);

    c.goto(&format!("{base}/login")).await.unwrap();
    sign_in(&c, ADMIN_EMAIL, PASSWORD).await.unwrap();
    wait_for_text(&c, "#conversations .conversation-row", "<img src=x").await.unwrap();
    c.find(Locator::Css("#conversations .conversation-row a")).await.unwrap().click().await.unwrap();
    let shown = wait_for_text(&c, ".bubble.in .body", "<script>").await.unwrap();
    assert_eq!(shown, payload, "shown as typed");
    wait_for_text(&c, "#conversation-name", "<b onmouseover").await.unwrap();

    // A group whose subject is a script payload: its conversation is named with the text as typed.
    let subject = "<svg onload=\"window.__xss=4\"><script>window.__xss=5</script>";
    let group = "120363099999999999";
    demo.sandbox.push_raw_change(
        &number.id,
        "group_lifecycle_update",
        serde_json::json!({"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "85255500102", "phone_number_id": number.id},
            "groups": [{"timestamp": "1767225600", "group_id": group, "type": "group_create", "request_id": "r1", "subject": subject}]}),
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    demo.sandbox.push_raw_change(
        &number.id,
        "messages",
        serde_json::json!({"messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "85255500102", "phone_number_id": number.id},
            "contacts": [{"profile": {"name": "Ken"}, "wa_id": "85291234000"}],
            "messages": [{"from": "85291234000", "id": "wamid.GROUPXSS", "type": "text", "group_id": group,
                          "timestamp": std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs().to_string(),
                          "text": {"body": "hello group"}}]}),
    );
    let row = wait_for_text(&c, "#conversations .conversation-row", "hello group").await.unwrap();
    assert!(row.contains(subject), "the group is named by its subject, as text: {row}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let injected = c
        .execute(
            "return [window.__xss === undefined, document.querySelectorAll('.bubble img, .bubble script, #conversation-name b, .conversation-row svg, .conversation-row script').length]",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(injected, serde_json::json!([true, 0]));
    c.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_adds_an_agent_who_sets_a_password_sees_only_their_number_and_is_disabled() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_demo(dir.path()).await;
    let driver = Driver::start().await.unwrap();
    let base = demo.relay.url();
    let numbers = demo::demo_numbers();

    // The administrator, on a phone-sized screen, adds an agent for the first number only.
    let admin = driver.browser(390, 844).await.unwrap();
    admin.goto(&format!("{base}/login")).await.unwrap();
    sign_in(&admin, ADMIN_EMAIL, PASSWORD).await.unwrap();
    wait_for(&admin, ".conn[data-state=live]").await.unwrap();
    admin.goto(&format!("{base}/agents")).await.unwrap();
    wait_for(&admin, "#add-agents summary").await.unwrap().click().await.unwrap();
    wait_for(&admin, "#agent-emails").await.unwrap().send_keys("mei@example.com").await.unwrap();
    admin.find(Locator::Css("#add-agents input[type=radio]:not(:checked)")).await.unwrap().click().await.unwrap();
    wait_for(&admin, &format!("#add-agents input[data-number='{}']", numbers[0].id)).await.unwrap().click().await.unwrap();
    admin.find(Locator::Css("#create-agents")).await.unwrap().click().await.unwrap();
    wait_for_text(&admin, "#new-links li", "mei@example.com").await.unwrap();
    let link = admin.find(Locator::Css("#new-links .link-text")).await.unwrap().text().await.unwrap();
    assert!(link.starts_with(&base) && link.contains("/set-password#token="), "{link}");
    wait_for_text(&admin, "#agents", "mei@example.com").await.unwrap();
    screenshot(&admin, "agents-phone").await.unwrap();

    // The agent opens the link in their own browser and chooses a password.
    let mei = driver.browser(1280, 860).await.unwrap();
    mei.goto(&link).await.unwrap();
    wait_for(&mei, "#new-password").await.unwrap().send_keys("mei-password-123").await.unwrap();
    mei.find(Locator::Css("#new-password-again")).await.unwrap().send_keys("mei-password-123").await.unwrap();
    mei.find(Locator::Css("#set-password")).await.unwrap().click().await.unwrap();
    wait_for(&mei, "#password-set").await.unwrap();

    // Signed in, she sees her number's customers only, with phones masked, and no admin pages.
    mei.goto(&format!("{base}/login")).await.unwrap();
    sign_in(&mei, "mei@example.com", "mei-password-123").await.unwrap();
    wait_for(&mei, ".conn[data-state=live]").await.unwrap();
    demo.sandbox.customer_writes(&numbers[1].id, "85291110002", "Other Branch Customer", "not for Mei");
    demo.sandbox.customer_writes(&numbers[0].id, "85291110001", "Mei's Customer", "for Mei");
    wait_for_text(&mei, "#conversations .conversation-row", "for Mei").await.unwrap();
    tokio::time::sleep(Duration::from_millis(800)).await;
    let rows = mei.find_all(Locator::Css("#conversations .conversation-row")).await.unwrap();
    let mut texts = Vec::new();
    for r in rows {
        texts.push(r.text().await.unwrap());
    }
    assert!(texts.iter().all(|t| !t.contains("not for Mei")), "{texts:?}");
    let nav = mei.find(Locator::Css(".nav")).await.unwrap().text().await.unwrap();
    assert!(!nav.contains("Agents") && !nav.contains("Audit"), "{nav}");
    mei.find(Locator::Css("#conversations .conversation-row a")).await.unwrap().click().await.unwrap();
    wait_for_text(&mei, ".conversation-head .muted", "852•••••001").await.unwrap();
    wait_for(&mei, "#take-over").await.unwrap().click().await.unwrap();
    wait_for_text(&mei, "#assignment", "Assigned to you").await.unwrap();
    wait_for(&mei, "#label-input").await.unwrap().send_keys("VIP\n").await.unwrap();
    wait_for_text(&mei, "#labels .chip", "VIP").await.unwrap();
    screenshot(&mei, "agent-scoped-inbox").await.unwrap();

    // Disabled by the administrator: her console goes back to sign-in at once.
    admin.goto(&format!("{base}/agents")).await.unwrap();
    let row = wait_for_text(&admin, "#agents tr", "mei@example.com").await.unwrap();
    assert!(row.contains("Active"), "{row}");
    let rows = admin.find_all(Locator::Css("#agents tbody tr")).await.unwrap();
    for r in rows {
        if r.text().await.unwrap().contains("mei@example.com") {
            r.find(Locator::Css(".disable")).await.unwrap().click().await.unwrap();
            break;
        }
    }
    admin.accept_alert().await.unwrap();
    wait_for_text(&admin, "#agents tr", "Disabled").await.unwrap();
    wait_for(&mei, "#sign-in").await.unwrap();

    // The audit log shows it.
    admin.goto(&format!("{base}/audit")).await.unwrap();
    wait_for_text(&admin, "#audit", "Disabled agent").await.unwrap();
    screenshot(&admin, "audit-phone").await.unwrap();
    admin.close().await.unwrap();
    mei.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_imports_contacts_counts_a_segment_and_follows_a_broadcast_until_read() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_demo(dir.path()).await;
    let driver = Driver::start().await.unwrap();
    let c = driver.browser(1280, 900).await.unwrap();
    let base = demo.relay.url();
    c.goto(&format!("{base}/login")).await.unwrap();
    sign_in(&c, ADMIN_EMAIL, PASSWORD).await.unwrap();
    wait_for(&c, "#sign-out").await.unwrap();

    // Import a CSV: two good rows (one written without the country code) and one bad.
    c.goto(&format!("{base}/contacts")).await.unwrap();
    wait_for(&c, "#segment-count").await.unwrap();
    let csv = dir.path().join("customers.csv");
    std::fs::write(&csv, "Phone,Name,District\n9876 5432,何美玲,Central\n+852 6123 9876,Lee Ka Yan,Sha Tin\n12345,Nobody,\n").unwrap();
    c.find(Locator::Css("#import-contacts summary")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#import-file")).await.unwrap().send_keys(csv.to_str().unwrap()).await.unwrap();
    wait_for_text(&c, "#map-phone option", "Phone").await.unwrap();
    wait_for(&c, "#map-add-tags").await.unwrap().send_keys("e2e").await.unwrap();
    // The district column becomes a text attribute (other columns are not imported unless asked).
    c.find(Locator::Css("select[data-column='District'] option[value='text']")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#start-import")).await.unwrap().click().await.unwrap();
    let result = wait_for_text(&c, "#import-result", "2 new").await.unwrap();
    assert!(result.contains("1 not imported"), "{result}");
    wait_for(&c, "#rejected-link").await.unwrap();
    screenshot(&c, "contacts-imported").await.unwrap();

    // A segment is counted in the browser as it is typed; a malformed one points at the spot.
    let field = wait_for(&c, "#segment-expression").await.unwrap();
    field.send_keys("tag e2e").await.unwrap();
    wait_for(&c, "#segment-count[data-count='2']").await.unwrap();
    field.send_keys(" and (").await.unwrap();
    let error = wait_for_text(&c, "#segment-error", "^").await.unwrap();
    assert!(error.contains("tag e2e and ("), "{error}");

    // The first number's business is in Tokyo: set on its card, kept by the relay, and named
    // beside the composer's start time.
    let number = &demo::demo_numbers()[0];
    c.goto(&format!("{base}/numbers")).await.unwrap();
    wait_for(&c, &format!(".number[data-number='{}'] select.time-zone option[value='Asia/Tokyo']", number.id))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let kept = format!(".number[data-number='{}'] select.time-zone option[value='Asia/Tokyo']:checked", number.id);
    let mut saved = false;
    for _ in 0..50 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        c.goto(&format!("{base}/numbers")).await.unwrap();
        if wait_for(&c, ".number select.time-zone").await.is_ok() && c.find(Locator::Css(&kept)).await.is_ok() {
            saved = true;
            break;
        }
    }
    assert!(saved, "the time zone was not saved");

    // A broadcast to them: composed in the console, sent once each, followed until read.
    c.goto(&format!("{base}/broadcasts")).await.unwrap();
    wait_for(&c, "#new-broadcast summary").await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#broadcast-name")).await.unwrap().send_keys("Today's pick").await.unwrap();
    wait_for(&c, &format!("input[value='{}']", number.id)).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#broadcast-when-note", "Asia/Tokyo").await.unwrap();
    wait_for(&c, "#broadcast-template option[value='order_update|en_US']").await.unwrap().click().await.unwrap();
    let params = c.find_all(Locator::Css("input.param")).await.unwrap();
    assert_eq!(params.len(), 2, "order_update takes two values");
    params[0].send_keys("{name}").await.unwrap();
    params[1].send_keys("#{district}").await.unwrap();
    wait_for_text(&c, "#template-preview", "Hi {name}, your order #{district} is on its way.").await.unwrap();
    c.find(Locator::Css("#broadcast-segment")).await.unwrap().send_keys("tag e2e").await.unwrap();
    c.find(Locator::Css("#broadcast-submit")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#broadcast-report .pill", "Finished").await.unwrap();
    wait_for_text(&c, "#r-audience", "2").await.unwrap();
    wait_for_text(&c, "#r-skipped", "0").await.unwrap();
    wait_for_text(&c, ".funnel-row[data-key='broadcast.read'] .funnel-value", "2 · 100%").await.unwrap();
    screenshot(&c, "broadcast-report").await.unwrap();
    // Every template with its review status (only approved ones were offered), synced again
    // on demand.
    wait_for(&c, "#templates summary").await.unwrap().click().await.unwrap();
    wait_for(&c, "#sync-templates").await.unwrap().click().await.unwrap();
    wait_for(&c, "#template-list tr[data-template='spring_sale|en_US'] [data-status='PENDING']").await.unwrap();
    wait_for(&c, "#template-list tr[data-template='order_update|en_US'] [data-status='APPROVED']").await.unwrap();
    wait_for_text(&c, "#sync-templates", "Sync").await.unwrap();
    let sends: Vec<_> = demo.sandbox.ledger().into_iter().filter(|e| e.kind == "template").collect();
    assert_eq!(sends.len(), 2, "{sends:?}");
    let mut to: Vec<_> = sends.iter().map(|e| e.to.clone()).collect();
    to.sort();
    assert_eq!(to, vec!["85261239876", "85298765432"]);
}
