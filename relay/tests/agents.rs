//! Agents, roles, scopes and the audit log, end to end over HTTP on both backends.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::Backend;
use switchboard_shared::access::Scope;
use switchboard_shared::signature;

on_both_backends!(
    a_scoped_agent_sees_only_their_numbers_with_phones_masked,
    a_webhook_must_carry_the_app_secret_of_the_number_it_names,
    agents_made_in_bulk_set_a_password_once_and_disabling_ends_everything,
    a_custom_role_grants_exactly_its_permissions,
    the_audit_log_refuses_changes,
    the_supervisor_view_counts_waiting_and_first_responses,
    an_export_of_100k_messages_streams_in_pages_within_scope,
    a_group_conversation_is_named_by_its_subject_and_renamed_live,
    labels_are_normalised_audited_and_filter_the_export,
    a_deleted_message_loses_its_text_for_good_and_is_audited,
    a_scope_change_closes_the_live_stream_so_it_reconnects_with_the_new_scope,
    an_administrator_changes_many_agents_at_once_all_or_none,
);

fn message_on(number: &str, wamid: &str, from: &str, text: &str) -> Value {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": number},
            "contacts": [{"profile": {"name": "Mei"}, "wa_id": from}],
            "messages": [{"from": from, "id": wamid, "timestamp": now.to_string(), "type": "text", "text": {"body": text}}]
        }}]}]
    })
}

