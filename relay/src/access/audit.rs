//! The audit log: who did what, when, to what, with before and after. Written in the same
//! transaction as the change it records; the table refuses updates and deletes.

use axum::extract::{Query, State};
use axum::Json;
use serde_json::Value;
use switchboard_shared::access::{is_meta_id, mask_phones_in, Permission, Scope};
use switchboard_shared::api::AuditEntry;

use super::store;
use crate::access::AuthUser;
use crate::clock::now_ms;
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

/// Appends one workspace-wide entry (roles, agents, settings, imports): only readers whose
/// scope is every number see it.
pub async fn record(
    conn: &mut sqlx::AnyConnection,
    actor: impl Into<Actor<'_>>,
    action: &str,
    target: &str,
    before: Option<Value>,
    after: Option<Value>,
) -> Result<()> {
    record_on(conn, actor, &[], action, target, before, after).await
}

/// Appends one entry about something on these business numbers: a reader limited to some
/// numbers sees it when every one of them is theirs.
pub async fn record_on(
    conn: &mut sqlx::AnyConnection,
    actor: impl Into<Actor<'_>>,
    numbers: &[&str],
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
    let entry = store::NewEntry {
        at: now_ms(),
        actor_id,
        actor,
        action,
        target,
        before: before.map(|v| v.to_string()),
        after: after.map(|v| v.to_string()),
        numbers: numbers_column(numbers),
    };
    store::append_audit(conn, entry).await?;
    Ok(())
}

/// The `numbers` column: `,A,B,` (each id between commas), or NULL for a workspace-wide entry.
fn numbers_column(numbers: &[&str]) -> Option<String> {
    (!numbers.is_empty()).then(|| format!(",{},", numbers.join(",")))
}

/// A SQL condition keeping the entries a reader limited to `ids` may see: those on numbers, all
/// of them in `ids`. Removing each of the reader's ids from the `,A,B,` list must leave `,`.
/// Ids are digits only ([`is_meta_id`]), so they are inlined.
fn within_numbers_sql(ids: &std::collections::BTreeSet<String>) -> String {
    let ids: Vec<&String> = ids.iter().filter(|id| is_meta_id(id)).collect();
    if ids.is_empty() {
        return "1 = 0".to_owned();
    }
    let stripped = ids.iter().fold("numbers".to_owned(), |inner, id| format!("REPLACE({inner}, ',{id},', ',')"));
    format!("numbers IS NOT NULL AND {stripped} = ','")
}

/// `GET /api/v1/audit`: newest first, filtered and searched.
pub async fn list(
    State(state): State<AppState>,
    user: AuthUser,
    Query(q): Query<switchboard_shared::api::AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>> {
    let mut conditions = vec![match &user.scope {
        Scope::All => "1 = 1".to_owned(),
        Scope::Numbers(ids) => within_numbers_sql(ids),
    }];
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
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let rows = store::audit_entries(&state.db.pool, &conditions, binds, q.from, q.to, q.before_id, limit).await?;
    let masked = !user.can(Permission::SeeFullPhoneNumbers);
    let present = |json: Option<String>| {
        let mut value: Option<Value> = json.and_then(|s| serde_json::from_str(&s).ok());
        if let (true, Some(v)) = (masked, value.as_mut()) {
            mask_phones_in(v);
        }
        value
    };
    Ok(Json(
        rows.into_iter()
            .map(|r| AuditEntry {
                id: r.id,
                at: r.at,
                actor_id: r.actor_id,
                actor: r.actor,
                action: r.action,
                target: r.target,
                before: present(r.before),
                after: present(r.after),
            })
            .collect(),
    ))
}
