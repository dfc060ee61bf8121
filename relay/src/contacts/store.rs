//! The contacts and contact_imports tables: reading every contact for segments, saving imported
//! rows, finishing an import.

use std::collections::HashMap;

use futures::future::BoxFuture;
use sqlx::{AnyConnection, AnyPool};
use switchboard_shared::api::{Event, ImportMapping, ImportStatus, SavedSegment};
use switchboard_shared::segment::SegmentContact;

use super::import::*;
use crate::clock::now_ms;
use crate::error::Result;
use crate::outbox::outcomes::{OutcomeListener, SendOutcome};

/// Saves parsed rows, merging into existing contacts, inside the caller's transaction. Returns
/// (created, updated).
pub(super) async fn save_rows(tx: &mut AnyConnection, rows: &[(String, Row)]) -> Result<(u64, u64)> {
    let existing: Vec<(String, String, String)> =
        sqlx::query_as("SELECT wa_id, tags, attributes FROM contacts").fetch_all(&mut *tx).await?;
    let existing: HashMap<String, (String, String)> = existing.into_iter().map(|(w, t, a)| (w, (t, a))).collect();
    let now = now_ms();
    let (mut created, mut updated) = (0, 0);
    for chunk in rows.chunks(WRITE_CHUNK) {
        let mut merged: Vec<(String, Option<String>, String, String, bool)> = Vec::with_capacity(chunk.len());
        for (phone, row) in chunk {
            let mut row = row.clone();
            let mut opted_in = row.opted_in.unwrap_or(false);
            if let Some((tags, attributes)) = existing.get(phone) {
                updated += 1;
                let mut base =
                    Row { tags: split_list(tags), attributes: serde_json::from_str(attributes).unwrap_or_default(), ..Row::default() };
                base.merge(row);
                row = base;
                opted_in = row.opted_in.unwrap_or(false);
            } else {
                created += 1;
            }
            let attributes = serde_json::to_string(&row.attributes).map_err(anyhow::Error::from)?;
            merged.push((phone.clone(), row.name.clone(), row.tags.join(","), attributes, opted_in));
        }
        // Consent only changes when the file has an opt-in value: otherwise the old one stays.
        let opt_sql = if chunk.iter().any(|(_, r)| r.opted_in.is_some()) { "excluded.opted_in" } else { "contacts.opted_in" };
        let sql = format!(
            "INSERT INTO contacts (wa_id, name, tags, attributes, opted_in, created_at, updated_at) VALUES {}
             ON CONFLICT (wa_id) DO UPDATE SET name = COALESCE(excluded.name, contacts.name), tags = excluded.tags,
               attributes = excluded.attributes, opted_in = {opt_sql}, updated_at = excluded.updated_at",
            crate::db::values_placeholders(merged.len(), 7)
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(&*tx, sql)));
        for (phone, name, tags, attributes, opted_in) in merged {
            q = q.bind(phone).bind(name).bind(tags).bind(attributes).bind(opted_in).bind(now).bind(now);
        }
        q.execute(&mut *tx).await?;
    }
    Ok((created, updated))
}

