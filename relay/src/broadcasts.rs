//! Broadcasts: a template to a frozen audience, through the outbox and the numbers' lanes.
//!
//! Exactly once falls out of the structure. When a broadcast starts, one transaction marks it
//! running, freezes its audience into `broadcast_recipients` (one row per contact, primary key
//! (broadcast, contact)) and queues one outbox row per recipient with the idempotency key
//! `bc:<broadcast>:<contact>`. The key is unique in the outbox and travels to Meta as
//! `biz_opaque_callback_data`, so no path can queue a second send to the same person, and a send
//! whose outcome a crash hid is settled by its status webhook before it could be retried. A
//! crash during the freeze rolls the whole freeze back and the scheduler starts it again.
//!
//! Pacing is the lanes' job (throughput, pair rate, the portfolio's messaging limit, live
//! sends first); pause and resume only change the broadcast's state, which the lanes read when
//! they claim rows; cancel withdraws the rows still queued.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::{Hash, Hasher};
use std::time::Duration;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::json;
use sqlx::AnyConnection;
use switchboard_shared::access::{mask_phone, Permission, Scope};
use switchboard_shared::api::{Broadcast, ControlRequest, Recipient};
use switchboard_shared::broadcast::{self as spec_fns, skip, Audience, BroadcastCounts, BroadcastSpec, BroadcastState, ContactValues};
use switchboard_shared::limits::{classify_error, ErrorClass};
use switchboard_shared::segment::SegmentContact;
use switchboard_shared::wire::{OutboundBody, SendRequest, TemplateLanguage, TemplateSend};
use switchboard_shared::MessageStatus;

use crate::access::AuthUser;
use crate::db::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::outbox::{Payload, LIMIT_WAIT};
use crate::{audit, contacts, AppState};

/// Every broadcast idempotency key starts with this.
pub const KEY_PREFIX: &str = "bc:";
/// Rows per INSERT when freezing an audience.
const CHUNK: usize = 300;
/// Sends queued in the freeze's own transaction; the rest follow in chunks of `QUEUE_CHUNK`.
const FIRST_CHUNK: i64 = 1_000;
const QUEUE_CHUNK: i64 = 5_000;
/// Largest uploaded list.
const MAX_LIST: usize = 200_000;

pub fn key(broadcast_id: i64, contact: &str) -> String {
    format!("{KEY_PREFIX}{broadcast_id}:{contact}")
}

/// A send was accepted (200 and a wamid).
pub async fn accepted(conn: &mut AnyConnection, key: &str, wamid: Option<&str>, at: i64) -> Result<()> {
    accepted_many(conn, &[(key, wamid)], at).await
}

/// Keys per statement when recording acceptances: 2 parameters each.
const ACCEPTED_CHUNK: usize = 500;

