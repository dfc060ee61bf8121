//! The support day's assignment and conversation life, with the relay's clock set: the night's
//! conversations shared evenly among the agents online at the opening, the away message's
//! reservation honoured, an agent going offline releasing theirs, a new conversation assigned
//! on arrival; statuses, snoozes, notes with mentions, canned replies, search and bulk moves,
//! with their bad input. Real relay, real sandbox over HTTP, signed webhooks, both backends.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::Backend;
use switchboard_shared::access::Scope;

/// An agent of the test: id, public code, session cookie.
struct Agent {
    id: i64,
    code: String,
    cookie: String,
}

/// Opens the number in Taipei 09:00–18:00 every day with `mode` assignment, and adds five
/// agents with codes 101 to 105.
async fn team(app: &TestApp, admin: &str, mode: &str) -> Vec<Agent> {
    let r = app.call(Method::PATCH, admin, &format!("/api/v1/numbers/{NUMBER}"), Some(&json!({"time_zone": TAIPEI}))).await;
    assert_eq!(r.status(), 200);
    let every_day: Vec<Value> = (0..7).map(|_| json!([{"open": "09:00", "close": "18:00"}])).collect();
    let settings = json!({"hours": {"week": every_day}, "assignment": mode});
    let r = app.call(Method::PUT, admin, &format!("/api/v1/numbers/{NUMBER}/support"), Some(&settings)).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let mut agents = Vec::new();
    for code in 101..=105 {
        let email = format!("agent{code}@example.com");
        auth::upsert_user(&app.relay.state, &email, &format!("Agent {code}"), PASSWORD, "Agent", &Scope::All).await.unwrap();
        let all = app.get_json(admin, "/api/v1/agents").await;
        let id = all.as_array().unwrap().iter().find(|a| a["email"] == email.as_str()).unwrap()["id"].as_i64().unwrap();
        let r = app.call(Method::PATCH, admin, &format!("/api/v1/agents/{id}"), Some(&json!({"code": code.to_string()}))).await;
        assert_eq!(r.status(), 200);
        agents.push(Agent { id, code: code.to_string(), cookie: app.login_as(&email, PASSWORD).await });
    }
    agents
}

