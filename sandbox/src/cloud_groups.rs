//! Meta's Cloud API Groups (cloud-api.md §5) with its limits and error codes: 8 participants,
//! 1–8 removed a call, duplicates `131202`, non-members `131212`, the creation cap `131211`,
//! the rate limit `131208` on demand; and its four webhook fields. Customers join through the
//! invite link under `/_sandbox/groups/{id}/join`.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::graph::{check_token, check_version, graph_error, unknown_object, TokenQuery};
use crate::linked::Applied;
use crate::{now_ms, webhooks, State};

type Shared = Arc<State>;

/// Meta's error codes for groups.
pub mod codes {
    pub const PARTIAL: i64 = 131201;
    pub const DUPLICATE: i64 = 131202;
    pub const CREATE_LIMIT: i64 = 131211;
    pub const NOT_MEMBER: i64 = 131212;
    pub const UNKNOWN_REQUEST: i64 = 131213;
    pub const RATE_LIMIT: i64 = 131208;
    pub const SINGLE_MEMBER: i64 = 131020;
    pub const PHOTO_ASPECT: i64 = 131209;
    pub const PHOTO_TOO_SMALL: i64 = 131210;
    pub const MAX_MEMBERS: usize = 8;
}

#[derive(Debug, Clone)]
pub(crate) struct Member {
    pub wa_id: String,
    pub user_id: String,
}

impl Member {
    fn new(wa_id: &str) -> Member {
        Member { wa_id: wa_id.into(), user_id: bsuid_of(wa_id) }
    }
}

/// A customer's business-scoped user id: fixed per phone, as Meta's are per portfolio.
pub fn bsuid_of(wa_id: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in wa_id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    format!("US.{h:020}")
}

#[derive(Debug, Clone)]
pub(crate) struct CloudGroup {
    pub id: String,
    pub number: String,
    pub subject: String,
    pub description: String,
    pub approval_required: bool,
    pub members: Vec<Member>,
    pub requests: Vec<(String, Member, i64)>,
    pub invite: String,
    pub removed: HashSet<String>,
    pub suspended: bool,
    pub created_at: i64,
}

#[derive(Default)]
pub(crate) struct Groups {
    pub groups: HashMap<String, CloudGroup>,
    pub next: u64,
    pub applied: Vec<Applied>,
    /// Groups a number may create (Meta: 10,000).
    pub create_limit: usize,
}

impl Groups {
    pub fn new() -> Groups {
        Groups { create_limit: 10_000, ..Groups::default() }
    }

    /// A group on `number` with these members, as if created and joined earlier.
    pub fn seed(&mut self, number: &str, subject: &str, members: &[String], approval_required: bool) -> String {
        self.next += 1;
        let raw = format!("capi_group:{number}:{:015}", self.next);
        let id = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw);
        let invite = format!("CAPI{:08X}", self.next * 6151);
        self.groups.insert(
            id.clone(),
            CloudGroup {
                id: id.clone(),
                number: number.into(),
                subject: subject.into(),
                description: String::new(),
                approval_required,
                members: members.iter().map(|m| Member::new(m)).collect(),
                requests: vec![],
                invite,
                removed: HashSet::new(),
                suspended: false,
                created_at: now_ms() / 1000,
            },
        );
        id
    }

    /// A customer taps the invite link: a join request when approval is required (or they were
    /// removed before), else they join.
    pub fn tap_link(&mut self, id: &str, wa_id: &str) -> Result<Value, String> {
        self.next += 1;
        let n = self.next;
        let g = self.groups.get_mut(id).ok_or("no such group")?;
        if g.members.iter().any(|m| m.wa_id == wa_id) {
            return Err("already a member".into());
        }
        let m = Member::new(wa_id);
        let at = now_ms() / 1000;
        if g.approval_required || g.removed.contains(wa_id) {
            let rid = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{n}:{wa_id}"));
            g.requests.push((rid.clone(), m.clone(), at));
            Ok(json!({"timestamp": at, "group_id": id, "type": "group_join_request_created", "join_request_id": rid,
                      "wa_id": m.wa_id, "user_id": m.user_id}))
        } else {
            if g.members.len() >= codes::MAX_MEMBERS {
                return Err("the group is full".into());
            }
            g.members.push(m.clone());
            Ok(json!({"timestamp": at, "group_id": id, "type": "group_participants_add", "reason": "invite_link",
                      "added_participants": [{"wa_id": m.wa_id, "user_id": m.user_id}]}))
        }
    }
}

