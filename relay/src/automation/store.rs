//! The auto-reply tables (`auto_rules`, `auto_replies`), and what the rules read of a
//! conversation's messages. A number's hours are the numbers feature's; the automatic messages
//! themselves are the conversations feature's.

use sqlx::AnyConnection;
use switchboard_shared::support::{normalize, AutoRule, AutoRuleSpec};

use crate::error::Result;

#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    spec: String,
    answered: i64,
}

fn rule_of(row: RuleRow) -> Option<AutoRule> {
    match serde_json::from_str::<AutoRuleSpec>(&row.spec) {
        Ok(spec) => Some(AutoRule { id: row.id, spec, answered: row.answered }),
        Err(e) => {
            tracing::error!("auto-reply rule {} cannot be read ({e}); skipped", row.id);
            None
        }
    }
}

/// Every rule, oldest first.
pub async fn all_rules(conn: &mut AnyConnection) -> Result<Vec<AutoRule>> {
    let rows: Vec<RuleRow> = sqlx::query_as("SELECT id, spec, answered FROM auto_rules ORDER BY id").fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().filter_map(rule_of).collect())
}

pub async fn enabled_rules(conn: &mut AnyConnection) -> Result<Vec<AutoRule>> {
    Ok(all_rules(conn).await?.into_iter().filter(|r| r.spec.enabled).collect())
}

pub async fn rule(conn: &mut AnyConnection, id: i64) -> Result<Option<AutoRule>> {
    let row: Option<RuleRow> =
        sqlx::query_as("SELECT id, spec, answered FROM auto_rules WHERE id = $1").bind(id).fetch_optional(&mut *conn).await?;
    Ok(row.and_then(rule_of))
}

fn numbers_column(spec: &AutoRuleSpec) -> String {
    if spec.number_ids.is_empty() {
        String::new()
    } else {
        format!(",{},", spec.number_ids.join(","))
    }
}

pub async fn insert_rule(conn: &mut AnyConnection, spec: &AutoRuleSpec, now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO auto_rules (name, kind, spec, numbers, enabled, answered, created_at) VALUES ($1, $2, $3, $4, $5, 0, $6) RETURNING id",
    )
    .bind(&spec.name)
    .bind(spec.trigger.kind())
    .bind(serde_json::to_string(spec).map_err(anyhow::Error::from)?)
    .bind(numbers_column(spec))
    .bind(spec.enabled)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

pub async fn update_rule(conn: &mut AnyConnection, id: i64, spec: &AutoRuleSpec) -> Result<bool> {
    let done = sqlx::query("UPDATE auto_rules SET name = $1, kind = $2, spec = $3, numbers = $4, enabled = $5 WHERE id = $6")
        .bind(&spec.name)
        .bind(spec.trigger.kind())
        .bind(serde_json::to_string(spec).map_err(anyhow::Error::from)?)
        .bind(numbers_column(spec))
        .bind(spec.enabled)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn delete_rule(conn: &mut AnyConnection, id: i64) -> Result<bool> {
    sqlx::query("DELETE FROM auto_replies WHERE rule_id = $1").bind(id).execute(&mut *conn).await?;
    let done = sqlx::query("DELETE FROM auto_rules WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(done.rows_affected() == 1)
}

/// The rule answered the conversation at `at`.
pub async fn answered(conn: &mut AnyConnection, rule_id: i64, conversation_id: i64, at: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO auto_replies (rule_id, conversation_id, at) VALUES ($1, $2, $3)
         ON CONFLICT (rule_id, conversation_id) DO UPDATE SET at = excluded.at",
    )
    .bind(rule_id)
    .bind(conversation_id)
    .bind(at)
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE auto_rules SET answered = answered + 1 WHERE id = $1").bind(rule_id).execute(&mut *conn).await?;
    Ok(())
}

/// What the guards need to know of a conversation's automatic messages, read in one statement:
/// our latest automatic messages of the last 24 hours (up to 20, newest first: their text and
/// when) and when each rule last answered it.
pub struct History {
    pub recent: Vec<(String, i64)>,
    pub answered: std::collections::HashMap<i64, i64>,
}

impl History {
    /// Whether `normalized` repeats one of our recent automatic messages (another bot echoing).
    pub fn repeats(&self, normalized: &str) -> bool {
        self.recent.iter().any(|(body, _)| normalize(body) == normalized)
    }

    /// Our automatic messages since `since` (counted up to 20, enough for any hourly cap below it).
    pub fn automatic_since(&self, since: i64) -> i64 {
        self.recent.iter().filter(|(_, at)| *at >= since).count() as i64
    }

    /// Whether `rule` answered since `since`.
    pub fn answered_since(&self, rule: i64, since: i64) -> bool {
        self.answered.get(&rule).is_some_and(|at| *at >= since)
    }
}

pub async fn history(conn: &mut AnyConnection, conversation_id: i64, since: i64) -> Result<History> {
    let rows: Vec<(i64, String, i64)> = sqlx::query_as(
        "SELECT CAST(0 AS BIGINT) AS rule_id, body, created_at AS at FROM
           (SELECT body, created_at FROM messages WHERE conversation_id = $1 AND auto_rule IS NOT NULL AND created_at >= $2
            ORDER BY id DESC LIMIT 20) recent
         UNION ALL
         SELECT rule_id, '' AS body, at FROM auto_replies WHERE conversation_id = $1",
    )
    .bind(conversation_id)
    .bind(since)
    .fetch_all(&mut *conn)
    .await?;
    let mut history = History { recent: Vec::new(), answered: Default::default() };
    for (rule_id, body, at) in rows {
        if rule_id == 0 {
            history.recent.push((body, at));
        } else {
            history.answered.insert(rule_id, at);
        }
    }
    Ok(history)
}

/// Whether `message_id` is the customer's first message in the conversation (none of theirs
/// is older; a batch stores several at once, so counting them would miss the first).
pub async fn first_inbound(conn: &mut AnyConnection, conversation_id: i64, message_id: i64) -> Result<bool> {
    let earlier: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM messages WHERE conversation_id = $1 AND direction = 'inbound' AND id < $2 LIMIT 1")
            .bind(conversation_id)
            .bind(message_id)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(earlier.is_none())
}
