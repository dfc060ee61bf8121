//! The support day in the relay, with its clock set: business hours, auto-replies (welcome,
//! keywords, away with the reserved agent and the next opening), their guards, and the settings'
//! bad input. Real relay, real sandbox over HTTP, signed webhooks, both backends.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::Backend;
use switchboard_shared::access::Scope;

async fn sends_settle(app: &TestApp, to: &str, n: usize) -> Vec<String> {
    eventually(&format!("{n} messages to {to}"), || async { sent_to(app, to).len() >= n }).await;
    // Nothing more follows.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let got = sent_to(app, to);
    assert_eq!(got.len(), n, "exactly {n} automatic messages to {to}: {got:#?}");
    got
}

/// A customer's text as Meta sends it, stamped now.
fn fresh_text(wamid: &str, from: &str, body: &str) -> Value {
    let mut v = text_message(wamid, from, body);
    let now = (jiff::Timestamp::now().as_second()).to_string();
    v["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = json!(now);
    v
}

async fn setup(app: &TestApp) -> String {
    let admin = app.admin().await;
    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/numbers/{NUMBER}"), Some(&json!({"time_zone": TAIPEI}))).await;
    assert_eq!(r.status(), 200);
    let every_day: Vec<Value> = (0..7).map(|_| json!([{"open": "09:00", "close": "18:00"}])).collect();
    let r = app
        .call(
            Method::PUT,
            &admin,
            &format!("/api/v1/numbers/{NUMBER}/support"),
            Some(&json!({"hours": {"week": every_day}, "assignment": "least_open"})),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let agents = app.get_json(&admin, "/api/v1/agents").await;
    let agent = agents.as_array().unwrap().iter().find(|a| a["email"] == "agent@example.com").unwrap()["id"].as_i64().unwrap();
    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/agents/{agent}"), Some(&json!({"code": "#103", "capacity": 20}))).await;
    assert_eq!(r.status(), 200);
    let a: Value = r.json().await.unwrap();
    assert_eq!((a["code"].as_str(), a["capacity"].as_i64()), (Some("103"), Some(20)), "{a}");
    for rule in [
        json!({"name": "Welcome", "trigger": {"type": "welcome"}, "answer": {"type": "text", "text": "Welcome, {contact.name}!"}}),
        json!({"name": "Hours", "trigger": {"type": "keyword", "words": ["hours", "營業時間"]},
               "answer": {"type": "text", "text": "We are open 09:00–18:00 every day."}, "period_minutes": 60}),
        json!({"name": "Prices", "trigger": {"type": "keyword", "words": ["price"]},
               "answer": {"type": "text", "text": "Our price list is on its way."}}),
        json!({"name": "Delivery", "trigger": {"type": "keyword", "words": ["delivery"]},
               "answer": {"type": "text", "text": "We deliver island-wide."}}),
        json!({"name": "Away", "trigger": {"type": "away"},
               "answer": {"type": "text", "text": "We have your message — agent {agent} will help you after {opens_at}."}}),
    ] {
        let r = app.post_api(&admin, "/api/v1/auto-replies", &rule).await;
        assert_eq!(r.status(), 200, "{:?}", r.text().await);
    }
    admin
}

on_both_backends!(an_evening_message_is_answered_at_once_by_the_rules_naming_the_agent_and_the_opening);
async fn an_evening_message_is_answered_at_once_by_the_rules_naming_the_agent_and_the_opening(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = setup(&app).await;
    app.relay.state.clock.set(next_taipei(20, 0));

    // A first-time customer at 20:00, asking in full-width letters: the three rules that apply
    // answer in one message, in order.
    let ann = "85291110001";
    app.sandbox.customer_writes(NUMBER, ann, "Ann", "ＨＯＵＲＳ？");
    let got = sends_settle(&app, ann, 1).await;
    assert_eq!(
        got[0],
        "Welcome, Ann!\n\nWe are open 09:00–18:00 every day.\n\nWe have your message — agent #103 will help you after 09:00 tomorrow."
    );
    // The conversation is reserved for #103, and the timeline marks the automatic message.
    let inbox = app.get_json(&admin, "/api/v1/conversations").await;
    let conversation = inbox["conversations"].as_array().unwrap().iter().find(|c| c["contact"] == ann).unwrap().clone();
    let agents = app.get_json(&admin, "/api/v1/agents").await;
    let agent_id = agents.as_array().unwrap().iter().find(|a| a["code"] == "103").unwrap()["id"].clone();
    assert_eq!(conversation["assigned_to"], agent_id, "reserved for the agent the message named");
    let messages = app.get_json(&admin, &format!("/api/v1/conversations/{}/messages", conversation["id"])).await;
    assert!(messages[0]["auto_rule"].is_null(), "the customer's message is not automatic");
    assert_eq!(messages[1]["auto_rule"], "Welcome, Hours, Away", "{messages}");
    // The reservation is audited with its reason.
    let audit = app.get_json(&admin, "/api/v1/audit?action=conversation.assign").await;
    assert!(audit.to_string().contains("reserved by the auto-reply"), "{audit}");

    // Asking again within the rules' periods: no second answer from any of them.
    app.sandbox.customer_writes(NUMBER, ann, "Ann", "hours please");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sent_to(&app, ann).len(), 1, "each rule answers a conversation once per period");

    // Meta delivers the same message twice: answered once.
    let bob = "85291110002";
    app.sandbox.customer_writes(NUMBER, bob, "Bob", "hello");
    sends_settle(&app, bob, 1).await;
    let body = serde_json::to_vec(&fresh_text("wamid.twice", bob, "營業時間？")).unwrap();
    assert_eq!(app.post_webhook(&body).await.status(), 200);
    assert_eq!(app.post_webhook(&body).await.status(), 200);
    let got = sends_settle(&app, bob, 2).await;
    assert_eq!(got[1], "We are open 09:00–18:00 every day.", "the Chinese keyword matched: {got:?}");

    // Another bot repeating our message back is not answered; and however it varies, a
    // conversation gets at most three automatic messages an hour.
    let bot = "85291110003";
    app.sandbox.customer_writes(NUMBER, bot, "Echo Bot", "hi");
    let got = sends_settle(&app, bot, 1).await;
    app.sandbox.customer_writes(NUMBER, bot, "Echo Bot", &got[0]);
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sent_to(&app, bot).len(), 1, "our own words coming back are not answered");
    app.sandbox.customer_writes(NUMBER, bot, "Echo Bot", "HOURS");
    sends_settle(&app, bot, 2).await;
    app.sandbox.customer_writes(NUMBER, bot, "Echo Bot", "price?");
    sends_settle(&app, bot, 3).await;
    app.sandbox.customer_writes(NUMBER, bot, "Echo Bot", "delivery?");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(sent_to(&app, bot).len(), 3, "no fourth automatic message within the hour");

    // The next morning, open: a new customer gets the welcome and the answer, no away message.
    app.relay.state.clock.set(next_taipei(10, 0));
    let cat = "85291110004";
    app.sandbox.customer_writes(NUMBER, cat, "Cat", "what are your hours");
    let got = sends_settle(&app, cat, 1).await;
    assert_eq!(got, ["Welcome, Cat!\n\nWe are open 09:00–18:00 every day."]);
    // Every automatic message is in a timeline, marked, and nothing else was sent.
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE auto_rule IS NOT NULL").await, 7);
    assert_eq!(app.sandbox.ledger().len(), 7);
}

