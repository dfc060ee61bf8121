//! Starts due broadcasts and closes finished ones; after a restart, finishes queueing.

use std::collections::HashMap;
use std::time::Duration;

use switchboard_shared::api::{Broadcast, BroadcastProgress, EventKind};

use super::store::{due, finish_sent, load_many, started};

use super::freeze::*;
use crate::clock::now_ms;
use crate::error::Result;
use crate::AppState;

/// Without a bell, the scheduler looks for due and finished broadcasts this often.
const TICK: Duration = Duration::from_millis(500);

/// Starts due broadcasts and closes finished ones, forever; tells the consoles how each live
/// broadcast is doing when that changed.
pub async fn scheduler(state: AppState) {
    let mut reported = HashMap::new();
    loop {
        if let Err(e) = tick(&state).await {
            tracing::error!("broadcast scheduler: {e}");
        }
        if let Err(e) = report(&state, &mut reported).await {
            tracing::error!("broadcast reports: {e}");
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
