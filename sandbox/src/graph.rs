//! The Graph API endpoints the sandbox serves, with Meta's success and error shapes.

use std::sync::Arc;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use crate::cloud_groups;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use switchboard_shared::limits::{self, codes};
use switchboard_shared::wire::{
    GraphErrorResponse, GraphList, OutboundBody, PhoneNumberInfo, SendRequest, SendResponse, SendResponseContact, SendResponseMessage,
    TemplateInfo, Throughput,
};

use crate::{customers, media, now_ms, webhooks, LedgerEntry, State};

type Shared = Arc<State>;

pub(crate) fn router(state: Shared) -> Router {
    Router::new()
        .route("/_sandbox/ledger", get(ledger))
        .route("/_sandbox/inbound", post(inbound))
        .route("/_sandbox/faults", post(set_faults))
        .route("/_sandbox/groups/applied", get(cloud_groups::control_applied))
        .route("/_sandbox/groups/{id}/join", post(cloud_groups::control_join))
        .route("/{version}/{id}", get(get_object).post(post_object).delete(delete_object))
        .route("/{version}/{id}/messages", post(send_message))
        // Meta takes files up to 100 MB.
        .route("/{version}/{id}/media", post(media::upload).layer(axum::extract::DefaultBodyLimit::max(101 * 1024 * 1024)))
        .route("/whatsapp_business/attachments/", get(media::download))
        .route("/{version}/{id}/groups", get(cloud_groups::list).post(cloud_groups::create))
        .route("/{version}/{id}/invite_link", get(cloud_groups::invite_link).post(cloud_groups::invite_link))
        .route(
            "/{version}/{id}/join_requests",
            get(cloud_groups::join_requests).post(cloud_groups::join_requests).delete(cloud_groups::join_requests),
        )
        .route("/{version}/{id}/participants", post(cloud_groups::participants).delete(cloud_groups::participants))
        .route("/{version}/{id}/phone_numbers", get(list_phone_numbers))
        .route("/{version}/{id}/message_templates", get(list_templates))
        .with_state(state)
}

pub(crate) fn graph_error(status: StatusCode, code: i64, title: &str, details: &str) -> Response {
    (status, Json(GraphErrorResponse::new(code, title, details))).into_response()
}

#[derive(Deserialize)]
pub(crate) struct TokenQuery {
    pub access_token: Option<String>,
}

