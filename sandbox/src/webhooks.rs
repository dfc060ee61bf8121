//! Webhooks back to the relay: Meta's envelope, signed, batched, retried until answered 200.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::{json, Value};
use switchboard_shared::limits::{self, codes};
use switchboard_shared::signature;

use crate::{now_ms, SandboxNumber, State};

/// One update waiting to go out: a change's `value` on one number, already JSON (an update is
/// written once, however many times its batch is retried).
#[derive(Debug, Clone)]
pub(crate) struct Update {
    pub phone_number_id: String,
    pub field: String,
    pub value: Box<RawValue>,
    /// For a status update: which status, and the send's callback data (for departures).
    pub status: Option<(&'static str, Option<String>)>,
}

impl Update {
    pub fn raw(phone_number_id: &str, field: &str, value: Value) -> Update {
        Update::json(phone_number_id, field, &value)
    }

    pub fn json(phone_number_id: &str, field: &str, value: &impl Serialize) -> Update {
        let value = serde_json::value::to_raw_value(value).expect("a change value serialises");
        Update { phone_number_id: phone_number_id.into(), field: field.into(), value, status: None }
    }
}

pub(crate) fn push(state: &State, update: Update) {
    state.outgoing.lock().expect("outgoing lock").push_back(update);
    state.outgoing_bell.notify_one();
}

/// The `metadata` block Meta puts in every change.
pub(crate) fn metadata(number: &SandboxNumber) -> Value {
    let digits: String = number.display_phone_number.chars().filter(char::is_ascii_digit).collect();
    json!({"display_phone_number": digits, "phone_number_id": number.id})
}

#[derive(Serialize)]
struct Envelope<'a> {
    object: &'static str,
    entry: Vec<Entry<'a>>,
}

#[derive(Serialize)]
struct Entry<'a> {
    id: &'a str,
    changes: Vec<Change<'a>>,
}

#[derive(Serialize)]
struct Change<'a> {
    value: &'a RawValue,
    field: &'a str,
}

/// Meta's envelope, serialised: one entry per WABA, one change per update.
fn envelope(state: &State, batch: &[Update]) -> Vec<u8> {
    let mut by_waba: BTreeMap<&str, Vec<Change>> = BTreeMap::new();
    for u in batch {
        let waba = state.numbers.get(&u.phone_number_id).map_or("", |n| n.waba_id.as_str());
        by_waba.entry(waba).or_default().push(Change { value: &u.value, field: &u.field });
    }
    let entry = by_waba.into_iter().map(|(id, changes)| Entry { id, changes }).collect();
    serde_json::to_vec(&Envelope { object: "whatsapp_business_account", entry }).expect("envelope serialises")
}

/// Delivers pending updates forever (one such task per configured sender). A sender takes the
/// leading updates off the queue (up to `updates_per_webhook`, those of one app) and POSTs them
/// until the relay answers 200, with backoff: a batch is never lost or split. With one sender,
/// updates never overtake each other.
pub(crate) async fn deliver(state: Arc<State>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("http client");
    let per_post = state.config.updates_per_webhook.clamp(1, limits::MAX_UPDATES_PER_WEBHOOK);
    loop {
        let url = state.webhook_url.lock().expect("webhook url lock").clone();
        let pending = state.outgoing.lock().expect("outgoing lock").len();
        let Some(url) = url.filter(|_| pending > 0) else {
            tokio::select! {
                _ = state.outgoing_bell.notified() => {}
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
            }
            continue;
        };
        // Let a few more updates pile up so one POST carries several, as Meta's do (no need
        // when a POST carries one, or is full already).
        if per_post > 1 && pending < per_post {
            tokio::time::sleep(state.config.webhook_batch_window).await;
        }
        // One POST carries the updates of one app: the leading run that shares a signing secret.
        let secret_of = |u: &Update| {
            state.numbers.get(&u.phone_number_id).and_then(|n| n.app_secret.clone()).unwrap_or_else(|| state.config.app_secret.clone())
        };
        let (batch, secret): (Vec<Update>, String) = {
            let mut q = state.outgoing.lock().expect("outgoing lock");
            let Some(secret) = q.front().map(secret_of) else { continue };
            let n = q.iter().take(per_post).take_while(|u| secret_of(u) == secret).count();
            (q.drain(..n).collect(), secret)
        };
        let body = envelope(&state, &batch);
        let sig = signature::sign(secret.as_bytes(), &body);
        if !state.outgoing.lock().expect("outgoing lock").is_empty() {
            // More to send: another sender may take it while this POST is in flight.
            state.outgoing_bell.notify_one();
        }
        post_until_accepted(&state, &client, &url, &body, &sig).await;
        state.delivered_webhooks.fetch_add(1, Ordering::Relaxed);
        if state.config.keep_status_departures {
            let left = now_ms();
            let mut departures = state.status_departures.lock().expect("departures lock");
            for u in &batch {
                if let Some((status, callback_data)) = &u.status {
                    departures.push(crate::StatusDeparture { status, callback_data: callback_data.clone(), at_ms: left });
                }
            }
        }
    }
}

