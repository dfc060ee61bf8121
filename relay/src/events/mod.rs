//! The append-only event log and its live stream.
//!
//! Events are written in the same transaction as the change they describe, and handed to
//! live subscribers only after that commit. A subscriber that connects (or reconnects with
//! `Last-Event-ID`) first subscribes, then reads the log after its last id, then follows the
//! live feed, skipping what it already sent: nothing is lost and nothing repeats.

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::IntoResponse;
use switchboard_shared::api::{Backlog, Event};
use tokio::sync::{broadcast, mpsc, watch, Notify};
use tokio_stream::wrappers::ReceiverStream;

mod store;

pub use store::{append, pending, write_pending};

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
    /// Who has a console open, and since when the others have not.
    presence: std::sync::Mutex<Presence>,
    /// Rung when someone comes online, goes offline or sets themselves away: assignment looks.
    pub presence_changed: Notify,
    /// The latest backlog reading; streams are woken only while it is shown, and once when it
    /// stops being shown.
    backlog: watch::Sender<Backlog>,
}

/// Open event streams per user (a user with one is online), and when each user who has none
/// went offline or away (by the relay's clock).
#[derive(Debug, Default)]
struct Presence {
    streams: HashMap<i64, usize>,
    offline_since: HashMap<i64, i64>,
    away_since: HashMap<i64, i64>,
    /// When the relay started: a user not seen since has been offline since then.
    started_at: i64,
}

impl Hub {
    pub fn new() -> Hub {
        Hub {
            tx: broadcast::channel(4096).0,
            ended: broadcast::channel(64).0,
            presence: Default::default(),
            presence_changed: Notify::new(),
            backlog: watch::Sender::new(Backlog::default()),
        }
    }

    /// Users with an open console (an event stream) right now.
    pub fn online_users(&self) -> std::collections::HashSet<i64> {
        self.presence.lock().expect("presence lock").streams.iter().filter(|(_, n)| **n > 0).map(|(id, _)| *id).collect()
    }

    /// The relay started at `now`: users not seen since count as offline from then.
    pub fn started(&self, now: i64) {
        self.presence.lock().expect("presence lock").started_at = now;
    }

    /// Since when a user has been unavailable (no console open, or away), or `None` when they
    /// are on duty now. `away` is their stored flag.
    pub fn unavailable_since(&self, user_id: i64, away: bool) -> Option<i64> {
        let p = self.presence.lock().expect("presence lock");
        let offline = match p.streams.get(&user_id) {
            Some(n) if *n > 0 => None,
            _ => Some(p.offline_since.get(&user_id).copied().unwrap_or(p.started_at)),
        };
        let away = away.then(|| p.away_since.get(&user_id).copied().unwrap_or(p.started_at));
        match (offline, away) {
            (None, None) => None,
            (a, b) => a.into_iter().chain(b).min(),
        }
    }

    /// Whether the user has a console (an event stream) open now.
    pub fn console_open(&self, user_id: i64) -> bool {
        self.presence.lock().expect("presence lock").streams.get(&user_id).is_some_and(|n| *n > 0)
    }

    /// A user set themselves away (or back) at `now`.
    pub fn set_away(&self, user_id: i64, away: bool, now: i64) {
        let mut p = self.presence.lock().expect("presence lock");
        if away {
            p.away_since.entry(user_id).or_insert(now);
        } else {
            p.away_since.remove(&user_id);
        }
        drop(p);
        self.presence_changed.notify_one();
    }

    fn connected(&self, user_id: i64, delta: isize, now: i64) {
        let mut p = self.presence.lock().expect("presence lock");
        let n = p.streams.entry(user_id).or_insert(0);
        *n = n.saturating_add_signed(delta);
        let changed = match *n {
            0 => {
                p.streams.remove(&user_id);
                p.offline_since.insert(user_id, now);
                true
            }
            1 if delta > 0 => {
                p.offline_since.remove(&user_id);
                true
            }
            _ => false,
        };
        drop(p);
        if changed {
            self.presence_changed.notify_one();
        }
    }

    /// Closes every open event stream of this user; a browser still signed in reconnects and
    /// resumes after its last event, seen through the user's current role and scope.
    pub fn close_streams_of(&self, user_id: i64) {
        let _ = self.ended.send(user_id);
    }

    /// Hands committed events to live streams, in the order of their seqs (a transaction may
    /// have written some at once and others pending, together at its end).
    pub fn publish(&self, mut events: Vec<Event>) {
        debug_assert!(events.iter().all(|e| e.seq > 0), "an event was published without being written");
        events.sort_by_key(|e| e.seq);
        for e in events {
            let _ = self.tx.send(Arc::new(e));
        }
    }

    /// Records a backlog reading (`inbound::backlog` takes one every second). Streams hear a
    /// reading that differs from the last while either is shown; the same reading again (nothing
    /// waits, second after second) tells nobody.
    pub fn set_backlog(&self, now: Backlog) {
        self.backlog.send_if_modified(|shown| {
            let tell = *shown != now && (now.shown() || shown.shown());
            *shown = now;
            tell
        });
    }

    /// The latest backlog reading.
    pub fn backlog(&self) -> Backlog {
        *self.backlog.borrow()
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

/// A backlog reading as the stream sends it: named, without an id (it is not in the log, and a
/// reconnecting browser resumes after the last event that is).
fn backlog_sse(now: Backlog) -> SseEvent {
    SseEvent::default().event(Backlog::EVENT).json_data(now).unwrap_or_else(|_| SseEvent::default().comment("unserialisable backlog"))
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
    let mut backlog = state.events.backlog.subscribe();
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
        // A console that opens while the relay is behind says so at once.
        let now = *backlog.borrow_and_update();
        if now.shown() && tx.send(Ok(backlog_sse(now))).await.is_err() {
            return;
        }
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
                    // The browser went away: the user is offline now, not at the next event.
                    () = tx.closed() => break 'outer,
                    gone = ended.recv() => match gone {
                        Ok(id) if id == user.id => break 'outer,
                        _ => continue,
                    },
                    Ok(()) = backlog.changed() => {
                        let now = *backlog.borrow_and_update();
                        if tx.send(Ok(backlog_sse(now))).await.is_err() {
                            break 'outer;
                        }
                        continue;
                    }
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
            self.0.events.connected(self.1, -1, self.0.clock.now_ms());
        }
    }
    state.events.connected(user_id, 1, state.clock.now_ms());
    Guard(state, user_id)
}