/// [`accepted`] for many (key, wamid) pairs: one statement per 500, which is what the recorder
/// needs for a busy broadcast's outcomes.
pub async fn accepted_many(conn: &mut AnyConnection, sends: &[(&str, Option<&str>)], at: i64) -> Result<()> {
    for chunk in sends.chunks(ACCEPTED_CHUNK) {
        let sql = format!(
            "UPDATE broadcast_recipients SET state = 'accepted', wamid = COALESCE(broadcast_recipients.wamid, v.column2),
               accepted_at = COALESCE(accepted_at, $1)
             FROM (VALUES {}) AS v WHERE broadcast_recipients.outbox_key = v.column1 AND broadcast_recipients.state <> 'accepted'",
            crate::db::values_placeholders_after(1, chunk.len(), 2)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(&conn, sql))).bind(at);
        for (key, wamid) in chunk {
            q = q.bind(*key).bind(*wamid);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// Meta refused the send for good.
pub async fn failed(conn: &mut AnyConnection, key: &str, code: Option<i64>, title: &str) -> Result<()> {
    sqlx::query(
        "UPDATE broadcast_recipients SET state = 'failed', error_code = $1, error_title = $2 WHERE outbox_key = $3 AND state = 'queued'",
    )
    .bind(code)
    .bind(title)
    .bind(key)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What a batch of status webhooks says of one recipient's send.
pub struct Progress {
    pub key: String,
    pub wamid: String,
    /// The furthest status seen, and its error.
    pub status: MessageStatus,
    pub error: Option<(Option<i64>, String)>,
    /// When the first status was seen (it proves acceptance), and the first delivered and read.
    pub first_at: i64,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
}

/// Recipients per statement: 9 parameters each.
const PROGRESS_CHUNK: usize = 500;

/// Status webhooks for broadcast sends prove acceptance and move each recipient forward (never
/// back): one statement per 500 recipients, since this runs for every status of every send.
pub async fn apply_statuses(conn: &mut AnyConnection, progress: &[Progress]) -> Result<()> {
    for chunk in progress.chunks(PROGRESS_CHUNK) {
        let sql = format!(
            "UPDATE broadcast_recipients SET state = 'accepted', wamid = COALESCE(broadcast_recipients.wamid, v.column2),
               accepted_at = COALESCE(accepted_at, v.column5),
               status = CASE WHEN status_rank < v.column4 THEN v.column3 ELSE status END,
               error_code = CASE WHEN status_rank < v.column4 THEN COALESCE(v.column8, error_code) ELSE error_code END,
               error_title = CASE WHEN status_rank < v.column4 THEN COALESCE(v.column9, error_title) ELSE error_title END,
               delivered_at = COALESCE(delivered_at, v.column6),
               read_at = COALESCE(read_at, v.column7),
               status_rank = CASE WHEN status_rank < v.column4 THEN v.column4 ELSE status_rank END
             FROM (VALUES {}) AS v WHERE broadcast_recipients.outbox_key = v.column1",
            crate::db::values_placeholders(chunk.len(), 9)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(&conn, sql)));
        for p in chunk {
            q = q
                .bind(&p.key)
                .bind(&p.wamid)
                .bind(p.status.as_str())
                .bind(p.status.rank())
                .bind(p.first_at)
                .bind(p.delivered_at)
                .bind(p.read_at)
                .bind(p.error.as_ref().and_then(|e| e.0))
                .bind(p.error.as_ref().map(|e| e.1.clone()));
        }
        q.execute(&mut *conn).await?;
    }
    Ok(())
}

/// What a checked request adds to itself: the template's category and when each number starts.
struct Checked {
    category: String,
    starts: BTreeMap<String, i64>,
}

/// Checks a request against what is connected and synced.
async fn validate(conn: &mut AnyConnection, user: &AuthUser, spec: &BroadcastSpec) -> Result<Checked> {
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
        let row: Option<(String, i64, String)> =
            sqlx::query_as("SELECT waba_id, CASE WHEN disabled THEN 1 ELSE 0 END, time_zone FROM numbers WHERE id = $1")
                .bind(n)
                .fetch_optional(&mut *conn)
                .await?;
        let Some((waba, disabled, zone)) = row else { return Err(bad("unknown_number", format!("number {n} is not connected"))) };
        zones.push((n.clone(), zone));
        if disabled != 0 {
            return Err(bad("number_disabled", format!("number {n} is paused; resume it first")));
        }
        let t: Option<(String, String, String)> =
            sqlx::query_as("SELECT status, category, components FROM templates WHERE waba_id = $1 AND name = $2 AND language = $3")
                .bind(&waba)
                .bind(&spec.template)
                .bind(&spec.language)
                .fetch_optional(&mut *conn)
                .await?;
        let Some((status, cat, components)) = t else {
            return Err(bad(
                "unknown_template",
                format!("template {} ({}) is not among number {n}'s templates; sync templates first", spec.template, spec.language),
            ));
        };
        if status != "APPROVED" {
            return Err(bad(
                "template_not_approved",
                format!("template {} is {status}; only approved templates can be sent", spec.template),
            ));
        }
        let components: Vec<serde_json::Value> = serde_json::from_str(&components).unwrap_or_default();
        let wanted = spec_fns::body_text(&components).map_or(0, spec_fns::placeholders);
        if spec.parameters.len() != wanted {
            return Err(bad("parameters", format!("template {} takes {wanted} values; {} given", spec.template, spec.parameters.len())));
        }
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
            let source: Option<(String,)> =
                sqlx::query_as("SELECT spec FROM broadcasts WHERE id = $1").bind(broadcast_id).fetch_optional(&mut *conn).await?;
            let numbers = source.and_then(|(s,)| serde_json::from_str::<BroadcastSpec>(&s).ok()).map(|s| s.numbers);
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
const START_GRACE_MS: i64 = 60_000;

/// When each number's lane starts, for a broadcast scheduled at a wall-clock time (`send_local`):
/// that time in each number's own time zone. Empty for one that starts at an instant
/// (`send_at`, or now): then every lane starts with the broadcast. A start in the past is
/// refused, naming the number and its time zone.
fn starts(spec: &BroadcastSpec, zones: &[(String, String)], now: i64) -> Result<BTreeMap<String, i64>> {
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

/// The numbers whose lanes start after `now`, and when.
fn later_starts(spec: &BroadcastSpec, now: i64) -> Vec<(String, i64)> {
    spec.starts.iter().filter(|(_, at)| **at > now).map(|(n, at)| (n.clone(), *at)).collect()
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
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO broadcasts (name, spec, state, send_at, created_by, created_at) VALUES ($1, $2, 'scheduled', $3, $4, $5) RETURNING id",
    )
    .bind(spec.name.trim())
    .bind(serde_json::to_string(&spec).map_err(anyhow::Error::from)?)
    .bind(send_at)
    .bind(user.id)
    .bind(now)
    .fetch_one(&mut *tx)
    .await?;
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

/// Starts due broadcasts and closes finished ones, forever.
pub async fn scheduler(state: AppState) {
    loop {
        if let Err(e) = tick(&state).await {
            tracing::error!("broadcast scheduler: {e}");
        }
        tokio::select! {
            _ = state.broadcast_bell.notified() => {}
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
}

async fn tick(state: &AppState) -> Result<()> {
    let now = now_ms();
    let due: Vec<(i64,)> = sqlx::query_as("SELECT id FROM broadcasts WHERE state = 'scheduled' AND send_at <= $1 ORDER BY send_at, id")
        .bind(now)
        .fetch_all(&state.db.pool)
        .await?;
    for (id,) in due {
        freeze(state, id).await?;
        state.lanes.wake_all();
    }
    sqlx::query(
        "UPDATE broadcasts SET state = 'done', completed_at = $1 WHERE state = 'running'
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.broadcast_id = broadcasts.id AND o.state IN ('queued', 'inflight', 'unknown'))
           AND NOT EXISTS (SELECT 1 FROM broadcast_recipients r WHERE r.broadcast_id = broadcasts.id AND r.state = 'queued'
                             AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = r.outbox_key))",
    )
    .bind(now_ms())
    .execute(&state.db.pool)
    .await?;
    Ok(())
}

/// One frozen recipient before it is written.
struct Frozen {
    contact: String,
    number_id: Option<String>,
    skipped: Option<(&'static str, Option<String>)>,
    payload: Option<String>,
}

/// Picks the number a contact hears from: the first chosen number it talks to, else one
/// spread evenly by its phone (so each lane gets a fair share).
fn pick_number<'a>(chosen: &'a [String], talks_to: &[String], phone: &str) -> &'a str {
    if let Some(n) = chosen.iter().find(|n| talks_to.contains(n)) {
        return n;
    }
    let mut h = std::collections::hash_map::DefaultHasher::new();
    phone.hash(&mut h);
    &chosen[(h.finish() % chosen.len() as u64) as usize]
}

/// Marks the broadcast running, freezes its audience and queues one send per recipient, all
/// in one transaction. Returns the audience size (0 if someone else started it).
pub async fn freeze(state: &AppState, id: i64) -> Result<usize> {
    let mut tx = state.db.pool.begin().await?;
    let now = now_ms();
    let claimed = sqlx::query("UPDATE broadcasts SET state = 'running', started_at = $1 WHERE id = $2 AND state = 'scheduled'")
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
    if claimed == 0 {
        return Ok(0);
    }
    let (spec,): (String,) = sqlx::query_as("SELECT spec FROM broadcasts WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
    let spec: BroadcastSpec = serde_json::from_str(&spec).map_err(anyhow::Error::from)?;
    let clock = std::time::Instant::now();
    let all = contacts::load_all(&mut tx).await?;
    let loaded = clock.elapsed();
    let by_phone: HashMap<&str, usize> = all.iter().enumerate().map(|(i, (p, _, _))| (p.as_str(), i)).collect();
    let marketing = spec.category.eq_ignore_ascii_case("MARKETING");

    // The audience, in a stable order, each contact once.
    let mut audience: Vec<Result<usize, String>> = Vec::new();
    match &spec.audience {
        Audience::Segment { expression } => {
            let segment = contacts::check_expression(expression)?;
            let seen_by_creator =
                |c: &SegmentContact| spec.creator_numbers.as_ref().is_none_or(|ids| c.numbers.iter().any(|n| ids.contains(n)));
            audience
                .extend(all.iter().enumerate().filter(|(_, (_, _, c))| seen_by_creator(c) && segment.matches(c, now)).map(|(i, _)| Ok(i)));
        }
        Audience::List { phones } => {
            let mut seen = HashSet::new();
            for raw in phones {
                match contacts::normalize_phone(raw, None) {
                    Ok(p) if seen.insert(p.clone()) => audience.push(by_phone.get(p.as_str()).copied().ok_or(p)),
                    Ok(_) => {}
                    Err(_) => {
                        if seen.insert(raw.clone()) {
                            audience.push(Err(format!("!{raw}")));
                        }
                    }
                }
            }
        }
        Audience::Resend { broadcast_id } => {
            let rows: Vec<(String, String, Option<String>, Option<i64>)> = sqlx::query_as(
                "SELECT contact, state, status, error_code FROM broadcast_recipients WHERE broadcast_id = $1 ORDER BY contact",
            )
            .bind(broadcast_id)
            .fetch_all(&mut *tx)
            .await?;
            for (contact, st, status, code) in rows {
                let transient_failure =
                    (st == "failed" || status.as_deref() == Some("failed")) && code.is_none_or(|c| classify_error(c) == ErrorClass::Retry);
                let unread = st == "accepted" && status.as_deref() != Some("read") && status.as_deref() != Some("failed");
                if transient_failure || unread {
                    audience.push(by_phone.get(contact.as_str()).copied().ok_or(contact));
                }
            }
        }
    }

    // Marketing messages each contact had within the cap's window.
    let mut recent: HashMap<String, u32> = HashMap::new();
    if let (Some(cap), true) = (spec.frequency_cap, marketing) {
        let since = now - i64::from(cap.days) * 86_400_000;
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT r.contact, b.spec, r.accepted_at FROM broadcast_recipients r JOIN broadcasts b ON b.id = r.broadcast_id
             WHERE r.accepted_at IS NOT NULL AND r.accepted_at >= $1",
        )
        .bind(since)
        .fetch_all(&mut *tx)
        .await?;
        let mut marketing_broadcast: HashMap<String, bool> = HashMap::new();
        for (contact, bspec, _) in rows {
            let is_marketing = *marketing_broadcast.entry(bspec.clone()).or_insert_with(|| {
                serde_json::from_str::<BroadcastSpec>(&bspec).is_ok_and(|s| s.category.eq_ignore_ascii_case("MARKETING"))
            });
            if is_marketing {
                *recent.entry(contact).or_default() += 1;
            }
        }
    }

    let empty = BTreeMap::new();
    let mut frozen: Vec<Frozen> = Vec::with_capacity(audience.len());
    for member in audience {
        let (phone, name, c) = match member {
            Ok(i) => (all[i].0.clone(), all[i].1.as_deref(), Some(&all[i].2)),
            Err(p) if p.starts_with('!') => {
                frozen.push(Frozen {
                    contact: p[1..].to_owned(),
                    number_id: None,
                    skipped: Some((skip::INVALID_NUMBER, None)),
                    payload: None,
                });
                continue;
            }
            Err(p) => (p, None, None),
        };
        let talks_to: &[String] = c.map_or(&[], |c| &c.numbers);
        let number = pick_number(&spec.numbers, talks_to, &phone).to_owned();
        let mut f = Frozen { contact: phone.clone(), number_id: Some(number.clone()), skipped: None, payload: None };
        if c.is_some_and(|c| c.opted_out) {
            f.skipped = Some((skip::OPTED_OUT, None));
        } else if marketing && !c.is_some_and(|c| c.opted_in) {
            f.skipped = Some((skip::NOT_OPTED_IN, None));
        } else if spec.frequency_cap.is_some_and(|cap| recent.get(&phone).copied().unwrap_or(0) >= cap.max) && marketing {
            f.skipped = Some((skip::FREQUENCY_CAP, None));
        } else {
            let values = ContactValues { name, phone: &phone, attributes: c.map_or(&empty, |c| &c.attributes) };
            match spec.parameters.iter().map(|p| spec_fns::fill(p, &values)).collect::<Result<Vec<_>, _>>() {
                Err(missing) => f.skipped = Some((skip::MISSING_VALUE, Some(format!("no value for {{{missing}}}")))),
                Ok(values) => {
                    let template = TemplateSend {
                        name: spec.template.clone(),
                        language: TemplateLanguage { code: spec.language.clone(), policy: None },
                        components: spec_fns::components(spec.header_image_link.as_deref(), &values),
                    };
                    let send = SendRequest::individual(phone.clone(), OutboundBody::Template { template });
                    let payload = Payload::Send { body: serde_json::to_value(&send).map_err(anyhow::Error::from)? };
                    f.payload = Some(serde_json::to_string(&payload).map_err(anyhow::Error::from)?);
                }
            }
        }
        frozen.push(f);
    }

    let built = clock.elapsed();
    for chunk in frozen.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO broadcast_recipients (broadcast_id, contact, number_id, outbox_key, skipped, error_title, state, payload) VALUES {}",
            crate::db::values_placeholders(chunk.len(), 8)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(&*tx, sql)));
        for f in chunk {
            q = q
                .bind(id)
                .bind(f.contact.clone())
                .bind(f.number_id.clone())
                .bind(f.payload.as_ref().map(|_| key(id, &f.contact)))
                .bind(f.skipped.as_ref().map(|s| s.0))
                .bind(f.skipped.as_ref().and_then(|s| s.1.clone()))
                .bind(if f.skipped.is_some() { "skipped" } else { "queued" })
                .bind(f.payload.clone());
        }
        q.execute(&mut *tx).await?;
    }
    // The first sends go into the outbox with the freeze, so the lanes start at once; the rest
    // follow in their own transactions right after.
    let mut cursor = String::new();
    let later = later_starts(&spec, now);
    queue_chunk(&mut tx, id, &mut cursor, FIRST_CHUNK, &later).await?;
    sqlx::query("UPDATE broadcasts SET audience = $1 WHERE id = $2").bind(frozen.len() as i64).bind(id).execute(&mut *tx).await?;
    let written = clock.elapsed();
    tx.commit().await?;
    state.lanes.wake_all();
    queue_rest(state, id, cursor, &later).await?;
    tracing::info!(
        "broadcast {id}: {} recipients frozen — contacts loaded {loaded:?}, audience built {:?}, rows written {:?}, committed {:?}",
        frozen.len(),
        built - loaded,
        written - built,
        clock.elapsed() - written
    );
    Ok(frozen.len())
}

