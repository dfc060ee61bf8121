//! Storage: one code path over SQLite (embedded default) and PostgreSQL, through sqlx's Any
//! driver. Both dialects share the SQL the relay writes (`$n` parameters, `ON CONFLICT`,
//! `RETURNING`); only the migrations differ.

pub mod backup;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, ConnectOptions, Executor};

/// Which database is behind the pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// The pool and what it talks to.
#[derive(Debug, Clone)]
pub struct Db {
    pub pool: AnyPool,
    pub backend: Backend,
}

/// How long background work (the processor, lanes, the recorder, imports) waits before trying
/// again when the database refused it.
pub const RETRY_AFTER_ERROR: Duration = Duration::from_secs(1);
/// Statements slower than this are logged as warnings.
const SLOW_STATEMENT: Duration = Duration::from_secs(2);
/// How long a request waits for a pooled connection before it fails.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// Where the SQLite file lives inside a data directory.
pub fn sqlite_url(data_dir: &Path) -> String {
    format!("sqlite://{}?mode=rwc", data_dir.join("switchboard.db").display())
}

impl Db {
    /// Connects and runs pending migrations. `postgres://…` selects PostgreSQL; anything else
    /// must be a `sqlite:` URL.
    pub async fn connect(url: &str) -> anyhow::Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            anyhow::bail!("unsupported database URL (expected sqlite:… or postgres://…)");
        };
        let options = AnyConnectOptions::from_str(url)
            .context("parsing the database URL")?
            .log_statements(tracing::log::LevelFilter::Trace)
            .log_slow_statements(tracing::log::LevelFilter::Warn, SLOW_STATEMENT);
        let mut pool_options = AnyPoolOptions::new().acquire_timeout(ACQUIRE_TIMEOUT);
        pool_options = match backend {
            // SQLite has one writer at a time. With several connections, a writer that finds the
            // lock taken sleeps in SQLite's busy handler (in steps up to 100 ms) long after the
            // lock is free. One connection makes the pool's fair queue the only wait.
            // A 64 MiB page cache and reads through a memory map keep a busy day's tables off the
            // read system calls (they were a fifth of the database thread's time).
            Backend::Sqlite => pool_options.max_connections(1).after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON;
                         PRAGMA cache_size = -65536; PRAGMA mmap_size = 268435456; PRAGMA temp_store = MEMORY;",
                    )
                    .await?;
                    Ok(())
                })
            }),
            Backend::Postgres => pool_options.max_connections(16),
        };
        let pool = pool_options.connect_with(options).await.context("connecting to the database")?;
        let migrator = match backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator.run(&pool).await.context("running migrations")?;
        Ok(Db { pool, backend })
    }
}

/// How many of `remaining` rows the next bulk statement takes: 64, 16, 4 or 1. Fixed sizes
/// keep the statement texts few, so their prepared statements are reused.
pub fn chunk_size(remaining: usize) -> usize {
    [64, 16, 4, 1].into_iter().find(|c| *c <= remaining).unwrap_or(1)
}

/// `rows` cut into the chunks bulk statements take, in order ([`chunk_size`] each).
pub fn chunks<T>(rows: &[T]) -> impl Iterator<Item = &[T]> {
    let mut rest = rows;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let (chunk, tail) = rest.split_at(chunk_size(rest.len()));
        rest = tail;
        Some(chunk)
    })
}

/// `($1, $2, …), (…), …` for a multi-row INSERT of `rows` rows of `columns` values each, in the
/// `$n` style both backends accept (sqlx's query builder writes `?` for the Any driver, which
/// PostgreSQL refuses).
pub fn values_placeholders(rows: usize, columns: usize) -> String {
    values_placeholders_after(0, rows, columns)
}

/// [`values_placeholders`] numbered after the statement's first `offset` parameters.
pub fn values_placeholders_after(offset: usize, rows: usize, columns: usize) -> String {
    (0..rows)
        .map(|r| {
            let row: Vec<String> = (1..=columns).map(|c| format!("${}", offset + r * columns + c)).collect();
            format!("({})", row.join(", "))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$n, $n+1, …` for an `IN (…)` list of `count` values after the statement's first `offset`
/// parameters.
pub fn list_placeholders_after(offset: usize, count: usize) -> String {
    (1..=count).map(|i| format!("${}", offset + i)).collect::<Vec<_>>().join(", ")
}

/// Every row of a query whose `IN (…)` list is `values`: `sql` is given the list's placeholders
/// and run once per chunk of values ([`chunk_size`]), each bound to its chunk.
pub async fn select_in<T>(conn: &mut sqlx::AnyConnection, values: &[&str], sql: impl Fn(&str) -> String) -> Result<Vec<T>, sqlx::Error>
where
    T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    let mut rows = Vec::new();
    for chunk in chunks(values) {
        // Only placeholders are formatted into the text; the values are bound.
        let text = for_backend(conn, sql(&list_placeholders_after(0, chunk.len())));
        let mut query = sqlx::query_as::<_, T>(sqlx::AssertSqlSafe(text));
        for value in chunk {
            query = query.bind(*value);
        }
        rows.extend(query.fetch_all(&mut *conn).await?);
    }
    Ok(rows)
}

/// A bulk statement for the connection's backend. PostgreSQL takes `$n` as written; SQLite gets
/// anonymous `?`. sqlx binds each named SQLite parameter by asking SQLite for its name, which
/// SQLite answers with a linear scan, so a statement with thousands of `$n` (a multi-row
/// `VALUES`) costs time quadratic in its size: at ten thousand sends a second that was most of
/// the relay's CPU. The `$n` must appear once each, in order, as the statements built with
/// [`values_placeholders`] and [`list_placeholders_after`] do; the SQL must hold no `$` of its
/// own (these statements are ours, never outside text).
pub fn for_backend(conn: &sqlx::AnyConnection, sql: String) -> String {
    if conn.backend_name() != <sqlx::Sqlite as sqlx::Database>::NAME {
        return sql;
    }
    positional(&sql)
}

fn positional(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    let mut expected = 1;
    while let Some(c) = chars.next() {
        if c != '$' || !chars.peek().is_some_and(char::is_ascii_digit) {
            out.push(c);
            continue;
        }
        let mut n = 0_usize;
        while let Some(d) = chars.peek().and_then(|d| d.to_digit(10)) {
            n = n * 10 + d as usize;
            chars.next();
        }
        assert_eq!(n, expected, "bulk statement parameters must be numbered in order: {sql}");
        expected += 1;
        out.push('?');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn numbered_parameters_become_positional_in_order() {
        let sql = format!(
            "UPDATE t SET a = $1 FROM (VALUES {}) AS v WHERE b IN ({})",
            super::values_placeholders_after(1, 2, 2),
            super::list_placeholders_after(5, 2)
        );
        assert_eq!(sql, "UPDATE t SET a = $1 FROM (VALUES ($2, $3), ($4, $5)) AS v WHERE b IN ($6, $7)");
        assert_eq!(super::positional(&sql), "UPDATE t SET a = ? FROM (VALUES (?, ?), (?, ?)) AS v WHERE b IN (?, ?)");
        assert_eq!(super::positional("SELECT '$' || x"), "SELECT '$' || x");
    }

    #[test]
    #[should_panic(expected = "in order")]
    fn parameters_out_of_order_are_refused() {
        super::positional("SELECT $2, $1");
    }
}
