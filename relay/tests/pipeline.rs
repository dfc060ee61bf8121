//! Keeping up with Meta: how far behind the relay is with webhooks is measured and shown — on
//! `/metrics`, in the supervisor's live view, and on every open console's event stream. Real
//! relay, real sandbox over HTTP, both backends.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use switchboard_relay::inbound::{backlog, store};
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

/// A `messages` change for `number` with `messages` as (wamid, from, text, seconds after now).
fn messages_change(number: &str, messages: &[(&str, &str, &str, i64)]) -> serde_json::Value {
    let now = jiff::Timestamp::now().as_second();
    serde_json::json!({"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": number},
        "contacts": messages.iter().map(|(_, from, _, _)| serde_json::json!({"profile": {"name": format!("Name of {from}")}, "wa_id": from})).collect::<Vec<_>>(),
        "messages": messages.iter().map(|(wamid, from, text, after)| serde_json::json!({
            "from": from, "id": wamid, "timestamp": (now + after).to_string(), "type": "text", "text": {"body": text}
        })).collect::<Vec<_>>(),
    }})
}

/// The digest stores a batch's messages together: several messages of one conversation, and
/// one customer writing to two numbers, in one body. Each conversation counts all its messages
/// and shows the latest; the customer talks to both numbers; the welcome goes once per
/// conversation (to the first message, though the others were stored with it); the same body
/// again changes nothing.
async fn a_batch_of_messages_is_stored_together_and_each_conversation_welcomed_once(backend: switchboard_relay::Backend) {
    let app = spawn_app(backend).await;
    let boss = app.admin().await;
    let rule = serde_json::json!({"name": "Welcome", "trigger": {"type": "welcome"}, "answer": {"type": "text", "text": "Welcome!"}});
    assert_eq!(app.post_api(&boss, "/api/v1/auto-replies", &rule).await.status(), 200);
    let (dan, eve) = ("85293330001", "85293330002");
    let body = serde_json::json!({"object": "whatsapp_business_account", "entry": [
        {"id": "200000000000001", "changes": [messages_change(NUMBER, &[
            ("wamid.B1", dan, "hi", 0), ("wamid.B2", eve, "hello", 0), ("wamid.B3", dan, "are you there", 1), ("wamid.B4", dan, "hello?", 1),
        ])]},
        {"id": "200000000000001", "changes": [messages_change(NUMBER2, &[("wamid.B5", dan, "and here", 0)])]},
    ]});
    // Stored as the ingest stores an accepted body; the processor reads it as one batch.
    let store = || async {
        sqlx::query("INSERT INTO webhook_inbox (received_at, body, processed) VALUES ($1, $2, FALSE)")
            .bind(jiff::Timestamp::now().as_millisecond())
            .bind(serde_json::to_vec(&body).unwrap())
            .execute(&app.relay.state.db.pool)
            .await
            .unwrap();
        app.relay.state.processor_bell.notify_one();
    };
    store().await;
    eventually("the body processed", || async { app.count("SELECT COUNT(*) FROM webhook_inbox WHERE processed = FALSE").await == 0 }).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE direction = 'inbound'").await, 5);

    let conversations: Vec<(String, String, i64, String)> =
        sqlx::query_as("SELECT number_id, contact, unread, last_preview FROM conversations ORDER BY number_id, contact")
            .fetch_all(&app.relay.state.db.pool)
            .await
            .unwrap();
    let expected = [(NUMBER, dan, 3, "hello?"), (NUMBER, eve, 1, "hello"), (NUMBER2, dan, 1, "and here")];
    let expected: Vec<(String, String, i64, String)> =
        expected.iter().map(|(n, c, u, p)| (n.to_string(), c.to_string(), *u, p.to_string())).collect();
    assert_eq!(conversations, expected, "each conversation counts its messages and shows the latest (of equal times, the later)");
    let (numbers, name): (String, Option<String>) =
        sqlx::query_as("SELECT numbers, name FROM contacts WHERE wa_id = $1").bind(dan).fetch_one(&app.relay.state.db.pool).await.unwrap();
    let mut numbers: Vec<&str> = numbers.split(',').collect();
    numbers.sort_unstable();
    assert_eq!(numbers, [NUMBER, NUMBER2], "the customer talks to both numbers");
    assert_eq!(name.as_deref(), Some("Name of 85293330001"));
    // Messages keep the order they came in.
    let order: Vec<(String,)> = sqlx::query_as("SELECT wamid FROM messages WHERE direction = 'inbound' ORDER BY id")
        .fetch_all(&app.relay.state.db.pool)
        .await
        .unwrap();
    let order: Vec<&str> = order.iter().map(|(w,)| w.as_str()).collect();
    assert_eq!(order, ["wamid.B1", "wamid.B2", "wamid.B3", "wamid.B4", "wamid.B5"]);

    // One welcome per conversation: two to Dan (one from each number), one to Eve. (The
    // sandbox, like Meta, refuses them: these customers never wrote through it, so no window
    // is open; what counts here is that each was written and queued once.)
    let welcomed: Vec<(String, i64)> = sqlx::query_as(
        "SELECT c.contact, COUNT(*) FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.auto_rule = 'Welcome' GROUP BY c.contact ORDER BY c.contact",
    )
    .fetch_all(&app.relay.state.db.pool)
    .await
    .unwrap();
    assert_eq!(welcomed, [(dan.to_owned(), 2), (eve.to_owned(), 1)]);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 3, "each welcome queued once");

    // Meta sends the same body again: nothing changes, nothing more is sent.
    store().await;
    eventually("the repeat processed", || async { app.count("SELECT COUNT(*) FROM webhook_inbox WHERE processed = FALSE").await == 0 })
        .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE direction = 'inbound'").await, 5);
    assert_eq!(app.count("SELECT CAST(SUM(unread) AS BIGINT) FROM conversations").await, 5);
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE auto_rule IS NOT NULL").await, 3);
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox").await, 3);
}
on_both_backends!(a_batch_of_messages_is_stored_together_and_each_conversation_welcomed_once);

