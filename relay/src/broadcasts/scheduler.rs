//! Starts due broadcasts and closes finished ones; after a restart, finishes queueing.

use std::time::Duration;

use switchboard_shared::broadcast::BroadcastSpec;

use super::freeze::*;
use crate::db::now_ms;
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
