//! How far behind the relay is with WhatsApp's webhooks: bodies stored (answered 200) and not
//! yet applied, and how long the oldest has waited. Read every second, it goes to `/metrics`,
//! to the supervisor's live view and, while it is more than a few seconds, to every open
//! console (`Backlog::EVENT` on the event stream).

use std::time::Duration;

use sqlx::AnyConnection;
use switchboard_shared::api::Backlog;

use super::store;
use crate::error::Result;
use crate::AppState;

/// How often the backlog is read (one indexed query).
const READ_EVERY: Duration = Duration::from_secs(1);

/// Reads the backlog forever.
pub async fn watch(state: AppState) {
    let mut tick = tokio::time::interval(READ_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let reading = async {
            let mut conn = state.db.pool.acquire().await?;
            read(&mut conn, crate::clock::now_ms()).await
        };
        match reading.await {
            Ok(backlog) => {
                state.metrics.backlog(backlog);
                state.events.set_backlog(backlog);
            }
            Err(e) => tracing::warn!("reading the webhook backlog: {e}"),
        }
    }
}

/// The backlog as of `now` (ms, the time bodies are stamped with when stored).
pub async fn read(conn: &mut AnyConnection, now: i64) -> Result<Backlog> {
    let (waiting, oldest) = store::backlog(conn).await?;
    Ok(Backlog { waiting, behind_ms: oldest.map_or(0, |at| (now - at).max(0)) })
}