/// A customer's message never waits behind a status storm: the ingest marks a body that carries
/// nothing but statuses as it stores it, and the digest takes the other bodies first (each kind
/// oldest first, within the batch's size and byte budget).
async fn messages_are_digested_before_bodies_of_statuses_only(backend: switchboard_relay::Backend) {
    let app = spawn_app(backend).await;
    // Through the real webhook endpoint: how each body is marked.
    let both = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001", "changes": [{
    "field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550100", "phone_number_id": NUMBER},
        "contacts": [{"profile": {"name": "Mei"}, "wa_id": "85290000009"}],
        "messages": [{"from": "85290000009", "id": "wamid.Q2", "timestamp": "1767225600", "type": "text", "text": {"body": "hi"}}],
        "statuses": [{"id": "wamid.OUT1", "status": "read", "timestamp": "1767225601", "recipient_id": "85290000001"}]
    }}]}]});
    let quality = serde_json::json!({"object": "whatsapp_business_account", "entry": [{"id": "200000000000001", "changes": [{
        "field": "phone_number_quality_update", "value": {"display_phone_number": "15550100", "event": "FLAGGED", "current_limit": "TIER_1K"}}]}]});
    for body in [status_update("wamid.OUT1", "delivered"), text_message("wamid.Q1", "85290000009", "hello"), both, quality] {
        assert_eq!(app.post_webhook(&serde_json::to_vec(&body).unwrap()).await.status(), 200);
    }
    let marks: Vec<(i64,)> =
        sqlx::query_as("SELECT CAST(CASE WHEN statuses_only THEN 1 ELSE 0 END AS BIGINT) FROM webhook_inbox ORDER BY id")
            .fetch_all(&app.relay.state.db.pool)
            .await
            .unwrap();
    assert_eq!(marks, [(1,), (0,), (0,), (0,)], "only the body of nothing but statuses is marked");
    eventually("the bodies processed", || async { app.count("SELECT COUNT(*) FROM webhook_inbox WHERE processed = FALSE").await == 0 })
        .await;

    // The order the digest reads them in, from bodies written in a transaction the processor
    // cannot see (read inside it, then undone).
    let mut tx = app.relay.state.db.pool.begin().await.unwrap();
    let mut ids = std::collections::HashMap::new();
    for (name, statuses_only, size) in [("s1", true, 300), ("m1", false, 100), ("s2", true, 300), ("m2", false, 100), ("s3", true, 300)] {
        let (id,): (i64,) = sqlx::query_as("INSERT INTO webhook_inbox (received_at, body, statuses_only) VALUES ($1, $2, $3) RETURNING id")
            .bind(1_800_000_000_000_i64)
            .bind(vec![b' '; size])
            .bind(statuses_only)
            .fetch_one(&mut *tx)
            .await
            .unwrap();
        ids.insert(id, name);
    }
    let mut next = async |limit: i64, bytes: i64| -> Vec<&str> {
        store::unprocessed(&mut tx, limit, bytes).await.unwrap().iter().map(|(id, _)| ids[id]).collect()
    };
    assert_eq!(next(10, 1 << 20).await, ["m1", "m2", "s1", "s2", "s3"], "messages first, each kind oldest first");
    assert_eq!(next(3, 1 << 20).await, ["m1", "m2", "s1"], "statuses in what the limit leaves");
    assert_eq!(next(10, 200).await, ["m1", "m2"], "and in what the byte budget leaves");
    assert_eq!(next(10, 201).await, ["m1", "m2", "s1"], "a body starting within the budget comes whole");
    assert_eq!(next(10, 50).await, ["m1"], "the first always comes");
    tx.rollback().await.unwrap();
}
on_both_backends!(messages_are_digested_before_bodies_of_statuses_only);