on_both_backends!(bad_rules_and_hours_are_refused_and_change_nothing);
async fn bad_rules_and_hours_are_refused_and_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let bad_rules = [
        json!({"name": "", "trigger": {"type": "welcome"}, "answer": {"type": "text", "text": "hi"}}),
        json!({"name": "K", "trigger": {"type": "keyword", "words": [" "]}, "answer": {"type": "text", "text": "hi"}}),
        json!({"name": "K", "trigger": {"type": "keyword", "words": ["a"]}, "answer": {"type": "text", "text": " "}}),
        json!({"name": "K", "trigger": {"type": "sometimes"}, "answer": {"type": "text", "text": "hi"}}),
        json!({"name": "K", "trigger": {"type": "welcome"}, "answer": {"type": "text", "text": "hi"}, "period_minutes": 0}),
        json!({"name": "K", "trigger": {"type": "welcome"}, "answer": {"type": "text", "text": "hi"}, "number_ids": ["999"]}),
        json!({"name": "K", "trigger": {"type": "welcome"}, "answer": {"type": "template", "name": "", "language": "en"}}),
    ];
    for rule in &bad_rules {
        let r = app.post_api(&admin, "/api/v1/auto-replies", rule).await;
        assert!(matches!(r.status().as_u16(), 400 | 422), "{rule}: {}", r.status());
        let body: Value = r.json().await.unwrap();
        assert!(body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()), "a clear message: {body}");
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM auto_rules").await, 0);

    let good = json!([{"open": "09:00", "close": "18:00"}]);
    let week = |day: Value| -> Value { json!([good, good, good, good, good, day, []]) };
    let bad_hours = [
        json!({"hours": {"week": [good]}}),
        json!({"hours": {"week": week(json!([{"open": "18:00", "close": "09:00"}]))}}),
        json!({"hours": {"week": week(json!([{"open": "09:00", "close": "13:00"}, {"open": "12:00", "close": "18:00"}]))}}),
        json!({"hours": {"week": week(json!([{"open": "25:00", "close": "26:00"}]))}}),
        json!({"hours": {"week": week(json!([])), "closed_days": ["2027-02-30"]}}),
        json!({"hours": null, "assignment": "whoever"}),
    ];
    for hours in &bad_hours {
        let r = app.call(Method::PUT, &admin, &format!("/api/v1/numbers/{NUMBER}/support"), Some(hours)).await;
        assert!(matches!(r.status().as_u16(), 400 | 422), "{hours}: {}", r.status());
    }
    let settings = app.get_json(&admin, &format!("/api/v1/numbers/{NUMBER}/support")).await;
    assert_eq!(settings, json!({"hours": null, "assignment": "manual"}), "nothing changed");
    // A holiday is kept; an unknown number is not found.
    let ok = json!({"hours": {"week": week(json!([])), "closed_days": ["2026-12-25"]}, "assignment": "round_robin"});
    let r = app.call(Method::PUT, &admin, &format!("/api/v1/numbers/{NUMBER}/support"), Some(&ok)).await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.get_json(&admin, &format!("/api/v1/numbers/{NUMBER}/support")).await["hours"]["closed_days"], json!(["2026-12-25"]));
    let r = app.call(Method::PUT, &admin, "/api/v1/numbers/123456/support", Some(&ok)).await;
    assert_eq!(r.status(), 404);
    // Agent codes are short and unique.
    let agents = app.get_json(&admin, "/api/v1/agents").await;
    let ids: Vec<i64> = agents.as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/agents/{}", ids[0]), Some(&json!({"code": "10 3"}))).await;
    assert_eq!(r.status(), 400);
    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/agents/{}", ids[0]), Some(&json!({"code": "103"}))).await;
    assert_eq!(r.status(), 200);
    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/agents/{}", ids[1]), Some(&json!({"code": "103"}))).await;
    assert_eq!(r.status(), 409);
    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/agents/{}", ids[1]), Some(&json!({"capacity": -1}))).await;
    assert_eq!(r.status(), 400);
}

