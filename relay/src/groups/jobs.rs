//! Bulk actions across groups: a dry run first (what each group would get, and why not), then a
//! durable job carried out like the outbox. Each group is one stored item; per number one worker
//! acts on one item at a time, paced with jitter, backing off on rate limits. An item is marked
//! in flight before the call, so after a crash it is checked against the group before anything
//! is done again; each accepted change waits for the webhook or event that shows it took effect,
//! and one that never shows is flagged "accepted but never took effect".

use std::collections::{BTreeMap, HashSet};
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng;
use sqlx::AnyConnection;
use switchboard_shared::api::{Event, EventKind};
use switchboard_shared::groups::{
    BulkAction, BulkItem, BulkPlan, BulkRequest, Group, GroupJob, ItemState, JobState, MemberIds, MemberOp, MemberOutcome, ProviderKind,
    Refusal, Verdict,
};

use super::provider::{GroupChange, GroupErr};
use super::store::{self, ItemRow};
use crate::access::AuthUser;
use crate::clock::now_ms;
use crate::error::{AppError, Result};
use crate::AppState;

/// Numbers whose worker is running.
#[derive(Default)]
pub struct Workers {
    running: Mutex<HashSet<String>>,
}

/// The person's ids with the LIDs this number has learned for their phone.
async fn expand(conn: &mut AnyConnection, number_id: &str, person: &MemberIds) -> Result<MemberIds> {
    let mut ids = person.clone();
    if ids.lid.is_none() {
        if let Some(pn) = ids.phone_digits() {
            ids.lid = store::lid_for_phone(conn, number_id, pn).await?;
        }
    }
    Ok(ids)
}

fn check_action(action: &BulkAction) -> Result<()> {
    if let Some(p) = action.person() {
        if p.is_empty() {
            return Err(AppError::bad_request("invalid_person", "Say who: a phone number (with country code), lid:… or a BSUID."));
        }
    }
    match action {
        BulkAction::Setting { setting } => setting.check().map_err(|m| AppError::bad_request("invalid_setting", m)),
        BulkAction::Announce { text } if text.trim().is_empty() => Err(AppError::bad_request("empty_message", "The message is empty.")),
        BulkAction::Announce { text } if text.chars().count() > switchboard_shared::limits::MAX_TEXT_BODY_CHARS => {
            Err(AppError::bad_request("message_too_long", "The message is longer than 4,096 characters."))
        }
        _ => Ok(()),
    }
}

/// What the action would do to each group the user may manage (or each named one).
pub async fn plan(state: &AppState, user: &AuthUser, request: &BulkRequest) -> Result<BulkPlan> {
    check_action(&request.action)?;
    let rows = store::list(&state.db.pool, &user.scope_sql("g.number_id", None)).await?;
    let rows: Vec<_> = match &request.groups {
        Some(ids) => {
            let wanted: HashSet<&String> = ids.iter().collect();
            rows.into_iter().filter(|r| wanted.contains(&r.id)).collect()
        }
        None => rows,
    };
    let groups = super::present(state, rows, false).await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut items = Vec::with_capacity(groups.len());
    for g in &groups {
        let verdict = verdict(&mut conn, g, &request.action).await?;
        items.push(BulkItem {
            group_id: g.id.clone(),
            number_id: g.number_id.clone(),
            subject: g.subject.clone(),
            verdict,
            state: None,
            detail: None,
        });
    }
    Ok(BulkPlan::new(request.action.clone(), items))
}

