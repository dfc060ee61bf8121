//! The console's group routes. Every action checks, in order, that the group is in the user's
//! scope, that its provider can do it, that the number is online (failing at once otherwise),
//! and that our number is an admin; then acts, and records who did what in the audit log.

use std::sync::Arc;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use sha2::Digest as _;
use switchboard_shared::access::Permission;
use switchboard_shared::groups::{
    person_ids, refusal, BulkPlan, BulkRequest, DecideRequests, Group, GroupAction, GroupCreation, GroupDetail, GroupJob, GroupMessage,
    GroupSetting, InviteLink, InviteLinkRequest, LinkDevice, LinkedDevice, MemberChange, MemberOp, MemberOutcome, NewGroup, PeopleQuery,
    PerMember, PersonHit, ProviderKind, Refusal, RevokeMessage, SentGroupMessage, SyncReport,
};

use super::provider::{Created, GroupProvider};
use super::store::{self, GroupRow};
use super::{jobs, linked};
use crate::access::audit;
use crate::access::AuthUser;
use crate::error::{ApiJson, AppError, Result};
use crate::AppState;

fn mask(user: &AuthUser) -> bool {
    !user.can(Permission::SeeFullPhoneNumbers)
}

/// `GET /groups`: every group on the user's numbers.
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<Group>>> {
    let rows = store::list(&state.db.pool, &user.scope_sql("g.number_id", None)).await?;
    Ok(Json(super::present(&state, rows, mask(&user)).await?))
}

/// The stored group, if the user's scope covers it.
async fn row(state: &AppState, user: &AuthUser, id: &str) -> Result<GroupRow> {
    let mut conn = state.db.pool.acquire().await?;
    match store::one(&mut conn, id).await? {
        Some(r) if user.covers(&r.number_id) => Ok(r),
        _ => Err(AppError::NotFound),
    }
}

/// `GET /groups/{id}`: a group with its members and waiting join requests.
pub async fn detail(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<Json<GroupDetail>> {
    let r = row(&state, &user, &id).await?;
    let r_provider = r.provider();
    let group = super::present(&state, vec![r], mask(&user)).await?.remove(0);
    let mut conn = state.db.pool.acquire().await?;
    let mut members: Vec<_> = store::members_of(&mut conn, std::slice::from_ref(&id)).await?.into_iter().map(|(_, m)| m).collect();
    let mut join_requests = store::requests_of(&mut conn, &id).await?;
    let mut us = match r_provider {
        ProviderKind::Linked => match store::device(&mut conn, &group.number_id).await? {
            Some(d) => {
                let lid = store::lid_for_phone(&mut conn, &group.number_id, &d.phone).await?;
                Some(switchboard_shared::groups::MemberIds::new(Some(&d.phone), lid.as_deref(), None, None))
            }
            None => None,
        },
        ProviderKind::Cloud => None,
    };
    if mask(&user) {
        let hide = |p: &mut Option<String>| {
            if let Some(v) = p {
                *v = switchboard_shared::access::mask_phone(v);
            }
        };
        for m in &mut members {
            hide(&mut m.ids.pn);
            hide(&mut m.ids.wa_id);
        }
        for r in &mut join_requests {
            hide(&mut r.ids.pn);
            hide(&mut r.ids.wa_id);
        }
        if let Some(u) = &mut us {
            hide(&mut u.pn);
        }
    }
    Ok(Json(GroupDetail { group, members, join_requests, us }))
}

/// The group's provider, refusing (before any I/O) what may not be done now.
async fn allowed(state: &AppState, r: &GroupRow, action: GroupAction) -> Result<Arc<dyn GroupProvider>> {
    let kind = r.provider();
    let provider = super::provider(state, &r.number_id, kind).await?;
    let Some(provider) = provider else {
        return Err(AppError::from_group(super::GroupErr::Refused(switchboard_shared::groups::Refusal::LoggedOut), r.subject.as_deref()));
    };
    if let Some(why) = refusal(&provider.capabilities(), &provider.connection(), r.is_admin != 0, r.admins_only != 0, action) {
        return Err(AppError::from_group(super::GroupErr::Refused(why), r.subject.as_deref()));
    }
    Ok(provider)
}

async fn audit(state: &AppState, user: &AuthUser, r: &GroupRow, action: &str, after: serde_json::Value) -> Result<()> {
    let mut conn = state.db.pool.acquire().await?;
    audit::record_on(&mut conn, user, &[&r.number_id], action, &r.id, None, Some(after)).await
}

fn group_err(r: &GroupRow) -> impl Fn(super::GroupErr) -> AppError + '_ {
    move |e| AppError::from_group(e, r.subject.as_deref())
}

