//! The append-only event log and its live stream.
//!
//! Events are written in the same transaction as the change they describe, and handed to
//! live subscribers only after that commit. A subscriber that connects (or reconnects with
//! `Last-Event-ID`) first subscribes, then reads the log after its last id, then follows the
//! live feed, skipping what it already sent: nothing is lost and nothing repeats.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use switchboard_shared::api::Event;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;

mod store;

pub use store::append;

use crate::access::AuthUser;
use crate::error::Result;
use crate::AppState;

/// A comment line on an idle event stream this often, so proxies keep it open.
const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// Live fan-out of committed events.
pub struct Hub {
    tx: broadcast::Sender<Arc<Event>>,
    /// Users whose streams must close (disabled, password reset, role or scope changed).
    ended: broadcast::Sender<i64>,
    /// Open event streams per user: a user with one is online.
    online: std::sync::Mutex<std::collections::HashMap<i64, usize>>,
}

impl Hub {
    pub fn new() -> Hub {
        Hub { tx: broadcast::channel(4096).0, ended: broadcast::channel(64).0, online: Default::default() }
    }

    /// Users with an open console (an event stream) right now.
    pub fn online_users(&self) -> std::collections::HashSet<i64> {
        self.online.lock().expect("online lock").iter().filter(|(_, n)| **n > 0).map(|(id, _)| *id).collect()
    }

    fn connected(&self, user_id: i64, delta: isize) {
        let mut online = self.online.lock().expect("online lock");
        let n = online.entry(user_id).or_insert(0);
        *n = n.saturating_add_signed(delta);
        if *n == 0 {
            online.remove(&user_id);
        }
    }

    /// Closes every open event stream of this user; a browser still signed in reconnects and
    /// resumes after its last event, seen through the user's current role and scope.
    pub fn close_streams_of(&self, user_id: i64) {
        let _ = self.ended.send(user_id);
    }

    /// Hands committed events to every live subscriber.
    pub fn publish(&self, events: Vec<Event>) {
        for e in events {
            let _ = self.tx.send(Arc::new(e));
        }
    }

    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Event>> {
        self.tx.subscribe()
    }
}

impl Default for Hub {
    fn default() -> Self {
        Hub::new()
    }
}

/// Events after `after`, oldest first.
pub async fn since(state: &AppState, after: i64, limit: i64) -> Result<Vec<Event>> {
    store::since(&state.db.pool, after, limit).await
}

/// The newest event id (0 when the log is empty).
pub async fn last_seq(state: &AppState) -> Result<i64> {
    store::last_seq(&state.db.pool).await
}

fn to_sse(e: &Event) -> SseEvent {
    SseEvent::default()
        .id(e.seq.to_string())
        .event(e.kind.name())
        .json_data(e)
        .unwrap_or_else(|_| SseEvent::default().comment("unserialisable event"))
}

/// `GET /api/v1/events`: Server-Sent Events, resumable with `Last-Event-ID`.
pub async fn stream(
    State(state): State<AppState>,
    user: AuthUser,
    headers: HeaderMap,
    Query(q): Query<switchboard_shared::api::EventsQuery>,
) -> Result<impl IntoResponse> {
    let header_id = headers.get("last-event-id").and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<i64>().ok());
    // Subscribe before reading the log, so nothing committed in between is missed.
    let mut live = state.events.subscribe();
    let mut ended = state.events.ended.subscribe();
    let mut last = match header_id.or(q.after) {
        Some(id) => id,
        None => last_seq(&state).await?,
    };
    let (tx, rx) = mpsc::channel::<std::result::Result<SseEvent, Infallible>>(256);
    let metrics_state = state.clone();
    metrics_state.metrics.sse_clients.inc();
    // Counted before the response goes out, so "online" is true as soon as the stream is.
    let guard = scopeguard(metrics_state, user.id);
    tokio::spawn(async move {
        let _guard = guard;
        'outer: loop {
            // Catch up from the log (first connection, reconnection, or after lagging behind).
            loop {
                let Ok(batch) = since(&state, last, 1000).await else {
                    tokio::time::sleep(crate::db::RETRY_AFTER_ERROR).await;
                    continue;
                };
                let done = batch.len() < 1000;
                for e in batch {
                    last = e.seq;
                    if let Some(e) = user.present(&e) {
                        if tx.send(Ok(to_sse(&e))).await.is_err() {
                            break 'outer;
                        }
                    }
                }
                if done {
                    break;
                }
            }
            loop {
                let received = tokio::select! {
                    received = live.recv() => received,
                    gone = ended.recv() => match gone {
                        Ok(id) if id == user.id => break 'outer,
                        _ => continue,
                    },
                };
                match received {
                    Ok(e) if e.seq <= last => {}
                    Ok(e) if e.seq == last + 1 => {
                        last = e.seq;
                        if let Some(e) = user.present(&e) {
                            if tx.send(Ok(to_sse(&e))).await.is_err() {
                                break 'outer;
                            }
                        }
                    }
                    // A gap (events committed out of order) or a lag: read the log instead.
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue 'outer,
                    Err(broadcast::error::RecvError::Closed) => break 'outer,
                }
            }
        }
    });
    Ok(Sse::new(ReceiverStream::new(rx)).keep_alive(KeepAlive::new().interval(KEEP_ALIVE)))
}

/// Decrements the live-client gauge when the stream task ends.
fn scopeguard(state: AppState, user_id: i64) -> impl Drop {
    struct Guard(AppState, i64);
    impl Drop for Guard {
        fn drop(&mut self) {
            self.0.metrics.sse_clients.dec();
            self.0.events.connected(self.1, -1);
        }
    }
    state.events.connected(user_id, 1);
    Guard(state, user_id)
}