/// Moves up to `limit` frozen recipients (after `cursor`, in contact order) into the outbox, while
/// the broadcast is running or paused; advances the cursor. Returns how many. Rows of a number
/// in `later` wait (in the same transaction, so no lane sees them earlier) until its start.
async fn queue_chunk(conn: &mut AnyConnection, id: i64, cursor: &mut String, limit: i64, later: &[(String, i64)]) -> Result<usize> {
    let queued: Vec<(String,)> = sqlx::query_as(
        "INSERT INTO outbox (idempotency_key, number_id, message_id, payload, state, attempts, next_attempt_at, created_at, updated_at, broadcast_id, recipient)
         SELECT r.outbox_key, r.number_id, NULL, r.payload, 'queued', 0, $3, $3, $3, r.broadcast_id, r.contact
         FROM broadcast_recipients r
         WHERE r.broadcast_id = $1 AND r.contact > $2 AND r.state = 'queued' AND r.outbox_key IS NOT NULL
           AND EXISTS (SELECT 1 FROM broadcasts b WHERE b.id = r.broadcast_id AND b.state IN ('running', 'paused'))
           AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = r.outbox_key)
         ORDER BY r.contact LIMIT $4
         RETURNING recipient",
    )
    .bind(id)
    .bind(cursor.as_str())
    .bind(now_ms())
    .bind(limit)
    .fetch_all(&mut *conn)
    .await?;
    if let Some(last) = queued.iter().map(|(c,)| c).max() {
        *cursor = last.clone();
        for (number, at) in later {
            sqlx::query(
                "UPDATE outbox SET next_attempt_at = $1 WHERE broadcast_id = $2 AND number_id = $3 AND state = 'queued' AND next_attempt_at < $1",
            )
            .bind(at)
            .bind(id)
            .bind(number)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(queued.len())
}

/// Queues the rest of a frozen audience, a chunk per transaction. Also run at start, so a
/// relay that died half-way finishes the job (the outbox key makes a second attempt harmless).
pub async fn queue_rest(state: &AppState, id: i64, mut cursor: String, later: &[(String, i64)]) -> Result<()> {
    loop {
        let mut tx = state.db.pool.begin().await?;
        let n = queue_chunk(&mut tx, id, &mut cursor, QUEUE_CHUNK, later).await?;
        tx.commit().await?;
        if n == 0 {
            return Ok(());
        }
        state.lanes.wake_all();
    }
}

/// At start: finish queueing every running or paused broadcast.
pub async fn recover(state: &AppState) -> Result<()> {
    let running: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, spec FROM broadcasts WHERE state IN ('running', 'paused')").fetch_all(&state.db.pool).await?;
    for (id, spec) in running {
        let spec: BroadcastSpec = serde_json::from_str(&spec).map_err(anyhow::Error::from)?;
        queue_rest(state, id, String::new(), &later_starts(&spec, now_ms())).await?;
    }
    Ok(())
}

type BroadcastRow = (i64, String, String, i64, i64, Option<i64>, Option<i64>, i64, Option<String>);

/// A broadcast with its report.
pub async fn load(state: &AppState, id: i64) -> Result<Option<Broadcast>> {
    Ok(load_many(state, &format!("id = {id}")).await?.pop())
}

/// The broadcasts `condition` selects (trusted SQL: ids and limits we wrote), newest first,
/// with their reports: five statements whatever their number.
async fn load_many(state: &AppState, condition: &str) -> Result<Vec<Broadcast>> {
    let rows: Vec<BroadcastRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT id, spec, state, send_at, created_at, started_at, completed_at, audience, paused_reason FROM broadcasts WHERE {condition} ORDER BY id DESC"
    )))
    .fetch_all(&state.db.pool)
    .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // The ids are integers we just read, not outside input.
    let ids = rows.iter().map(|r| r.0.to_string()).collect::<Vec<_>>().join(",");
    let mut counts: HashMap<i64, BroadcastCounts> =
        rows.iter().map(|r| (r.0, BroadcastCounts { audience: r.7 as u64, ..Default::default() })).collect();
    let groups: Vec<(i64, String, Option<String>, Option<String>, Option<i64>, i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT broadcast_id, state, skipped, status, error_code, COUNT(*),
                SUM(CASE WHEN replied_at IS NOT NULL AND replied_at - COALESCE(delivered_at, accepted_at) <= $1 THEN 1 ELSE 0 END)
         FROM broadcast_recipients WHERE broadcast_id IN ({ids}) GROUP BY broadcast_id, state, skipped, status, error_code"
    )))
    .bind(switchboard_shared::limits::CUSTOMER_SERVICE_WINDOW_MS)
    .fetch_all(&state.db.pool)
    .await?;
    for (id, st, skipped, status, code, n, replied) in groups {
        let Some(counts) = counts.get_mut(&id) else { continue };
        let n = n as u64;
        counts.replied += replied as u64;
        let status = status.as_deref().and_then(MessageStatus::parse);
        match st.as_str() {
            "skipped" => *counts.skipped.entry(skipped.unwrap_or_default()).or_default() += n,
            "queued" => counts.waiting += n,
            "cancelled" => counts.cancelled += n,
            "failed" => {
                counts.failed += n;
                *counts.failed_by_code.entry(code.unwrap_or(0).to_string()).or_default() += n;
            }
            _ => {
                counts.accepted += n;
                match status {
                    Some(MessageStatus::Failed) => {
                        counts.failed += n;
                        *counts.failed_by_code.entry(code.unwrap_or(0).to_string()).or_default() += n;
                    }
                    Some(MessageStatus::Read) => {
                        counts.delivered += n;
                        counts.read += n;
                    }
                    Some(MessageStatus::Delivered) => counts.delivered += n,
                    _ => {}
                }
            }
        }
    }
    let limits: Vec<(Option<i64>, i64, Option<i64>)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT broadcast_id, COUNT(*), MIN(next_attempt_at) FROM outbox
         WHERE broadcast_id IN ({ids}) AND state = 'queued' AND error_title = $1 AND next_attempt_at > $2 GROUP BY broadcast_id"
    )))
    .bind(LIMIT_WAIT)
    .bind(now_ms())
    .fetch_all(&state.db.pool)
    .await?;
    let mut opens_at: HashMap<i64, i64> = HashMap::new();
    for (id, waiting, opens) in limits {
        if let (Some(id), Some(opens)) = (id, opens) {
            if let Some(c) = counts.get_mut(&id) {
                c.waiting_for_limit = waiting as u64;
                opens_at.insert(id, opens);
            }
        }
    }
    let opted_out: Vec<(i64, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT r.broadcast_id, COUNT(*) FROM broadcast_recipients r JOIN contacts c ON c.wa_id = r.contact
         WHERE r.broadcast_id IN ({ids}) AND r.accepted_at IS NOT NULL AND c.opted_out_at >= r.accepted_at AND c.opted_out_at - r.accepted_at <= $1
         GROUP BY r.broadcast_id"
    )))
    .bind(switchboard_shared::limits::CUSTOMER_SERVICE_WINDOW_MS)
    .fetch_all(&state.db.pool)
    .await?;
    for (id, n) in opted_out {
        if let Some(c) = counts.get_mut(&id) {
            c.opted_out = n as u64;
        }
    }
    let by_number: Vec<(i64, Option<String>, i64)> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT broadcast_id, number_id, COUNT(*) FROM broadcast_recipients
         WHERE broadcast_id IN ({ids}) AND accepted_at IS NOT NULL GROUP BY broadcast_id, number_id"
    )))
    .fetch_all(&state.db.pool)
    .await?;
    let mut accepted_by_number: HashMap<i64, BTreeMap<String, u64>> = HashMap::new();
    for (id, number, n) in by_number {
        accepted_by_number.entry(id).or_default().insert(number.unwrap_or_default(), n as u64);
    }
    rows.into_iter()
        .map(|(id, spec, st, send_at, created_at, started_at, completed_at, _, paused_reason)| {
            Ok(Broadcast {
                id,
                spec: serde_json::from_str(&spec).map_err(anyhow::Error::from)?,
                state: BroadcastState::parse(&st).ok_or_else(|| anyhow::anyhow!("broadcast {id} has an unknown state {st:?}"))?,
                send_at,
                created_at,
                started_at,
                completed_at,
                paused_reason,
                counts: counts.remove(&id).unwrap_or_default(),
                accepted_by_number: accepted_by_number.remove(&id).unwrap_or_default(),
                limit_window_opens_at: opens_at.get(&id).copied(),
            })
        })
        .collect()
}