/// Opens the agent's console (an event stream): they are online while it is held.
async fn online(app: &TestApp, agent: &Agent) -> reqwest::Response {
    let r = app.http.get(app.url("/api/v1/events")).header("cookie", &agent.cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r
}

/// Every conversation the admin sees, by customer.
async fn conversations(app: &TestApp, admin: &str) -> HashMap<String, Value> {
    let inbox = app.get_json(admin, "/api/v1/conversations").await;
    inbox["conversations"].as_array().unwrap().iter().map(|c| (c["contact"].as_str().unwrap().to_owned(), c.clone())).collect()
}

/// Open conversations per agent id.
async fn loads(app: &TestApp, admin: &str) -> HashMap<i64, usize> {
    let mut out = HashMap::new();
    for c in conversations(app, admin).await.values() {
        if let (Some(a), "open") = (c["assigned_to"].as_i64(), c["status"].as_str().unwrap_or_default()) {
            *out.entry(a).or_default() += 1;
        }
    }
    out
}

async fn activity(app: &TestApp, cookie: &str, conversation: i64) -> Vec<Value> {
    app.get_json(cookie, &format!("/api/v1/conversations/{conversation}/activity")).await.as_array().unwrap().clone()
}

on_both_backends!(the_night_is_shared_evenly_at_the_opening_and_an_agent_who_leaves_hands_on_theirs);
async fn the_night_is_shared_evenly_at_the_opening_and_an_agent_who_leaves_hands_on_theirs(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.away_grace_secs = Some(1)).await;
    let admin = app.admin().await;
    let agents = team(&app, &admin, "least_open").await;
    let away = json!({"name": "Away", "trigger": {"type": "away"},
                      "answer": {"type": "text", "text": "We have your message — agent {agent} will help you after {opens_at}."}});
    let r = app.post_api(&admin, "/api/v1/auto-replies", &away).await;
    assert_eq!(r.status(), 200);
    let rule: Value = r.json().await.unwrap();

    // 20:00: the first customer gets the away message naming the agent it reserves.
    let evening = next_taipei(20, 0);
    app.relay.state.clock.set(evening);
    let first = "85290000100";
    app.sandbox.customer_writes(NUMBER, first, "First", "你好，想查詢訂單");
    eventually("the away message", || async { !sent_to(&app, first).is_empty() }).await;
    let reply = sent_to(&app, first).remove(0);
    assert_eq!(reply, "We have your message — agent #101 will help you after 09:00 tomorrow.", "fewest open, then the first");
    let reserved_for = agents[0].id;
    let c = conversations(&app, &admin).await[first].clone();
    assert_eq!(c["assigned_to"], reserved_for);
    let entries = activity(&app, &admin, c["id"].as_i64().unwrap()).await;
    assert_eq!(entries[0]["reason"], "reserved", "{entries:?}");

    // With the away message off, 49 more write during the night: while closed nobody is
    // assigned, even with every agent's console open.
    let mut rule_spec = rule.clone();
    rule_spec["enabled"] = json!(false);
    let r = app.call(Method::PUT, &admin, &format!("/api/v1/auto-replies/{}", rule["id"]), Some(&rule_spec)).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let mut streams = Vec::new();
    for a in &agents {
        streams.push(online(&app, a).await);
    }
    for i in 1..50 {
        app.sandbox.customer_writes(NUMBER, &format!("852900{:05}", 100 + i), &format!("Customer {i}"), "有人嗎？");
    }
    eventually("50 conversations", || async { conversations(&app, &admin).await.len() == 50 }).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(loads(&app, &admin).await.values().sum::<usize>(), 1, "only the reserved one has an agent before the opening");

    // 09:00: the fifty are shared 10/10/10/10/10 among the five online; the reserved customer
    // stays with #101.
    app.relay.state.clock.set(evening + 13 * 3_600_000);
    eventually("everyone assigned", || async { loads(&app, &admin).await.values().sum::<usize>() == 50 }).await;
    let shared = loads(&app, &admin).await;
    for a in &agents {
        assert_eq!(shared.get(&a.id), Some(&10), "#{} holds ten: {shared:?}", a.code);
    }
    let all = conversations(&app, &admin).await;
    assert_eq!(all[first]["assigned_to"], reserved_for, "the reserved customer lands with the agent the message named");
    let someone = all.values().find(|c| c["contact"] != first).unwrap()["id"].as_i64().unwrap();
    let entries = activity(&app, &admin, someone).await;
    let last = entries.last().unwrap();
    assert_eq!((last["kind"].as_str(), last["reason"].as_str()), (Some("assignment"), Some("opening")), "{entries:?}");
    assert!(last["text"].as_str().unwrap().contains("among 5 on duty"), "who and why: {last}");
    let audit = app.get_json(&admin, "/api/v1/audit?action=conversation.assign").await;
    assert!(audit.as_array().unwrap().len() >= 50, "every decision audited");
    // The agents' own view: each sees ten of theirs.
    let theirs = app.get_json(&agents[2].cookie, "/api/v1/conversations").await;
    let mine = theirs["conversations"].as_array().unwrap().iter().filter(|c| c["assigned_to"] == agents[2].id).count();
    assert_eq!(mine, 10);

    // #102 closes the console: after the grace period their ten go to the four still online.
    let leaving = agents[1].id;
    drop(streams.remove(1));
    eventually("#102's conversations released", || async { !loads(&app, &admin).await.contains_key(&leaving) }).await;
    let after = loads(&app, &admin).await;
    assert_eq!(after.values().sum::<usize>(), 50, "nothing of theirs is left waiting: {after:?}");
    assert!(after.values().all(|n| (12..=13).contains(n)), "shared evenly among four: {after:?}");
    // The Agents page shows who has a console open.
    let listed = app.get_json(&admin, "/api/v1/agents").await;
    let online = |id: i64| listed.as_array().unwrap().iter().find(|a| a["id"] == id).unwrap()["online"].as_bool();
    assert_eq!((online(leaving), online(agents[0].id)), (Some(false), Some(true)), "{listed}");
    let released = app.get_json(&admin, "/api/v1/audit?action=conversation.assign").await;
    assert!(released.to_string().contains("offline or away"), "the release is audited with its reason");

    // A new customer during the day goes at once to an agent on duty with the fewest.
    let newcomer = "85290009999";
    app.sandbox.customer_writes(NUMBER, newcomer, "New", "hello");
    let agent = eventually_some("assigned on arrival", || async {
        conversations(&app, &admin).await.get(newcomer).and_then(|c| c["assigned_to"].as_i64())
    })
    .await;
    assert_ne!(agent, leaving, "never to someone offline");
    let c = conversations(&app, &admin).await[newcomer].clone();
    let entries = activity(&app, &admin, c["id"].as_i64().unwrap()).await;
    assert_eq!(entries.last().unwrap()["reason"], "arrival");

    // #103 sets themselves away: after the grace period theirs move too, and they get no new ones.
    let r = app.call(Method::PUT, &agents[2].cookie, "/api/v1/me/away", Some(&json!({"away": true}))).await;
    assert_eq!(r.status(), 200);
    let me: Value = r.json().await.unwrap();
    assert_eq!((me["away"].as_bool(), me["code"].as_str()), (Some(true), Some("103")));
    let on_break = agents[2].id;
    eventually("#103's conversations released", || async { !loads(&app, &admin).await.contains_key(&on_break) }).await;
    assert_eq!(loads(&app, &admin).await.values().sum::<usize>(), 51);
    let colleagues = app.get_json(&admin, &format!("/api/v1/conversations/{}/colleagues", c["id"])).await;
    let shown: Vec<(i64, bool)> =
        colleagues.as_array().unwrap().iter().map(|c| (c["id"].as_i64().unwrap(), c["online"].as_bool().unwrap())).collect();
    assert!(shown.contains(&(on_break, false)) && shown.contains(&(leaving, false)) && shown.contains(&(agents[0].id, true)), "{shown:?}");
    drop(streams);
}