async fn post_signed(app: &TestApp, body: &Value, secret: &str) -> u16 {
    let bytes = serde_json::to_vec(body).unwrap();
    app.http
        .post(app.url("/webhooks/whatsapp"))
        .header("x-hub-signature-256", signature::sign(secret.as_bytes(), &bytes))
        .body(bytes)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// One message on each number; returns when both conversations exist.
async fn two_conversations(app: &TestApp) {
    assert_eq!(post_signed(app, &message_on(NUMBER, "wamid.S1", "85290000001", "on one"), SECRET).await, 200);
    assert_eq!(post_signed(app, &message_on(NUMBER2, "wamid.S2", "85290000002", "on two"), SECRET2).await, 200);
    eventually("two conversations", || async { app.count("SELECT COUNT(*) FROM conversations").await == 2 }).await;
}

async fn a_scoped_agent_sees_only_their_numbers_with_phones_masked(backend: Backend) {
    let app = spawn_app(backend).await;
    let only_one = Scope::Numbers([NUMBER.to_owned()].into());
    auth::upsert_user(&app.relay.state, "scoped@example.com", "Scoped", PASSWORD, "agent", &only_one).await.unwrap();
    auth::upsert_user(&app.relay.state, "boss@example.com", "Boss", PASSWORD, "SUPERVISOR", &Scope::All).await.unwrap();
    two_conversations(&app).await;
    let scoped = app.login_as("scoped@example.com", PASSWORD).await;
    let boss = app.login_as("boss@example.com", PASSWORD).await;

    let me = app.get_json(&scoped, "/api/v1/me").await;
    assert_eq!(me["role"], "Agent");
    assert_eq!(me["scope"], json!({"kind": "numbers", "numbers": [NUMBER]}));
    assert!(me["permissions"].as_array().unwrap().contains(&json!("reply")));
    assert!(!me["permissions"].as_array().unwrap().contains(&json!("see_full_phone_numbers")));

    let mine = app.get_json(&scoped, "/api/v1/conversations").await;
    let list = mine["conversations"].as_array().unwrap();
    assert_eq!(list.len(), 1, "{mine}");
    assert_eq!(list[0]["number_id"], NUMBER);
    assert_eq!(list[0]["contact"], "852•••••001");
    let numbers = app.get_json(&scoped, "/api/v1/numbers").await;
    assert_eq!(numbers.as_array().unwrap().len(), 1);

    let all = app.get_json(&boss, "/api/v1/conversations").await;
    let contacts: Vec<&str> = all["conversations"].as_array().unwrap().iter().map(|c| c["contact"].as_str().unwrap()).collect();
    assert_eq!(contacts.len(), 2);
    assert!(contacts.contains(&"85290000001") && contacts.contains(&"85290000002"), "{contacts:?}");

    // The other number's conversation does not exist for them.
    let (other,): (i64,) = sqlx::query_as("SELECT id FROM conversations WHERE number_id = $1")
        .bind(NUMBER2)
        .fetch_one(&app.relay.state.db.pool)
        .await
        .unwrap();
    let r = app.call(Method::GET, &scoped, &format!("/api/v1/conversations/{other}/messages"), None).await;
    assert_eq!(r.status(), 404);
    let r = app.call(Method::POST, &scoped, &format!("/api/v1/conversations/{other}/messages"), Some(&json!({"text": "x"}))).await;
    assert_eq!(r.status(), 404);

    // The event stream replays and follows their number only, masked.
    let mut stream = app.call(Method::GET, &scoped, "/api/v1/events?after=0", None).await;
    assert_eq!(post_signed(&app, &message_on(NUMBER2, "wamid.S3", "85290000002", "two again"), SECRET2).await, 200);
    assert_eq!(post_signed(&app, &message_on(NUMBER, "wamid.S4", "85290000001", "one again"), SECRET).await, 200);
    let events = read_events(&mut stream, 2).await;
    for e in &events {
        assert_eq!(e["number_id"], NUMBER, "{e}");
        assert_eq!(e["conversation"]["contact"], "852•••••001", "{e}");
    }
    assert_eq!(events[1]["message"]["body"], "one again");
}

async fn a_webhook_must_carry_the_app_secret_of_the_number_it_names(backend: Backend) {
    let app = spawn_app(backend).await;
    let for_two = message_on(NUMBER2, "wamid.R1", "85290000009", "routed");
    assert_eq!(post_signed(&app, &for_two, SECRET).await, 401, "signed by another number's app");
    assert_eq!(post_signed(&app, &message_on(NUMBER, "wamid.R2", "85290000009", "x"), SECRET2).await, 401);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_inbox").await, 0);
    assert_eq!(post_signed(&app, &for_two, SECRET2).await, 200);
    assert_eq!(post_signed(&app, &message_on(NUMBER, "wamid.R3", "85290000009", "y"), SECRET).await, 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_inbox").await, 2);
}

fn token_of(link: &Value) -> String {
    let link = link.as_str().unwrap();
    assert!(link.starts_with("/set-password#token="), "{link}");
    link.rsplit('=').next().unwrap().to_owned()
}

async fn agents_made_in_bulk_set_a_password_once_and_disabling_ends_everything(backend: Backend) {
    let app = spawn_app(backend).await;
    auth::upsert_user(&app.relay.state, "admin@example.com", "Admin", PASSWORD, "Administrator", &Scope::All).await.unwrap();
    let admin = app.login_as("admin@example.com", PASSWORD).await;
    let users_before = app.count("SELECT COUNT(*) FROM users").await;

    // One bad line: nothing is created, and the line is named.
    let bad = json!({"emails": "ok@example.com\nnot-an-email", "role": "Agent", "scope": {"kind": "all"}});
    let r = app.post_api(&admin, "/api/v1/agents", &bad).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("line 2"));
    let unknown_role = json!({"emails": "ok@example.com", "role": "Pilot", "scope": {"kind": "all"}});
    assert_eq!(app.post_api(&admin, "/api/v1/agents", &unknown_role).await.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM users").await, users_before);

    let csv = "name,email\n陳小文,chan@example.com\nLee Amy,amy@example.com\n";
    let body = json!({"emails": csv, "role": "agent", "scope": {"kind": "numbers", "numbers": [NUMBER]}});
    let r = app.post_api(&admin, "/api/v1/agents", &body).await;
    assert_eq!(r.status(), 201);
    let created: Value = r.json().await.unwrap();
    assert_eq!(created.as_array().unwrap().len(), 2);
    let chan_id = created[0]["id"].as_i64().unwrap();
    let token = token_of(&created[0]["set_password_link"]);
    // Creating the same email again is refused as a whole.
    assert_eq!(app.post_api(&admin, "/api/v1/agents", &body).await.status(), 409);

    // No password until the link is used; the link works once.
    let attempt = |password: &'static str| {
        let app = &app;
        async move { app.sign_in("chan@example.com", password).await.status() }
    };
    assert_eq!(attempt("").await, 401);
    let set = |token: String, password: &'static str| {
        let app = &app;
        async move { app.post_api("", "/api/v1/password", &json!({"token": token, "password": password})).await }
    };
    assert_eq!(set(token.clone(), "short").await.status(), 400);
    assert_eq!(set(token.clone(), "a long new password").await.status(), 204);
    let again = set(token, "another long password").await;
    assert_eq!(again.status(), 400);
    assert!(again.text().await.unwrap().contains("invalid_link"));
    let chan = app.login_as("chan@example.com", "a long new password").await;
    let me = app.get_json(&chan, "/api/v1/me").await;
    assert_eq!((me["name"].as_str(), me["role"].as_str()), (Some("陳小文"), Some("Agent")));

    // A reply takes the conversation; disabling gives it back to the queue.
    assert_eq!(post_signed(&app, &message_on(NUMBER, "wamid.D1", "85290000005", "help"), SECRET).await, 200);
    eventually("the conversation", || async { app.count("SELECT COUNT(*) FROM conversations").await == 1 }).await;
    let (conversation,): (i64,) = sqlx::query_as("SELECT id FROM conversations").fetch_one(&app.relay.state.db.pool).await.unwrap();
    let r = app.post_api(&chan, &format!("/api/v1/conversations/{conversation}/messages"), &json!({"text": "on it"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(assigned_to(&app).await, Some(chan_id));
    // A colleague cannot take it over; a supervisor can, and give it back.
    let amy = app.login_as_new(&admin, "amy@example.com", &created[1]["set_password_link"]).await;
    let take = format!("/api/v1/conversations/{conversation}/assign");
    let amy_id = created[1]["id"].as_i64().unwrap();
    let r = app.post_api(&amy, &take, &json!({"agent_id": amy_id})).await;
    assert_eq!(r.status(), 403);
    let (admin_id,): (i64,) =
        sqlx::query_as("SELECT id FROM users WHERE email = 'admin@example.com'").fetch_one(&app.relay.state.db.pool).await.unwrap();
    let r = app.post_api(&admin, &take, &json!({"agent_id": admin_id})).await;
    assert_eq!(r.status(), 200);
    let r = app.post_api(&admin, &take, &json!({"agent_id": chan_id})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(assigned_to(&app).await, Some(chan_id));
    let stream = app.call(Method::GET, &chan, "/api/v1/events", None).await;
    assert_eq!(stream.status(), 200);

    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/agents/{chan_id}"), Some(&json!({"disabled": true}))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["disabled"], true);
    assert_eq!(app.call(Method::GET, &chan, "/api/v1/me", None).await.status(), 401);
    assert_eq!(attempt("a long new password").await, 401);
    assert_eq!(assigned_to(&app).await, None);
    // Their open event stream ends.
    let mut body = stream.bytes_stream();
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        while let Some(chunk) = body.next().await {
            if chunk.is_err() {
                break;
            }
        }
    })
    .await;
    assert!(ended.is_ok(), "the disabled agent's event stream stayed open");

    // Re-enabled, the same password works; a reset link stops it.
    let r = app.call(Method::PATCH, &admin, &format!("/api/v1/agents/{chan_id}"), Some(&json!({"disabled": false}))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(attempt("a long new password").await, 200);
    let r = app.post_api(&admin, &format!("/api/v1/agents/{chan_id}/password-link"), &json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(attempt("a long new password").await, 401);

    let audit = app.get_json(&admin, "/api/v1/audit?action=agent.").await;
    let actions: Vec<&str> = audit.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for expected in ["agent.create", "agent.disable", "agent.enable", "agent.reset_password", "agent.set_password"] {
        assert!(actions.contains(&expected), "{expected} missing from {actions:?}");
    }
    let disable = audit.as_array().unwrap().iter().find(|e| e["action"] == "agent.disable").unwrap();
    assert_eq!(disable["actor"], "admin@example.com");
    assert_eq!((disable["before"]["disabled"].as_bool(), disable["after"]["disabled"].as_bool()), (Some(false), Some(true)));
    let searched = app.get_json(&admin, "/api/v1/audit?q=amy%40example").await;
    assert_eq!(searched.as_array().unwrap().len(), 1, "{searched}");
}

async fn a_custom_role_grants_exactly_its_permissions(backend: Backend) {
    let app = spawn_app(backend).await;
    auth::upsert_user(&app.relay.state, "admin@example.com", "Admin", PASSWORD, "Administrator", &Scope::All).await.unwrap();
    let admin = app.login_as("admin@example.com", PASSWORD).await;
    let r = app.post_api(&admin, "/api/v1/roles", &json!({"name": "Reporter", "permissions": ["view_reports"]})).await;
    assert_eq!(r.status(), 201);
    let role: Value = r.json().await.unwrap();
    let bad = app.post_api(&admin, "/api/v1/roles", &json!({"name": "X", "permissions": ["fly"]})).await;
    assert_eq!(bad.status(), 400);
    let builtin = app.post_api(&admin, "/api/v1/roles", &json!({"name": "agent", "permissions": []})).await;
    assert_eq!(builtin.status(), 409);

    auth::upsert_user(&app.relay.state, "rep@example.com", "Rep", PASSWORD, "reporter", &Scope::All).await.unwrap();
    let rep = app.login_as("rep@example.com", PASSWORD).await;
    assert_eq!(app.call(Method::GET, &rep, "/api/v1/audit", None).await.status(), 200);
    assert_eq!(app.call(Method::GET, &rep, "/api/v1/agents", None).await.status(), 403);
    assert_eq!(post_signed(&app, &message_on(NUMBER, "wamid.C1", "85290000007", "hi"), SECRET).await, 200);
    eventually("the conversation", || async { app.count("SELECT COUNT(*) FROM conversations").await == 1 }).await;
    let (conversation,): (i64,) = sqlx::query_as("SELECT id FROM conversations").fetch_one(&app.relay.state.db.pool).await.unwrap();
    let reply = format!("/api/v1/conversations/{conversation}/messages");
    assert_eq!(app.post_api(&rep, &reply, &json!({"text": "x"})).await.status(), 403);

    // Granting reply takes effect on the next request.
    let id = role["id"].as_i64().unwrap();
    let r = app
        .call(
            Method::PUT,
            &admin,
            &format!("/api/v1/roles/{id}"),
            Some(&json!({"name": "Reporter", "permissions": ["view_reports", "reply"]})),
        )
        .await;
    assert_eq!(r.status(), 200);
    assert_eq!(app.post_api(&rep, &reply, &json!({"text": "now I may"})).await.status(), 200);
    // A role someone holds cannot be removed.
    assert_eq!(app.call(Method::DELETE, &admin, &format!("/api/v1/roles/{id}"), None).await.status(), 409);
    let roles = app.get_json(&admin, "/api/v1/roles").await;
    let names: Vec<&str> = roles.as_array().unwrap().iter().map(|r| r["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Administrator", "Supervisor", "Agent", "Analyst", "Reporter"]);
}

async fn the_audit_log_refuses_changes(backend: Backend) {
    let app = spawn_app(backend).await;
    assert!(app.count("SELECT COUNT(*) FROM audit_log").await > 0, "user add is audited");
    let pool = &app.relay.state.db.pool;
    assert!(sqlx::query("UPDATE audit_log SET actor = 'someone else'").execute(pool).await.is_err());
    assert!(sqlx::query("DELETE FROM audit_log").execute(pool).await.is_err());
    assert!(app.count("SELECT COUNT(*) FROM audit_log WHERE actor = 'cli'").await > 0);
}

async fn the_supervisor_view_counts_waiting_and_first_responses(backend: Backend) {
    let app = spawn_app(backend).await;
    auth::upsert_user(&app.relay.state, "boss@example.com", "Boss", PASSWORD, "Supervisor", &Scope::All).await.unwrap();
    let boss = app.login_as("boss@example.com", PASSWORD).await;
    two_conversations(&app).await;
    let (conversation,): (i64,) =
        sqlx::query_as("SELECT id FROM conversations WHERE number_id = $1").bind(NUMBER).fetch_one(&app.relay.state.db.pool).await.unwrap();
    let r = app.post_api(&boss, &format!("/api/v1/conversations/{conversation}/messages"), &json!({"text": "answered"})).await;
    assert_eq!(r.status(), 200);
    let _stream = app.call(Method::GET, &boss, "/api/v1/events", None).await;
    let view = app.get_json(&boss, "/api/v1/supervisor?day_start=0").await;
    let number = |id: &str| view["numbers"].as_array().unwrap().iter().find(|n| n["id"] == id).unwrap().clone();
    let one = number(NUMBER);
    assert_eq!((one["open"].as_i64(), one["waiting"].as_i64(), one["handled_last_hour"].as_i64()), (Some(1), Some(0), Some(1)));
    assert!(one["median_first_response_ms"].as_i64().is_some(), "{one}");
    let two = number(NUMBER2);
    assert_eq!((two["open"].as_i64(), two["waiting"].as_i64()), (Some(1), Some(1)));
    assert!(two["longest_wait_ms"].as_i64().unwrap() >= 0);
    assert_eq!(two["median_first_response_ms"], Value::Null);
    let boss_row = view["agents"].as_array().unwrap().iter().find(|a| a["name"] == "Boss").unwrap().clone();
    assert_eq!(
        (boss_row["online"].as_bool(), boss_row["open"].as_i64(), boss_row["handled_last_hour"].as_i64()),
        (Some(true), Some(1), Some(1))
    );
}

async fn assigned_to(app: &TestApp) -> Option<i64> {
    let (a,): (Option<i64>,) = sqlx::query_as("SELECT assigned_to FROM conversations").fetch_one(&app.relay.state.db.pool).await.unwrap();
    a
}

async fn an_export_of_100k_messages_streams_in_pages_within_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    two_conversations(&app).await;
    let pool = &app.relay.state.db.pool;
    let (one,): (i64,) = sqlx::query_as("SELECT id FROM conversations WHERE number_id = $1").bind(NUMBER).fetch_one(pool).await.unwrap();
    // 100,000 more messages on the first number, made by the database itself.
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 100000)
         INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, status, status_rank, error, created_at)
         SELECT {one}, '{NUMBER}', NULL, 'inbound', 'text', 'line, with \"quotes\" ' || i, NULL, 0, NULL, 1767225600000 + i FROM n"
    )))
    .execute(pool)
    .await
    .unwrap();
    auth::upsert_user(&app.relay.state, "analyst@example.com", "Ana", PASSWORD, "Analyst", &Scope::Numbers([NUMBER.to_owned()].into()))
        .await
        .unwrap();
    let analyst = app.login_as("analyst@example.com", PASSWORD).await;

    let response = app.call(Method::GET, &analyst, "/api/v1/export/conversations?format=csv", None).await;
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-disposition"].to_str().unwrap().contains("conversations.csv"));
    let mut chunks = 0;
    let mut bytes = Vec::new();
    let mut body = response.bytes_stream();
    while let Some(chunk) = body.next().await {
        chunks += 1;
        bytes.extend_from_slice(&chunk.unwrap());
    }
    assert!(chunks >= 50, "expected the body in many pieces, got {chunks}");
    let text = String::from_utf8(bytes).unwrap();
    let mut reader = csv::Reader::from_reader(text.trim_start_matches('\u{feff}').as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(&headers[0], "message_id");
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // Their number only: the 100,000 plus the one webhook message; never the other number's.
    assert_eq!(records.len(), 100_001);
    let number_at = headers.iter().position(|h| h == "number_id").unwrap();
    assert!(records.iter().all(|r| &r[number_at] == NUMBER));
    let body_at = headers.iter().position(|h| h == "body").unwrap();
    assert_eq!(&records[100_000][body_at], "line, with \"quotes\" 100000");
    let contact_at = headers.iter().position(|h| h == "contact").unwrap();
    assert_eq!(&records[0][contact_at], "852•••••001", "analysts see masked phones");

    let json: Value = app
        .call(
            Method::GET,
            &analyst,
            &format!("/api/v1/export/conversations?format=json&from={}&to={}", 1767225600000_i64 + 1, 1767225600000_i64 + 11),
            None,
        )
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(json.as_array().unwrap().len(), 10);
    assert_eq!(json[0]["created_at"], "2026-01-01T00:00:00.001Z");
    let bad = app.call(Method::GET, &analyst, "/api/v1/export/conversations?format=xml", None).await;
    assert_eq!(bad.status(), 400);
    let outside = app.call(Method::GET, &analyst, &format!("/api/v1/export/conversations?number={NUMBER2}"), None).await;
    assert_eq!(outside.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'export.conversations'").await, 2);
}

impl TestApp {
    /// Uses a set-password link and signs in; returns the cookie.
    async fn login_as_new(&self, _admin: &str, email: &str, link: &Value) -> String {
        let token = token_of(link);
        let r = self.post_api("", "/api/v1/password", &json!({"token": token, "password": "another long password"})).await;
        assert_eq!(r.status(), 204);
        self.login_as(email, "another long password").await
    }
}

fn group_change(kind_field: &str, group: Value) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000001", "changes": [{"field": kind_field, "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": NUMBER},
            "groups": [group]
        }}]}]
    })
}

