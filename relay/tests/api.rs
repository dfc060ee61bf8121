//! Relay integration tests: a real relay on 127.0.0.1:0, real storage (SQLite, and PostgreSQL
//! when `DATABASE_URL` points at one), a real sandbox over HTTP, real signatures.

#[macro_use]
mod common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::numbers::{self, NewNumber};
use switchboard_relay::{Backend, ConfigArgs, Relay};
use switchboard_shared::access::Scope;
use switchboard_shared::signature;

on_both_backends!(
    webhook_with_bad_signature_is_rejected_and_stores_nothing,
    webhook_over_3_mib_is_refused_with_413,
    duplicate_delivery_stores_the_message_once,
    several_entries_and_changes_in_one_post_are_all_processed,
    out_of_order_statuses_never_move_a_message_backwards,
    signed_body_that_cannot_be_parsed_goes_to_dead_letters_and_gets_200,
    event_stream_resumes_after_last_event_id_with_nothing_lost,
    login_sets_a_session_cookie_and_bad_login_is_401,
    state_changing_request_without_csrf_header_is_403,
    reply_goes_through_the_sandbox_and_ticks_reach_read,
    send_with_unknown_outcome_is_settled_from_its_status_not_resent,
    a_revoked_token_stops_the_number_and_says_why_while_the_reply_waits,
);

async fn webhook_with_bad_signature_is_rejected_and_stores_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = serde_json::to_vec(&text_message("wamid.BAD1", "85290000001", "hi")).unwrap();
    let wrong = app
        .http
        .post(app.url("/webhooks/whatsapp"))
        .header("x-hub-signature-256", signature::sign(b"not-the-secret", &body))
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);
    let missing = app.http.post(app.url("/webhooks/whatsapp")).body(body.clone()).send().await.unwrap();
    assert_eq!(missing.status(), 401);
    let malformed = app.http.post(app.url("/webhooks/whatsapp")).header("x-hub-signature-256", "sha1=abc").body(body).send().await.unwrap();
    assert_eq!(malformed.status(), 401);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_inbox").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
}

async fn webhook_over_3_mib_is_refused_with_413(backend: Backend) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let app = spawn_app(backend).await;
    // A raw request that declares its size and asks before sending the body, so the refusal is
    // read deterministically (a client still writing 3 MiB would race the server's close).
    let big = 3 * 1024 * 1024 + 1;
    let body = vec![b' '; big];
    let head = format!(
        "POST /webhooks/whatsapp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\n\
         x-hub-signature-256: {}\r\ncontent-length: {big}\r\nexpect: 100-continue\r\n\r\n",
        app.relay.addr,
        signature::sign(SECRET.as_bytes(), &body)
    );
    let mut tcp = tokio::net::TcpStream::connect(app.relay.addr).await.unwrap();
    tcp.write_all(head.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut answer)).await;
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("too_large"), "{answer}");
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_inbox").await, 0);

    // Just under the limit is Meta's to send and ours to take (the web framework's default
    // 2 MB cap must not apply here).
    let mut near = serde_json::to_vec(&text_message("wamid.BIG1", "85290000001", "big but allowed")).unwrap();
    near.resize(5 * 1024 * 1024 / 2, b' ');
    assert_eq!(app.post_webhook(&near).await.status(), 200);
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_inbox").await, 1);
}

async fn duplicate_delivery_stores_the_message_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let body = serde_json::to_vec(&text_message("wamid.DUP1", "85290000001", "hello twice")).unwrap();
    assert_eq!(app.post_webhook(&body).await.status(), 200);
    assert_eq!(app.post_webhook(&body).await.status(), 200);
    eventually("both bodies processed", || async { app.count("SELECT COUNT(*) FROM webhook_inbox WHERE processed = TRUE").await == 2 })
        .await;
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM events WHERE kind = 'message'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM conversations WHERE unread = 1").await, 1);
}