pub(super) async fn finish_import(tx: &mut AnyConnection, id: i64, status: &ImportStatus, rejected: &[u8]) -> Result<()> {
    sqlx::query("UPDATE contact_imports SET status = $1, rejected_csv = $2, finished = TRUE, body = NULL WHERE id = $3")
        .bind(serde_json::to_string(status).map_err(anyhow::Error::from)?)
        .bind(rejected.to_vec())
        .bind(id)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// A contact as stored.
#[derive(sqlx::FromRow)]
pub(super) struct ContactRow {
    id: i64,
    wa_id: String,
    name: Option<String>,
    /// Comma-separated.
    tags: String,
    /// Typed attributes as JSON.
    attributes: String,
    /// 0 or 1: the Any driver cannot decode SQLite booleans.
    opted_in: i64,
    opted_out_at: Option<i64>,
    last_inbound_at: Option<i64>,
    last_outbound_at: Option<i64>,
    /// Comma-separated number ids.
    numbers: String,
}

pub(super) const CONTACT_COLUMNS: &str = "id, wa_id, name, tags, attributes, CASE WHEN opted_in THEN 1 ELSE 0 END AS opted_in, \
     opted_out_at, last_inbound_at, last_outbound_at, numbers";

pub(super) fn contact_from_row(r: ContactRow, replied: &HashMap<String, Vec<i64>>) -> (String, Option<String>, SegmentContact) {
    let fields = SegmentContact {
        id: r.id,
        tags: split_list(&r.tags),
        attributes: serde_json::from_str(&r.attributes).unwrap_or_default(),
        opted_in: r.opted_in != 0 && r.opted_out_at.is_none(),
        opted_out: r.opted_out_at.is_some(),
        last_inbound_at: r.last_inbound_at,
        last_outbound_at: r.last_outbound_at,
        numbers: split_list(&r.numbers),
        replied_broadcasts: replied.get(&r.wa_id).cloned().unwrap_or_default(),
    };
    (r.wa_id, r.name, fields)
}

/// Every contact with its segment fields (the relay's side of segment evaluation).
pub async fn load_all(conn: &mut AnyConnection) -> Result<Vec<(String, Option<String>, SegmentContact)>> {
    let replied_rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT contact, broadcast_id FROM broadcast_recipients WHERE replied_at IS NOT NULL").fetch_all(&mut *conn).await?;
    let mut replied: HashMap<String, Vec<i64>> = HashMap::new();
    for (c, b) in replied_rows {
        replied.entry(c).or_default().push(b);
    }
    let rows: Vec<ContactRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts ORDER BY id"))).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|r| contact_from_row(r, &replied)).collect())
}

/// Contacts per statement when marking the last outbound time.
const TOUCH_CHUNK: usize = 500;

/// Keeps each contact's last outbound time in step with the sends Meta accepted for them.
pub struct SendListener;

impl OutcomeListener for SendListener {
    fn record<'a>(
        &'a self,
        conn: &'a mut AnyConnection,
        outcomes: &'a [SendOutcome<'a>],
        at: i64,
        _events: &'a mut Vec<Event>,
    ) -> BoxFuture<'a, Result<()>> {
        Box::pin(async move {
            let mut recipients: Vec<&str> = outcomes
                .iter()
                .filter_map(|o| match *o {
                    SendOutcome::Accepted { recipient, .. } => recipient,
                    SendOutcome::Failed { .. } | SendOutcome::Settled { .. } | SendOutcome::NumberStopped { .. } => None,
                })
                .collect();
            recipients.sort_unstable();
            recipients.dedup();
            for chunk in recipients.chunks(TOUCH_CHUNK) {
                let sql = format!(
                    "UPDATE contacts SET last_outbound_at = $1 WHERE wa_id IN ({})",
                    crate::db::list_placeholders_after(1, chunk.len())
                );
                let mut q = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(&*conn, sql))).bind(at);
                for r in chunk {
                    q = q.bind(*r);
                }
                q.execute(&mut *conn).await?;
            }
            Ok(())
        })
    }
}

/// A customer wrote to a number at `at`, under their profile's name if it has one.
#[derive(Clone, Copy)]
pub struct Heard<'a> {
    pub wa_id: &'a str,
    pub name: Option<&'a str>,
    pub number_id: &'a str,
    pub at: i64,
}

