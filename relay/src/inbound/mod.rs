//! `GET|POST /webhooks/whatsapp`: Meta's verification handshake and webhook delivery.
//!
//! A POST is checked against `X-Hub-Signature-256` on the raw bytes, stored durably, and only
//! then answered 200. Processing happens after, from the stored copy, so nothing accepted is
//! lost even if the relay dies a moment later.

pub mod backlog;
pub mod ingest;
pub mod process;
pub mod store;

use std::collections::HashMap;

use axum::body::{Body, Bytes};
use axum::extract::{Query, State};
use axum::http::header::CONTENT_LENGTH;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use switchboard_shared::{limits, signature};

use crate::error::error_response;
use crate::metrics::WebhookResult;
use crate::numbers::SignerCheck;
use crate::AppState;

/// `GET /webhooks/whatsapp?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`
pub async fn verify(State(state): State<AppState>, Query(q): Query<HashMap<String, String>>) -> Response {
    let mode = q.get("hub.mode").map(String::as_str);
    let token = q.get("hub.verify_token").map(String::as_str).unwrap_or_default();
    let challenge = q.get("hub.challenge").cloned().unwrap_or_default();
    if mode == Some("subscribe") && !token.is_empty() && crate::numbers::is_verify_token(&state, token).await {
        (StatusCode::OK, challenge).into_response()
    } else {
        error_response(StatusCode::FORBIDDEN, "verify_token_mismatch", "The verify token does not match.")
    }
}

/// `POST /webhooks/whatsapp`
///
/// The body is read only up to Meta's 3 MiB limit. A declared `Content-Length` over the limit is
/// refused before a byte of the body is read (so a client that sent `Expect: 100-continue` gets
/// the 413 instead of being asked for the body); a chunked body is cut off at the limit.
pub async fn receive(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Response {
    let too_large = || {
        state.metrics.webhook(WebhookResult::TooLarge);
        error_response(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "Webhook bodies are at most 3 MiB.")
    };
    let declared = headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits::MAX_WEBHOOK_BODY_BYTES as u64) {
        return too_large();
    }
    let body: Bytes = match axum::body::to_bytes(body, limits::MAX_WEBHOOK_BODY_BYTES).await {
        Ok(body) => body,
        Err(e) if is_length_limit(&e) => return too_large(),
        Err(e) => {
            state.metrics.webhook(WebhookResult::Unreadable);
            return error_response(StatusCode::BAD_REQUEST, "unreadable_body", &format!("Could not read the body: {e}"));
        }
    };
    let Some(header) = headers.get("x-hub-signature-256").and_then(|v| v.to_str().ok()) else {
        state.metrics.webhook(WebhookResult::Unsigned);
        return error_response(StatusCode::UNAUTHORIZED, "missing_signature", "X-Hub-Signature-256 is required.");
    };
    // Routed by phone_number_id: each number's own app secret must have signed the body.
    let number_ids = phone_number_ids(&body);
    let signed = {
        let secrets = state.app_secrets.read().await;
        let ok = |s: &&secrecy::SecretString| signature::verify(s.expose_secret().as_bytes(), &body, header);
        match secrets.signers_for(&number_ids) {
            SignerCheck::Any(candidates) => candidates.iter().any(ok),
            SignerCheck::Each(required) => required.iter().all(ok),
        }
    };
    if !signed {
        state.metrics.webhook(WebhookResult::BadSignature);
        return error_response(StatusCode::UNAUTHORIZED, "bad_signature", "The signature does not match the body.");
    }
    match state.ingest.store(body).await {
        Ok(()) => {
            state.metrics.webhook(WebhookResult::Stored);
            StatusCode::OK.into_response()
        }
        Err(e) => {
            // Not stored: Meta must retry, so no 200.
            tracing::error!("could not store a webhook: {e}");
            state.metrics.webhook(WebhookResult::StoreFailed);
            error_response(StatusCode::SERVICE_UNAVAILABLE, "store_failed", "Could not store the webhook; retry.")
        }
    }
}

/// Whether reading a body failed because it passed the length limit (rather than, say, a reset).
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = source {
        if err.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = err.source();
    }
    false
}