/// `POST /groups/{id}/members`: add, remove, promote or demote; an outcome per person.
pub async fn members(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MemberChange>,
) -> Result<Json<Vec<PerMember>>> {
    let r = row(&state, &user, &id).await?;
    if body.people.is_empty() || body.people.len() > 50 {
        return Err(AppError::bad_request("invalid_people", "Name 1 to 50 people."));
    }
    let mut who = Vec::with_capacity(body.people.len());
    for p in &body.people {
        let ids = person_ids(p);
        if ids.is_empty() {
            return Err(AppError::bad_request("invalid_person", format!("“{p}” is not a phone number, lid:… or BSUID.")));
        }
        who.push(ids);
    }
    // Removing, promoting or demoting someone known only by a LID: use the stored member, which
    // may carry the LID the provider needs.
    if body.op != MemberOp::Add {
        let mut conn = state.db.pool.acquire().await?;
        let stored = store::members_of(&mut conn, std::slice::from_ref(&id)).await?;
        for ids in &mut who {
            if let Some((_, m)) = stored.iter().find(|(_, m)| m.ids.same_person(ids)) {
                ids.merge(&m.ids);
            }
        }
    }
    let provider = allowed(&state, &r, body.op.action()).await?;
    if body.op == MemberOp::Add {
        let day = crate::clock::rfc3339(crate::clock::now_ms())[..10].to_owned();
        let mut conn = state.db.pool.acquire().await?;
        if !store::take_adds(&mut conn, &r.number_id, &day, who.len() as i64, state.config.group_daily_add_cap).await? {
            return Err(AppError::Refused(
                StatusCode::TOO_MANY_REQUESTS,
                "group_add_cap",
                format!(
                    "This number has reached its limit of {} adds today (adding many people quickly gets numbers banned). Send the invite link instead.",
                    state.config.group_daily_add_cap
                ),
            ));
        }
    }
    let mut results = provider.members(&id, body.op, &who).await.map_err(group_err(&r))?;
    // A privacy refusal offers the invite link.
    if results.iter().any(|p| matches!(p.outcome, MemberOutcome::PrivacyRefused { invite_link: None })) {
        let link = provider.invite_link(&id, false).await.ok();
        for p in &mut results {
            if let MemberOutcome::PrivacyRefused { invite_link } = &mut p.outcome {
                if invite_link.is_none() {
                    invite_link.clone_from(&link);
                }
            }
        }
    }
    audit(&state, &user, &r, &format!("groups.{}", body.op.as_str()), json!({"people": body.people, "results": results})).await?;
    Ok(Json(results))
}

/// `POST /groups/{id}/settings`: one setting.
pub async fn settings(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(setting): ApiJson<GroupSetting>,
) -> Result<StatusCode> {
    setting.check().map_err(|m| AppError::bad_request("invalid_setting", m))?;
    let r = row(&state, &user, &id).await?;
    let provider = allowed(&state, &r, setting.action()).await?;
    provider.set(&id, &setting).await.map_err(group_err(&r))?;
    audit(&state, &user, &r, "groups.setting", json!(setting)).await?;
    Ok(StatusCode::ACCEPTED)
}

