//! Webhooks back to the relay: Meta's envelope, signed, batched, retried until answered 200.

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};
use switchboard_shared::limits::{self, codes};
use switchboard_shared::signature;
use switchboard_shared::wire::SendRequest;

use crate::{now_ms, SandboxNumber, State};

/// One update waiting to go out: a `value` for a change on one number.
#[derive(Debug, Clone)]
pub(crate) struct Update {
    pub phone_number_id: String,
    pub field: String,
    pub value: Value,
}

impl Update {
    pub fn raw(phone_number_id: &str, field: &str, value: Value) -> Update {
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

/// Groups updates into Meta's envelope: one entry per WABA, one change per update.
fn envelope(state: &State, batch: &[Update]) -> Value {
    let mut by_waba: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    for u in batch {
        let waba = state.numbers.get(&u.phone_number_id).map(|n| n.waba_id.clone()).unwrap_or_default();
        by_waba.entry(waba).or_default().push(json!({"value": u.value, "field": u.field}));
    }
    let entry: Vec<Value> = by_waba.into_iter().map(|(id, changes)| json!({"id": id, "changes": changes})).collect();
    json!({"object": "whatsapp_business_account", "entry": entry})
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
        let body = serde_json::to_vec(&envelope(&state, &batch)).expect("envelope serialises");
        let sig = signature::sign(secret.as_bytes(), &body);
        let result = client
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", sig)
            .body(body)
            .send()
            .await;
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

fn status_value(number: &SandboxNumber, wamid: &str, to: &str, status: &str, request: &SendRequest, errors: Option<Value>) -> Value {
    let mut s = json!({
        "id": wamid,
        "status": status,
        "timestamp": (now_ms() / 1000).to_string(),
        "recipient_id": to,
    });
    if let Some(data) = &request.biz_opaque_callback_data {
        s["biz_opaque_callback_data"] = json!(data);
    }
    if status == "sent" || status == "delivered" {
        let category = if request.body.is_template() { "utility" } else { "service" };
        let kind = if request.body.is_template() { "regular" } else { "free_customer_service" };
        s["pricing"] = json!({"billable": request.body.is_template(), "pricing_model": "PMP", "type": kind, "category": category});
    }
    if let Some(errors) = errors {
        s["errors"] = errors;
    }
    json!({"messaging_product": "whatsapp", "metadata": metadata(number), "statuses": [s]})
}

/// Moves an accepted send through its statuses (or to `failed` for an undeliverable recipient).
pub(crate) async fn progress_statuses(state: Arc<State>, number: SandboxNumber, to: String, wamid: String, request: SendRequest) {
    let cfg = &state.config;
    tokio::time::sleep(cfg.sent_after).await;
    if cfg.undeliverable_suffix.as_deref().is_some_and(|s| !s.is_empty() && to.ends_with(s)) {
        let errors = json!([{
            "code": codes::UNDELIVERABLE,
            "title": "Message undeliverable",
            "message": "Message undeliverable",
            "error_data": {"details": "Message Undeliverable."},
            "href": "/documentation/business-messaging/whatsapp/support/error-codes"
        }]);
        push(&state, Update::raw(&number.id, "messages", status_value(&number, &wamid, &to, "failed", &request, Some(errors))));
        return;
    }
    push(&state, Update::raw(&number.id, "messages", status_value(&number, &wamid, &to, "sent", &request, None)));
    tokio::time::sleep(cfg.delivered_after.saturating_sub(cfg.sent_after)).await;
    push(&state, Update::raw(&number.id, "messages", status_value(&number, &wamid, &to, "delivered", &request, None)));
    tokio::time::sleep(cfg.read_after.saturating_sub(cfg.delivered_after)).await;
    push(&state, Update::raw(&number.id, "messages", status_value(&number, &wamid, &to, "read", &request, None)));
}