async fn a_group_conversation_is_named_by_its_subject_and_renamed_live(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = app.login().await;
    let group = "120363025246125888";
    let created = group_change(
        "group_lifecycle_update",
        json!({"timestamp": "1767225600", "group_id": group, "type": "group_create", "request_id": "r1",
               "subject": "門市同事 Shop team", "invite_link": "https://chat.whatsapp.com/abc", "join_approval_mode": "auto_approve"}),
    );
    assert_eq!(post_signed(&app, &created, SECRET).await, 200);
    let mut message = message_on(NUMBER, "wamid.G1", "85290000003", "早晨");
    message["entry"][0]["changes"][0]["value"]["messages"][0]["group_id"] = json!(group);
    assert_eq!(post_signed(&app, &message, SECRET).await, 200);
    eventually("the group conversation", || async { app.count("SELECT COUNT(*) FROM conversations").await == 1 }).await;
    let list = app.get_json(&cookie, "/api/v1/conversations").await;
    let c = &list["conversations"][0];
    assert_eq!((c["contact"].as_str(), c["contact_name"].as_str()), (Some(group), Some("門市同事 Shop team")));
    assert!(c["last_preview"].as_str().unwrap().contains("早晨"));

    let mut stream = app.call(Method::GET, &cookie, "/api/v1/events", None).await;
    let renamed = group_change(
        "group_settings_update",
        json!({"timestamp": "1767225700", "group_id": group, "type": "group_settings_update", "request_id": "r2",
               "group_subject": {"text": "Shop team (new)", "update_successful": true},
               "group_description": {"text": "x", "update_successful": true}}),
    );
    assert_eq!(post_signed(&app, &renamed, SECRET).await, 200);
    let events = read_events(&mut stream, 1).await;
    assert_eq!(events[0]["type"], "conversation");
    assert_eq!(events[0]["conversation"]["contact_name"], "Shop team (new)");
    // A failed rename changes nothing.
    let failed = group_change(
        "group_settings_update",
        json!({"timestamp": "1767225800", "group_id": group, "type": "group_settings_update",
               "group_subject": {"text": "Never", "update_successful": false, "errors": [{"code": 131208}]}}),
    );
    assert_eq!(post_signed(&app, &failed, SECRET).await, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (name,): (Option<String>,) =
        sqlx::query_as("SELECT contact_name FROM conversations").fetch_one(&app.relay.state.db.pool).await.unwrap();
    assert_eq!(name.as_deref(), Some("Shop team (new)"));
}

async fn labels_are_normalised_audited_and_filter_the_export(backend: Backend) {
    let app = spawn_app(backend).await;
    two_conversations(&app).await;
    auth::upsert_user(&app.relay.state, "boss@example.com", "Boss", PASSWORD, "Supervisor", &Scope::All).await.unwrap();
    let boss = app.login_as("boss@example.com", PASSWORD).await;
    let (one,): (i64,) =
        sqlx::query_as("SELECT id FROM conversations WHERE number_id = $1").bind(NUMBER).fetch_one(&app.relay.state.db.pool).await.unwrap();
    let path = format!("/api/v1/conversations/{one}/labels");
    let r = app.call(Method::PUT, &boss, &path, Some(&json!({"labels": [" VIP ", "訂單", "vip", ""]}))).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["labels"], json!(["VIP", "訂單"]));
    let bad = app.call(Method::PUT, &boss, &path, Some(&json!({"labels": ["a,b"]}))).await;
    assert_eq!(bad.status(), 400);
    let list = app.get_json(&boss, "/api/v1/conversations").await;
    let labelled: Vec<&Value> = list["conversations"].as_array().unwrap().iter().filter(|c| c["labels"] != json!([])).collect();
    assert_eq!(labelled.len(), 1);

    let export = |label: &'static str| {
        let app = &app;
        let boss = boss.clone();
        async move {
            let r = app.call(Method::GET, &boss, &format!("/api/v1/export/conversations?format=json&label={label}"), None).await;
            assert_eq!(r.status(), 200, "{label}");
            r.json::<Value>().await.unwrap().as_array().unwrap().len()
        }
    };
    assert_eq!(export("vip").await, 1, "labels match whole and ignoring case");
    assert_eq!(export("%E8%A8%82%E5%96%AE").await, 1); // 訂單
    assert_eq!(export("VI").await, 0, "no partial matches");
    let quote = app.call(Method::GET, &boss, "/api/v1/export/conversations?label=x%27", None).await;
    assert_eq!(quote.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'conversation.labels'").await, 1);
}