/// Customers wrote: each contact exists (named from their profile if we had no name), talks
/// to the numbers they wrote to, and last wrote at their latest `at` (unless a later message is
/// known). Set-based: one row per (customer, number), up to 64 in a statement; a statement may
/// touch a contact once, so a customer who wrote to two numbers goes in two rounds.
pub async fn heard_from(conn: &mut AnyConnection, heard: &[Heard<'_>], now: i64) -> Result<()> {
    let mut rounds: Vec<Vec<Heard>> = Vec::new();
    let mut placed: HashMap<(&str, &str), (usize, usize)> = HashMap::new();
    let mut numbers_of: HashMap<&str, usize> = HashMap::new();
    for h in heard {
        if let Some(&(round, i)) = placed.get(&(h.wa_id, h.number_id)) {
            let row = &mut rounds[round][i];
            row.at = row.at.max(h.at);
            row.name = h.name.or(row.name);
            continue;
        }
        let round = numbers_of.entry(h.wa_id).or_default();
        if rounds.len() <= *round {
            rounds.push(Vec::new());
        }
        placed.insert((h.wa_id, h.number_id), (*round, rounds[*round].len()));
        rounds[*round].push(*h);
        *round += 1;
    }
    for round in &rounds {
        for chunk in crate::db::chunks(round) {
            let sql = format!(
                "INSERT INTO contacts (wa_id, name, created_at, updated_at, last_inbound_at, numbers) VALUES {}
                 ON CONFLICT (wa_id) DO UPDATE SET name = COALESCE(excluded.name, contacts.name), updated_at = excluded.updated_at,
                   last_inbound_at = CASE WHEN contacts.last_inbound_at IS NULL OR excluded.last_inbound_at > contacts.last_inbound_at
                                          THEN excluded.last_inbound_at ELSE contacts.last_inbound_at END,
                   numbers = CASE WHEN (',' || contacts.numbers || ',') LIKE ('%,' || excluded.numbers || ',%') THEN contacts.numbers
                                  WHEN contacts.numbers = '' THEN excluded.numbers
                                  ELSE contacts.numbers || ',' || excluded.numbers END",
                crate::db::values_placeholders(chunk.len(), 6)
            );
            // Only placeholders are formatted into the text; the values are bound.
            let mut query = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(&*conn, sql)));
            for h in chunk {
                query = query.bind(h.wa_id).bind(h.name).bind(now).bind(now).bind(h.at).bind(h.number_id);
            }
            query.execute(&mut *conn).await?;
        }
    }
    Ok(())
}

