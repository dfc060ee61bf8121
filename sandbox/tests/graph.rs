//! The sandbox answers like Meta: token checks, limits with Meta's codes, statuses, signed and
//! retried webhooks, a ledger.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use serde_json::{json, Value};
use switchboard_sandbox::{Sandbox, SandboxConfig, SandboxNumber};
use switchboard_shared::signature;

const PN: &str = "100000000000001";

async fn sandbox(throughput: u32) -> Sandbox {
    let mut number = SandboxNumber::new(PN, "200000000000001", "+1 555-0100", "Test Shop");
    number.throughput_per_sec = throughput;
    Sandbox::spawn(SandboxConfig {
        numbers: vec![number],
        sent_after: Duration::from_millis(10),
        delivered_after: Duration::from_millis(20),
        read_after: Duration::from_millis(30),
        ..SandboxConfig::default()
    })
    .await
    .unwrap()
}

async fn send(sb: &Sandbox, token: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new().post(format!("{}/v25.0/{PN}/messages", sb.url)).bearer_auth(token).json(&body).send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

fn text(to: &str) -> Value {
    json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text", "text": {"body": "hi"}})
}

fn template(to: &str, name: &str, params: usize) -> Value {
    let parameters: Vec<Value> = (0..params).map(|i| json!({"type": "text", "text": format!("p{i}")})).collect();
    json!({"messaging_product": "whatsapp", "to": to, "type": "template",
        "template": {"name": name, "language": {"code": "en_US"}, "components": [{"type": "body", "parameters": parameters}]}})
}

#[tokio::test]
async fn a_bad_token_is_error_190_and_nothing_is_sent() {
    let sb = sandbox(80).await;
    let (status, body) = send(&sb, "nope", template("85290000001", "hello_world", 0)).await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], 190);
    assert!(sb.ledger().is_empty());
}

#[tokio::test]
async fn text_outside_the_service_window_is_131047_and_templates_are_checked() {
    let sb = sandbox(80).await;
    let (status, body) = send(&sb, "sandbox-token", text("85290000001")).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(131047)));
    let (status, body) = send(&sb, "sandbox-token", template("85290000001", "no_such_template", 0)).await;
    assert_eq!((status, body["error"]["code"].clone()), (404, json!(132001)));
    let (status, body) = send(&sb, "sandbox-token", template("85290000001", "order_update", 1)).await;
    assert_eq!((status, body["error"]["code"].clone()), (400, json!(132000)));
    let (status, body) = send(&sb, "sandbox-token", template("85290000001", "order_update", 2)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["messages"][0]["message_status"], "accepted");
    // After the customer writes, free-form text is allowed.
    sb.customer_writes(PN, "85290000002", "Mei", "hello");
    let (status, body) = send(&sb, "sandbox-token", text("+852 9000-0002")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["contacts"][0]["wa_id"], "85290000002");
    let ledger = sb.ledger();
    assert_eq!(ledger.len(), 2);
    assert_eq!(ledger[1].to, "85290000002");
}

#[tokio::test]
async fn sending_faster_than_the_numbers_throughput_gets_130429() {
    let sb = sandbox(10).await;
    let mut refused = 0;
    for i in 0..30 {
        let (status, body) = send(&sb, "sandbox-token", template(&format!("8529000{i:04}"), "hello_world", 0)).await;
        if status != 200 {
            assert_eq!(body["error"]["code"], 130429);
            refused += 1;
        }
    }
    assert!(refused >= 15, "30 sends at once against 10/s: {refused} refused");
    assert_eq!(sb.refusals().get(&130429).copied().unwrap_or(0), refused as u64);
    assert_eq!(sb.ledger().len(), 30 - refused);
}

#[tokio::test]
async fn more_than_45_messages_to_one_person_in_a_burst_gets_131056() {
    let sb = sandbox(1000).await;
    let mut codes = Vec::new();
    for _ in 0..47 {
        let (status, body) = send(&sb, "sandbox-token", template("85290000009", "hello_world", 0)).await;
        codes.push(if status == 200 { 0 } else { body["error"]["code"].as_i64().unwrap() });
    }
    assert!(codes[..45].iter().all(|c| *c == 0), "{codes:?}");
    assert_eq!(&codes[45..], &[131056, 131056]);
}