fn push(state: &State, number: &str, field: &str, item: Value) {
    let Some(n) = state.numbers.get(number) else { return };
    let value = json!({"messaging_product": "whatsapp", "metadata": webhooks::metadata(n), "groups": [item]});
    webhooks::push(state, webhooks::Update::raw(number, field, value));
}

fn rate_limited(state: &State) -> Option<Response> {
    if state.faults.lock().expect("faults lock").group_rate_limited {
        state.count_refusal(codes::RATE_LIMIT);
        return Some(graph_error(StatusCode::TOO_MANY_REQUESTS, codes::RATE_LIMIT, "Rate limit hit", "Too many group operations."));
    }
    None
}

fn ignore_changes(state: &State) -> bool {
    state.faults.lock().expect("faults lock").group_ignore_changes
}

#[derive(Deserialize)]
pub(crate) struct CreateBody {
    subject: String,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    join_approval_mode: Option<String>,
}

/// `POST /{pn}/groups`: answers a request id; the group comes in `group_lifecycle_update`.
pub(crate) async fn create(
    AxState(state): AxState<Shared>,
    Path((version, pn)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    Json(b): Json<CreateBody>,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    if !state.numbers.contains_key(&pn) {
        return unknown_object(&pn);
    }
    if let Some(r) = rate_limited(&state) {
        return r;
    }
    let subject = b.subject.trim().to_owned();
    if subject.is_empty() || subject.chars().count() > 128 {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", "subject must be 1 to 128 characters.");
    }
    let request_id = state.next_wamid().replace("wamid.SBX", "REQ");
    let mut g = state.cloud_groups.lock().expect("groups lock");
    let count = g.groups.values().filter(|x| x.number == pn).count();
    let item = if count >= g.create_limit {
        json!({"timestamp": now_ms() / 1000, "type": "group_create", "subject": subject, "request_id": request_id,
               "errors": [{"code": codes::CREATE_LIMIT, "title": "Group create limit reached",
                           "message": "Reached the limit for the maximum number of groups that can be created for this number."}]})
    } else {
        let approval = b.join_approval_mode.as_deref() == Some("approval_required");
        let id = g.seed(&pn, &subject, &[], approval);
        let group = g.groups.get_mut(&id).expect("just made");
        group.description = b.description.unwrap_or_default();
        json!({"timestamp": now_ms() / 1000, "group_id": id, "type": "group_create", "request_id": request_id, "subject": subject,
               "description": group.description,
               "invite_link": format!("https://chat.whatsapp.com/{}", group.invite),
               "join_approval_mode": if approval { "approval_required" } else { "auto_approve" }})
    };
    drop(g);
    push(&state, &pn, "group_lifecycle_update", item);
    Json(json!({"messaging_product": "whatsapp", "request_id": request_id})).into_response()
}

#[derive(Deserialize)]
pub(crate) struct ListQuery {
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    after: Option<String>,
    #[serde(default)]
    access_token: Option<String>,
}

/// `GET /{pn}/groups`: `data` is an object with a `groups` array; cursor paging.
pub(crate) async fn list(
    AxState(state): AxState<Shared>,
    Path((version, pn)): Path<(String, String)>,
    Query(q): Query<ListQuery>,
    headers: HeaderMap,
) -> Response {
    let token = TokenQuery { access_token: q.access_token.clone() };
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &token)) {
        return r;
    }
    if !state.numbers.contains_key(&pn) {
        return unknown_object(&pn);
    }
    let limit = q.limit.unwrap_or(25).clamp(1, 1024);
    let start = match q.after.as_deref().map(|c| c.parse::<usize>()) {
        None => 0,
        Some(Ok(n)) => n,
        Some(Err(_)) => return graph_error(StatusCode::BAD_REQUEST, 131059, "Invalid cursor", "The paging cursor is not valid."),
    };
    let g = state.cloud_groups.lock().expect("groups lock");
    let mut all: Vec<&CloudGroup> = g.groups.values().filter(|x| x.number == pn).collect();
    all.sort_by(|a, b| a.id.cmp(&b.id));
    let page: Vec<Value> = all
        .iter()
        .skip(start)
        .take(limit)
        .map(|x| json!({"id": x.id, "subject": x.subject, "created_at": x.created_at.to_string()}))
        .collect();
    let mut paging = json!({"cursors": {"before": start.to_string(), "after": (start + page.len()).to_string()}});
    if start + page.len() < all.len() {
        paging["next"] = json!(format!("/{version}/{pn}/groups?limit={limit}&after={}", start + page.len()));
    }
    Json(json!({"data": {"groups": page}, "paging": paging})).into_response()
}