async fn verdict(conn: &mut AnyConnection, g: &Group, action: &BulkAction) -> Result<Verdict> {
    match g.actions.get(&action.action()).copied().flatten() {
        Some(Refusal::Provider) => return Ok(Verdict::Cannot),
        Some(Refusal::Offline | Refusal::LoggedOut | Refusal::Banned) => return Ok(Verdict::Offline),
        Some(Refusal::NotAdmin | Refusal::AdminsOnly) => return Ok(Verdict::NotAdmin),
        None => {}
    }
    Ok(match action {
        BulkAction::RemoveMember { .. } => {
            let person = expand(conn, &g.number_id, &action.person().unwrap_or_default()).await?;
            let members = store::members_of(conn, std::slice::from_ref(&g.id)).await?;
            if members.iter().any(|(_, m)| m.ids.same_person(&person)) {
                Verdict::Act
            } else if members.iter().any(|(_, m)| m.ids.lid_only()) {
                Verdict::Unresolved
            } else {
                Verdict::NothingToDo
            }
        }
        BulkAction::ApproveRequests { .. } | BulkAction::RejectRequests { .. } => {
            let person = expand(conn, &g.number_id, &action.person().unwrap_or_default()).await?;
            let requests = store::requests_of(conn, &g.id).await?;
            if requests.iter().any(|r| r.ids.same_person(&person)) {
                Verdict::Act
            } else if requests.iter().any(|r| r.ids.lid_only()) {
                Verdict::Unresolved
            } else {
                Verdict::NothingToDo
            }
        }
        BulkAction::Setting { setting } if setting.holds_in(g) => Verdict::NothingToDo,
        BulkAction::Setting { .. } | BulkAction::Announce { .. } => Verdict::Act,
    })
}

fn numbers_column(items: &[BulkItem]) -> (String, Vec<String>) {
    let mut numbers: Vec<String> = items.iter().map(|i| i.number_id.clone()).collect();
    numbers.sort();
    numbers.dedup();
    (format!(",{},", numbers.join(",")), numbers)
}

/// Plans again and starts the job: acting on the groups whose verdict is "act"; offline ones
/// are recorded as skipped so they can be re-run.
pub async fn start(state: &AppState, user: &AuthUser, request: &BulkRequest) -> Result<GroupJob> {
    let plan = plan(state, user, request).await?;
    if !plan.items.iter().any(|i| matches!(i.verdict, Verdict::Act | Verdict::Offline)) {
        return Err(AppError::bad_request("nothing_to_do", "No group needs this change."));
    }
    let action = serde_json::to_string(&plan.action).map_err(anyhow::Error::from)?;
    let (numbers, number_list) = numbers_column(&plan.items);
    let new: Vec<store::NewItem> = plan
        .items
        .iter()
        .map(|i| store::NewItem {
            group_id: &i.group_id,
            number_id: &i.number_id,
            subject: &i.subject,
            verdict: i.verdict,
            state: match i.verdict {
                Verdict::Act => ItemState::Waiting,
                Verdict::Offline => ItemState::SkippedOffline,
                _ => ItemState::Skipped,
            },
        })
        .collect();
    let mut tx = state.db.pool.begin().await?;
    let id = store::create_job(&mut tx, &action, &user.email, &numbers, &new).await?;
    let refs: Vec<&str> = number_list.iter().map(String::as_str).collect();
    crate::access::audit::record_on(
        &mut tx,
        user,
        &refs,
        "groups.bulk",
        &format!("job {id}"),
        None,
        Some(serde_json::json!({"action": plan.action, "counts": plan.counts})),
    )
    .await?;
    let mut out = Vec::new();
    store::finish_if_done(&mut tx, id).await?;
    let job = summary(&mut tx, id, false).await?.ok_or(AppError::NotFound)?;
    out.push(crate::events::append(&mut tx, "", None, EventKind::GroupJob { job: job.progress() }).await?);
    tx.commit().await?;
    state.events.publish(out);
    for n in &number_list {
        wake(state, n);
    }
    Ok(job)
}

/// A job with its counts (and its items when asked).
pub async fn summary(conn: &mut AnyConnection, id: i64, with_items: bool) -> Result<Option<GroupJob>> {
    let Some(row) = store::job(conn, id).await? else { return Ok(None) };
    let counts: BTreeMap<ItemState, u32> =
        store::item_counts(conn, id).await?.into_iter().filter_map(|(s, n)| Some((ItemState::parse(&s)?, n as u32))).collect();
    let items = if with_items { store::items(conn, id).await?.into_iter().map(item).collect() } else { vec![] };
    Ok(Some(GroupJob {
        id: row.id,
        action: serde_json::from_str(&row.action).map_err(anyhow::Error::from)?,
        state: JobState::parse(&row.state),
        created_by: row.created_by,
        created_at: row.created_at,
        finished_at: row.finished_at,
        counts,
        numbers: row.numbers.split(',').filter(|s| !s.is_empty()).map(str::to_owned).collect(),
        items,
    }))
}