/// `POST /groups/{id}/requests`: approve or reject waiting join requests (some, or all).
pub async fn decide(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<DecideRequests>,
) -> Result<Json<Vec<PerMember>>> {
    let r = row(&state, &user, &id).await?;
    let provider = allowed(&state, &r, GroupAction::DecideJoinRequests).await?;
    let waiting = {
        let mut conn = state.db.pool.acquire().await?;
        store::requests_of(&mut conn, &id).await?
    };
    let chosen: Vec<_> = waiting.into_iter().filter(|w| body.all || body.requests.contains(&w.id)).collect();
    if chosen.is_empty() {
        return Err(AppError::bad_request("no_requests", "None of these join requests is waiting any more."));
    }
    let results = provider.decide(&id, &chosen, body.approve).await.map_err(group_err(&r))?;
    let action = if body.approve { "groups.approve" } else { "groups.reject" };
    audit(&state, &user, &r, action, json!({"requests": chosen.iter().map(|c| &c.id).collect::<Vec<_>>(), "results": results})).await?;
    Ok(Json(results))
}

/// `POST /groups/{id}/invite-link`.
pub async fn invite_link(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<InviteLinkRequest>,
) -> Result<Json<InviteLink>> {
    let r = row(&state, &user, &id).await?;
    let provider = allowed(&state, &r, GroupAction::InviteLink).await?;
    let link = provider.invite_link(&id, body.reset).await.map_err(group_err(&r))?;
    let mut conn = state.db.pool.acquire().await?;
    store::set_flags(&mut conn, &id, store::GroupFlags { invite_link: Some(&link), ..Default::default() }).await?;
    drop(conn);
    if body.reset {
        audit(&state, &user, &r, "groups.reset_invite_link", json!({})).await?;
    }
    Ok(Json(InviteLink { link }))
}

/// `POST /groups/{id}/messages`: a text, with @mentions where the provider allows them.
pub async fn send(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<GroupMessage>,
) -> Result<Json<SentGroupMessage>> {
    if body.text.trim().is_empty() {
        return Err(AppError::bad_request("empty_message", "The message is empty."));
    }
    if body.text.chars().count() > switchboard_shared::limits::MAX_TEXT_BODY_CHARS {
        return Err(AppError::bad_request("message_too_long", "The message is longer than 4,096 characters."));
    }
    let r = row(&state, &user, &id).await?;
    let provider = allowed(&state, &r, GroupAction::Send).await?;
    if !body.mentions.is_empty() {
        allowed(&state, &r, GroupAction::Mention).await?;
    }
    let mentions: Vec<_> = body.mentions.iter().map(|m| person_ids(m)).collect();
    let message_id = format!("SBM{:016X}", rand::random::<u64>());
    let sent = provider.send(&id, &message_id, &body.text, &mentions).await.map_err(group_err(&r))?;
    audit(&state, &user, &r, "groups.send", json!({"id": sent, "mentions": body.mentions})).await?;
    Ok(Json(SentGroupMessage { id: sent }))
}