/// The phone-number ids a webhook body names (`"phone_number_id": "…"` keys, string or number).
///
/// This runs on every webhook before the 200, so it scans the bytes for the key instead of
/// parsing the JSON a second time (the processor parses it fully later). An id the scan misses
/// only loosens the check to "signed by one of our secrets"; an extra one only tightens it.
pub fn phone_number_ids(body: &[u8]) -> Vec<String> {
    let mut ids: Vec<String> = Vec::new();
    for mut i in values_of(body, b"\"phone_number_id\"") {
        let quoted = body.get(i) == Some(&b'"');
        if quoted {
            i += 1;
        }
        let start = i;
        while body.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        let closed = !quoted || body.get(i) == Some(&b'"');
        if i > start && closed {
            let id = String::from_utf8_lossy(&body[start..i]).into_owned();
            if !ids.contains(&id) {
                ids.push(id);
            }
        }
    }
    ids.sort();
    ids
}

/// Whether a body carries status updates and nothing a customer or Meta said besides: no
/// `messages` array and no field other than `messages`. Such bodies are digested after the
/// others. A scan of the bytes like [`phone_number_ids`]; a body it cannot read is not
/// "statuses only", so the worst a mistake does is take a body early.
pub fn statuses_only(body: &[u8]) -> bool {
    values_of(body, b"\"statuses\"").next().is_some()
        && values_of(body, b"\"messages\"").next().is_none()
        && values_of(body, b"\"field\"").all(|i| body[i..].starts_with(b"\"messages\""))
}

/// Where the value of each `"key":` in a JSON body starts (after the colon and any blanks). A
/// key inside a text value cannot match: there its quotes are escaped.
fn values_of<'a>(body: &'a [u8], key: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        while let Some(found) = body[from..].windows(key.len()).position(|w| w == key) {
            let mut i = from + found + key.len();
            from = i;
            let skip_ws = |i: &mut usize| {
                while body.get(*i).is_some_and(|b| b.is_ascii_whitespace()) {
                    *i += 1;
                }
            };
            skip_ws(&mut i);
            if body.get(i) != Some(&b':') {
                continue;
            }
            i += 1;
            skip_ws(&mut i);
            return Some(i);
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::{phone_number_ids, statuses_only};

    #[test]
    fn ids_are_found_wherever_meta_puts_them_and_nowhere_else() {
        let two = br#"{"entry":[{"changes":[{"value":{"metadata":{"display_phone_number":"1","phone_number_id":"222"}}},
            {"value":{"metadata":{"phone_number_id" : 111}}}]},{"changes":[{"value":{"metadata":{"phone_number_id":"222"}}}]}]}"#;
        assert_eq!(phone_number_ids(two), ["111", "222"]);
        let in_text = br#"{"messages":[{"text":{"body":"\"phone_number_id\":\"999\""}}],"metadata":{"phone_number_id":"1"}}"#;
        assert_eq!(phone_number_ids(in_text), ["1"]);
        assert!(phone_number_ids(b"not json at all").is_empty());
        assert!(phone_number_ids(br#"{"phone_number_id":"12"#).is_empty(), "unterminated");
        assert!(phone_number_ids(br#"{"phone_number_id":null}"#).is_empty());
    }

    #[test]
    fn a_body_is_statuses_only_when_it_carries_nothing_else() {
        let statuses = br#"{"entry":[{"changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"1"},
            "statuses":[{"id":"wamid.A","status":"read"}]}}]}]}"#;
        assert!(statuses_only(statuses));
        let spaced = br#"{"entry":[{"changes":[{"field" : "messages", "value":{"statuses" : []}}]}]}"#;
        assert!(statuses_only(spaced));
        let with_message = br#"{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"id":"wamid.A"}],
            "messages":[{"id":"wamid.B","type":"text","text":{"body":"hi"}}]}}]}]}"#;
        assert!(!statuses_only(with_message));
        let message = br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"wamid.B"}]}}]}]}"#;
        assert!(!statuses_only(message));
        let with_other_field = br#"{"entry":[{"changes":[{"field":"messages","value":{"statuses":[]}},
            {"field":"account_update","value":{"event":"ACCOUNT_RESTRICTION"}}]}]}"#;
        assert!(!statuses_only(with_other_field));
        // Text that spells a key out is text, not a key.
        let quoted =
            br#"{"entry":[{"changes":[{"field":"messages","value":{"statuses":[{"errors":[{"title":"\"messages\": none"}]}]}}]}]}"#;
        assert!(statuses_only(quoted));
        let in_text = br#"{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"text":{"body":"\"statuses\":[]"}}]}}]}]}"#;
        assert!(!statuses_only(in_text));
        assert!(!statuses_only(b"not json at all"));
    }
}