fn item(r: ItemRow) -> BulkItem {
    BulkItem {
        state: Some(r.state()),
        group_id: r.group_id,
        number_id: r.number_id,
        subject: r.subject,
        verdict: store::parse_verdict(&r.verdict),
        detail: r.detail,
    }
}

/// Recent jobs on numbers the user covers.
pub async fn list(state: &AppState, user: &AuthUser) -> Result<Vec<GroupJob>> {
    let rows = store::jobs(&state.db.pool, 50).await?;
    let mut conn = state.db.pool.acquire().await?;
    let mut out = Vec::new();
    for row in rows {
        if let Some(job) = summary(&mut conn, row.id, false).await? {
            if job.numbers.iter().all(|n| user.covers(n)) {
                out.push(job);
            }
        }
    }
    Ok(out)
}

async fn publish_progress(state: &AppState, job_id: i64) -> Result<()> {
    let mut tx = state.db.pool.begin().await?;
    store::finish_if_done(&mut tx, job_id).await?;
    let Some(job) = summary(&mut tx, job_id, false).await? else { return Ok(()) };
    let e = crate::events::append(&mut tx, "", None, EventKind::GroupJob { job: job.progress() }).await?;
    tx.commit().await?;
    state.events.publish(vec![e]);
    Ok(())
}

/// Cancels what has not started; re-runs what was skipped as offline.
pub async fn cancel(state: &AppState, id: i64) -> Result<bool> {
    let mut conn = state.db.pool.acquire().await?;
    let done = store::cancel_job(&mut conn, id).await?;
    drop(conn);
    publish_progress(state, id).await?;
    Ok(done)
}

pub async fn rerun_offline(state: &AppState, id: i64) -> Result<u64> {
    let mut conn = state.db.pool.acquire().await?;
    let n = store::rerun_offline(&mut conn, id).await?;
    let numbers: Vec<String> =
        store::items(&mut conn, id).await?.into_iter().filter(|i| i.state == "waiting").map(|i| i.number_id).collect();
    drop(conn);
    for number in numbers {
        wake(state, &number);
    }
    publish_progress(state, id).await?;
    Ok(n)
}

/// Starts the number's worker unless it runs.
pub fn wake(state: &AppState, number_id: &str) {
    if state.groups.workers.running.lock().expect("workers lock").insert(number_id.to_owned()) {
        tokio::spawn(worker(state.clone(), number_id.to_owned()));
    }
}

/// How often a worker tells the console a job moved on (at most).
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// When a number's next change may start. Changes keep to a grid of one per pace from the
/// first, each moved by up to a quarter of the pace either way (so WhatsApp sees no regular
/// beat), never closer than half a pace to the previous one. The grid, not the previous change,
/// sets the rate: neither the jitter nor a late timer adds up over a long job, so N changes
/// take N paces. A change that ran late (slow WhatsApp) starts a new grid.
struct Pacer {
    pace: Duration,
    anchor: tokio::time::Instant,
    slot: u32,
}

impl Pacer {
    fn new(pace: Duration) -> Pacer {
        Pacer { pace, anchor: tokio::time::Instant::now(), slot: 0 }
    }

    /// Starts a new grid now (after a pause: a rate limit, or nothing to do).
    fn restart(&mut self, at: tokio::time::Instant) {
        self.anchor = at;
        self.slot = 0;
    }

    /// The next start after a change that started at `started`, with `jitter` in -0.25..0.25.
    fn after_change(&mut self, started: tokio::time::Instant, jitter: f64) -> tokio::time::Instant {
        self.slot += 1;
        let on_grid = self.anchor + self.pace * self.slot;
        let earliest = started + self.pace / 2;
        if on_grid < earliest {
            self.restart(started);
            self.slot = 1;
            return started + self.pace;
        }
        let moved = self.pace.mul_f64(jitter.abs());
        let next = if jitter < 0.0 { on_grid - moved } else { on_grid + moved };
        next.max(earliest)
    }
}