on_both_backends!(round_robin_takes_turns_and_capacity_is_a_ceiling);
async fn round_robin_takes_turns_and_capacity_is_a_ceiling(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let agents = team(&app, &admin, "round_robin").await;
    // Two on duty; #102 takes at most two.
    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/agents/{}", agents[1].id), Some(&json!({"capacity": 2}))).await;
    assert_eq!(r.status(), 200);
    let _a = online(&app, &agents[0]).await;
    let _b = online(&app, &agents[1]).await;
    app.relay.state.clock.set(next_taipei(10, 0));
    for i in 0..6 {
        app.sandbox.customer_writes(NUMBER, &format!("8529100000{i}"), &format!("C{i}"), "hi");
        eventually("assigned", || async {
            conversations(&app, &admin).await.get(&format!("8529100000{i}")).is_some_and(|c| c["assigned_to"].is_i64())
        })
        .await;
    }
    let order: Vec<i64> = {
        let all = conversations(&app, &admin).await;
        (0..6).map(|i| all[&format!("8529100000{i}")]["assigned_to"].as_i64().unwrap()).collect()
    };
    let (a, b) = (agents[0].id, agents[1].id);
    assert_eq!(order, [a, b, a, b, a, a], "in turn until #102 is full");

    // A resolved conversation no longer counts: #102 has room for the next one again.
    let all = conversations(&app, &admin).await;
    let of_b = all.values().find(|c| c["assigned_to"] == b).unwrap()["id"].as_i64().unwrap();
    let r = app.post_api(&agents[1].cookie, &format!("/api/v1/conversations/{of_b}/status"), &json!({"status": "resolved"})).await;
    assert_eq!(r.status(), 200);
    app.sandbox.customer_writes(NUMBER, "85291000006", "C6", "hi");
    let got = eventually_some("assigned", || async {
        conversations(&app, &admin).await.get("85291000006").and_then(|c| c["assigned_to"].as_i64())
    })
    .await;
    assert_eq!(got, b);
}