/// `GET /{group-id}?fields=…`, or `None` when the id is not a group.
pub(crate) fn info(state: &State, id: &str) -> Option<Response> {
    let g = state.cloud_groups.lock().expect("groups lock");
    let x = g.groups.get(id)?;
    Some(
        Json(json!({
            "messaging_product": "whatsapp",
            "id": x.id,
            "subject": x.subject,
            "description": x.description,
            "creation_timestamp": x.created_at,
            // Meta's samples quote scalars; the tolerant reader must cope.
            "suspended": x.suspended.to_string(),
            "total_participant_count": x.members.len().to_string(),
            "participants": x.members.iter().map(|m| json!({"wa_id": m.wa_id, "user_id": m.user_id})).collect::<Vec<_>>(),
            "join_approval_mode": if x.approval_required { "approval_required" } else { "auto_approve" },
        }))
        .into_response(),
    )
}

fn group_or_404<'a>(g: &'a mut Groups, id: &str) -> Result<&'a mut CloudGroup, Response> {
    g.groups.get_mut(id).ok_or_else(|| unknown_object(id))
}

/// `POST /{group-id}`: subject and description (JSON; a photo is accepted and reported).
pub(crate) async fn update(state: Shared, id: String, body: Value) -> Response {
    if let Some(r) = rate_limited(&state) {
        return r;
    }
    let subject = body.get("subject").and_then(Value::as_str).map(str::to_owned);
    let description = body.get("description").and_then(Value::as_str).map(str::to_owned);
    if subject.as_deref().is_some_and(|s| s.trim().is_empty() || s.chars().count() > 128) {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", "subject must be 1 to 128 characters.");
    }
    if description.as_deref().is_some_and(|d| d.chars().count() > 2048) {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", "description must be at most 2048 characters.");
    }
    let ignore = ignore_changes(&state);
    let (number, item) = {
        let mut g = state.cloud_groups.lock().expect("groups lock");
        let x = match group_or_404(&mut g, &id) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let mut item = json!({"timestamp": now_ms() / 1000, "group_id": id, "type": "group_settings_update", "request_id": format!("SET{}", now_ms())});
        if !ignore {
            if let Some(s) = &subject {
                x.subject = s.trim().to_owned();
                item["group_subject"] = json!({"text": x.subject, "update_successful": true});
            }
            if let Some(d) = &description {
                x.description.clone_from(d);
                item["group_description"] = json!({"text": d, "update_successful": true});
            }
        }
        let number = x.number.clone();
        g.applied.push(Applied {
            phone: number.clone(),
            group: id.clone(),
            op: "settings".into(),
            target: body.to_string(),
            at_ms: now_ms(),
        });
        (number, item)
    };
    if !ignore {
        push(&state, &number, "group_settings_update", item);
    }
    Json(json!({"success": true})).into_response()
}

