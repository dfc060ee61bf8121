//! `switchboard backup` and `switchboard restore`: the whole database as JSON lines, read in
//! one consistent snapshot and written back into an empty database of either kind (so a backup
//! also moves an installation from SQLite to PostgreSQL).
//!
//! File: a header line, then per table a line naming its columns and types followed by one
//! JSON array per row (bytes as base64), then an end line with the row count, so a cut-off file
//! is refused instead of half restored.

use std::io::{BufRead, Write};
use std::path::Path;

use anyhow::{bail, Context};
use base64::Engine;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::{AnyConnection, Row};

use crate::clock::now_ms;
use crate::db::{Backend, Db};

/// Every table, parents before children. A table in the database but not here fails a backup,
/// so a new table cannot be silently left out.
pub const TABLES: &[&str] = &[
    "numbers",
    "roles",
    "users",
    "user_numbers",
    "sessions",
    "webhook_inbox",
    "dead_letters",
    "contacts",
    "conversations",
    "messages",
    "media",
    "message_statuses",
    "outbox",
    "events",
    "audit_log",
    "groups",
    "settings",
    "segments",
    "templates",
    "broadcasts",
    "broadcast_recipients",
    "contact_imports",
    "group_members",
    "group_join_requests",
    "lid_map",
    "linked_devices",
    "group_jobs",
    "group_job_items",
    "group_adds",
    "group_creations",
    "auto_rules",
    "auto_replies",
    "conversation_activity",
    "canned_replies",
];

const FORMAT: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    Int,
    Text,
    Bytes,
    Bool,
}

#[derive(Serialize, Deserialize)]
struct Header {
    switchboard_backup: u32,
    backend: String,
    created_at: i64,
}

#[derive(Serialize, Deserialize)]
struct TableHeader {
    table: String,
    columns: Vec<String>,
    kinds: Vec<Kind>,
}

#[derive(Serialize, Deserialize)]
struct End {
    end: bool,
    rows: u64,
}

/// What a backup or restore did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub tables: usize,
    pub rows: u64,
}