/// People wrote in groups, (who, profile name): they are known (by name, if their profile has
/// one), but a group message is not a conversation with them. Set-based, like [`heard_from`].
pub async fn seen_in_groups(conn: &mut AnyConnection, seen: &[(&str, Option<&str>)], now: i64) -> Result<()> {
    let mut once: Vec<(&str, Option<&str>)> = Vec::new();
    let mut placed: HashMap<&str, usize> = HashMap::new();
    for &(wa_id, name) in seen {
        match placed.get(wa_id) {
            Some(&i) => once[i].1 = name.or(once[i].1),
            None => {
                placed.insert(wa_id, once.len());
                once.push((wa_id, name));
            }
        }
    }
    for chunk in crate::db::chunks(&once) {
        let sql = format!(
            "INSERT INTO contacts (wa_id, name, created_at, updated_at) VALUES {}
             ON CONFLICT (wa_id) DO UPDATE SET name = COALESCE(excluded.name, contacts.name), updated_at = excluded.updated_at",
            crate::db::values_placeholders(chunk.len(), 4)
        );
        // Only placeholders are formatted into the text; the values are bound.
        let mut query = sqlx::query(sqlx::AssertSqlSafe(crate::db::for_backend(&*conn, sql)));
        for (wa_id, name) in chunk {
            query = query.bind(*wa_id).bind(*name).bind(now).bind(now);
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The contact asked for no more marketing at `at`; false if they already had.
pub async fn opt_out(conn: &mut AnyConnection, wa_id: &str, at: i64) -> Result<bool> {
    let changed =
        sqlx::query("UPDATE contacts SET opted_out_at = $1, opted_in = FALSE, updated_at = $1 WHERE wa_id = $2 AND opted_out_at IS NULL")
            .bind(at)
            .bind(wa_id)
            .execute(&mut *conn)
            .await?
            .rows_affected();
    Ok(changed > 0)
}

pub(super) async fn contact_by_id(conn: &mut AnyConnection, id: i64) -> Result<Option<ContactRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE id = $1")))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub(super) async fn set_tags(conn: &mut AnyConnection, id: i64, tags: &[String], now: i64) -> Result<()> {
    sqlx::query("UPDATE contacts SET tags = $1, updated_at = $2 WHERE id = $3")
        .bind(tags.join(","))
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Consent given (which also lifts an opt-out) or withdrawn.
pub(super) async fn set_opted_in(conn: &mut AnyConnection, id: i64, opted_in: bool, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE contacts SET opted_in = $1, opted_out_at = CASE WHEN $1 THEN NULL ELSE opted_out_at END, updated_at = $2 WHERE id = $3",
    )
    .bind(opted_in)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Opted out now (which also withdraws consent), or the opt-out lifted.
pub(super) async fn set_opted_out(conn: &mut AnyConnection, id: i64, opted_out: bool, now: i64) -> Result<()> {
    sqlx::query(
        "UPDATE contacts SET opted_out_at = $1, opted_in = CASE WHEN $2 THEN FALSE ELSE opted_in END, updated_at = $3 WHERE id = $4",
    )
    .bind(opted_out.then_some(now))
    .bind(opted_out)
    .bind(now)
    .bind(id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stores an accepted import (its file and mapping) before it runs; returns its id.
pub(super) async fn store_import(conn: &mut AnyConnection, owner: i64, mapping: &ImportMapping, body: &[u8], now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO contact_imports (owner, mapping, body, status, finished, created_at) VALUES ($1, $2, $3, $4, FALSE, $5) RETURNING id",
    )
    .bind(owner)
    .bind(serde_json::to_string(mapping).map_err(anyhow::Error::from)?)
    .bind(body.to_vec())
    .bind(serde_json::to_string(&ImportStatus::default()).map_err(anyhow::Error::from)?)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Imports a stopped relay left unfinished: (id, mapping, file).
pub(super) async fn unfinished_imports(pool: &AnyPool) -> Result<Vec<(i64, String, Option<Vec<u8>>)>> {
    Ok(sqlx::query_as("SELECT id, mapping, body FROM contact_imports WHERE finished = FALSE ORDER BY id").fetch_all(pool).await?)
}

/// An import's (owner, stored status, finished as 0/1).
pub(super) async fn import_row(pool: &AnyPool, id: i64) -> Result<Option<(i64, String, i64)>> {
    Ok(sqlx::query_as("SELECT owner, status, CASE WHEN finished THEN 1 ELSE 0 END FROM contact_imports WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await?)
}

/// The rejected-rows CSV of a finished import.
pub(super) async fn rejected_rows(pool: &AnyPool, id: i64) -> Result<Option<Vec<u8>>> {
    let (rejected,): (Option<Vec<u8>>,) =
        sqlx::query_as("SELECT rejected_csv FROM contact_imports WHERE id = $1").bind(id).fetch_one(pool).await?;
    Ok(rejected)
}

pub(super) async fn segments(pool: &AnyPool) -> Result<Vec<SavedSegment>> {
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT id, name, expression FROM segments ORDER BY name").fetch_all(pool).await?;
    Ok(rows.into_iter().map(|(id, name, expression)| SavedSegment { id, name, expression }).collect())
}

/// Saves a named segment (a second save under a name replaces it); returns its id.
pub(super) async fn save_segment(conn: &mut AnyConnection, name: &str, expression: &str, by: i64, now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO segments (name, expression, created_by, created_at) VALUES ($1, $2, $3, $4)
         ON CONFLICT (name) DO UPDATE SET expression = excluded.expression RETURNING id",
    )
    .bind(name)
    .bind(expression)
    .bind(by)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// False if there was no such segment.
pub(super) async fn delete_segment(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    Ok(sqlx::query("DELETE FROM segments WHERE id = $1").bind(id).execute(&mut *conn).await?.rows_affected() > 0)
}

/// A stored setting (JSON text), if saved.
pub(super) async fn setting(conn: &mut AnyConnection, key: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(key).fetch_optional(&mut *conn).await?;
    Ok(row.map(|(v,)| v))
}

pub(super) async fn save_setting(conn: &mut AnyConnection, key: &str, value: &str) -> Result<()> {
    sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")
        .bind(key)
        .bind(value)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// A contact to add as it is.
pub struct NewContact<'a> {
    pub wa_id: &'a str,
    pub name: &'a str,
    /// Comma-separated.
    pub tags: &'a str,
    /// The typed attributes as JSON.
    pub attributes: &'a str,
    pub opted_in: bool,
    /// Comma-separated number ids.
    pub numbers: &'a str,
    pub last_inbound_at: Option<i64>,
}

/// Adds a contact unless one with that phone exists (the demo's seed).
pub async fn add_contact(conn: &mut AnyConnection, c: &NewContact<'_>, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO contacts (wa_id, name, created_at, updated_at, tags, attributes, opted_in, numbers, last_inbound_at)
         VALUES ($1, $2, $3, $3, $4, $5, $6, $7, $8) ON CONFLICT (wa_id) DO NOTHING",
    )
    .bind(c.wa_id)
    .bind(c.name)
    .bind(now)
    .bind(c.tags)
    .bind(c.attributes)
    .bind(c.opted_in)
    .bind(c.numbers)
    .bind(c.last_inbound_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