/// `POST /{group-id}` with a photo: Meta's rules (a square JPEG of at least 192 × 192; `131209`,
/// `131210`), then `group_settings_update` with the picture's hash.
pub(crate) async fn update_photo(state: Shared, id: String, jpeg: Vec<u8>) -> Response {
    use sha2::Digest as _;
    use switchboard_shared::groups::{check_photo, PhotoProblem};
    if let Some(r) = rate_limited(&state) {
        return r;
    }
    match check_photo(&jpeg) {
        Ok(()) => {}
        Err(PhotoProblem::NotSquare) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                codes::PHOTO_ASPECT,
                "Invalid Group Profile Picture Aspect Ratio",
                "Width and height must be equal.",
            )
        }
        Err(PhotoProblem::TooSmall) => {
            return graph_error(
                StatusCode::BAD_REQUEST,
                codes::PHOTO_TOO_SMALL,
                "Image is Too Small to Process",
                "Width/height must be > 192 px.",
            )
        }
        Err(p) => return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", p.message()),
    }
    let sha = hex::encode(sha2::Sha256::digest(&jpeg));
    let number = {
        let mut g = state.cloud_groups.lock().expect("groups lock");
        let x = match group_or_404(&mut g, &id) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let number = x.number.clone();
        g.applied.push(Applied { phone: number.clone(), group: id.clone(), op: "photo".into(), target: sha.clone(), at_ms: now_ms() });
        number
    };
    let item = json!({"timestamp": now_ms() / 1000, "group_id": id, "type": "group_settings_update", "request_id": format!("SET{}", now_ms()),
                      "profile_picture": {"mime_type": "image/jpeg", "update_successful": true, "sha256": sha}});
    push(&state, &number, "group_settings_update", item);
    Json(json!({"success": true})).into_response()
}

/// `DELETE /{group-id}`.
pub(crate) async fn delete(state: Shared, id: String) -> Response {
    let removed = state.cloud_groups.lock().expect("groups lock").groups.remove(&id);
    let Some(x) = removed else { return unknown_object(&id) };
    push(&state, &x.number, "group_lifecycle_update", json!({"timestamp": now_ms() / 1000, "group_id": id, "type": "group_delete"}));
    Json(json!({"success": true})).into_response()
}