async fn a_deleted_message_loses_its_text_for_good_and_is_audited(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = message_on(NUMBER, "wamid.DEL1", "85290000004", "my card number is 4111…");
    assert_eq!(post_signed(&app, &body, SECRET).await, 200);
    eventually("the message", || async { app.count("SELECT COUNT(*) FROM messages").await == 1 }).await;
    let (id, conversation): (i64, i64) =
        sqlx::query_as("SELECT id, conversation_id FROM messages").fetch_one(&app.relay.state.db.pool).await.unwrap();
    let agent = app.login().await;
    assert_eq!(app.call(Method::DELETE, &agent, &format!("/api/v1/messages/{id}"), None).await.status(), 403);
    auth::upsert_user(&app.relay.state, "boss@example.com", "Boss", PASSWORD, "Supervisor", &Scope::All).await.unwrap();
    let boss = app.login_as("boss@example.com", PASSWORD).await;
    assert_eq!(app.call(Method::DELETE, &boss, &format!("/api/v1/messages/{id}"), None).await.status(), 204);
    assert_eq!(app.call(Method::DELETE, &boss, "/api/v1/messages/999999", None).await.status(), 404);

    let messages = app.get_json(&boss, &format!("/api/v1/conversations/{conversation}/messages")).await;
    assert_eq!((messages[0]["kind"].as_str(), messages[0]["body"].as_str()), (Some("deleted"), Some("")));
    let list = app.get_json(&boss, "/api/v1/conversations").await;
    assert_eq!(list["conversations"][0]["last_preview"], "", "the preview does not keep the text");
    // Meta delivering the same webhook again does not bring it back.
    assert_eq!(post_signed(&app, &body, SECRET).await, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE body LIKE '%4111%'").await, 0);
    // The audit log says what was deleted, not what it said.
    let audit = app.get_json(&boss, "/api/v1/audit?action=message.delete").await;
    assert_eq!(audit.as_array().unwrap().len(), 1);
    assert!(!audit.to_string().contains("4111"), "{audit}");
    assert_eq!(audit[0]["before"]["characters"], 23);
}

/// `switchboard user add` from the command line, against the database of a relay that is running.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_command_line_adds_a_scoped_user_while_the_relay_runs() {
    let app = spawn_app(Backend::Sqlite).await;
    let dir = app.relay.state.config.data_dir.clone();
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_switchboard"))
            .args(["user", "add", "--data-dir", dir.to_str().unwrap(), "--secret-key", TEST_KEY])
            .args(args)
            .output()
            .unwrap()
    };
    let ok = run(&["--email", "Cli@Example.com", "--password", "cli-password-1", "--role", "sUpErViSoR", "--numbers", NUMBER]);
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    assert!(String::from_utf8_lossy(&ok.stdout).contains("Supervisor"));
    let bad_role = run(&["--email", "x@example.com", "--password", "cli-password-1", "--role", "pilot"]);
    assert!(!bad_role.status.success());
    assert!(String::from_utf8_lossy(&bad_role.stderr).contains("unknown role"), "{}", String::from_utf8_lossy(&bad_role.stderr));
    let bad_numbers = run(&["--email", "y@example.com", "--password", "cli-password-1", "--numbers", "abc"]);
    assert!(!bad_numbers.status.success());

    // The running relay sees the new user at once.
    let cookie = app.login_as("cli@example.com", "cli-password-1").await;
    let me = app.get_json(&cookie, "/api/v1/me").await;
    assert_eq!(me["role"], "Supervisor");
    assert_eq!(me["scope"], json!({"kind": "numbers", "numbers": [NUMBER]}));
}