/// One number's worker: one change at a time, paced by a [`Pacer`]; a rate limit pauses the
/// number with backoff. The job's progress goes out at most every [`PROGRESS_EVERY`], and when
/// the worker has nothing left, so a fast pace does not spend its time announcing itself.
async fn worker(state: AppState, number_id: String) {
    let pace = state.config.group_pace;
    let mut pacer = Pacer::new(pace);
    let mut next_start = tokio::time::Instant::now();
    let mut backoff = pace.max(Duration::from_secs(1));
    // The job whose progress is not told yet, and when progress last went out.
    let mut untold: Option<i64> = None;
    let mut told_at = tokio::time::Instant::now();
    let tell = |job_id: i64| {
        let state = state.clone();
        async move {
            if let Err(e) = publish_progress(&state, job_id).await {
                tracing::warn!("group job {job_id} progress: {e}");
            }
        }
    };
    loop {
        let picked = async {
            let mut conn = state.db.pool.acquire().await?;
            store::next_item(&mut conn, &number_id, now_ms()).await
        }
        .await;
        let (item, later) = match picked {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!("group worker of {number_id}: {e}");
                tokio::time::sleep(crate::db::RETRY_AFTER_ERROR).await;
                continue;
            }
        };
        let Some(item) = item else {
            if let Some(at) = later {
                tokio::time::sleep(Duration::from_millis((at - now_ms()).clamp(1, 1000) as u64)).await;
                continue;
            }
            if let Some(job_id) = untold.take() {
                tell(job_id).await;
                continue;
            }
            // Nothing left: stop, unless work came in while we looked.
            let mut running = state.groups.workers.running.lock().expect("workers lock");
            running.remove(&number_id);
            return;
        };
        let now = tokio::time::Instant::now();
        if now > next_start + pace {
            // Idle for more than a pace (nothing was waiting): a new grid from now.
            pacer.restart(now);
        }
        tokio::time::sleep_until(next_start).await;
        let started = tokio::time::Instant::now();
        match act(&state, &item).await {
            Ok(Acted::Changed) => {
                backoff = pace.max(Duration::from_secs(1));
                next_start = pacer.after_change(started, rand::thread_rng().gen_range(-0.25..0.25));
            }
            // Nothing went to WhatsApp: the next may start at once.
            Ok(Acted::Nothing) => {}
            Ok(Acted::RateLimited) => {
                next_start = tokio::time::Instant::now() + backoff;
                pacer.restart(next_start);
                backoff = (backoff * 2).min(Duration::from_secs(300));
            }
            Err(e) => {
                tracing::warn!("group job {} item {}: {e}", item.job_id, item.seq);
                tokio::time::sleep(crate::db::RETRY_AFTER_ERROR).await;
            }
        }
        if let Some(other) = untold.filter(|j| *j != item.job_id) {
            tell(other).await;
        }
        untold = Some(item.job_id);
        if told_at.elapsed() >= PROGRESS_EVERY {
            tell(item.job_id).await;
            untold = None;
            told_at = tokio::time::Instant::now();
        }
    }
}

enum Acted {
    Changed,
    Nothing,
    RateLimited,
}

