//! Keeping up with Meta: how far behind the relay is with webhooks is measured and shown — on
//! `/metrics`, in the supervisor's live view, and on every open console's event stream. Real
//! relay, real sandbox over HTTP, both backends.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use switchboard_relay::inbound::backlog;
use switchboard_shared::api::Backlog;

/// Bodies stored and not yet processed are counted, and the oldest one's wait is measured from
/// when it was received.
async fn the_backlog_counts_unprocessed_bodies_and_the_oldest_ones_wait(backend: switchboard_relay::Backend) {
    let app = spawn_app(backend).await;
    let now = 1_800_000_000_000_i64;
    // Bodies written in a transaction the processor cannot see: read inside it, then undone.
    let mut tx = app.relay.state.db.pool.begin().await.unwrap();
    let empty = backlog::read(&mut tx, now).await.unwrap();
    assert_eq!(empty, Backlog { waiting: 0, behind_ms: 0 });
    for (received_at, processed) in [(now - 9_000, true), (now - 7_000, false), (now - 2_000, false), (now - 500, false)] {
        sqlx::query("INSERT INTO webhook_inbox (received_at, body, processed) VALUES ($1, $2, $3)")
            .bind(received_at)
            .bind(b"{}".to_vec())
            .bind(processed)
            .execute(&mut *tx)
            .await
            .unwrap();
    }
    let behind = backlog::read(&mut tx, now).await.unwrap();
    assert_eq!(behind, Backlog { waiting: 3, behind_ms: 7_000 }, "the processed body does not count");
    assert!(behind.shown());
    // A body stamped after the reading (a clock step) is not "behind" by a negative time.
    assert_eq!(backlog::read(&mut tx, now - 8_000).await.unwrap().behind_ms, 0);
    tx.rollback().await.unwrap();

    // The readings the relay takes every second reach /metrics and the live view.
    eventually("the backlog on /metrics", || async {
        let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        metrics.contains("switchboard_webhook_backlog 0") && metrics.contains("switchboard_webhook_backlog_age_seconds 0.0")
    })
    .await;
    let boss = app.admin().await;
    let view = app.get_json(&boss, "/api/v1/supervisor?day_start=0").await;
    assert_eq!(view["backlog"], serde_json::json!({"waiting": 0, "behind_ms": 0}));
}
on_both_backends!(the_backlog_counts_unprocessed_bodies_and_the_oldest_ones_wait);

/// The next backlog reading an open event stream delivers (within 10 s); a reading has no id.
async fn next_reading(stream: &mut reqwest::Response, buffer: &mut String) -> Backlog {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        while let Some(end) = buffer.find("\n\n") {
            let block: String = buffer.drain(..end + 2).collect();
            if block.lines().any(|l| l == "event: backlog") {
                assert!(!block.lines().any(|l| l.starts_with("id:")), "a reading has no id: {block}");
                let data = block.lines().find_map(|l| l.strip_prefix("data:")).expect("data");
                return serde_json::from_str(data.trim()).unwrap();
            }
        }
        let chunk = tokio::time::timeout_at(deadline, stream.chunk()).await.expect("a reading in time").unwrap().unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
    }
}

/// An open console hears when the relay falls behind (every reading while it is more than a few
/// seconds) and when it has caught up, not of a small backlog; one that opens while the relay is
/// behind hears it at once.
async fn open_consoles_hear_that_the_relay_is_catching_up_and_when_it_has(backend: switchboard_relay::Backend) {
    let app = spawn_app(backend).await;
    // The relay's own readings (nothing waits here) have begun: the same reading again is not
    // sent again, so from now on only what the test sets is heard.
    eventually("a first reading", || async {
        app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap().contains("switchboard_webhook_backlog 0")
    })
    .await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let boss = app.admin().await;
    let mut stream = app.call(Method::GET, &boss, "/api/v1/events", None).await;
    assert!(stream.status().is_success());
    let mut buffer = String::new();
    let events = &app.relay.state.events;

    events.set_backlog(Backlog { waiting: 1_200, behind_ms: 7_000 });
    assert_eq!(next_reading(&mut stream, &mut buffer).await, Backlog { waiting: 1_200, behind_ms: 7_000 });
    events.set_backlog(Backlog { waiting: 1_100, behind_ms: 8_000 });
    assert_eq!(next_reading(&mut stream, &mut buffer).await, Backlog { waiting: 1_100, behind_ms: 8_000 }, "every reading while behind");
    // Back under a few seconds: said once, so the console stops showing it.
    events.set_backlog(Backlog { waiting: 2, behind_ms: 100 });
    let caught_up = next_reading(&mut stream, &mut buffer).await;
    assert_eq!(caught_up, Backlog { waiting: 2, behind_ms: 100 });
    assert!(!caught_up.shown());
    // A small backlog after that is no news: the next reading heard is the next lag.
    events.set_backlog(Backlog { waiting: 1, behind_ms: 50 });
    assert!(buffer.is_empty());
    let quiet = events_within(&mut stream, Duration::from_millis(500)).await;
    assert!(quiet.is_empty(), "{quiet:?}");
    events.set_backlog(Backlog { waiting: 40, behind_ms: 4_000 });
    assert_eq!(next_reading(&mut stream, &mut buffer).await, Backlog { waiting: 40, behind_ms: 4_000 });

    let mut late = app.call(Method::GET, &boss, "/api/v1/events", None).await;
    let mut late_buffer = String::new();
    assert_eq!(next_reading(&mut late, &mut late_buffer).await, Backlog { waiting: 40, behind_ms: 4_000 });
}
on_both_backends!(open_consoles_hear_that_the_relay_is_catching_up_and_when_it_has);
