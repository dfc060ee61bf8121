//! `switchboard backup` / `switchboard restore`: a round trip gives back the same database,
//! also from SQLite into PostgreSQL; a non-empty target or a cut-off file restores nothing.

#[macro_use]
mod common;

use common::*;
use serde_json::json;
use switchboard_relay::access::auth;
use switchboard_relay::backup::{self, TABLES};
use switchboard_relay::{Backend, Db};
use switchboard_shared::access::Scope;

on_both_backends!(a_backup_restored_into_an_empty_database_gives_back_the_same_data);

/// Everything after the header line (which holds the time of the backup).
fn body_of(path: &std::path::Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    text.split_once('\n').unwrap().1.to_owned()
}

async fn fresh_db(backend: Backend, dir: &std::path::Path) -> (Db, Option<TestDatabase>) {
    let (url, database) = match backend {
        Backend::Sqlite => (switchboard_relay::db::sqlite_url(dir), None),
        Backend::Postgres => {
            let database = fresh_postgres_url().await.unwrap();
            (database.url.clone(), Some(database))
        }
    };
    (Db::connect(&url).await.unwrap(), database)
}

async fn a_backup_restored_into_an_empty_database_gives_back_the_same_data(backend: Backend) {
    let app = spawn_app(backend).await;
    // Some of everything: messages, a reply in the outbox, statuses, events, audit, sessions.
    let cookie = app.login().await;
    app.sandbox.customer_writes(NUMBER, "85290000001", "陳美玲", "備份 backup ✓");
    eventually("the message", || async { app.count("SELECT COUNT(*) FROM messages").await == 1 }).await;
    let (conversation,): (i64,) = sqlx::query_as("SELECT id FROM conversations").fetch_one(&app.relay.state.db.pool).await.unwrap();
    let r = app.post_api(&cookie, &format!("/api/v1/conversations/{conversation}/messages"), &json!({"text": "收到"})).await;
    assert_eq!(r.status(), 200);
    eventually("the reply read", || async { app.count("SELECT COUNT(*) FROM messages WHERE status = 'read'").await == 1 }).await;
    auth::upsert_user(&app.relay.state, "scoped@example.com", "S", PASSWORD, "Analyst", &Scope::Numbers([NUMBER.to_owned()].into()))
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.jsonl");
    let summary = backup::backup(&app.relay.state.db, &first).await.unwrap();
    assert_eq!(summary.tables, TABLES.len());
    assert!(summary.rows >= 20, "{summary:?}");

    let mut targets = vec![backend];
    if backend == Backend::Sqlite && std::env::var("DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        targets.push(Backend::Postgres); // moving an installation from SQLite to PostgreSQL
    }
    for (i, target) in targets.into_iter().enumerate() {
        let target_dir = dir.path().join(format!("target{i}"));
        std::fs::create_dir_all(&target_dir).unwrap();
        let (restored, _restored_database) = fresh_db(target, &target_dir).await;
        assert_eq!(backup::restore(&restored, &first).await.unwrap().rows, summary.rows);
        let second = dir.path().join(format!("second{i}.jsonl"));
        backup::backup(&restored, &second).await.unwrap();
        assert_eq!(body_of(&first), body_of(&second), "round trip into {target:?} changed the data");

        // Into a database that is not empty: refused, nothing added.
        let err = backup::restore(&restored, &first).await.unwrap_err().to_string();
        assert!(err.contains("empty database"), "{err}");
        // New rows still get fresh ids after the restore (sequences moved on).
        let (id,): (i64,) =
            sqlx::query_as("INSERT INTO contacts (wa_id, name, created_at, updated_at) VALUES ('85299999999', 'new', 0, 0) RETURNING id")
                .fetch_one(&restored.pool)
                .await
                .unwrap();
        let (max,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM contacts").fetch_one(&restored.pool).await.unwrap();
        assert_eq!(id, max);
    }

    // A cut-off file restores nothing.
    let text = std::fs::read_to_string(&first).unwrap();
    let cut = dir.path().join("cut.jsonl");
    std::fs::write(&cut, &text[..text.len() * 2 / 3]).unwrap();
    let empty_dir = dir.path().join("empty");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let (empty, _empty_database) = fresh_db(backend, &empty_dir).await;
    assert!(backup::restore(&empty, &cut).await.is_err());
    let (users,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users").fetch_one(&empty.pool).await.unwrap();
    assert_eq!(users, 0, "a failed restore left rows behind");
}