on_both_backends!(a_conversation_moves_through_its_life_and_its_timeline_says_so);
async fn a_conversation_moves_through_its_life_and_its_timeline_says_so(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let agent = app.login().await;
    app.sandbox.customer_writes(NUMBER, "85292000001", "Mei", "我想退貨，訂單 A-1001");
    let id = eventually_some("the conversation", || async {
        conversations(&app, &admin).await.get("85292000001").map(|c| c["id"].as_i64().unwrap())
    })
    .await;
    let c = conversations(&app, &admin).await["85292000001"].clone();
    assert_eq!(c["status"], "open", "a new conversation is open");
    let status = |body: Value| {
        let (app, agent) = (&app, agent.clone());
        async move { app.post_api(&agent, &format!("/api/v1/conversations/{id}/status"), &body).await }
    };

    // Bad input changes nothing.
    for (body, code) in [
        (json!({"status": "snoozed"}), "invalid_snooze"),
        (json!({"status": "snoozed", "snoozed_until": 1}), "invalid_snooze"),
        (json!({"status": "resolved", "snoozed_until": 99_999_999_999_999_i64}), "invalid_snooze"),
    ] {
        let r = status(body.clone()).await;
        assert_eq!(r.status(), 400, "{body}");
        let e: Value = r.json().await.unwrap();
        assert_eq!(e["error"]["code"], code, "{e}");
    }
    for body in [json!({"status": "closed"}), json!([]), json!({})] {
        let r = status(body.clone()).await;
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
    }
    assert_eq!(conversations(&app, &admin).await["85292000001"]["status"], "open");

    // Pending, then resolved; the customer writing again opens it.
    let r = status(json!({"status": "pending"})).await;
    assert_eq!(r.status(), 200);
    let r = status(json!({"status": "resolved"})).await;
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "resolved");
    app.sandbox.customer_writes(NUMBER, "85292000001", "Mei", "還有一個問題");
    eventually("reopened", || async { conversations(&app, &admin).await["85292000001"]["status"] == "open" }).await;

    // Snoozed until tomorrow; when the clock gets there it opens again by itself.
    let now = app.relay.state.clock.now_ms();
    let r = status(json!({"status": "snoozed", "snoozed_until": now + 86_400_000})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(conversations(&app, &admin).await["85292000001"]["status"], "snoozed");
    app.relay.state.clock.set(now + 86_400_000 + 1_000);
    eventually("the snooze ended", || async { conversations(&app, &admin).await["85292000001"]["status"] == "open" }).await;

    // A note mentioning the admin reaches the admin's console live, and is never sent.
    let admin_id = app.get_json(&admin, "/api/v1/me").await["id"].as_i64().unwrap();
    let mut stream = app.http.get(app.url("/api/v1/events")).header("cookie", &admin).send().await.unwrap();
    assert_eq!(stream.status(), 200, "the admin's event stream opens");
    let sent_before = sent_to(&app, "85292000001").len();
    let r = app
        .post_api(
            &agent,
            &format!("/api/v1/conversations/{id}/notes"),
            &json!({"text": "@Admin 客人要求退款，請批准", "mentions": [admin_id]}),
        )
        .await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let events = events_within(&mut stream, Duration::from_secs(3)).await;
    let note = &events.iter().find(|e| e["type"] == "activity").unwrap_or_else(|| panic!("no note event: {events:?}"))["activity"];
    assert_eq!((note["kind"].as_str(), note["text"].as_str()), (Some("note"), Some("@Admin 客人要求退款，請批准")), "{events:?}");
    assert_eq!(note["mentions"], json!([admin_id]));
    assert_eq!(note["author_name"], "Agent");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sent_to(&app, "85292000001").len(), sent_before, "a note never reaches the customer");
    // Bad notes: empty, too long, a mention of someone who does not work here.
    let outsider =
        auth::upsert_user(&app.relay.state, "outsider@example.com", "Out", PASSWORD, "Agent", &Scope::Numbers([NUMBER2.to_owned()].into()))
            .await
            .unwrap();
    for (body, code) in [
        (json!({"text": "  "}), "invalid_note"),
        (json!({"text": "x".repeat(4097)}), "invalid_note"),
        (json!({"text": "hi", "mentions": [outsider]}), "invalid_mention"),
        (json!({"text": "hi", "mentions": [999_999]}), "invalid_mention"),
    ] {
        let r = app.post_api(&agent, &format!("/api/v1/conversations/{id}/notes"), &body).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], code);
    }

    // The timeline: status changes by their authors, the snooze's end, the one note.
    let entries = activity(&app, &admin, id).await;
    let summary: Vec<(String, String)> = entries
        .iter()
        .map(|e| (e["kind"].as_str().unwrap().to_owned(), e["status"].as_str().or(e["text"].as_str()).unwrap_or_default().to_owned()))
        .collect();
    let expected: Vec<(String, String)> =
        [("status", "pending"), ("status", "resolved"), ("status", "snoozed"), ("status", "open"), ("note", "@Admin 客人要求退款，請批准")]
            .iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect();
    assert_eq!(summary, expected);
    assert!(entries[3]["author"].is_null(), "the snooze ended by itself");
    // Someone outside the number cannot read it.
    let out = app.login_as("outsider@example.com", PASSWORD).await;
    let r = app.call(Method::GET, &out, &format!("/api/v1/conversations/{id}/activity"), None).await;
    assert_eq!(r.status(), 404);

    // Search finds it by the order number in a message, by name and by phone; bad searches are refused.
    for q in ["a-1001", "Mei", "92000001", "退貨"] {
        let found = app.get_json(&agent, &format!("/api/v1/conversations/search?q={}", urlencode(q))).await;
        assert_eq!(found.as_array().unwrap().len(), 1, "{q}: {found}");
    }
    let none = app.get_json(&agent, "/api/v1/conversations/search?q=%25").await;
    assert!(none.as_array().unwrap().is_empty(), "% is a character, not a wildcard");
    let r = app.call(Method::GET, &agent, "/api/v1/conversations/search?q=", None).await;
    assert_eq!(r.status(), 400);
    let r = app.call(Method::GET, &out, "/api/v1/conversations/search?q=Mei", None).await;
    assert!(r.json::<Value>().await.unwrap().as_array().unwrap().is_empty(), "out of scope, nothing found");
}