on_both_backends!(after_the_window_closes_an_agent_sends_an_approved_template_and_bad_ones_change_nothing);
async fn after_the_window_closes_an_agent_sends_an_approved_template_and_bad_ones_change_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    assert_eq!(app.post_api(&admin, "/api/v1/templates/sync", &json!({})).await.status(), 200);
    // A customer who last wrote long ago: the 24-hour window is closed.
    let mut old = text_message("wamid.LASTWEEK", "85290007777", "Where is my order?");
    old["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = json!("1700000000");
    assert_eq!(app.post_webhook(&serde_json::to_vec(&old).unwrap()).await.status(), 200);
    let id = eventually_some("the conversation", || async {
        let inbox = app.get_json(&admin, "/api/v1/conversations").await;
        inbox["conversations"].as_array()?.iter().find(|c| c["contact"] == "85290007777").map(|c| c["id"].as_i64().unwrap())
    })
    .await;
    let code = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.map(|b| b["error"]["code"].as_str().unwrap_or_default().to_owned()).unwrap_or_default())
    };
    let path = format!("/api/v1/conversations/{id}/template");
    let r = app.post_api(&admin, &format!("/api/v1/conversations/{id}/messages"), &json!({"text": "Hello?"})).await;
    assert_eq!(code(r).await, (400, "outside_service_window".into()));

    // Every bad template: refused with its reason, nothing recorded or queued.
    let before = (app.count("SELECT COUNT(*) FROM messages").await, app.count("SELECT COUNT(*) FROM outbox").await);
    for (body, expected) in [
        (json!({"name": "order_update", "language": "en_US", "parameters": ["Mei"]}), "parameters"),
        (json!({"name": "order_update", "language": "en_US", "parameters": ["Mei", "  "]}), "parameters"),
        (json!({"name": "spring_sale", "language": "en_US", "parameters": ["20%"]}), "template_not_approved"),
        (json!({"name": "daily_pick", "language": "zh_TW", "parameters": ["Mei", "tee"]}), "template_needs_media"),
        (json!({"name": "no_such_template", "language": "en_US"}), "unknown_template"),
        (json!({"name": "order_update"}), "invalid_body"),
    ] {
        let r = app.post_api(&admin, &path, &body).await;
        assert_eq!(code(r).await, (400, expected.into()), "{body}");
    }
    auth::upsert_user(&app.relay.state, "analyst@example.com", "Ana", PASSWORD, "Analyst", &Scope::All).await.unwrap();
    let analyst = app.login_as("analyst@example.com", PASSWORD).await;
    let r = app.post_api(&analyst, &path, &json!({"name": "hello_world", "language": "en_US"})).await;
    assert_eq!(r.status(), 403);
    assert_eq!((app.count("SELECT COUNT(*) FROM messages").await, app.count("SELECT COUNT(*) FROM outbox").await), before);

    // The approved template with its values: shown filled in, sent once, read.
    let r = app.post_api(&admin, &path, &json!({"name": "order_update", "language": "en_US", "parameters": ["Mei", "A-1024"]})).await;
    assert_eq!(r.status(), 200);
    let message: Value = r.json().await.unwrap();
    assert_eq!((message["kind"].as_str(), message["body"].as_str()), (Some("template"), Some("Hi Mei, your order A-1024 is on its way.")));
    let sent = sends_settle(&app, "85290007777", 1).await;
    assert_eq!(sent, ["[template] order_update"]);
    eventually("the template read", || async {
        let messages = app.get_json(&admin, &format!("/api/v1/conversations/{id}/messages")).await;
        messages.as_array().unwrap().iter().any(|m| m["id"] == message["id"] && m["status"] == "read")
    })
    .await;
}