/// Meta accepts the token as a bearer header or an `access_token` query parameter.
pub(crate) fn check_token(state: &State, headers: &HeaderMap, query: &TokenQuery) -> Result<(), Response> {
    let bearer = headers.get(axum::http::header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    let token = bearer.or(query.access_token.as_deref());
    if token == Some(state.config.access_token.as_str()) {
        Ok(())
    } else {
        Err(graph_error(
            StatusCode::UNAUTHORIZED,
            codes::ACCESS_TOKEN_EXPIRED,
            "Invalid OAuth access token - Cannot parse access token",
            "The access token is missing, malformed, expired or revoked.",
        ))
    }
}

pub(crate) fn check_version(version: &str) -> Result<(), Response> {
    let ok = version.strip_prefix('v').is_some_and(|v| !v.is_empty() && v.chars().all(|c| c.is_ascii_digit() || c == '.'));
    if ok {
        Ok(())
    } else {
        Err(graph_error(StatusCode::BAD_REQUEST, 2500, "Unknown path components", "Expected /v<major>.<minor>/..."))
    }
}

pub(crate) fn unknown_object(id: &str) -> Response {
    graph_error(
        StatusCode::BAD_REQUEST,
        codes::INVALID_PARAMETER,
        &format!("Unsupported get request. Object with ID '{id}' does not exist"),
        "The id is not a phone number or WhatsApp Business Account this token can see.",
    )
}

fn number_info(state: &crate::State, n: &crate::SandboxNumber) -> PhoneNumberInfo {
    let quality = state.quality.lock().expect("quality lock").get(&n.id).cloned().unwrap_or_else(|| n.quality_rating.clone());
    PhoneNumberInfo {
        id: n.id.clone(),
        display_phone_number: Some(n.display_phone_number.clone()),
        verified_name: Some(n.verified_name.clone()),
        quality_rating: Some(quality),
        code_verification_status: Some("VERIFIED".into()),
        platform_type: Some("CLOUD_API".into()),
        throughput: Some(Throughput {
            level: Some(if n.throughput_per_sec >= limits::HIGH_THROUGHPUT_PER_SEC { "HIGH" } else { "STANDARD" }.into()),
        }),
        status: Some("CONNECTED".into()),
        whatsapp_business_manager_messaging_limit: Some(n.messaging_limit.clone()),
    }
}

async fn get_object(
    AxState(state): AxState<Shared>,
    Path((version, id)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    if let Some(group) = cloud_groups::info(&state, &id) {
        return group;
    }
    if let Some(file) = media::info(&state, &id, &headers) {
        return file;
    }
    match state.numbers.get(&id) {
        Some(n) => Json(number_info(&state, n)).into_response(),
        None if state.numbers.values().any(|n| n.waba_id == id) => {
            Json(json!({"id": id, "name": "Sandbox WABA", "currency": "USD", "timezone_id": "1"})).into_response()
        }
        None => unknown_object(&id),
    }
}

/// `POST /{group-id}`: a group's settings (the only object the sandbox lets you change): JSON
/// for the subject and description, or `multipart/form-data` with a photo in `file` (as wa-rs
/// sends it) or `profile_picture_file` (as pywa does), beside optional text fields.
async fn post_object(
    AxState(state): AxState<Shared>,
    Path((version, id)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    request: axum::extract::Request,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, request.headers(), &q)) {
        return r;
    }
    let multipart = request
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("multipart/form-data"));
    if multipart {
        use axum::extract::FromRequest;
        let Ok(mut form) = axum::extract::Multipart::from_request(request, &()).await else {
            return graph_error(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, "Invalid parameter", "The form cannot be read.");
        };
        let mut photo = None;
        let mut fields = serde_json::Map::new();
        while let Ok(Some(field)) = form.next_field().await {
            let name = field.name().unwrap_or_default().to_owned();
            let Ok(bytes) = field.bytes().await else {
                return graph_error(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, "Invalid parameter", "The form cannot be read.");
            };
            match name.as_str() {
                "file" | "profile_picture_file" => photo = Some(bytes.to_vec()),
                "subject" | "description" => {
                    fields.insert(name, Value::String(String::from_utf8_lossy(&bytes).into_owned()));
                }
                _ => {}
            }
        }
        return match photo {
            Some(jpeg) => cloud_groups::update_photo(state, id, jpeg).await,
            None => cloud_groups::update(state, id, Value::Object(fields)).await,
        };
    }
    let Ok(body) = axum::body::to_bytes(request.into_body(), 1 << 20).await else {
        return graph_error(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, "Invalid parameter", "The body cannot be read.");
    };
    match serde_json::from_slice::<Value>(&body) {
        Ok(value) => cloud_groups::update(state, id, value).await,
        Err(_) => graph_error(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, "Invalid parameter", "The body is not JSON."),
    }
}