/// `POST /groups/{id}/messages/{message}/revoke`: delete a message for everyone.
pub async fn revoke(
    State(state): State<AppState>,
    user: AuthUser,
    Path((id, message)): Path<(String, String)>,
    ApiJson(body): ApiJson<RevokeMessage>,
) -> Result<StatusCode> {
    let r = row(&state, &user, &id).await?;
    let provider = allowed(&state, &r, GroupAction::DeleteForEveryone).await?;
    let sender = person_ids(&body.sender);
    if sender.is_empty() {
        return Err(AppError::bad_request("invalid_person", "Say who sent the message."));
    }
    provider.revoke(&id, &message, &sender).await.map_err(group_err(&r))?;
    audit(&state, &user, &r, "groups.delete_for_everyone", json!({"message": message, "sender": body.sender})).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `POST /groups/sync`: reads every group of the user's numbers from their providers again.
/// `POST /groups`: makes a group on one of the user's numbers, our number its admin. A linked
/// device makes it at once; the Cloud API answers a request whose outcome comes by webhook
/// (`GET /groups/creations` shows it while it waits, and if it fails).
pub async fn create(State(state): State<AppState>, user: AuthUser, ApiJson(body): ApiJson<NewGroup>) -> Result<Json<GroupCreation>> {
    body.check().map_err(|m| AppError::bad_request("invalid_group", m))?;
    if !user.covers(&body.number_id) {
        return Err(AppError::NotFound);
    }
    let provider = super::provider(&state, &body.number_id, body.provider).await?.ok_or_else(|| {
        let why = if body.provider == ProviderKind::Linked { Refusal::LoggedOut } else { Refusal::Offline };
        AppError::from_group(super::GroupErr::Refused(why), None)
    })?;
    super::provider::ready(&provider.connection()).map_err(|e| AppError::from_group(e, None))?;
    let subject = body.subject.trim();
    let made =
        provider.create(subject, body.description.as_deref(), body.join_approval).await.map_err(|e| AppError::from_group(e, None))?;
    let mut creation = GroupCreation {
        request_id: String::new(),
        number_id: body.number_id.clone(),
        subject: subject.to_owned(),
        requested_at: crate::clock::now_ms(),
        state: "requested".into(),
        group_id: None,
        error: None,
    };
    let mut tx = state.db.pool.begin().await?;
    let mut events = Vec::new();
    match &made {
        Created::Now(snapshot) => {
            creation.request_id = snapshot.id.clone();
            creation.state = "created".into();
            creation.group_id = Some(snapshot.id.clone());
            store::save_snapshot(&mut tx, &body.number_id, body.provider, snapshot, Some(&[])).await?;
            let kind = switchboard_shared::api::EventKind::Group { group_id: snapshot.id.clone() };
            events.push(crate::events::append(&mut tx, &body.number_id, None, kind).await?);
        }
        Created::Requested(request_id) => creation.request_id = request_id.clone(),
    }
    store::add_creation(&mut tx, &creation, &user.email).await?;
    audit::record_on(&mut tx, &user, &[&body.number_id], "groups.create", subject, None, Some(json!(creation))).await?;
    tx.commit().await?;
    state.events.publish(events);
    Ok(Json(creation))
}

/// Where a group photo set through us is kept: content-addressed under the data directory.
fn photo_path(state: &AppState, sha: &str) -> std::path::PathBuf {
    state.config.data_dir.join("group-photos").join(format!("{sha}.jpg"))
}

/// `PUT /groups/{id}/photo`: the body is the JPEG itself. Checked against WhatsApp's rules
/// before anything is sent; kept so the console can show it.
pub async fn set_photo(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<String>,
    body: axum::body::Body,
) -> Result<StatusCode> {
    use switchboard_shared::groups::{PhotoProblem, MAX_PHOTO_BYTES};
    let r = row(&state, &user, &id).await?;
    // Read directly, not through the JSON body limit: up to WhatsApp's 5 MB and no further.
    let body = axum::body::to_bytes(body, MAX_PHOTO_BYTES + 1)
        .await
        .map_err(|_| AppError::bad_request("invalid_photo", PhotoProblem::TooBig.message()))?;
    switchboard_shared::groups::check_photo(&body).map_err(|p| AppError::bad_request("invalid_photo", p.message()))?;
    let provider = allowed(&state, &r, GroupAction::Photo).await?;
    provider.set_photo(&id, &body).await.map_err(group_err(&r))?;
    let sha = hex::encode(sha2::Sha256::digest(&body));
    let path = photo_path(&state, &sha);
    let dir = path.parent().expect("a photo has a directory").to_owned();
    let bytes = body.to_vec();
    let written = path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        std::fs::create_dir_all(&dir)?;
        let tmp = written.with_extension("part");
        std::fs::write(&tmp, &bytes)?;
        std::fs::rename(&tmp, &written)
    })
    .await
    .map_err(|e| AppError::Internal(e.into()))?
    .map_err(|e| AppError::Internal(e.into()))?;
    let mut tx = state.db.pool.begin().await?;
    store::set_photo(&mut tx, &id, &sha).await?;
    let e = crate::events::append(&mut tx, &r.number_id, None, switchboard_shared::api::EventKind::Group { group_id: id.clone() }).await?;
    audit::record_on(&mut tx, &user, &[&r.number_id], "groups.photo", &r.id, None, Some(json!({"sha256": sha, "bytes": body.len()})))
        .await?;
    tx.commit().await?;
    state.events.publish(vec![e]);
    Ok(StatusCode::ACCEPTED)
}