async fn several_entries_and_changes_in_one_post_are_all_processed(backend: Backend) {
    let app = spawn_app(backend).await;
    let change = |wamid: &str, from: &str| text_message(wamid, from, "batched")["entry"][0]["changes"][0].clone();
    let body = json!({
        "object": "whatsapp_business_account",
        "entry": [
            {"id": "200000000000001", "changes": [change("wamid.M1", "85290000001"), change("wamid.M2", "85290000002")]},
            {"id": "200000000000001", "changes": [change("wamid.M3", "85290000003")]},
        ]
    });
    // A change with two messages and a BSUID-only sender (no wa_id).
    let mut two = change("wamid.M4", "85290000004");
    two["value"]["messages"].as_array_mut().unwrap().push(json!({
        "from_user_id": "HK.1234567890", "id": "wamid.M5", "timestamp": 1767225600, "type": "text", "text": {"body": "no phone"}
    }));
    two["value"]["contacts"].as_array_mut().unwrap().push(json!({"profile": {"name": "Anon"}, "user_id": "HK.1234567890"}));
    let mut body = body;
    body["entry"][1]["changes"].as_array_mut().unwrap().push(two);
    assert_eq!(app.post_webhook(&serde_json::to_vec(&body).unwrap()).await.status(), 200);
    eventually("all five messages stored", || async { app.count("SELECT COUNT(*) FROM messages").await == 5 }).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM conversations").await, 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM conversations WHERE contact = 'HK.1234567890'").await, 1);
}

async fn out_of_order_statuses_never_move_a_message_backwards(backend: Backend) {
    let app = spawn_app(backend).await;
    // An outbound message we know by wamid.
    let state = &app.relay.state;
    sqlx::query("INSERT INTO conversations (number_id, contact, last_message_at, last_preview, last_direction) VALUES ($1, '85290000001', 1, 'x', 'outbound')")
        .bind(NUMBER)
        .execute(&state.db.pool)
        .await
        .unwrap();
    sqlx::query("INSERT INTO messages (conversation_id, number_id, wamid, direction, kind, body, status, status_rank, created_at) VALUES (1, $1, 'wamid.OUT1', 'outbound', 'text', 'x', 'accepted', 1, 1)")
        .bind(NUMBER)
        .execute(&state.db.pool)
        .await
        .unwrap();
    for status in ["read", "delivered", "sent", "read"] {
        let body = serde_json::to_vec(&status_update("wamid.OUT1", status)).unwrap();
        assert_eq!(app.post_webhook(&body).await.status(), 200);
    }
    eventually("all statuses processed", || async { app.count("SELECT COUNT(*) FROM webhook_inbox WHERE processed = TRUE").await == 4 })
        .await;
    let (status,): (String,) =
        sqlx::query_as("SELECT status FROM messages WHERE wamid = 'wamid.OUT1'").fetch_one(&state.db.pool).await.unwrap();
    assert_eq!(status, "read");
    assert_eq!(app.count("SELECT COUNT(*) FROM message_statuses").await, 3, "each (wamid, status) once");
    assert_eq!(app.count("SELECT COUNT(*) FROM events WHERE kind = 'status'").await, 1, "only the move to read is an event");
}

async fn signed_body_that_cannot_be_parsed_goes_to_dead_letters_and_gets_200(backend: Backend) {
    let app = spawn_app(backend).await;
    assert_eq!(app.post_webhook(b"{not json").await.status(), 200);
    let bad_change = json!({"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [
        {"field": "messages", "value": {"messages": "should be a list"}},
        text_message("wamid.OK1", "85290000001", "fine")["entry"][0]["changes"][0].clone()
    ]}]});
    assert_eq!(app.post_webhook(&serde_json::to_vec(&bad_change).unwrap()).await.status(), 200);
    eventually("two dead letters", || async { app.count("SELECT COUNT(*) FROM dead_letters").await == 2 }).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 1, "the good change beside the bad one is applied");
    assert_eq!(app.count("SELECT COUNT(*) FROM events WHERE kind = 'dead_letter'").await, 2);
}

/// Reads SSE frames until `n` events arrived; returns their ids.
async fn read_events(response: reqwest::Response, n: usize) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut buffer = String::new();
    let mut stream = response.bytes_stream();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while ids.len() < n {
        let chunk = tokio::time::timeout_at(deadline, stream.next()).await.expect("events in time").expect("stream open").unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            if let Some(id) = frame.lines().find_map(|l| l.strip_prefix("id:")) {
                ids.push(id.trim().parse().unwrap());
            }
        }
    }
    ids
}