/// Carries out one item.
async fn act(state: &AppState, item: &ItemRow) -> Result<Acted> {
    let mut conn = state.db.pool.acquire().await?;
    let Some(job) = store::job(&mut conn, item.job_id).await? else { return Ok(Acted::Nothing) };
    let action: BulkAction = serde_json::from_str(&job.action).map_err(anyhow::Error::from)?;
    let Some(group) = store::one(&mut conn, &item.group_id).await? else {
        store::move_item(&mut conn, item.job_id, item.seq, &[ItemState::Waiting], ItemState::Failed, Some("The group is gone.")).await?;
        return Ok(Acted::Nothing);
    };
    let kind = group.provider();
    drop(conn);
    let provider = super::provider(state, &item.number_id, kind).await?;
    let mut conn = state.db.pool.acquire().await?;
    let online = provider.as_ref().is_some_and(|p| p.connection().is_online());
    let Some(provider) = provider.filter(|_| online) else {
        store::move_item(
            &mut conn,
            item.job_id,
            item.seq,
            &[ItemState::Waiting],
            ItemState::SkippedOffline,
            Some("The number was offline."),
        )
        .await?;
        return Ok(Acted::Nothing);
    };
    let resumed = item.attempts > 0;
    if !store::move_item(&mut conn, item.job_id, item.seq, &[ItemState::Waiting], ItemState::InFlight, None).await? {
        return Ok(Acted::Nothing);
    }
    drop(conn);
    let person = match action.person() {
        Some(p) => {
            let mut conn = state.db.pool.acquire().await?;
            Some(expand(&mut conn, &item.number_id, &p).await?)
        }
        None => None,
    };
    let g = item.group_id.as_str();
    // Tried before (a restart or a rate limit came in between): look at the group first, so a
    // change that was made is not made again.
    if resumed {
        let already = match &action {
            BulkAction::RemoveMember { .. } => match provider.group(g).await {
                Ok(s) => Some(!s.members.iter().any(|m| person.as_ref().is_some_and(|p| m.ids.same_person(p)))),
                Err(_) => None,
            },
            BulkAction::ApproveRequests { .. } | BulkAction::RejectRequests { .. } => match provider.join_requests(g).await {
                Ok(r) => Some(!r.iter().any(|r| person.as_ref().is_some_and(|p| r.ids.same_person(p)))),
                Err(_) => None,
            },
            BulkAction::Setting { setting } => match provider.group(g).await {
                Ok(s) => Some(setting.holds(&s.settings())),
                Err(_) => None,
            },
            // A linked device's message id is ours, so sending again is the same message; a
            // Cloud send cannot be told apart, so it is not sent again.
            BulkAction::Announce { .. } if kind == ProviderKind::Cloud => {
                let mut conn = state.db.pool.acquire().await?;
                store::move_item(
                    &mut conn,
                    item.job_id,
                    item.seq,
                    &[ItemState::InFlight],
                    ItemState::Failed,
                    Some("Interrupted while sending; not sent again, as it may have gone out."),
                )
                .await?;
                return Ok(Acted::Nothing);
            }
            BulkAction::Announce { .. } => Some(false),
        };
        if already == Some(true) {
            let mut conn = state.db.pool.acquire().await?;
            store::move_item(&mut conn, item.job_id, item.seq, &[ItemState::InFlight], ItemState::Confirmed, Some("Already done.")).await?;
            return Ok(Acted::Nothing);
        }
    }
    let result: std::result::Result<(ItemState, Option<String>), GroupErr> = match &action {
        BulkAction::RemoveMember { .. } => {
            let target = {
                let mut conn = state.db.pool.acquire().await?;
                store::members_of(&mut conn, std::slice::from_ref(&item.group_id))
                    .await?
                    .into_iter()
                    .map(|(_, m)| m.ids)
                    .find(|ids| person.as_ref().is_some_and(|p| ids.same_person(p)))
            };
            match target {
                None => Ok((ItemState::Confirmed, Some("Not a member any more.".into()))),
                Some(ids) => provider.members(g, MemberOp::Remove, &[ids]).await.map(|r| member_state(r.first().map(|p| &p.outcome))),
            }
        }
        BulkAction::ApproveRequests { .. } | BulkAction::RejectRequests { .. } => {
            let approve = matches!(action, BulkAction::ApproveRequests { .. });
            let requests: Vec<_> = {
                let mut conn = state.db.pool.acquire().await?;
                store::requests_of(&mut conn, g)
                    .await?
                    .into_iter()
                    .filter(|r| person.as_ref().is_some_and(|p| r.ids.same_person(p)))
                    .collect()
            };
            if requests.is_empty() {
                Ok((ItemState::Confirmed, Some("No request waiting any more.".into())))
            } else {
                provider.decide(g, &requests, approve).await.map(|r| member_state(r.first().map(|p| &p.outcome)))
            }
        }
        BulkAction::Setting { setting } => provider.set(g, setting).await.map(|()| (ItemState::Accepted, None)),
        BulkAction::Announce { text } => {
            let id = format!("SB{:08}{:06}", item.job_id, item.seq);
            provider.send(g, &id, text, &[]).await.map(|_| {
                // A Cloud send has no group event to confirm it; its acceptance is the outcome.
                if kind == ProviderKind::Cloud {
                    (ItemState::Confirmed, Some("Accepted by the Cloud API.".into()))
                } else {
                    (ItemState::Accepted, None)
                }
            })
        }
    };
    let mut conn = state.db.pool.acquire().await?;
    let from = [ItemState::InFlight];
    match result {
        Ok((to, detail)) => {
            // The confirming event may have come first; then the item is already confirmed.
            store::move_item(&mut conn, item.job_id, item.seq, &from, to, detail.as_deref()).await?;
            Ok(Acted::Changed)
        }
        Err(GroupErr::RateLimited) => {
            store::retry_later(&mut conn, item.job_id, item.seq, now_ms() + 1000, "WhatsApp asked us to slow down; trying again.").await?;
            Ok(Acted::RateLimited)
        }
        Err(GroupErr::Refused(Refusal::Offline | Refusal::LoggedOut | Refusal::Banned)) | Err(GroupErr::Unreachable(_)) => {
            store::move_item(&mut conn, item.job_id, item.seq, &from, ItemState::SkippedOffline, Some("The number was offline.")).await?;
            Ok(Acted::Nothing)
        }
        Err(e) => {
            let detail = match &e {
                GroupErr::Refused(r) => format!("Refused: {}", r.code()),
                GroupErr::Unknown(m) => format!("Outcome unknown ({m}); not tried again."),
                other => other.to_string(),
            };
            store::move_item(&mut conn, item.job_id, item.seq, &from, ItemState::Failed, Some(&detail)).await?;
            Ok(Acted::Changed)
        }
    }
}