async fn tables_in(db: &Db, conn: &mut AnyConnection) -> anyhow::Result<Vec<String>> {
    let sql = match db.backend {
        Backend::Sqlite => {
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> '_sqlx_migrations'"
        }
        Backend::Postgres => {
            "SELECT CAST(table_name AS TEXT) FROM information_schema.tables
             WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> '_sqlx_migrations'"
        }
    };
    let rows: Vec<(String,)> = sqlx::query_as(sql).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

async fn columns_of(db: &Db, conn: &mut AnyConnection, table: &str) -> anyhow::Result<Vec<(String, Kind)>> {
    let rows: Vec<(String, String)> = match db.backend {
        Backend::Sqlite => {
            sqlx::query_as("SELECT name, type FROM pragma_table_info($1) ORDER BY cid").bind(table).fetch_all(&mut *conn).await?
        }
        Backend::Postgres => {
            sqlx::query_as(
                "SELECT CAST(column_name AS TEXT), CAST(data_type AS TEXT) FROM information_schema.columns
                 WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position",
            )
            .bind(table)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    rows.into_iter()
        .map(|(name, ty)| {
            let ty = ty.to_ascii_lowercase();
            let kind = if ty.contains("bool") {
                Kind::Bool
            } else if ty.contains("int") || ty.contains("serial") {
                Kind::Int
            } else if ty.contains("blob") || ty.contains("bytea") {
                Kind::Bytes
            } else if ty.contains("text") || ty.contains("char") {
                Kind::Text
            } else {
                bail!("{table}.{name} has a type ({ty}) backups do not know");
            };
            Ok((name, kind))
        })
        .collect()
}

/// Writes the whole database to `path`.
pub async fn backup(db: &Db, path: &Path) -> anyhow::Result<Summary> {
    let file = std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::new(file);
    let mut tx = db.pool.begin().await?;
    if db.backend == Backend::Postgres {
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    }
    let present = tables_in(db, &mut tx).await?;
    if let Some(unknown) = present.iter().find(|t| !TABLES.contains(&t.as_str())) {
        bail!("table {unknown} is not in backup::TABLES; add it there (parents before children)");
    }
    let header = Header { switchboard_backup: FORMAT, backend: format!("{:?}", db.backend).to_lowercase(), created_at: now_ms() };
    writeln!(out, "{}", serde_json::to_string(&header)?)?;
    let mut rows = 0u64;
    let b64 = base64::engine::general_purpose::STANDARD;
    for table in TABLES {
        let columns = columns_of(db, &mut tx, table).await?;
        let th = TableHeader {
            table: (*table).to_owned(),
            columns: columns.iter().map(|c| c.0.clone()).collect(),
            kinds: columns.iter().map(|c| c.1).collect(),
        };
        writeln!(out, "{}", serde_json::to_string(&th)?)?;
        let select: Vec<String> = columns
            .iter()
            .map(|(name, kind)| match kind {
                Kind::Bool => format!("CASE WHEN {name} IS NULL THEN NULL WHEN {name} THEN 1 ELSE 0 END"),
                _ => name.clone(),
            })
            .collect();
        // Ordered by every column, so the same data always gives the same file.
        let order: Vec<String> = (1..=columns.len()).map(|i| i.to_string()).collect();
        let sql = format!("SELECT {} FROM {table} ORDER BY {}", select.join(", "), order.join(", "));
        let mut stream = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *tx);
        while let Some(row) = stream.try_next().await? {
            let mut values = Vec::with_capacity(columns.len());
            for (i, (_, kind)) in columns.iter().enumerate() {
                values.push(match kind {
                    Kind::Int => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, Value::from),
                    Kind::Bool => row.try_get::<Option<i64>, _>(i)?.map_or(Value::Null, |v| Value::Bool(v != 0)),
                    Kind::Text => row.try_get::<Option<String>, _>(i)?.map_or(Value::Null, Value::from),
                    Kind::Bytes => row.try_get::<Option<Vec<u8>>, _>(i)?.map_or(Value::Null, |b| Value::from(b64.encode(b))),
                });
            }
            writeln!(out, "{}", serde_json::to_string(&values)?)?;
            rows += 1;
        }
    }
    drop(tx);
    writeln!(out, "{}", serde_json::to_string(&End { end: true, rows })?)?;
    out.flush()?;
    out.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    Ok(Summary { tables: TABLES.len(), rows })
}

/// Reads a backup into `db`, which must be empty; all or nothing.
pub async fn restore(db: &Db, path: &Path) -> anyhow::Result<Summary> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let first = lines.next().context("the backup file is empty")??;
    let header: Header = serde_json::from_str(&first).context("not a Switchboard backup (no header line)")?;
    if header.switchboard_backup != FORMAT {
        bail!("backup format {} is not supported (this version reads {FORMAT})", header.switchboard_backup);
    }
    let mut tx = db.pool.begin().await?;
    for table in TABLES {
        let (n,): (i64,) = sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(&mut *tx).await?;
        if n > 0 {
            bail!("restore needs an empty database, but {table} has {n} rows; point --data-dir or --database-url at a new one");
        }
    }
    let b64 = base64::engine::general_purpose::STANDARD;
    let mut current: Option<(TableHeader, String)> = None;
    let mut rows = 0u64;
    let mut ended = None;
    for (number, line) in lines.enumerate() {
        let line = line?;
        let at = number + 2;
        if line.starts_with('{') {
            if let Ok(end) = serde_json::from_str::<End>(&line) {
                ended = Some(end.rows);
                break;
            }
            let th: TableHeader = serde_json::from_str(&line).with_context(|| format!("line {at}: not a table header"))?;
            if !TABLES.contains(&th.table.as_str()) {
                bail!("line {at}: unknown table {}", th.table);
            }
            let target = columns_of(db, &mut tx, &th.table).await?;
            for c in &th.columns {
                if !target.iter().any(|(name, _)| name == c) {
                    bail!("line {at}: {}.{c} does not exist in this database's schema", th.table);
                }
            }
            let placeholders: Vec<String> = (1..=th.columns.len()).map(|i| format!("${i}")).collect();
            let sql = format!("INSERT INTO {} ({}) VALUES ({})", th.table, th.columns.join(", "), placeholders.join(", "));
            current = Some((th, sql));
            continue;
        }
        let (th, sql) = current.as_ref().with_context(|| format!("line {at}: a row before any table header"))?;
        let values: Vec<Value> = serde_json::from_str(&line).with_context(|| format!("line {at}: not a row"))?;
        if values.len() != th.columns.len() {
            bail!("line {at}: {} values for {} columns", values.len(), th.columns.len());
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for (value, kind) in values.iter().zip(&th.kinds) {
            query = match kind {
                Kind::Int => query.bind(value.as_i64()),
                Kind::Bool => query.bind(value.as_bool()),
                Kind::Text => query.bind(value.as_str().map(str::to_owned)),
                Kind::Bytes => query.bind(match value.as_str() {
                    Some(s) => Some(b64.decode(s).with_context(|| format!("line {at}: bad base64"))?),
                    None => None,
                }),
            };
        }
        query.execute(&mut *tx).await.with_context(|| format!("line {at}: inserting into {}", th.table))?;
        rows += 1;
    }
    match ended {
        Some(expected) if expected == rows => {}
        Some(expected) => bail!("the backup says {expected} rows but holds {rows}; nothing was restored"),
        None => bail!("the backup file is cut off (no end line); nothing was restored"),
    }
    if db.backend == Backend::Postgres {
        // Explicit ids leave the sequences behind; move each to its table's largest value.
        for table in TABLES {
            for (column, kind) in columns_of(db, &mut tx, table).await? {
                if kind != Kind::Int {
                    continue;
                }
                let seq: (Option<String>,) = sqlx::query_as("SELECT CAST(pg_get_serial_sequence($1, $2) AS TEXT)")
                    .bind(*table)
                    .bind(&column)
                    .fetch_one(&mut *tx)
                    .await?;
                if let (Some(seq),) = seq {
                    sqlx::query(sqlx::AssertSqlSafe(format!(
                        "SELECT CAST(setval('{seq}', COALESCE(MAX({column}), 1), MAX({column}) IS NOT NULL) AS BIGINT) FROM {table}"
                    )))
                    .execute(&mut *tx)
                    .await?;
                }
            }
        }
    }
    tx.commit().await?;
    Ok(Summary { tables: TABLES.len(), rows })
}