/// A user sees a broadcast if every number it sends from is theirs.
fn may_see(user: &AuthUser, b: &Broadcast) -> bool {
    b.spec.numbers.iter().all(|n| user.covers(n))
}

/// Broadcasts the list shows: the newest 200.
const LIST_SIZE: i64 = 200;

/// `GET /api/v1/broadcasts`: newest first, with their reports.
pub async fn list(State(state): State<AppState>, user: AuthUser) -> Result<Json<Vec<Broadcast>>> {
    let all = load_many(&state, &format!("id IN (SELECT id FROM broadcasts ORDER BY id DESC LIMIT {LIST_SIZE})")).await?;
    Ok(Json(all.into_iter().filter(|b| may_see(&user, b)).collect()))
}

async fn visible(state: &AppState, user: &AuthUser, id: i64) -> Result<Broadcast> {
    load(state, id).await?.filter(|b| may_see(user, b)).ok_or(AppError::NotFound)
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
    sqlx::query("UPDATE broadcasts SET state = $1, paused_reason = NULL WHERE id = $2")
        .bind(target.as_str())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    if target == BroadcastState::Cancelled {
        let now = now_ms();
        sqlx::query("UPDATE outbox SET state = 'cancelled', updated_at = $1 WHERE broadcast_id = $2 AND state = 'queued'")
            .bind(now)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "UPDATE broadcast_recipients SET state = 'cancelled' WHERE broadcast_id = $1 AND state = 'queued'
               AND (outbox_key IN (SELECT idempotency_key FROM outbox WHERE broadcast_id = $1 AND state = 'cancelled')
                    OR NOT EXISTS (SELECT 1 FROM outbox o WHERE o.idempotency_key = broadcast_recipients.outbox_key))",
        )
        .bind(id)
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE broadcasts SET completed_at = $1 WHERE id = $2").bind(now).bind(id).execute(&mut *tx).await?;
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

/// What `paused_reason` says when a number's quality fell to RED.
pub const LOW_QUALITY: &str = "low_quality";

/// The quality kill switch: pauses every running or scheduled broadcast that sends through
/// `number_id`, saying why, so a number Meta rates RED stops sending marketing at once instead
/// of being restricted. Only people resume them. Returns the broadcasts paused.
pub async fn pause_for_low_quality(conn: &mut AnyConnection, number_id: &str) -> Result<Vec<i64>> {
    let active: Vec<(i64, String)> =
        sqlx::query_as("SELECT id, spec FROM broadcasts WHERE state IN ('running', 'scheduled')").fetch_all(&mut *conn).await?;
    let reason = format!("{LOW_QUALITY}:{number_id}");
    let mut paused = Vec::new();
    for (id, spec) in active {
        let spec: BroadcastSpec = serde_json::from_str(&spec).map_err(anyhow::Error::from)?;
        if !spec.numbers.iter().any(|n| n == number_id) {
            continue;
        }
        let (before,): (String,) = sqlx::query_as("SELECT state FROM broadcasts WHERE id = $1").bind(id).fetch_one(&mut *conn).await?;
        sqlx::query("UPDATE broadcasts SET state = 'paused', paused_reason = $1 WHERE id = $2 AND state IN ('running', 'scheduled')")
            .bind(&reason)
            .bind(id)
            .execute(&mut *conn)
            .await?;
        let numbers: Vec<&str> = spec.numbers.iter().map(String::as_str).collect();
        audit::record_on(
            conn,
            audit::Actor::System,
            &numbers,
            "broadcast.pause",
            &format!("broadcast {id}"),
            Some(json!({"state": before})),
            Some(json!({"state": "paused", "reason": reason})),
        )
        .await?;
        tracing::warn!("broadcast {id} paused: number {number_id}'s quality rating fell to RED");
        paused.push(id);
    }
    Ok(paused)
}

#[derive(Debug, Deserialize)]
pub struct RecipientQuery {
    /// skipped | queued | accepted | failed | cancelled | delivered | read | replied
    #[serde(default)]
    filter: Option<String>,
    #[serde(default)]
    offset: Option<i64>,
    #[serde(default)]
    limit: Option<i64>,
}

type RecipientRow = (
    String,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
);

const RECIPIENT_SQL: &str = "SELECT r.contact, c.name, r.number_id, r.state, r.skipped, r.status, r.error_code, r.error_title,
        r.accepted_at, r.delivered_at, r.read_at, r.replied_at
     FROM broadcast_recipients r LEFT JOIN contacts c ON c.wa_id = r.contact WHERE r.broadcast_id = $1";

fn filter_sql(filter: Option<&str>) -> Result<&'static str> {
    Ok(match filter.unwrap_or("") {
        "" | "all" => "",
        "skipped" => " AND r.state = 'skipped'",
        "queued" => " AND r.state = 'queued'",
        "accepted" => " AND r.state = 'accepted'",
        "failed" => " AND (r.state = 'failed' OR r.status = 'failed')",
        "cancelled" => " AND r.state = 'cancelled'",
        "delivered" => " AND r.delivered_at IS NOT NULL",
        "read" => " AND r.read_at IS NOT NULL",
        "replied" => " AND r.replied_at IS NOT NULL",
        other => return Err(AppError::bad_request("invalid_filter", format!("{other:?} is not a recipient filter"))),
    })
}