/// `DELETE /{group-id}`.
async fn delete_object(
    AxState(state): AxState<Shared>,
    Path((version, id)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    cloud_groups::delete(state, id).await
}

async fn list_phone_numbers(
    AxState(state): AxState<Shared>,
    Path((version, waba)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    let mut data: Vec<PhoneNumberInfo> = state.numbers.values().filter(|n| n.waba_id == waba).map(|n| number_info(&state, n)).collect();
    if data.is_empty() {
        return unknown_object(&waba);
    }
    data.sort_by(|a, b| a.id.cmp(&b.id));
    Json(GraphList { data, paging: Some(json!({"cursors": {"before": "BEFORE", "after": "AFTER"}})) }).into_response()
}

/// The templates every sandbox WABA has (built once).
pub(crate) fn templates() -> &'static [TemplateInfo] {
    static TEMPLATES: std::sync::OnceLock<Vec<TemplateInfo>> = std::sync::OnceLock::new();
    TEMPLATES.get_or_init(all_templates)
}

fn all_templates() -> Vec<TemplateInfo> {
    let body = |text: &str| json!({"type": "BODY", "text": text});
    vec![
        TemplateInfo {
            id: "900000000000001".into(),
            name: "hello_world".into(),
            language: Some("en_US".into()),
            status: Some("APPROVED".into()),
            category: Some("UTILITY".into()),
            components: vec![body("Hello from Switchboard!")],
        },
        TemplateInfo {
            id: "900000000000002".into(),
            name: "order_update".into(),
            language: Some("en_US".into()),
            status: Some("APPROVED".into()),
            category: Some("UTILITY".into()),
            components: vec![body("Hi {{1}}, your order {{2}} is on its way.")],
        },
        TemplateInfo {
            id: "900000000000003".into(),
            name: "daily_pick".into(),
            language: Some("zh_TW".into()),
            status: Some("APPROVED".into()),
            category: Some("MARKETING".into()),
            components: vec![json!({"type": "HEADER", "format": "IMAGE"}), body("{{1}} 您好，今日推薦：{{2}}")],
        },
        TemplateInfo {
            id: "900000000000004".into(),
            name: "spring_sale".into(),
            language: Some("en_US".into()),
            status: Some("PENDING".into()),
            category: Some("MARKETING".into()),
            components: vec![body("Spring sale: {{1}} off everything.")],
        },
    ]
}

async fn list_templates(
    AxState(state): AxState<Shared>,
    Path((version, waba)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    if !state.numbers.values().any(|n| n.waba_id == waba) {
        return unknown_object(&waba);
    }
    Json(GraphList { data: templates().to_vec(), paging: Some(json!({"cursors": {"before": "BEFORE", "after": "AFTER"}})) }).into_response()
}

/// Counts the `{{n}}` placeholders of a template's body.
fn placeholder_count(t: &TemplateInfo) -> usize {
    t.components.iter().filter_map(|c| c.get("text").and_then(Value::as_str)).map(|text| text.matches("{{").count()).sum()
}

fn body_parameter_count(components: &[Value]) -> usize {
    components
        .iter()
        .filter(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("body")))
        .filter_map(|c| c.get("parameters").and_then(Value::as_array))
        .map(Vec::len)
        .sum()
}

async fn send_message(
    AxState(state): AxState<Shared>,
    Path((version, pn)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    let Some(number) = state.numbers.get(&pn) else {
        return unknown_object(&pn);
    };
    // Parsed once: a send is read straight into its request; only what is not one (a
    // mark-as-read, or a mistake) is looked at as plain JSON.
    let parsed = serde_json::from_slice::<SendRequest>(&body);
    let other = match &parsed {
        Ok(_) => None,
        Err(_) => match serde_json::from_slice::<Value>(&body) {
            Ok(value) => Some(value),
            Err(_) => return graph_error(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, "Invalid parameter", "The body is not JSON."),
        },
    };
    // Throughput counts every call on the number, mark-as-read included.
    if state.throughput[&number.id].check().is_err() {
        state.count_refusal(codes::THROUGHPUT_REACHED);
        return graph_error(
            StatusCode::BAD_REQUEST,
            codes::THROUGHPUT_REACHED,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        );
    }
    if let Some(value) = other.filter(|v| v.get("status").and_then(Value::as_str) == Some("read")) {
        return if value.get("message_id").and_then(Value::as_str).is_some() {
            Json(json!({"success": true})).into_response()
        } else {
            graph_error(
                StatusCode::BAD_REQUEST,
                codes::REQUIRED_PARAMETER_MISSING,
                "Required parameter is missing",
                "message_id is required.",
            )
        };
    }
    let request: SendRequest = match parsed {
        Ok(r) => r,
        Err(e) => return graph_error(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, "Invalid parameter", &e.to_string()),
    };
    if request.messaging_product != "whatsapp" {
        return graph_error(StatusCode::BAD_REQUEST, codes::INVALID_PARAMETER, "Invalid parameter", "messaging_product must be whatsapp.");
    }
    let is_group = request.recipient_type.as_deref() == Some("group");
    if is_group {
        if let Err(r) = cloud_groups::check_send(&state, &pn, &request.to) {
            return r;
        }
    }
    let to: String = if is_group { request.to.clone() } else { request.to.chars().filter(char::is_ascii_digit).collect() };
    if to.is_empty() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            codes::INVALID_PARAMETER,
            "The parameter to is required.",
            "to must be a phone number.",
        );
    }
    if let OutboundBody::Text { text } = &request.body {
        if text.body.is_empty() || text.body.chars().count() > limits::MAX_TEXT_BODY_CHARS {
            return graph_error(
                StatusCode::BAD_REQUEST,
                codes::PARAMETER_NOT_VALID,
                "Parameter value is not valid",
                "text.body must be 1 to 4096 characters.",
            );
        }
    }
    if let Some(id) = request.body.media_id() {
        if !media::known_to(&state, id, &pn) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                codes::PARAMETER_NOT_VALID,
                "Parameter value is not valid",
                &format!("No media with id {id} was uploaded to this number."),
            );
        }
    }
    if let OutboundBody::Template { template } = &request.body {
        let known = templates().iter().find(|t| {
            t.name == template.name
                && t.language.as_deref() == Some(template.language.code.as_str())
                && t.status.as_deref() == Some("APPROVED")
        });
        let Some(known) = known else {
            return graph_error(
                StatusCode::NOT_FOUND,
                codes::TEMPLATE_NOT_FOUND,
                "Template name does not exist in the translation",
                &format!("template name ({}) does not exist in {} or is not approved", template.name, template.language.code),
            );
        };
        if placeholder_count(known) != body_parameter_count(&template.components) {
            return graph_error(
                StatusCode::BAD_REQUEST,
                codes::TEMPLATE_PARAM_MISMATCH,
                "Number of parameters does not match the expected number of params",
                "body: number of localizable_params does not match the expected number of params",
            );
        }
    } else if state.config.enforce_service_window && !is_group {
        let last = state.last_inbound.lock().expect("inbound lock").get(&(pn.clone(), to.clone())).copied();
        if last.is_none_or(|t| now_ms() - t >= limits::CUSTOMER_SERVICE_WINDOW_MS) {
            state.count_refusal(codes::REENGAGEMENT);
            return graph_error(
                StatusCode::BAD_REQUEST,
                codes::REENGAGEMENT,
                "Re-engagement message",
                "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
            );
        }
    }
    let n = state.sends_seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
    let faults = state.faults.lock().expect("faults lock").clone();
    if faults.throughput_storm_until.is_some_and(|until| now_ms() < until) {
        state.count_refusal(codes::THROUGHPUT_REACHED);
        return graph_error(
            StatusCode::BAD_REQUEST,
            codes::THROUGHPUT_REACHED,
            "Rate limit hit",
            "Cloud API message throughput has been reached.",
        );
    }
    if faults.server_error_every.is_some_and(|every| every > 0 && n % every == 0) {
        state.count_refusal(codes::UNKNOWN_ERROR);
        return graph_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            codes::UNKNOWN_ERROR,
            "Something went wrong",
            "Message failed to send due to an unknown error.",
        );
    }
    if faults.undeliverable.contains(&to) {
        state.count_refusal(codes::UNDELIVERABLE);
        return graph_error(
            StatusCode::BAD_REQUEST,
            codes::UNDELIVERABLE,
            "Message undeliverable",
            "Unable to deliver message. The recipient is not on WhatsApp or cannot receive it.",
        );
    }
    // The portfolio's messaging limit: unique users reached outside the service window in a
    // moving 24 hours.
    if request.body.is_template() {
        let in_window = state
            .last_inbound
            .lock()
            .expect("inbound lock")
            .get(&(pn.clone(), to.clone()))
            .is_some_and(|t| now_ms() - t < limits::CUSTOMER_SERVICE_WINDOW_MS);
        let limit = switchboard_shared::numbers::MessagingTier::parse(&number.messaging_limit).limit();
        if let (false, Some(limit)) = (in_window, limit) {
            if !state.tier_window.lock().expect("tier lock").admit(&to, now_ms(), limit) {
                state.count_refusal(TIER_REACHED);
                return graph_error(
                    StatusCode::BAD_REQUEST,
                    TIER_REACHED,
                    "Spam Rate limit hit",
                    "The business portfolio reached its messaging limit (unique users in a moving 24 hours).",
                );
            }
        }
    }
    if state.pair_rate.check_key(&(pn.clone(), to.clone())).is_err() {
        state.count_refusal(codes::PAIR_RATE);
        return graph_error(
            StatusCode::BAD_REQUEST,
            codes::PAIR_RATE,
            "(Business Account, Consumer Account) pair rate limit hit",
            "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time.",
        );
    }

    let wamid = state.next_wamid();
    let kind = request.body.kind();
    {
        let mut ledger = state.ledger.lock().expect("ledger lock");
        let seq = ledger.len() as u64 + 1;
        ledger.push(LedgerEntry {
            seq,
            phone_number_id: pn.clone(),
            to: to.clone(),
            wamid: wamid.clone(),
            kind: kind.into(),
            summary: request.body.summary(),
            biz_opaque_callback_data: request.biz_opaque_callback_data.clone(),
            at_ms: now_ms(),
            media_id: request.body.media_id().map(str::to_owned),
        });
    }
    let accepted = webhooks::Accepted {
        number: number.clone(),
        to: to.clone(),
        wamid: wamid.clone(),
        callback_data: request.biz_opaque_callback_data.clone(),
        template: request.body.is_template(),
    };
    tokio::spawn(webhooks::progress_statuses(state.clone(), accepted));
    if let (Some(after), OutboundBody::Text { text }) = (state.config.answer_after, &request.body) {
        tokio::spawn(customers::answer(state.clone(), pn.clone(), to.clone(), text.body.clone(), after));
    }
    let response = SendResponse {
        messaging_product: "whatsapp".into(),
        contacts: vec![SendResponseContact { input: request.to.clone(), wa_id: Some(to), user_id: None }],
        messages: vec![SendResponseMessage {
            id: wamid,
            message_status: request.body.is_template().then(|| "accepted".into()),
            group_id: None,
        }],
    };
    if faults.slow_answer_every.is_some_and(|every| every > 0 && n % every == 0) {
        // Sent (ledger and statuses are already on their way), answered late: a caller that
        // timed out has dropped the connection by then.
        tokio::time::sleep(std::time::Duration::from_millis(faults.slow_answer_ms)).await;
    }
    if faults.lost_answer_every.is_some_and(|every| every > 0 && n % every == 0) {
        // Sent, but the answer is cut off on the way back.
        return (StatusCode::OK, [(axum::http::header::CONTENT_TYPE, "application/json")], "{\"messaging_product\":\"whats")
            .into_response();
    }
    Json(response).into_response()
}

