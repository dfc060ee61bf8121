//! Starts due broadcasts and closes finished ones; after a restart, finishes queueing.

use std::collections::HashMap;
use std::time::Duration;

use switchboard_shared::api::{Broadcast, BroadcastProgress, EventKind};

use super::store::{changes, due, finish_sent, load_many, started};

use super::freeze::*;
use crate::clock::now_ms;
use crate::error::Result;
use crate::AppState;

/// Without a bell, the scheduler looks for due and finished broadcasts this often.
const TICK: Duration = Duration::from_millis(500);

/// Starts due broadcasts and closes finished ones, forever.
pub async fn scheduler(state: AppState) {
    loop {
        if let Err(e) = tick(&state).await {
            tracing::error!("broadcast scheduler: {e}");
        }
        tokio::select! {
            _ = state.broadcast_bell.notified() => {}
            _ = tokio::time::sleep(TICK) => {}
        }
    }
}

pub(super) async fn tick(state: &AppState) -> Result<()> {
    let now = now_ms();
    for id in due(&state.db.pool, now).await? {
        freeze(state, id).await?;
        state.lanes.wake_all();
    }
    finish_sent(&state.db.pool, now_ms()).await?;
    Ok(())
}

/// How often the reporter looks whether reports changed.
const REPORT_EVERY: Duration = Duration::from_millis(250);
/// Rounds the reporter counts again after the last change it saw: a write is seen (by
/// [`changes`]) before its transaction commits, so the first count after it may miss it.
const SETTLE_ROUNDS: u32 = 2;
/// Reports are counted at least this often anyway while broadcasts are live: a few things that
/// change them are not writes of this feature (an opt-out by hand, a send waiting for the
/// messaging limit).
const RECOUNT_ANYWAY: Duration = Duration::from_secs(10);

/// Tells the consoles how each live broadcast is doing, forever: every [`REPORT_EVERY`] while
/// what reports count keeps changing, and not at all while nothing does.
pub async fn reporter(state: AppState) {
    let mut reported = HashMap::new();
    let mut seen = None;
    let mut quiet = 0;
    let mut last = tokio::time::Instant::now();
    loop {
        let now = changes();
        if seen != Some(now) {
            seen = Some(now);
            quiet = 0;
        } else {
            quiet += 1;
        }
        if quiet <= SETTLE_ROUNDS || last.elapsed() >= RECOUNT_ANYWAY {
            last = tokio::time::Instant::now();
            if let Err(e) = report(&state, &mut reported).await {
                tracing::error!("broadcast reports: {e}");
            }
        }
        tokio::time::sleep(REPORT_EVERY).await;
    }
}

/// How long a finished broadcast's report is still followed: statuses and replies keep coming.
const FOLLOW_AFTER_MS: i64 = 10 * 60 * 1000;

/// Appends a progress event for each scheduled, running or recently finished broadcast whose
/// report changed since the last one (`reported` remembers what was last said of each).
async fn report(state: &AppState, reported: &mut HashMap<i64, BroadcastProgress>) -> Result<()> {
    let since = now_ms() - FOLLOW_AFTER_MS;
    let live =
        load_many(state, &format!("state IN ('scheduled', 'running', 'paused') OR (completed_at IS NOT NULL AND completed_at > {since})"))
            .await?;
    let changed: Vec<BroadcastProgress> = live.iter().map(Broadcast::progress).filter(|p| reported.get(&p.id) != Some(p)).collect();
    if !changed.is_empty() {
        let mut tx = state.db.pool.begin().await?;
        let mut out = Vec::with_capacity(changed.len());
        for progress in &changed {
            let number = progress.numbers.first().cloned().unwrap_or_default();
            out.push(crate::events::append(&mut tx, &number, None, EventKind::Broadcast { progress: progress.clone() }).await?);
        }
        tx.commit().await?;
        state.events.publish(out);
    }
    reported.retain(|id, _| live.iter().any(|b| b.id == *id));
    reported.extend(changed.into_iter().map(|p| (p.id, p)));
    Ok(())
}

/// At start: finish queueing every running or paused broadcast.
pub async fn recover(state: &AppState) -> Result<()> {
    for (id, spec) in started(&state.db.pool).await? {
        queue_rest(state, id, String::new(), &later_starts(&spec, now_ms())).await?;
    }
    Ok(())
}
