//! Broadcasts over HTTP: create (checked against what is connected and synced), list, the
//! live report, pause / resume / cancel, per-recipient outcomes and their CSV export.

use std::collections::BTreeMap;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;
use sqlx::AnyConnection;
use switchboard_shared::access::{mask_phone, Permission, Scope};
use switchboard_shared::api::{Broadcast, ControlRequest, Recipient};
use switchboard_shared::broadcast::{self as spec_fns, Audience, BroadcastSpec, BroadcastState, RecipientState};

use super::store::*;
use crate::access::audit;
use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::{contacts, AppState};

/// What a checked request adds to itself: the template's category and when each number starts.
pub(super) struct Checked {
    category: String,
    starts: BTreeMap<String, i64>,
}

/// Checks a request against what is connected and synced.
pub(super) async fn validate(conn: &mut AnyConnection, user: &AuthUser, spec: &BroadcastSpec) -> Result<Checked> {
    let bad = |code: &'static str, m: String| AppError::bad_request(code, m);
    if spec.name.trim().is_empty() || spec.name.chars().count() > 120 {
        return Err(bad("invalid_name", "a broadcast needs a name of 1 to 120 characters".into()));
    }
    if spec.numbers.is_empty() {
        return Err(bad("no_numbers", "choose at least one number to send from".into()));
    }
    let mut category = String::new();
    let mut zones: Vec<(String, String)> = Vec::with_capacity(spec.numbers.len());
    for n in &spec.numbers {
        if !user.covers(n) {
            return Err(AppError::NotFound);
        }
        let (number, template) =
            crate::numbers::templates::approved(conn, n, &spec.template, &spec.language, spec.parameters.len()).await?;
        zones.push((n.clone(), number.time_zone));
        if number.disabled != 0 {
            return Err(bad("number_disabled", format!("number {n} is paused; resume it first")));
        }
        let (cat, components) = (template.category, template.components);
        let image = spec_fns::has_image_header(&components);
        match (&spec.header_image_link, image) {
            (None, true) => return Err(bad("header_image", "this template's header is a picture: give its link".into())),
            (Some(_), false) => return Err(bad("header_image", "this template has no picture header".into())),
            (Some(link), true) if !(link.starts_with("https://") || link.starts_with("http://")) => {
                return Err(bad("header_image", "the picture's link must start with https://".into()))
            }
            _ => {}
        }
        category = cat;
    }
    match &spec.audience {
        Audience::Segment { expression } => {
            contacts::check_expression(expression)?;
        }
        Audience::List { phones } if phones.is_empty() || phones.len() > MAX_LIST => {
            return Err(bad("audience", format!("an uploaded list has 1 to {MAX_LIST} numbers")));
        }
        Audience::List { .. } => {}
        Audience::Resend { broadcast_id } => {
            // Only a broadcast the user may see: its recipients are theirs to reach again.
            let numbers = spec_of(conn, *broadcast_id).await?.map(|s| s.numbers);
            if !numbers.is_some_and(|numbers| numbers.iter().all(|n| user.covers(n))) {
                return Err(bad("audience", format!("there is no broadcast {broadcast_id}")));
            }
        }
    }
    if let Some(cap) = spec.frequency_cap {
        if cap.max == 0 || cap.days == 0 || cap.days > 365 {
            return Err(bad("frequency_cap", "a frequency cap is at least 1 message in 1 to 365 days".into()));
        }
    }
    let starts = starts(spec, &zones, now_ms())?;
    Ok(Checked { category, starts })
}

/// A start this long ago still counts as "now" (the time it took to fill in the form).
pub(super) const START_GRACE_MS: i64 = 60_000;

