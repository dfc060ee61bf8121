//! The audit log: who did what, when, to what, with before and after. Written in the same
//! transaction as the change it records; the table refuses updates and deletes.

use axum::extract::{Query, State};
use axum::Json;
use serde::Deserialize;
use serde_json::Value;
use switchboard_shared::access::Permission;
use switchboard_shared::api::AuditEntry;

use crate::access::AuthUser;
use crate::db::now_ms;
use crate::error::Result;
use crate::AppState;

/// Who did it.
#[derive(Clone, Copy)]
pub enum Actor<'a> {
    /// A signed-in user.
    User(&'a AuthUser),
    /// `switchboard` on the command line.
    Cli,
    /// Someone using a one-time set-password link (the user it belongs to).
    Link(i64),
    /// The relay itself (e.g. pausing broadcasts when a number's quality falls).
    System,
}

impl<'a> From<&'a AuthUser> for Actor<'a> {
    fn from(user: &'a AuthUser) -> Self {
        Actor::User(user)
    }
}

/// Appends one entry.
pub async fn record(
    conn: &mut sqlx::AnyConnection,
    actor: impl Into<Actor<'_>>,
    action: &str,
    target: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    let (actor_id, actor) = match actor.into() {
        Actor::User(u) => (Some(u.id), u.email.as_str()),
        Actor::Cli => (None, "cli"),
        Actor::Link(id) => (Some(id), "link"),
        Actor::System => (None, "system"),
    };
    sqlx::query("INSERT INTO audit_log (at, actor_id, actor, action, target, before, after) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(now_ms())
        .bind(actor_id)
        .bind(actor)
        .bind(action)
        .bind(target)
        .bind(before.map(|v| v.to_string()))
        .bind(after.map(|v| v.to_string()))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    /// Words that must all appear in the actor, action, target, before or after.
    pub q: Option<String>,
    /// Exact action, or a prefix ending in `.` (`agent.`).
    pub action: Option<String>,
    pub actor: Option<String>,
    pub from: Option<i64>,
    pub to: Option<i64>,
    /// Entries older than this id (paging backwards).
    pub before_id: Option<i64>,
    pub limit: Option<i64>,
}

/// `GET /api/v1/audit`: newest first, filtered and searched.
pub async fn list(State(state): State<AppState>, user: AuthUser, Query(q): Query<AuditQuery>) -> Result<Json<Vec<AuditEntry>>> {
    user.require(Permission::ViewReports)?;
    let mut conditions = vec!["1 = 1".to_owned()];
    let mut binds: Vec<String> = Vec::new();
    let mut push = |conditions: &mut Vec<String>, sql: &str, value: String| {
        binds.push(value);
        conditions.push(sql.replace('?', &format!("${}", binds.len())));
    };
    for word in q.q.as_deref().unwrap_or("").split_whitespace() {
        let like = format!("%{}%", word.to_lowercase());
        push(
            &mut conditions,
            "LOWER(actor || ' ' || action || ' ' || target || ' ' || COALESCE(before, '') || ' ' || COALESCE(after, '')) LIKE ?",
            like,
        );
    }
    if let Some(action) = q.action.as_deref().filter(|a| !a.is_empty()) {
        if action.ends_with('.') {
            push(&mut conditions, "action LIKE ?", format!("{action}%"));
        } else {
            push(&mut conditions, "action = ?", action.to_owned());
        }
    }
    if let Some(actor) = q.actor.as_deref().filter(|a| !a.is_empty()) {
        push(&mut conditions, "LOWER(actor) = ?", actor.to_lowercase());
    }
    let mut sql = format!(
        "SELECT id, at, actor_id, actor, action, target, before, after FROM audit_log WHERE {}",
        conditions.join(" AND ")
    );
    // Numbers are formatted, not bound: they are parsed i64s already.
    if let Some(from) = q.from {
        sql.push_str(&format!(" AND at >= {from}"));
    }
    if let Some(to) = q.to {
        sql.push_str(&format!(" AND at < {to}"));
    }
    if let Some(before_id) = q.before_id {
        sql.push_str(&format!(" AND id < {before_id}"));
    }
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
    let mut query = sqlx::query_as::<_, (i64, i64, Option<i64>, String, String, String, Option<String>, Option<String>)>(
        sqlx::AssertSqlSafe(sql),
    );
    for b in binds {
        query = query.bind(b);
    }
    let rows = query.fetch_all(&state.db.pool).await?;
    Ok(Json(
        rows.into_iter()
            .map(|(id, at, actor_id, actor, action, target, before, after)| AuditEntry {
                id,
                at,
                actor_id,
                actor,
                action,
                target,
                before: before.and_then(|s| serde_json::from_str(&s).ok()),
                after: after.and_then(|s| serde_json::from_str(&s).ok()),
            })
            .collect(),
    ))
}