/// No documented code exists for an exhausted messaging limit (cloud-api.md §4.3); the sandbox
/// answers with the spam rate limit code, which is what senders report seeing.
const TIER_REACHED: i64 = 131048;

async fn set_faults(AxState(state): AxState<Shared>, Json(faults): Json<crate::Faults>) -> Response {
    *state.faults.lock().expect("faults lock") = faults;
    Json(json!({"ok": true})).into_response()
}

async fn ledger(AxState(state): AxState<Shared>) -> Json<Vec<LedgerEntry>> {
    Json(state.ledger.lock().expect("ledger lock").clone())
}

#[derive(Deserialize)]
struct InboundBody {
    phone_number_id: String,
    from: String,
    name: String,
    #[serde(default)]
    text: String,
    /// Instead of a text: `photo`, `voice`, `document` or `location`.
    #[serde(default)]
    sends: Option<customers::Sample>,
}

/// Test hook: a simulated customer writes in, or sends a photo, a voice note, a document or
/// a location.
async fn inbound(AxState(state): AxState<Shared>, Json(b): Json<InboundBody>) -> Response {
    if !state.numbers.contains_key(&b.phone_number_id) {
        return unknown_object(&b.phone_number_id);
    }
    let wamid = match b.sends {
        Some(sample) => {
            customers::send_sample(&state, &b.phone_number_id, &b.from, &b.name, sample, (!b.text.is_empty()).then_some(b.text.as_str()))
        }
        None => customers::write_in(&state, &b.phone_number_id, &b.from, &b.name, &b.text),
    };
    Json(json!({"id": wamid})).into_response()
}