/// When each number's lane starts, for a broadcast scheduled at a wall-clock time (`send_local`):
/// that time in each number's own time zone. Empty for one that starts at an instant
/// (`send_at`, or now): then every lane starts with the broadcast. A start in the past is
/// refused, naming the number and its time zone.
pub(super) fn starts(spec: &BroadcastSpec, zones: &[(String, String)], now: i64) -> Result<BTreeMap<String, i64>> {
    let bad = |m: String| AppError::bad_request("send_at", m);
    let mut starts = BTreeMap::new();
    match (&spec.send_local, spec.send_at) {
        (Some(_), Some(_)) => return Err(bad("give the start as send_at or as send_local, not both".into())),
        (Some(local), None) => {
            let wall: jiff::civil::DateTime =
                local.trim().parse().map_err(|_| bad(format!("{local:?} is not a date and time such as 2026-12-01T09:00")))?;
            for (number, zone) in zones {
                let tz = jiff::tz::TimeZone::get(zone).map_err(|_| bad(format!("number {number} has an unknown time zone {zone:?}")))?;
                let at = wall.to_zoned(tz).map_err(|e| bad(format!("{local} in {zone}: {e}")))?.timestamp().as_millisecond();
                if at < now - START_GRACE_MS {
                    return Err(bad(format!("{local} has already passed in {zone}, number {number}'s time zone")));
                }
                starts.insert(number.clone(), at.max(now));
            }
        }
        (None, Some(at)) if at < now - START_GRACE_MS => return Err(bad("the start time is in the past".into())),
        (None, _) => {}
    }
    Ok(starts)
}

/// `POST /api/v1/broadcasts`: schedules a broadcast (now, or at `send_at`).
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(mut spec): ApiJson<BroadcastSpec>,
) -> Result<(StatusCode, Json<Broadcast>)> {
    let mut tx = state.db.pool.begin().await?;
    let checked = validate(&mut tx, &user, &spec).await?;
    spec.category = checked.category;
    spec.starts = checked.starts;
    spec.creator_numbers = match &user.scope {
        Scope::All => None,
        Scope::Numbers(ids) => Some(ids.clone()),
    };
    let now = now_ms();
    // The broadcast starts (freezes its audience) when its first number does.
    let send_at = spec.starts.values().copied().min().or(spec.send_at).unwrap_or(now);
    let id = insert(&mut tx, &spec, send_at, user.id, now).await?;
    let numbers: Vec<&str> = spec.numbers.iter().map(String::as_str).collect();
    audit::record_on(
        &mut tx,
        &user,
        &numbers,
        "broadcast.create",
        &format!("broadcast {id}"),
        None,
        Some(serde_json::to_value(&spec).map_err(anyhow::Error::from)?),
    )
    .await?;
    tx.commit().await?;
    state.broadcast_bell.notify_one();
    let b = load(&state, id).await?.ok_or(AppError::NotFound)?;
    Ok((StatusCode::CREATED, Json(b)))
}

/// A user sees a broadcast if every number it sends from is theirs.
pub(super) fn may_see(user: &AuthUser, b: &Broadcast) -> bool {
    b.spec.numbers.iter().all(|n| user.covers(n))
}

/// A broadcast as this user may see it: an uploaded list's phones masked unless they may see
/// full numbers.
pub(super) fn present(user: &AuthUser, mut b: Broadcast) -> Broadcast {
    if let (false, Audience::List { phones }) = (user.can(Permission::SeeFullPhoneNumbers), &mut b.spec.audience) {
        phones.iter_mut().for_each(|p| *p = mask_phone(p));
    }
    b
}

/// Broadcasts the list shows: the newest 200.
pub(super) const LIST_SIZE: i64 = 200;

/// `GET /api/v1/broadcasts`: newest first, with their reports.
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<Broadcast>>> {
    let all = load_many(&state, &format!("id IN (SELECT id FROM broadcasts ORDER BY id DESC LIMIT {LIST_SIZE})")).await?;
    Ok(Json(all.into_iter().filter(|b| may_see(&user, b)).map(|b| present(&user, b)).collect()))
}

pub(super) async fn visible(state: &AppState, user: &AuthUser, id: i64) -> Result<Broadcast> {
    load(state, id).await?.filter(|b| may_see(user, b)).map(|b| present(user, b)).ok_or(AppError::NotFound)
}