pub(crate) async fn invite_link(
    AxState(state): AxState<Shared>,
    method: axum::http::Method,
    Path((version, id)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    let mut g = state.cloud_groups.lock().expect("groups lock");
    g.next += 1;
    let n = g.next;
    let x = match group_or_404(&mut g, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    if method == axum::http::Method::POST {
        x.invite = format!("CAPI{:08X}", n * 7727);
    }
    Json(json!({"messaging_product": "whatsapp", "invite_link": format!("https://chat.whatsapp.com/{}", x.invite)})).into_response()
}

pub(crate) async fn join_requests(
    AxState(state): AxState<Shared>,
    method: axum::http::Method,
    Path((version, id)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    if method == axum::http::Method::GET {
        let mut g = state.cloud_groups.lock().expect("groups lock");
        let x = match group_or_404(&mut g, &id) {
            Ok(x) => x,
            Err(r) => return r,
        };
        let data: Vec<Value> = x
            .requests
            .iter()
            .map(|(rid, m, at)| json!({"join_request_id": rid, "wa_id": m.wa_id, "user_id": m.user_id, "creation_timestamp": at}))
            .collect();
        return Json(json!({"data": data, "paging": {"cursors": {"before": "B", "after": "A"}}})).into_response();
    }
    if let Some(r) = rate_limited(&state) {
        return r;
    }
    let approve = method == axum::http::Method::POST;
    let ids: Vec<String> = match serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("join_requests").cloned()) {
        Some(Value::Array(a)) if !a.is_empty() => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", "join_requests must be a non-empty list of ids."),
    };
    let ignore = ignore_changes(&state);
    let mut done = Vec::new();
    let mut failed = Vec::new();
    let mut events = Vec::new();
    let number = {
        let mut g = state.cloud_groups.lock().expect("groups lock");
        let mut applied = Vec::new();
        let x = match group_or_404(&mut g, &id) {
            Ok(x) => x,
            Err(r) => return r,
        };
        for rid in &ids {
            let Some(at) = x.requests.iter().position(|(r, _, _)| r == rid) else {
                failed.push(json!({"join_request_id": rid, "errors": [{"code": codes::UNKNOWN_REQUEST, "title": "Unknown join request",
                    "message": "The join request does not exist."}]}));
                continue;
            };
            if approve && x.members.len() >= codes::MAX_MEMBERS {
                failed.push(json!({"join_request_id": rid, "errors": [{"code": 131_205, "title": "Group is full",
                    "message": "The group has reached its maximum number of participants."}]}));
                continue;
            }
            done.push(rid.clone());
            if ignore {
                continue;
            }
            let (_, m, _) = x.requests.remove(at);
            applied.push(m.wa_id.clone());
            if approve {
                x.removed.remove(&m.wa_id);
                events
                    .push(json!({"timestamp": now_ms() / 1000, "group_id": id, "type": "group_participants_add", "reason": "invite_link",
                                   "added_participants": [{"input": m.wa_id, "wa_id": m.wa_id, "user_id": m.user_id}]}));
                x.members.push(m);
            } else {
                events.push(json!({"timestamp": now_ms() / 1000, "group_id": id, "type": "group_join_request_revoked",
                                   "join_request_id": rid, "wa_id": m.wa_id, "user_id": m.user_id, "reason": "rejected"}));
            }
        }
        let number = x.number.clone();
        let op = if approve { "approve" } else { "reject" };
        for wa in applied {
            g.applied.push(Applied { phone: number.clone(), group: id.clone(), op: op.into(), target: wa, at_ms: now_ms() });
        }
        number
    };
    for e in events {
        push(&state, &number, "group_participants_update", e);
    }
    let key = if approve { "approved_join_requests" } else { "rejected_join_requests" };
    let mut answer = json!({"messaging_product": "whatsapp", key: done});
    let status = if failed.is_empty() {
        StatusCode::OK
    } else {
        answer["failed_join_requests"] = json!(failed);
        answer["errors"] =
            json!([{"code": codes::PARTIAL, "title": "Not all join requests were handled", "message": "Some join requests failed."}]);
        StatusCode::PARTIAL_CONTENT
    };
    (status, Json(answer)).into_response()
}

/// `DELETE /{group-id}/participants` removes 1–8; `POST` (adding) is refused as Meta's guide
/// says it is.
pub(crate) async fn participants(
    AxState(state): AxState<Shared>,
    method: axum::http::Method,
    Path((version, id)): Path<(String, String)>,
    Query(q): Query<TokenQuery>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    if let Err(r) = check_version(&version).and_then(|_| check_token(&state, &headers, &q)) {
        return r;
    }
    if method == axum::http::Method::POST {
        return graph_error(
            StatusCode::BAD_REQUEST,
            100,
            "Unsupported operation",
            "Participants cannot be added; send the invite link instead.",
        );
    }
    if let Some(r) = rate_limited(&state) {
        return r;
    }
    let users: Vec<String> = match serde_json::from_slice::<Value>(&body).ok().and_then(|v| v.get("participants").cloned()) {
        Some(Value::Array(a)) => {
            a.iter().map(|p| p.get("user").or_else(|| p.get("user_id")).and_then(Value::as_str).unwrap_or("").to_owned()).collect()
        }
        _ => return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", "participants must be a list."),
    };
    if users.is_empty() || users.len() > codes::MAX_MEMBERS {
        return graph_error(StatusCode::BAD_REQUEST, 100, "Invalid parameter", "Between 1 and 8 participants a call.");
    }
    let unique: HashSet<&String> = users.iter().collect();
    if unique.len() != users.len() {
        return graph_error(StatusCode::BAD_REQUEST, codes::DUPLICATE, "Duplicate participants", "The list names a participant twice.");
    }
    let ignore = ignore_changes(&state);
    let mut g = state.cloud_groups.lock().expect("groups lock");
    let x = match group_or_404(&mut g, &id) {
        Ok(x) => x,
        Err(r) => return r,
    };
    let mut removed = Vec::new();
    let mut failed = Vec::new();
    for u in &users {
        let digits: String = u.chars().filter(char::is_ascii_digit).collect();
        match x.members.iter().position(|m| m.user_id == *u || (!digits.is_empty() && m.wa_id == digits)) {
            Some(i) => {
                if !ignore {
                    let m = x.members.remove(i);
                    x.removed.insert(m.wa_id.clone());
                }
                removed.push(u.clone());
            }
            None => failed.push(json!({"input": u, "errors": [{"code": codes::NOT_MEMBER, "title": "Not a participant",
                                                            "message": "The user is not a participant of the group."}]})),
        }
    }
    let number = x.number.clone();
    for u in &removed {
        g.applied.push(Applied { phone: number.clone(), group: id.clone(), op: "remove".into(), target: u.clone(), at_ms: now_ms() });
    }
    drop(g);
    if removed.is_empty() {
        return graph_error(
            StatusCode::BAD_REQUEST,
            codes::NOT_MEMBER,
            "Not a participant",
            "None of the users is a participant of the group.",
        );
    }
    if !ignore {
        let mut item = json!({"timestamp": now_ms() / 1000, "group_id": id, "type": "group_participants_remove", "initiated_by": "business",
                              "removed_participants": removed.iter().map(|u| json!({"input": u})).collect::<Vec<_>>()});
        if !failed.is_empty() {
            item["failed_participants"] = json!(failed);
            item["errors"] = json!([{"code": codes::PARTIAL, "title": "Not All Participants Remove Succeeded"}]);
        }
        push(&state, &number, "group_participants_update", item);
    }
    Json(json!({"success": true})).into_response()
}

/// Whether a group send can go: the group exists and someone besides us is in it.
pub(crate) fn check_send(state: &State, pn: &str, id: &str) -> Result<(), Response> {
    let g = state.cloud_groups.lock().expect("groups lock");
    match g.groups.get(id) {
        Some(x) if x.number == pn && !x.members.is_empty() => Ok(()),
        Some(x) if x.number == pn => {
            Err(graph_error(StatusCode::BAD_REQUEST, codes::SINGLE_MEMBER, "Bad Group", "Cannot send messages to single member groups."))
        }
        _ => Err(graph_error(StatusCode::BAD_REQUEST, 131_041, "Group unknown", "The group does not exist.")),
    }
}

#[derive(Deserialize)]
pub(crate) struct TapBody {
    wa_id: String,
    #[serde(default)]
    leave: bool,
}

/// Test hook: a customer taps the invite link (or leaves).
pub(crate) async fn control_join(AxState(state): AxState<Shared>, Path(id): Path<String>, Json(b): Json<TapBody>) -> Response {
    let mut g = state.cloud_groups.lock().expect("groups lock");
    let number = match g.groups.get(&id) {
        Some(x) => x.number.clone(),
        None => return unknown_object(&id),
    };
    let item = if b.leave {
        let x = g.groups.get_mut(&id).expect("checked");
        let Some(i) = x.members.iter().position(|m| m.wa_id == b.wa_id) else {
            return graph_error(StatusCode::BAD_REQUEST, codes::NOT_MEMBER, "Not a participant", "Not a member.");
        };
        let m = x.members.remove(i);
        json!({"timestamp": now_ms() / 1000, "group_id": id, "type": "group_participants_remove", "initiated_by": "participant",
               "removed_participants": [{"wa_id": m.wa_id, "user_id": m.user_id}]})
    } else {
        match g.tap_link(&id, &b.wa_id) {
            Ok(item) => item,
            Err(e) => return graph_error(StatusCode::CONFLICT, 100, "Cannot join", &e),
        }
    };
    drop(g);
    push(&state, &number, "group_participants_update", item);
    Json(json!({"ok": true})).into_response()
}

pub(crate) async fn control_applied(AxState(state): AxState<Shared>) -> Json<Vec<Applied>> {
    Json(state.cloud_groups.lock().expect("groups lock").applied.clone())
}