fn urlencode(s: &str) -> String {
    s.bytes().map(|b| if b.is_ascii_alphanumeric() || b == b'-' { (b as char).to_string() } else { format!("%{b:02X}") }).collect()
}

on_both_backends!(a_supervisor_moves_conversations_in_bulk_all_or_none);
async fn a_supervisor_moves_conversations_in_bulk_all_or_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let agent = app.login().await;
    for i in 0..3 {
        app.sandbox.customer_writes(NUMBER, &format!("8529300000{i}"), &format!("B{i}"), "hi");
    }
    eventually("three", || async { conversations(&app, &admin).await.len() == 3 }).await;
    let ids: Vec<i64> = conversations(&app, &admin).await.values().map(|c| c["id"].as_i64().unwrap()).collect();
    let agent_id = app.get_json(&agent, "/api/v1/me").await["id"].as_i64().unwrap();

    // An agent may not move others' work in bulk.
    let r = app.post_api(&agent, "/api/v1/conversations/assign", &json!({"conversation_ids": ids, "agent_id": agent_id})).await;
    assert_eq!(r.status(), 403);
    // One unknown conversation: nothing moves.
    let mut with_unknown = ids.clone();
    with_unknown.push(987_654);
    let r = app.post_api(&admin, "/api/v1/conversations/assign", &json!({"conversation_ids": with_unknown, "agent_id": agent_id})).await;
    assert_eq!(r.status(), 404);
    assert!(conversations(&app, &admin).await.values().all(|c| c["assigned_to"].is_null()));
    for body in [json!({"conversation_ids": [], "agent_id": agent_id}), json!({"conversation_ids": ids, "agent_id": 999_999})] {
        let r = app.post_api(&admin, "/api/v1/conversations/assign", &body).await;
        assert_eq!(r.status(), 400, "{body}");
    }
    // All three to the agent, then back to the queue.
    let r = app.post_api(&admin, "/api/v1/conversations/assign", &json!({"conversation_ids": ids, "agent_id": agent_id})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap().as_array().unwrap().len(), 3);
    assert!(conversations(&app, &admin).await.values().all(|c| c["assigned_to"] == agent_id));
    let entries = activity(&app, &admin, ids[0]).await;
    assert_eq!((entries[0]["reason"].as_str(), entries[0]["author_name"].as_str()), (Some("bulk"), Some("Admin")));
    let r = app.post_api(&admin, "/api/v1/conversations/assign", &json!({"conversation_ids": ids, "agent_id": null})).await;
    assert_eq!(r.status(), 200);
    assert!(conversations(&app, &admin).await.values().all(|c| c["assigned_to"].is_null()));
}