async fn a_scope_change_closes_the_live_stream_so_it_reconnects_with_the_new_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    auth::upsert_user(&app.relay.state, "admin@example.com", "Admin", PASSWORD, "Administrator", &Scope::All).await.unwrap();
    let only_one = Scope::Numbers([NUMBER.to_owned()].into());
    let id = auth::upsert_user(&app.relay.state, "scoped@example.com", "Scoped", PASSWORD, "Agent", &only_one).await.unwrap();
    let admin = app.login_as("admin@example.com", PASSWORD).await;
    let scoped = app.login_as("scoped@example.com", PASSWORD).await;
    let stream = app.call(Method::GET, &scoped, "/api/v1/events", None).await;
    let r = app
        .call(Method::PATCH, &admin, &format!("/api/v1/agents/{id}"), Some(&json!({"scope": {"kind": "numbers", "numbers": [NUMBER2]}})))
        .await;
    assert_eq!(r.status(), 200);
    let mut body = stream.bytes_stream();
    let closed = tokio::time::timeout(Duration::from_secs(10), async { while let Some(Ok(_)) = body.next().await {} }).await;
    assert!(closed.is_ok(), "the stream with the old scope stayed open");
    // Reconnected, the same session now follows the other number.
    let mut stream = app.call(Method::GET, &scoped, "/api/v1/events", None).await;
    assert_eq!(stream.status(), 200);
    two_conversations(&app).await;
    let events = read_events(&mut stream, 1).await;
    assert_eq!(events[0]["number_id"], NUMBER2);
}