async fn event_stream_resumes_after_last_event_id_with_nothing_lost(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = app.login().await;
    for i in 1..=3 {
        let body = serde_json::to_vec(&text_message(&format!("wamid.E{i}"), "85290000001", "x")).unwrap();
        app.post_webhook(&body).await;
    }
    eventually("three events", || async { app.count("SELECT COUNT(*) FROM events").await == 3 }).await;
    let unauthenticated = app.http.get(app.url("/api/v1/events")).send().await.unwrap();
    assert_eq!(unauthenticated.status(), 401);
    // Resume after event 1: events 2 and 3 from the log, then 4 and 5 live.
    let response = app.http.get(app.url("/api/v1/events")).header("cookie", &cookie).header("last-event-id", "1").send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"].to_str().unwrap().starts_with("text/event-stream"));
    for i in 4..=5 {
        let body = serde_json::to_vec(&text_message(&format!("wamid.E{i}"), "85290000002", "y")).unwrap();
        app.post_webhook(&body).await;
    }
    assert_eq!(read_events(response, 4).await, vec![2, 3, 4, 5]);
    // `?after=` does the same for a first connection.
    let response = app.http.get(app.url("/api/v1/events?after=3")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(read_events(response, 2).await, vec![4, 5]);
}

async fn login_sets_a_session_cookie_and_bad_login_is_401(backend: Backend) {
    let app = spawn_app(backend).await;
    let bad = app
        .http
        .post(app.url("/api/v1/session"))
        .header("x-requested-with", "switchboard")
        .json(&json!({"email": "agent@example.com", "password": "wrong"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 401);
    let body: Value = bad.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");
    let unknown = app
        .http
        .post(app.url("/api/v1/session"))
        .header("x-requested-with", "switchboard")
        .json(&json!({"email": "nobody@example.com", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 401);
    let garbage = app.http.post(app.url("/api/v1/session")).header("x-requested-with", "switchboard").body("{").send().await.unwrap();
    assert_eq!(garbage.status(), 400);
    assert_eq!(app.http.get(app.url("/api/v1/numbers")).send().await.unwrap().status(), 401);
    let cookie = app.login().await;
    let me = app.get_json(&cookie, "/api/v1/me").await;
    assert_eq!(me["email"], "agent@example.com");
    let numbers = app.get_json(&cookie, "/api/v1/numbers").await;
    assert_eq!(numbers[0]["id"], NUMBER);
    assert_eq!(numbers[0]["verified_name"], "Test Shop", "health read from the Graph API");
    assert_eq!(numbers[0]["connected"], true);
    let out = app
        .http
        .delete(app.url("/api/v1/session"))
        .header("cookie", &cookie)
        .header("x-requested-with", "switchboard")
        .send()
        .await
        .unwrap();
    assert_eq!(out.status(), 204);
    assert_eq!(app.http.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap().status(), 401);
}

async fn state_changing_request_without_csrf_header_is_403(backend: Backend) {
    let app = spawn_app(backend).await;
    let login =
        app.http.post(app.url("/api/v1/session")).json(&json!({"email": "agent@example.com", "password": PASSWORD})).send().await.unwrap();
    assert_eq!(login.status(), 403);
    let cookie = app.login().await;
    let out = app.http.delete(app.url("/api/v1/session")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(out.status(), 403);
    assert_eq!(app.http.get(app.url("/api/v1/me")).header("cookie", &cookie).send().await.unwrap().status(), 200);
}

async fn reply_goes_through_the_sandbox_and_ticks_reach_read(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = app.login().await;
    app.sandbox.customer_writes(NUMBER, "85291234567", "陳美玲", "請問今天有營業嗎？");
    eventually("the customer's message arrives", || async { app.count("SELECT COUNT(*) FROM messages").await == 1 }).await;
    let inbox = app.get_json(&cookie, "/api/v1/conversations").await;
    let conversation = &inbox["conversations"][0];
    assert_eq!(conversation["contact_name"], "陳美玲");
    assert_eq!(conversation["last_preview"], "請問今天有營業嗎？");
    let id = conversation["id"].as_i64().unwrap();
    let path = format!("/api/v1/conversations/{id}/messages");
    let sent = app.post_api(&cookie, &path, &json!({"text": "有的，營業到晚上九點。"})).await;
    assert_eq!(sent.status(), 200);
    let empty = app.post_api(&cookie, &path, &json!({"text": "   "})).await;
    assert_eq!(empty.status(), 400);
    eventually("the reply is read", || async {
        app.count("SELECT COUNT(*) FROM messages WHERE direction = 'outbound' AND status = 'read'").await == 1
    })
    .await;
    let ledger = app.sandbox.ledger();
    assert_eq!(ledger.len(), 1, "sent exactly once: {ledger:?}");
    assert_eq!(ledger[0].to, "85291234567");
    assert_eq!(ledger[0].summary, "有的，營業到晚上九點。");
    assert!(ledger[0].biz_opaque_callback_data.as_deref().is_some_and(|k| k.starts_with("reply-")));
    let messages = app.get_json(&cookie, &format!("/api/v1/conversations/{id}/messages")).await;
    assert_eq!(messages.as_array().unwrap().len(), 2);
    assert_eq!(messages[1]["status"], "read");
}

async fn send_with_unknown_outcome_is_settled_from_its_status_not_resent(backend: Backend) {
    let app = spawn_app(backend).await;
    let state = &app.relay.state;
    // A send the relay had in flight when it died: the sandbox did accept it.
    app.sandbox.customer_writes(NUMBER, "85291110000", "Ho Wing Sze", "hi");
    eventually("conversation", || async { app.count("SELECT COUNT(*) FROM conversations").await == 1 }).await;
    sqlx::query("INSERT INTO outbox (idempotency_key, number_id, message_id, payload, state, attempts, next_attempt_at, created_at, updated_at) VALUES ('crash-1', $1, NULL, '{}', 'unknown', 1, $2, 0, 0)")
        .bind(NUMBER)
        .bind(i64::MAX / 2)
        .execute(&state.db.pool)
        .await
        .unwrap();
    let mut status = status_update("wamid.CRASH1", "sent");
    status["entry"][0]["changes"][0]["value"]["statuses"][0]["biz_opaque_callback_data"] = json!("crash-1");
    assert_eq!(app.post_webhook(&serde_json::to_vec(&status).unwrap()).await.status(), 200);
    eventually("the unknown send is settled", || async {
        app.count("SELECT COUNT(*) FROM outbox WHERE idempotency_key = 'crash-1' AND state = 'sent' AND wamid = 'wamid.CRASH1'").await == 1
    })
    .await;
    assert!(app.sandbox.ledger().is_empty(), "nothing was sent again");
}

#[tokio::test]
async fn verification_handshake_echoes_the_challenge_and_refuses_a_wrong_token() {
    let app = spawn_app(Backend::Sqlite).await;
    let ok = app
        .http
        .get(app.url("/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=verify-me"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    let bad = app.http.get(app.url("/webhooks/whatsapp?hub.mode=subscribe&hub.challenge=1&hub.verify_token=nope")).send().await.unwrap();
    assert_eq!(bad.status(), 403);
}

#[tokio::test]
async fn healthz_metrics_and_security_headers() {
    let app = spawn_app(Backend::Sqlite).await;
    let health = app.http.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let csp = health.headers()["content-security-policy"].to_str().unwrap().to_owned();
    assert!(csp.contains("script-src 'self' 'wasm-unsafe-eval'") && !csp.contains("unsafe-inline"), "{csp}");
    assert_eq!(health.headers()["x-content-type-options"], "nosniff");
    let body = serde_json::to_vec(&text_message("wamid.MET1", "85290000001", "hi")).unwrap();
    app.post_webhook(&body).await;
    let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("switchboard_webhooks_total{result=\"stored\"} 1"), "{metrics}");
}

#[tokio::test]
async fn connecting_a_number_with_a_bad_token_or_id_saves_nothing() {
    let app = spawn_app(Backend::Sqlite).await;
    let bad_token = NewNumber {
        id: "100000000000009".into(),
        waba_id: "200000000000001".into(),
        access_token: "wrong".into(),
        app_secret: "s".into(),
        verify_token: String::new(),
        time_zone: None,
    };
    let err = numbers::upsert(&app.relay.state, &bad_token).await.unwrap_err();
    assert!(err.to_string().contains("190"), "{err}");
    let unknown_id = NewNumber { access_token: "sandbox-token".into(), ..bad_token };
    let err = numbers::upsert(&app.relay.state, &unknown_id).await.unwrap_err();
    assert!(err.to_string().contains("100000000000009"), "{err}");
    // The same through the console's API, as an administrator.
    auth::upsert_user(&app.relay.state, "admin@example.com", "Admin", PASSWORD, "Administrator", &Scope::All).await.unwrap();
    let admin = app.login_as("admin@example.com", PASSWORD).await;
    let connect =
        |id: &str, token: &str| json!({"waba_id": "200000000000001", "phone_number_id": id, "access_token": token, "app_secret": "s"});
    let r = app.post_api(&admin, "/api/v1/numbers", &connect("100000000000009", "sandbox-token")).await;
    assert_eq!(r.status(), 400);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "graph_refused");
    assert!(body["error"]["message"].as_str().unwrap().contains("100000000000009"), "{body}");
    let r = app.post_api(&admin, "/api/v1/numbers", &connect("12ab", "sandbox-token")).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_number");
    let r = app.post_api(&admin, "/api/v1/numbers", &connect(NUMBER, "wrong-token")).await;
    assert_eq!(r.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM numbers").await, 2, "only the numbers from setup");
    // A good one is saved, shown without its secrets, and audited.
    let r = app.post_api(&admin, "/api/v1/numbers", &connect(NUMBER, "sandbox-token")).await;
    assert_eq!(r.status(), 201);
    let shown = r.text().await.unwrap();
    assert!(!shown.contains("sandbox-token") && !shown.contains("app_secret"), "{shown}");
    assert_eq!(app.count("SELECT COUNT(*) FROM audit_log WHERE action = 'number.update'").await, 1);
}

#[tokio::test]
async fn access_tokens_and_app_secrets_are_encrypted_at_rest_and_serve_needs_a_key() {
    let app = spawn_app(Backend::Sqlite).await;
    let (token, secret): (String, String) =
        sqlx::query_as("SELECT access_token, app_secret FROM numbers").fetch_one(&app.relay.state.db.pool).await.unwrap();
    assert!(token.starts_with("enc:v1:") && !token.contains("sandbox-token"), "{token}");
    assert!(secret.starts_with("enc:v1:") && !secret.contains(SECRET), "{secret}");
    let numbers = app.get_json(&app.login().await, "/api/v1/numbers").await.to_string();
    assert!(!numbers.contains("enc:v1") && !numbers.contains("sandbox-token") && !numbers.contains(SECRET), "never sent to a browser");
    let dir = tempfile::tempdir().unwrap();
    let keyless = ConfigArgs { listen: Some("127.0.0.1:0".parse().unwrap()), data_dir: Some(dir.path().to_owned()), ..Default::default() };
    let err = Relay::start(keyless.resolve().unwrap()).await.err().expect("refuses to start without a key");
    assert!(err.to_string().contains("SWITCHBOARD_SECRET_KEY"), "{err}");
    let bad = ConfigArgs { secret_key: Some("short".into()), ..Default::default() };
    assert!(bad.resolve().is_err());
}

#[tokio::test]
async fn console_files_are_served_compressed_with_an_index_fallback_and_the_service_worker_is_revalidated() {
    let app = spawn_app(Backend::Sqlite).await;
    let dist = app.relay.state.config.console_dir.clone();
    std::fs::create_dir_all(&dist).unwrap();
    std::fs::write(dist.join("index.html"), "<!doctype html><title>console</title>").unwrap();
    std::fs::write(dist.join("sw.js"), "// worker").unwrap();
    let deep = app.http.get(app.url("/inbox/42")).send().await.unwrap();
    assert_eq!(deep.status(), 200);
    assert!(deep.text().await.unwrap().contains("<title>console</title>"));
    let sw = app.http.get(app.url("/sw.js")).send().await.unwrap();
    assert_eq!(sw.headers()["cache-control"], "no-cache");
    assert_eq!(sw.text().await.unwrap(), "// worker");
    let api = app.http.get(app.url("/api/v1/nope")).send().await.unwrap();
    assert_ne!(api.status(), 200, "unknown API paths are not the console");

    // `cargo xtask dist` writes compressed copies beside each file: a browser that accepts one
    // gets it, with its own type; one that accepts neither gets the file as it is.
    std::fs::write(dist.join("app_bg.wasm"), b"\0asm-plain").unwrap();
    std::fs::write(dist.join("app_bg.wasm.br"), b"brotli-bytes").unwrap();
    std::fs::write(dist.join("app_bg.wasm.gz"), b"gzip-bytes").unwrap();
    let fetch = |accept: &'static str| app.http.get(app.url("/app_bg.wasm")).header("accept-encoding", accept).send();
    let br = fetch("gzip, deflate, br").await.unwrap();
    assert_eq!(br.headers()["content-encoding"], "br");
    assert_eq!(br.headers()["content-type"], "application/wasm");
    assert_eq!(br.bytes().await.unwrap(), &b"brotli-bytes"[..]);
    let gz = fetch("gzip").await.unwrap();
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    assert_eq!(gz.bytes().await.unwrap(), &b"gzip-bytes"[..]);
    let plain = fetch("identity").await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    assert_eq!(plain.bytes().await.unwrap(), &b"\0asm-plain"[..]);
}

#[tokio::test]
async fn five_failed_sign_ins_lock_the_email_even_for_the_right_password() {
    let app = spawn_app(Backend::Sqlite).await;
    let attempt = |password: &'static str| app.sign_in("Agent@Example.com", password);
    for _ in 0..5 {
        assert_eq!(attempt("wrong").await.status(), 401);
    }
    let locked = attempt(PASSWORD).await;
    assert_eq!(locked.status(), 429);
    let body: Value = locked.json().await.unwrap();
    assert_eq!(body["error"]["code"], "too_many_attempts");
    assert!(body["error"]["message"].as_str().unwrap().contains("15 minutes"), "{body}");
    // Another email is not affected.
    auth::upsert_user(&app.relay.state, "other@example.com", "Other", PASSWORD, "Agent", &Scope::All).await.unwrap();
    assert_eq!(app.sign_in("other@example.com", PASSWORD).await.status(), 200);
}

#[tokio::test]
async fn cors_is_granted_only_to_console_origins_in_the_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let config = ConfigArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.path().to_owned()),
        console_dir: Some(dir.path().join("dist")),
        secret_key: Some(TEST_KEY.into()),
        cors_origins: Some(vec!["https://console.example.com".into()]),
        ..Default::default()
    }
    .resolve()
    .unwrap();
    let relay = Relay::start(config).await.unwrap();
    let http = reqwest::Client::new();
    let preflight = |origin: &'static str| {
        http.request(reqwest::Method::OPTIONS, format!("{}/api/v1/session", relay.url()))
            .header("origin", origin)
            .header("access-control-request-method", "DELETE")
            .header("access-control-request-headers", "x-requested-with")
            .send()
    };
    let allowed = preflight("https://console.example.com").await.unwrap();
    assert_eq!(allowed.headers()["access-control-allow-origin"], "https://console.example.com");
    assert_eq!(allowed.headers()["access-control-allow-credentials"], "true");
    assert!(allowed.headers()["access-control-allow-headers"].to_str().unwrap().contains("x-requested-with"));
    let evil = preflight("https://evil.example.net").await.unwrap();
    assert!(evil.headers().get("access-control-allow-origin").is_none(), "{:?}", evil.headers());
    // Without the preflight's permission a cross-site page cannot add the CSRF header, and
    // without the header a state-changing request is refused.
    let forged = http.delete(format!("{}/api/v1/session", relay.url())).header("origin", "https://evil.example.net").send().await.unwrap();
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get("access-control-allow-origin").is_none());
}

async fn a_revoked_token_stops_the_number_and_says_why_while_the_reply_waits(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = app.login().await;
    app.sandbox.customer_writes(NUMBER, "85290000077", "Kit", "hello");
    eventually("the message", || async { app.count("SELECT COUNT(*) FROM messages").await == 1 }).await;
    // Meta revokes the token (the stored one no longer works).
    let sealed = app.relay.state.config.sealing_key().unwrap().seal("revoked-token");
    sqlx::query("UPDATE numbers SET access_token = $1 WHERE id = $2")
        .bind(sealed)
        .bind(NUMBER)
        .execute(&app.relay.state.db.pool)
        .await
        .unwrap();
    let (conversation,): (i64,) = sqlx::query_as("SELECT id FROM conversations").fetch_one(&app.relay.state.db.pool).await.unwrap();
    let r = app.post_api(&cookie, &format!("/api/v1/conversations/{conversation}/messages"), &json!({"text": "are you there?"})).await;
    assert_eq!(r.status(), 200);
    eventually("the number marked unable to send", || async {
        app.count("SELECT COUNT(*) FROM numbers WHERE id = '100000000000001' AND connected = FALSE AND problem LIKE '%190%'").await == 1
    })
    .await;
    // The reply is not lost: it waits in the outbox to be sent once the number is reconnected.
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE idempotency_key LIKE 'reply-%' AND state = 'queued'").await, 1);
    assert!(app.sandbox.ledger().iter().all(|entry| !entry.summary.contains("are you there")), "nothing went out");
}