#[tokio::test]
async fn phone_number_and_waba_endpoints_answer_in_metas_shape() {
    let sb = sandbox(1000).await;
    let client = reqwest::Client::new();
    let get = |path: String| client.get(format!("{}{path}", sb.url)).bearer_auth("sandbox-token").send();
    let number: Value = get(format!("/v25.0/{PN}")).await.unwrap().json().await.unwrap();
    assert_eq!(number["verified_name"], "Test Shop");
    assert_eq!(number["throughput"]["level"], "HIGH");
    assert_eq!(number["quality_rating"], "GREEN");
    let list: Value = get("/v25.0/200000000000001/phone_numbers".into()).await.unwrap().json().await.unwrap();
    assert_eq!(list["data"][0]["id"], PN);
    let templates: Value = get("/v25.0/200000000000001/message_templates".into()).await.unwrap().json().await.unwrap();
    assert!(templates["data"].as_array().unwrap().iter().any(|t| t["name"] == "hello_world" && t["status"] == "APPROVED"));
    let unknown = get("/v25.0/999".into()).await.unwrap();
    assert_eq!(unknown.status(), 400);
    let read = client
        .post(format!("{}/v25.0/{PN}/messages", sb.url))
        .bearer_auth("sandbox-token")
        .json(&json!({"messaging_product": "whatsapp", "status": "read", "message_id": "wamid.X"}))
        .send()
        .await
        .unwrap();
    assert_eq!(read.json::<Value>().await.unwrap(), json!({"success": true}));
}