async fn an_administrator_changes_many_agents_at_once_all_or_none(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        let email = format!("team{i}@example.com");
        auth::upsert_user(&app.relay.state, &email, &format!("Team {i}"), PASSWORD, "Agent", &Scope::All).await.unwrap();
        let all = app.get_json(&admin, "/api/v1/agents").await;
        ids.push(all.as_array().unwrap().iter().find(|a| a["email"] == email.as_str()).unwrap()["id"].as_i64().unwrap());
    }
    let cookie = app.login_as("team2@example.com", PASSWORD).await;
    let me = app.get_json(&admin, "/api/v1/me").await["id"].as_i64().unwrap();
    let state = || async {
        let all = app.get_json(&admin, "/api/v1/agents").await;
        let mine: Vec<(String, Option<i64>, bool)> = all
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| ids.contains(&a["id"].as_i64().unwrap()))
            .map(|a| (a["role"].as_str().unwrap().to_owned(), a["capacity"].as_i64(), a["disabled"].as_bool().unwrap()))
            .collect();
        mine
    };
    let before = state().await;
    let audit_before = app.count("SELECT COUNT(*) FROM audit_log").await;

    // Bad requests change nobody, and say why.
    let cases = [
        (json!({"agent_ids": [], "change": {"capacity": 5}}), 400, "invalid_agents"),
        (json!({"agent_ids": [ids[0], 999_999], "change": {"capacity": 5}}), 400, "invalid_agents"),
        (json!({"agent_ids": [ids[0], ids[1]], "change": {"code": "200"}}), 400, "invalid_change"),
        (json!({"agent_ids": [ids[0], ids[1]], "change": {"name": "Same"}}), 400, "invalid_change"),
        (json!({"agent_ids": [ids[0], ids[1]], "change": {}}), 400, "invalid_change"),
        (json!({"agent_ids": [ids[0], ids[1]], "change": {"capacity": -1}}), 400, "invalid_capacity"),
        (json!({"agent_ids": [ids[0], ids[1]], "change": {"role": "Pilot"}}), 400, "unknown_role"),
        // The administrator among them: nobody may disable themselves, so nobody is disabled.
        (json!({"agent_ids": [ids[0], me], "change": {"disabled": true}}), 409, "conflict"),
        (json!({"agent_ids": "all", "change": {"capacity": 5}}), 400, ""),
    ];
    for (body, status, code) in cases {
        let r = app.post_api(&admin, "/api/v1/agents/bulk", &body).await;
        assert_eq!(r.status().as_u16(), status, "{body}");
        let text = r.text().await.unwrap();
        assert!(text.contains(code), "{body}: {text}");
    }
    assert_eq!(state().await, before, "nothing changed");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log").await, audit_before, "nothing audited");

    // One change for three: each is changed and audited; a disabled agent's sessions end.
    let body = json!({"agent_ids": [ids[0], ids[1], ids[2], ids[2]], "change": {"role": "Supervisor", "capacity": 8}});
    let r = app.post_api(&admin, "/api/v1/agents/bulk", &body).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap().as_array().unwrap().len(), 3, "each once");
    assert!(state().await.iter().all(|a| *a == ("Supervisor".to_owned(), Some(8), false)), "{:?}", state().await);
    let r = app.post_api(&admin, "/api/v1/agents/bulk", &json!({"agent_ids": [ids[1], ids[2]], "change": {"disabled": true}})).await;
    assert_eq!(r.status(), 200);
    let after = state().await;
    assert_eq!(after.iter().map(|a| a.2).collect::<Vec<_>>(), [false, true, true]);
    let audit = app.get_json(&admin, "/api/v1/audit?action=agent.disable").await;
    assert_eq!(audit.as_array().unwrap().len(), 2, "one entry per agent");
    let r = app.call(Method::GET, &cookie, "/api/v1/me", None).await;
    assert_eq!(r.status(), 401, "the disabled agent is signed out");
}