fn recipient(user: &AuthUser, r: RecipientRow) -> Recipient {
    let (contact, name, number_id, st, skipped, status, error_code, error_title, accepted_at, delivered_at, read_at, replied_at) = r;
    Recipient {
        phone: if user.can(Permission::SeeFullPhoneNumbers) { contact } else { mask_phone(&contact) },
        name,
        number_id,
        state: st,
        skipped,
        status,
        error_code,
        error_title,
        accepted_at,
        delivered_at,
        read_at,
        replied_at,
    }
}

/// `GET /api/v1/broadcasts/{id}/recipients`: the per-recipient drill-down.
pub async fn recipients(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    Query(q): Query<RecipientQuery>,
) -> Result<Json<Vec<Recipient>>> {
    visible(&state, &user, id).await?;
    let sql = format!("{RECIPIENT_SQL}{} ORDER BY r.contact LIMIT $2 OFFSET $3", filter_sql(q.filter.as_deref())?);
    let rows: Vec<RecipientRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(id)
        .bind(q.limit.unwrap_or(100).clamp(1, 1_000))
        .bind(q.offset.unwrap_or(0).max(0))
        .fetch_all(&state.db.pool)
        .await?;
    Ok(Json(rows.into_iter().map(|r| recipient(&user, r)).collect()))
}

/// `GET /api/v1/broadcasts/{id}/export`: every recipient and outcome as CSV.
pub async fn export(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Response> {
    let broadcast = visible(&state, &user, id).await?;
    let rows: Vec<RecipientRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{RECIPIENT_SQL} ORDER BY r.contact"))).bind(id).fetch_all(&state.db.pool).await?;
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
    let time = |t: Option<i64>| t.map(crate::export::rfc3339).unwrap_or_default();
    for r in rows {
        let r = recipient(&user, r);
        w.write_record([
            r.phone,
            r.name.unwrap_or_default(),
            r.number_id.unwrap_or_default(),
            r.state,
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