/// A webhook receiver that refuses the first `fail` POSTs, then records signed bodies.
async fn receiver(fail: usize) -> (String, Arc<Mutex<Vec<Value>>>, Arc<AtomicUsize>) {
    let got: Arc<Mutex<Vec<Value>>> = Arc::default();
    let tries = Arc::new(AtomicUsize::new(0));
    let (g, t) = (got.clone(), tries.clone());
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let (g, t) = (g.clone(), t.clone());
            async move {
                if t.fetch_add(1, Ordering::SeqCst) < fail {
                    return StatusCode::INTERNAL_SERVER_ERROR;
                }
                let sig = headers["x-hub-signature-256"].to_str().unwrap();
                assert!(signature::verify(b"sandbox-app-secret", &body, sig));
                g.lock().unwrap().push(serde_json::from_slice(&body).unwrap());
                StatusCode::OK
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (url, got, tries)
}

#[tokio::test]
async fn webhooks_are_signed_batched_and_retried_until_answered_200() {
    let sb = sandbox(80).await;
    let (url, got, tries) = receiver(2).await;
    for i in 0..5 {
        sb.customer_writes(PN, &format!("8529000000{i}"), "Mei", &format!("m{i}"));
    }
    sb.set_webhook_url(url);
    for _ in 0..100 {
        if !got.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let bodies = got.lock().unwrap().clone();
    assert!(tries.load(Ordering::SeqCst) >= 3, "two refusals, then a retry");
    let messages: Vec<String> = bodies
        .iter()
        .flat_map(|b| b["entry"].as_array().unwrap().clone())
        .flat_map(|e| e["changes"].as_array().unwrap().clone())
        .map(|c| c["value"]["messages"][0]["text"]["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(messages, ["m0", "m1", "m2", "m3", "m4"], "all five, in order, once");
    assert_eq!(bodies.len(), 1, "updates that piled up went out in one POST");
}

#[tokio::test]
async fn an_accepted_send_moves_through_sent_delivered_and_read_or_fails_for_undeliverable_numbers() {
    let sb = sandbox(80).await;
    let (url, got, _) = receiver(0).await;
    sb.set_webhook_url(url);
    let mut body = template("85290000001", "hello_world", 0);
    body["biz_opaque_callback_data"] = json!("key-1");
    assert_eq!(send(&sb, "sandbox-token", body).await.0, 200);
    assert_eq!(send(&sb, "sandbox-token", template("85290000000", "hello_world", 0)).await.0, 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let statuses: Vec<Value> = got
        .lock()
        .unwrap()
        .iter()
        .flat_map(|b| b["entry"].as_array().unwrap().clone())
        .flat_map(|e| e["changes"].as_array().unwrap().clone())
        .flat_map(|c| c["value"]["statuses"].as_array().cloned().unwrap_or_default())
        .collect();
    let of = |to: &str| {
        statuses.iter().filter(|s| s["recipient_id"] == to).map(|s| s["status"].as_str().unwrap().to_owned()).collect::<Vec<_>>()
    };
    assert_eq!(of("85290000001"), ["sent", "delivered", "read"]);
    assert!(statuses.iter().filter(|s| s["recipient_id"] == "85290000001").all(|s| s["biz_opaque_callback_data"] == "key-1"));
    assert_eq!(of("85290000000"), ["failed"]);
    let failed = statuses.iter().find(|s| s["status"] == "failed").unwrap();
    assert_eq!(failed["errors"][0]["code"], 131026);
}

/// The texts of the inbound messages in the bodies received, and how many changes each body had.
fn texts_and_sizes(bodies: &[Value]) -> (Vec<String>, Vec<usize>) {
    let changes = |b: &Value| -> Vec<Value> {
        b["entry"].as_array().unwrap().iter().flat_map(|e| e["changes"].as_array().unwrap().clone()).collect()
    };
    let texts = bodies
        .iter()
        .flat_map(changes)
        .flat_map(|c| c["value"]["messages"].as_array().cloned().unwrap_or_default())
        .map(|m| m["text"]["body"].as_str().unwrap().to_owned())
        .collect();
    (texts, bodies.iter().map(|b| changes(b).len()).collect())
}

async fn wait_for(got: &Mutex<Vec<Value>>, bodies: usize) {
    for _ in 0..200 {
        if got.lock().unwrap().len() >= bodies {
            return;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

#[tokio::test]
async fn metas_worst_case_sends_one_update_per_post_from_several_senders_at_once() {
    let mut number = SandboxNumber::new(PN, "200000000000001", "+1 555-0100", "Test Shop");
    number.throughput_per_sec = 80;
    let sb = Sandbox::spawn(SandboxConfig {
        numbers: vec![number],
        sent_after: Duration::from_millis(10),
        delivered_after: Duration::from_millis(20),
        read_after: Duration::from_millis(30),
        updates_per_webhook: 1,
        webhook_senders: 4,
        keep_status_departures: true,
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let (url, got, _) = receiver(0).await;
    for i in 0..20 {
        sb.customer_writes(PN, &format!("8529100{i:04}"), "Mei", &format!("m{i}"));
    }
    sb.set_webhook_url(url);
    wait_for(&got, 20).await;
    let (mut texts, sizes) = texts_and_sizes(&got.lock().unwrap());
    assert_eq!(sizes, [1; 20], "one update per POST");
    texts.sort_by_key(|t| t[1..].parse::<u32>().unwrap());
    assert_eq!(texts, (0..20).map(|i| format!("m{i}")).collect::<Vec<_>>(), "each once, none lost");

    let mut body = template("85291000001", "hello_world", 0);
    body["biz_opaque_callback_data"] = json!("key-7");
    assert_eq!(send(&sb, "sandbox-token", body).await.0, 200);
    wait_for(&got, 23).await;
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(got.lock().unwrap().len(), 23, "sent, delivered and read: three more POSTs");
    let mut departed: Vec<(&str, Option<String>)> = sb.status_departures().into_iter().map(|d| (d.status, d.callback_data)).collect();
    departed.sort();
    let key = Some("key-7".to_owned());
    assert_eq!(departed, [("delivered", key.clone()), ("read", key.clone()), ("sent", key)]);
    assert_eq!(sb.webhooks_waiting(), 0);
}

#[tokio::test]
async fn metas_full_batch_is_a_thousand_updates_per_post() {
    let sb = sandbox(80).await;
    let (url, got, _) = receiver(0).await;
    for i in 0..1_500 {
        sb.customer_writes(PN, &format!("8529200{i:04}"), "Mei", &format!("m{i}"));
    }
    sb.set_webhook_url(url);
    wait_for(&got, 2).await;
    let (texts, sizes) = texts_and_sizes(&got.lock().unwrap());
    assert_eq!(sizes, [1_000, 500], "Meta's most per POST, then the rest");
    assert_eq!(texts, (0..1_500).map(|i| format!("m{i}")).collect::<Vec<_>>(), "in order, once");
    assert!(sb.status_departures().is_empty(), "departures are kept only when asked");
}