on_both_backends!(canned_replies_have_unique_shortcuts_known_placeholders_and_a_scope);
async fn canned_replies_have_unique_shortcuts_known_placeholders_and_a_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let agent = app.login().await;
    let hours = json!({"shortcut": "/Hours", "text": "{contact.name}，我們星期一至六 09:00–18:00 營業。— {agent.code}"});
    let r = app.post_api(&admin, "/api/v1/canned-replies", &hours).await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(saved["shortcut"], "hours", "stored as typed after /, in lower case");
    let second = json!({"shortcut": "price", "text": "Price list attached.", "number_ids": [NUMBER2]});
    assert_eq!(app.post_api(&admin, "/api/v1/canned-replies", &second).await.status(), 200);

    for (body, status, code) in [
        (json!({"shortcut": "HOURS", "text": "again"}), 409, None),
        (json!({"shortcut": "two words", "text": "x"}), 400, Some("invalid_canned")),
        (json!({"shortcut": "x", "text": "Dear {customer}"}), 400, Some("invalid_canned")),
        (json!({"shortcut": "y", "text": ""}), 400, Some("invalid_canned")),
        (json!({"shortcut": "z", "text": "hi", "number_ids": ["100000000000099"]}), 400, Some("invalid_numbers")),
        (json!([]), 400, None),
    ] {
        let r = app.post_api(&admin, "/api/v1/canned-replies", &body).await;
        assert_eq!(r.status(), status, "{body}");
        if let Some(code) = code {
            assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], code, "{body}");
        }
    }
    // An agent reads them but may not write them.
    let list = app.get_json(&agent, "/api/v1/canned-replies").await;
    assert_eq!(list.as_array().unwrap().len(), 2);
    assert_eq!(app.post_api(&agent, "/api/v1/canned-replies", &json!({"shortcut": "mine", "text": "x"})).await.status(), 403);
    // Someone on the first number only does not see the second number's.
    auth::upsert_user(&app.relay.state, "first@example.com", "First", PASSWORD, "Agent", &Scope::Numbers([NUMBER.to_owned()].into()))
        .await
        .unwrap();
    let first = app.login_as("first@example.com", PASSWORD).await;
    let list = app.get_json(&first, "/api/v1/canned-replies").await;
    let shortcuts: Vec<&str> = list.as_array().unwrap().iter().map(|r| r["shortcut"].as_str().unwrap()).collect();
    assert_eq!(shortcuts, ["hours"]);
    let r = app.call(Method::DELETE, &admin, &format!("/api/v1/canned-replies/{}", saved["id"]), None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(app.get_json(&admin, "/api/v1/canned-replies").await.as_array().unwrap().len(), 1);
}