/// `GET /groups/{id}/photo`: the photo set through us, to users whose scope covers the group.
pub async fn photo(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<axum::response::Response> {
    use axum::response::IntoResponse;
    let r = row(&state, &user, &id).await?;
    let Some(sha) = r.photo_sha.filter(|s| s.bytes().all(|b| b.is_ascii_hexdigit())) else { return Err(AppError::NotFound) };
    let bytes = tokio::fs::read(photo_path(&state, &sha)).await.map_err(|_| AppError::NotFound)?;
    Ok(([(http::header::CONTENT_TYPE, "image/jpeg"), (http::header::CACHE_CONTROL, "private, max-age=86400")], bytes).into_response())
}

/// `GET /groups/creations`: the last week's creations still waiting for WhatsApp, or refused.
pub async fn creations(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<GroupCreation>>> {
    let week_ago = crate::clock::now_ms() - 7 * 24 * 3600 * 1000;
    Ok(Json(store::creations(&state.db.pool, &user.scope_sql("c.number_id", None), week_ago).await?))
}

/// `DELETE /groups/{id}`: a Cloud group is deleted for everyone; a linked device leaves its
/// group (a phone cannot delete one). The group leaves the list when WhatsApp confirms it.
pub async fn delete(State(state): State<AppState>, user: AuthUser, Path(id): Path<String>) -> Result<StatusCode> {
    let r = row(&state, &user, &id).await?;
    let action = if r.provider() == ProviderKind::Cloud { GroupAction::Delete } else { GroupAction::Leave };
    let provider = allowed(&state, &r, action).await?;
    provider.delete(&id).await.map_err(group_err(&r))?;
    let name = if action == GroupAction::Delete { "groups.delete" } else { "groups.leave" };
    audit(&state, &user, &r, name, json!({"subject": r.subject})).await?;
    Ok(StatusCode::ACCEPTED)
}

pub async fn sync(State(state): State<AppState>, user: AuthUser) -> Result<Json<SyncReport>> {
    let mut targets: Vec<(String, switchboard_shared::groups::ProviderKind)> = Vec::new();
    for n in crate::numbers::list_ids(&state).await? {
        targets.push((n, switchboard_shared::groups::ProviderKind::Cloud));
    }
    for d in linked::devices(&state, "1 = 1").await? {
        targets.push((d.number_id, switchboard_shared::groups::ProviderKind::Linked));
    }
    let mut report = SyncReport { groups: 0, failed: vec![] };
    for (number, kind) in targets.into_iter().filter(|(n, _)| user.covers(n)) {
        match super::sync_number(&state, &number, kind).await {
            Ok(n) => report.groups += n as u32,
            Err(AppError::Refused(_, code, _)) => report.failed.push(format!("{number}: {code}")),
            Err(AppError::BadRequest(code, _)) => report.failed.push(format!("{number}: {code}")),
            Err(e) => return Err(e),
        }
    }
    Ok(Json(report))
}

/// `GET /groups/people?q=`: where a person is, across every group in scope.
pub async fn people(State(state): State<AppState>, user: AuthUser, Query(q): Query<PeopleQuery>) -> Result<Json<Vec<PersonHit>>> {
    let needle = q.q.trim();
    if needle.chars().count() < 2 {
        return Err(AppError::bad_request("query_too_short", "Type at least 2 characters of a name, or 4 digits of a phone."));
    }
    let hits = store::find_people(&state.db.pool, &user.scope_sql("g.number_id", None), needle).await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut out = Vec::with_capacity(hits.len());
    for (group_id, mut member, requested) in hits {
        let Some(g) = store::one(&mut conn, &group_id).await? else { continue };
        if mask(&user) {
            member.ids.pn = member.ids.pn.map(|p| switchboard_shared::access::mask_phone(&p));
            member.ids.wa_id = member.ids.wa_id.map(|p| switchboard_shared::access::mask_phone(&p));
        }
        out.push(PersonHit { subject: g.subject.unwrap_or_default(), number_id: g.number_id, group_id, member, requested });
    }
    Ok(Json(out))
}

/// `POST /group-jobs/plan`: the dry run.
pub async fn plan(State(state): State<AppState>, user: AuthUser, ApiJson(request): ApiJson<BulkRequest>) -> Result<Json<BulkPlan>> {
    Ok(Json(jobs::plan(&state, &user, &request).await?))
}

/// `POST /group-jobs`: carry the plan out.
pub async fn start_job(State(state): State<AppState>, user: AuthUser, ApiJson(request): ApiJson<BulkRequest>) -> Result<Json<GroupJob>> {
    Ok(Json(jobs::start(&state, &user, &request).await?))
}

pub async fn list_jobs(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<GroupJob>>> {
    Ok(Json(jobs::list(&state, &user).await?))
}

async fn job_in_scope(state: &AppState, user: &AuthUser, id: i64) -> Result<GroupJob> {
    let mut conn = state.db.pool.acquire().await?;
    match jobs::summary(&mut conn, id, true).await? {
        Some(j) if j.numbers.iter().all(|n| user.covers(n)) => Ok(j),
        _ => Err(AppError::NotFound),
    }
}

pub async fn job(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<GroupJob>> {
    Ok(Json(job_in_scope(&state, &user, id).await?))
}

pub async fn cancel_job(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<GroupJob>> {
    job_in_scope(&state, &user, id).await?;
    jobs::cancel(&state, id).await?;
    let mut conn = state.db.pool.acquire().await?;
    audit::record(&mut conn, &user, "groups.bulk_cancel", &format!("job {id}"), None, None).await?;
    drop(conn);
    Ok(Json(job_in_scope(&state, &user, id).await?))
}

/// `POST /group-jobs/{id}/rerun`: the groups skipped because their number was offline.
pub async fn rerun_job(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<GroupJob>> {
    job_in_scope(&state, &user, id).await?;
    if jobs::rerun_offline(&state, id).await? == 0 {
        return Err(AppError::bad_request("nothing_to_rerun", "No group of this job was skipped for being offline."));
    }
    Ok(Json(job_in_scope(&state, &user, id).await?))
}

/// `GET /linked-devices`.
pub async fn devices(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<LinkedDevice>>> {
    Ok(Json(linked::devices(&state, &user.scope_sql("d.number_id", None)).await?))
}

/// `POST /linked-devices`: link a number (pair by QR code, or by code).
pub async fn link(State(state): State<AppState>, user: AuthUser, ApiJson(body): ApiJson<LinkDevice>) -> Result<Json<LinkedDevice>> {
    let phone: String = body.phone.chars().filter(char::is_ascii_digit).collect();
    if !(8..=15).contains(&phone.len()) {
        return Err(AppError::bad_request("invalid_phone", "The phone number, with its country code (8 to 15 digits)."));
    }
    let number_id = linked::number_for_phone(&state, &phone).await?;
    if !user.covers(&number_id) {
        return Err(AppError::Forbidden("This number is outside the numbers you manage.".into()));
    }
    let label = if body.label.trim().is_empty() { format!("+{phone}") } else { body.label.trim().to_owned() };
    let device = linked::pair(&state, &number_id, &phone, &label, body.by_code).await?;
    let mut conn = state.db.pool.acquire().await?;
    audit::record_on(&mut conn, &user, &[&number_id], "linked_device.pair", &phone, None, Some(json!({"label": label}))).await?;
    Ok(Json(device))
}

/// `DELETE /linked-devices/{number}`.
pub async fn unlink(State(state): State<AppState>, user: AuthUser, Path(number): Path<String>) -> Result<StatusCode> {
    if !user.covers(&number) {
        return Err(AppError::NotFound);
    }
    if !linked::unlink(&state, &number).await? {
        return Err(AppError::NotFound);
    }
    let mut conn = state.db.pool.acquire().await?;
    audit::record_on(&mut conn, &user, &[&number], "linked_device.unlink", &number, None, None).await?;
    Ok(StatusCode::NO_CONTENT)
}