fn member_state(outcome: Option<&MemberOutcome>) -> (ItemState, Option<String>) {
    match outcome {
        Some(MemberOutcome::Done) => (ItemState::Accepted, None),
        Some(MemberOutcome::NotMember) => (ItemState::Confirmed, Some("Not a member any more.".into())),
        Some(MemberOutcome::AlreadyMember) => (ItemState::Confirmed, Some("Already a member.".into())),
        Some(MemberOutcome::PrivacyRefused { .. }) => (ItemState::Failed, Some("Their privacy settings refuse it.".into())),
        Some(MemberOutcome::Failed { reason }) => (ItemState::Failed, Some(reason.clone())),
        None => (ItemState::Failed, Some("No answer for this member.".into())),
    }
}

/// Whether a change shows an action took effect on the group.
fn confirms(action: &BulkAction, person: Option<&MemberIds>, change: &GroupChange) -> bool {
    let hits = |ids: &MemberIds| person.is_some_and(|p| ids.same_person(p));
    match (action, change) {
        (BulkAction::RemoveMember { .. }, GroupChange::Left(ids)) => ids.iter().any(hits),
        (BulkAction::ApproveRequests { .. }, GroupChange::Joined(ms)) => ms.iter().any(|m| hits(&m.ids)),
        (BulkAction::ApproveRequests { .. } | BulkAction::RejectRequests { .. }, GroupChange::RequestGone(ids)) => hits(ids),
        (BulkAction::Setting { setting }, GroupChange::Setting(s)) => setting == s,
        (BulkAction::Announce { .. }, GroupChange::Activity) => true,
        _ => false,
    }
}

