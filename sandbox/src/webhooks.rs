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
}

impl Update {
    pub fn raw(phone_number_id: &str, field: &str, value: Value) -> Update {
        Update::json(phone_number_id, field, &value)
    }

    pub fn json(phone_number_id: &str, field: &str, value: &impl Serialize) -> Update {
        let value = serde_json::value::to_raw_value(value).expect("a change value serialises");
        Update { phone_number_id: phone_number_id.into(), field: field.into(), value }
    }
}

pub(crate) fn push(state: &State, update: Update) {
    state.outgoing.lock().expect("outgoing lock").push(update);
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

/// Delivers pending updates forever. A batch is re-sent whole until the relay answers 200,
/// with backoff, and updates never overtake each other.
pub(crate) async fn deliver(state: Arc<State>) {
    let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("http client");
    let mut backoff = Duration::from_millis(50);
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
        // Let a few more updates pile up so one POST carries several, as Meta's do.
        tokio::time::sleep(state.config.webhook_batch_window).await;
        // One POST carries the updates of one app: the leading run that shares a signing secret.
        let secret_of = |u: &Update| {
            state.numbers.get(&u.phone_number_id).and_then(|n| n.app_secret.clone()).unwrap_or_else(|| state.config.app_secret.clone())
        };
        let (batch, secret): (Vec<Update>, String) = {
            let q = state.outgoing.lock().expect("outgoing lock");
            let secret = q.first().map(secret_of).unwrap_or_default();
            (q.iter().take(limits::MAX_UPDATES_PER_WEBHOOK).take_while(|u| secret_of(u) == secret).cloned().collect(), secret)
        };
        let body = envelope(&state, &batch);
        let sig = signature::sign(secret.as_bytes(), &body);
        let result =
            client.post(&url).header("content-type", "application/json").header("x-hub-signature-256", sig).body(body).send().await;
        match result {
            Ok(r) if r.status() == reqwest::StatusCode::OK => {
                state.outgoing.lock().expect("outgoing lock").drain(..batch.len());
                state.delivered_webhooks.fetch_add(1, Ordering::Relaxed);
                backoff = Duration::from_millis(50);
            }
            other => {
                tracing::warn!("sandbox webhook to {url} not accepted ({:?}); retrying in {backoff:?}", other.map(|r| r.status()));
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(5));
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
    Update::json(&sent.number.id, "messages", &value)
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