/// `GET /api/v1/broadcasts/{id}`: the live report.
pub async fn get(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<Broadcast>> {
    Ok(Json(visible(&state, &user, id).await?))
}

/// `POST /api/v1/broadcasts/{id}/control`: pause, resume or cancel.
pub async fn control(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(ControlRequest { action }): ApiJson<ControlRequest>,
) -> Result<Json<Broadcast>> {
    let before = visible(&state, &user, id).await?;
    if !action.from().contains(&before.state) {
        return Err(AppError::Conflict(format!("the broadcast is {}; it cannot be {} now", before.state.as_str(), action.done())));
    }
    let mut tx = state.db.pool.begin().await?;
    let target = action.to(before.started_at.is_some());
    set_state(&mut tx, id, target).await?;
    if target == BroadcastState::Cancelled {
        let now = now_ms();
        crate::outbox::cancel_broadcast(&mut tx, id, now).await?;
        cancel_unsent(&mut tx, id, now).await?;
    }
    let numbers: Vec<&str> = before.spec.numbers.iter().map(String::as_str).collect();
    audit::record_on(
        &mut tx,
        &user,
        &numbers,
        &format!("broadcast.{}", action.as_str()),
        &format!("broadcast {id}"),
        Some(json!({"state": before.state})),
        Some(json!({"state": target})),
    )
    .await?;
    tx.commit().await?;
    state.lanes.wake_all();
    state.broadcast_bell.notify_one();
    Ok(Json(visible(&state, &user, id).await?))
}

fn recipient(user: &AuthUser, r: RecipientRow) -> Result<Recipient> {
    Ok(Recipient {
        state: RecipientState::parse(&r.state)
            .ok_or_else(|| anyhow::anyhow!("recipient {} has an unknown state {:?}", r.contact, r.state))?,
        phone: if user.can(Permission::SeeFullPhoneNumbers) { r.contact } else { mask_phone(&r.contact) },
        name: r.name,
        number_id: r.number_id,
        skipped: r.skipped,
        status: r.status,
        error_code: r.error_code,
        error_title: r.error_title,
        accepted_at: r.accepted_at,
        delivered_at: r.delivered_at,
        read_at: r.read_at,
        replied_at: r.replied_at,
    })
}

/// `GET /api/v1/broadcasts/{id}/recipients`: the per-recipient drill-down.
pub async fn recipients(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<switchboard_shared::api::RecipientQuery>,
) -> Result<Json<Vec<Recipient>>> {
    visible(&state, &user, id).await?;
    let page = (q.limit.unwrap_or(100).clamp(1, 1_000), q.offset.unwrap_or(0).max(0));
    let rows = recipient_rows(&state.db.pool, id, q.filter.as_deref(), Some(page)).await?;
    Ok(Json(rows.into_iter().map(|r| recipient(&user, r)).collect::<Result<_>>()?))
}

/// `GET /api/v1/broadcasts/{id}/export`: every recipient and outcome as CSV.
pub async fn export(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Response> {
    let broadcast = visible(&state, &user, id).await?;
    let rows = recipient_rows(&state.db.pool, id, None, None).await?;
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    w.write_record([
        "phone",
        "name",
        "number",
        "state",
        "skipped",
        "status",
        "error_code",
        "error_title",
        "accepted_at",
        "delivered_at",
        "read_at",
        "replied_at",
    ])
    .map_err(anyhow::Error::from)?;
    let time = |t: Option<i64>| t.map(crate::clock::rfc3339).unwrap_or_default();
    for r in rows {
        let r = recipient(&user, r)?;
        w.write_record([
            r.phone,
            r.name.unwrap_or_default(),
            r.number_id.unwrap_or_default(),
            r.state.as_str().to_owned(),
            r.skipped.unwrap_or_default(),
            r.status.unwrap_or_default(),
            r.error_code.map(|c| c.to_string()).unwrap_or_default(),
            r.error_title.unwrap_or_default(),
            time(r.accepted_at),
            time(r.delivered_at),
            time(r.read_at),
            time(r.replied_at),
        ])
        .map_err(anyhow::Error::from)?;
    }
    let mut conn = state.db.pool.acquire().await?;
    let numbers: Vec<&str> = broadcast.spec.numbers.iter().map(String::as_str).collect();
    audit::record_on(&mut conn, &user, &numbers, "broadcast.export", &format!("broadcast {id}"), None, None).await?;
    let bytes = w.into_inner().map_err(|e| anyhow::anyhow!("{e}"))?;
    let name = format!("attachment; filename=\"broadcast-{id}.csv\"");
    Ok(([(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()), (header::CONTENT_DISPOSITION, name)], bytes).into_response())
}