/// POSTs one signed body until the relay answers 200, backing off from 50 ms to 5 s.
async fn post_until_accepted(state: &State, client: &reqwest::Client, first_url: &str, body: &[u8], sig: &str) {
    let mut backoff = Duration::from_millis(50);
    let mut url = first_url.to_owned();
    loop {
        let result = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sig)
            .body(body.to_vec())
            .send()
            .await;
        match result {
            Ok(r) if r.status() == reqwest::StatusCode::OK => return,
            other => {
                tracing::warn!("sandbox webhook to {url} not accepted ({:?}); retrying in {backoff:?}", other.map(|r| r.status()));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
                // The relay may have moved (a test restarts it on another port).
                if let Some(now) = state.webhook_url.lock().expect("webhook url lock").clone() {
                    url = now;
                }
            }
        }
    }
}

/// What the statuses of one accepted send need to know of it.
#[derive(Debug, Clone)]
pub(crate) struct Accepted {
    pub number: SandboxNumber,
    pub to: String,
    pub wamid: String,
    pub callback_data: Option<String>,
    pub template: bool,
}

#[derive(Serialize)]
struct StatusesValue<'a> {
    messaging_product: &'static str,
    metadata: Metadata,
    statuses: [Status<'a>; 1],
}

#[derive(Serialize)]
struct Metadata {
    display_phone_number: String,
    phone_number_id: String,
}

#[derive(Serialize)]
struct Status<'a> {
    id: &'a str,
    status: &'a str,
    timestamp: String,
    recipient_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    biz_opaque_callback_data: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pricing: Option<Pricing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Value>,
}

#[derive(Serialize)]
struct Pricing {
    billable: bool,
    pricing_model: &'static str,
    #[serde(rename = "type")]
    kind: &'static str,
    category: &'static str,
}

fn status_update(sent: &Accepted, status: &str, errors: Option<Value>) -> Update {
    let pricing = (status == "sent" || status == "delivered").then_some(Pricing {
        billable: sent.template,
        pricing_model: "PMP",
        kind: if sent.template { "regular" } else { "free_customer_service" },
        category: if sent.template { "utility" } else { "service" },
    });
    let digits: String = sent.number.display_phone_number.chars().filter(char::is_ascii_digit).collect();
    let value = StatusesValue {
        messaging_product: "whatsapp",
        metadata: Metadata { display_phone_number: digits, phone_number_id: sent.number.id.clone() },
        statuses: [Status {
            id: &sent.wamid,
            status,
            timestamp: (now_ms() / 1000).to_string(),
            recipient_id: &sent.to,
            biz_opaque_callback_data: sent.callback_data.as_deref(),
            pricing,
            errors,
        }],
    };
    let status = match status {
        "sent" => "sent",
        "delivered" => "delivered",
        "read" => "read",
        _ => "failed",
    };
    Update { status: Some((status, sent.callback_data.clone())), ..Update::json(&sent.number.id, "messages", &value) }
}

/// Moves an accepted send through its statuses (or to `failed` for an undeliverable recipient).
pub(crate) async fn progress_statuses(state: Arc<State>, sent: Accepted) {
    let cfg = &state.config;
    tokio::time::sleep(cfg.sent_after).await;
    if cfg.undeliverable_suffix.as_deref().is_some_and(|s| !s.is_empty() && sent.to.ends_with(s)) {
        let errors = json!([{
            "code": codes::UNDELIVERABLE,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
            "href": "/documentation/business-messaging/whatsapp/support/error-codes"
        }]);
        push(&state, status_update(&sent, "failed", Some(errors)));
        return;
    }
    push(&state, status_update(&sent, "sent", None));
    tokio::time::sleep(cfg.delivered_after.saturating_sub(cfg.sent_after)).await;
    push(&state, status_update(&sent, "delivered", None));
    tokio::time::sleep(cfg.read_after.saturating_sub(cfg.delivered_after)).await;
    push(&state, status_update(&sent, "read", None));
}
