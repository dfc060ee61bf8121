//! Starts due broadcasts and closes finished ones; after a restart, finishes queueing.

use std::time::Duration;

use super::store::{due, finish_sent, started};

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

/// At start: finish queueing every running or paused broadcast.
pub async fn recover(state: &AppState) -> Result<()> {
    for (id, spec) in started(&state.db.pool).await? {
        queue_rest(state, id, String::new(), &later_starts(&spec, now_ms())).await?;
    }
    Ok(())
}