/// Marks the items on this group that the change confirms.
pub async fn confirm(conn: &mut AnyConnection, number_id: &str, group_id: &str, change: &GroupChange, out: &mut Vec<Event>) -> Result<()> {
    let waiting = store::awaiting_confirmation(conn, group_id).await?;
    let mut jobs = HashSet::new();
    for (job_id, seq, action) in waiting {
        let Ok(action) = serde_json::from_str::<BulkAction>(&action) else { continue };
        let person = match action.person() {
            Some(p) => Some(expand(conn, number_id, &p).await?),
            None => None,
        };
        if confirms(&action, person.as_ref(), change)
            && store::move_item(
                conn,
                job_id,
                seq,
                &[ItemState::Accepted, ItemState::InFlight, ItemState::Unconfirmed],
                ItemState::Confirmed,
                None,
            )
            .await?
        {
            jobs.insert(job_id);
        }
    }
    for job_id in jobs {
        store::finish_if_done(conn, job_id).await?;
        if let Some(job) = summary(conn, job_id, false).await? {
            out.push(crate::events::append(conn, "", None, EventKind::GroupJob { job: job.progress() }).await?);
        }
    }
    Ok(())
}

/// After a restart: items caught in flight wait again (checked against the group before they
/// act), and every number with work gets its worker.
pub async fn recover(state: &AppState) -> anyhow::Result<()> {
    let caught = store::in_flight(&state.db.pool).await?;
    let mut conn = state.db.pool.acquire().await?;
    for it in caught {
        store::retry_later(&mut conn, it.job_id, it.seq, 0, "Resumed after a restart.").await?;
    }
    drop(conn);
    for n in store::numbers_with_work(&state.db.pool).await? {
        wake(state, &n);
    }
    Ok(())
}

/// Flags accepted changes no event confirmed within the window: "accepted but never took
/// effect".
pub async fn sweep(state: AppState) {
    loop {
        tokio::time::sleep(Duration::from_millis(500).min(state.config.group_confirm_window / 4)).await;
        let result = async {
            let before = now_ms() - state.config.group_confirm_window.as_millis() as i64;
            // The flags and the jobs they finish in one transaction: nobody reads a job whose
            // last item is flagged as still running.
            let mut tx = state.db.pool.begin().await?;
            let stale = store::stale_accepted(&mut tx, before).await?;
            let mut jobs = HashSet::new();
            for (job, seq) in stale {
                if store::move_item(
                    &mut tx,
                    job,
                    seq,
                    &[ItemState::Accepted],
                    ItemState::Unconfirmed,
                    Some("WhatsApp accepted it, but no update showed it took effect."),
                )
                .await?
                {
                    jobs.insert(job);
                }
            }
            for job in &jobs {
                store::finish_if_done(&mut tx, *job).await?;
            }
            tx.commit().await?;
            for job in jobs {
                publish_progress(&state, job).await?;
            }
            Ok::<_, AppError>(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!("group confirmation sweep: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pacer_keeps_to_its_grid_however_late_the_timer_and_whatever_the_jitter() {
        let pace = Duration::from_millis(200);
        let begin = tokio::time::Instant::now();
        let mut pacer = Pacer::new(pace);
        pacer.restart(begin);
        let mut rng = rand::thread_rng();
        let mut started = begin;
        for _ in 1..100 {
            // Every timer fires 3 ms late.
            let next = pacer.after_change(started, rng.gen_range(-0.25..0.25)) + Duration::from_millis(3);
            assert!(next - started >= pace / 2, "never closer than half a pace");
            started = next;
        }
        // The 100th change starts on the 99th grid point, give or take the jitter and one late
        // timer: the lateness did not add up.
        let drift = (started - begin).as_secs_f64() - 99.0 * pace.as_secs_f64();
        assert!(drift.abs() <= 0.25 * pace.as_secs_f64() + 0.003 + 1e-9, "drift {drift}");
    }

    #[test]
    fn a_change_that_ran_late_starts_a_new_grid_rather_than_a_burst() {
        let pace = Duration::from_millis(200);
        let begin = tokio::time::Instant::now();
        let mut pacer = Pacer::new(pace);
        pacer.restart(begin);
        // The first change took a whole second to start (WhatsApp was slow).
        let late = begin + Duration::from_secs(1);
        let next = pacer.after_change(late, 0.0);
        assert_eq!(next, late + pace);
        // And the grid goes on from there.
        assert_eq!(pacer.after_change(next, 0.0), late + pace * 2);
    }
}
