//! The users, user_numbers, roles, sessions and audit_log tables.

use std::collections::BTreeSet;

use sqlx::{AnyConnection, AnyPool};

use crate::error::Result;

// ---- sessions

/// The user a live session belongs to.
pub(super) async fn session_user(pool: &AnyPool, token_hash: &str, now: i64) -> Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2")
        .bind(token_hash)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|(id,)| id))
}

pub(super) async fn start_session(pool: &AnyPool, token_hash: &str, user_id: i64, now: i64, expires_at: i64) -> Result<()> {
    sqlx::query("INSERT INTO sessions (token_hash, user_id, created_at, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(token_hash)
        .bind(user_id)
        .bind(now)
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn end_session(pool: &AnyPool, token_hash: &str) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(pool).await?;
    Ok(())
}

/// Signs a user out everywhere.
pub(super) async fn end_sessions_of(conn: &mut AnyConnection, user_id: i64) -> Result<()> {
    sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    Ok(())
}

// ---- users

/// A signed-in user's row with their role's permissions (booleans read as 0/1 on both backends).
#[derive(sqlx::FromRow)]
pub(super) struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub all_numbers: i64,
    pub assigned_only: i64,
    pub permissions: Option<String>,
    pub code: Option<String>,
    pub away: i64,
}

/// An enabled user with their role's permissions.
pub(super) async fn active_user(pool: &AnyPool, id: i64) -> Result<Option<UserRow>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.role,
                CASE WHEN u.all_numbers THEN 1 ELSE 0 END AS all_numbers, CASE WHEN u.assigned_only THEN 1 ELSE 0 END AS assigned_only,
                r.permissions, u.code, CASE WHEN u.away THEN 1 ELSE 0 END AS away
         FROM users u LEFT JOIN roles r ON r.name = u.role
         WHERE u.id = $1 AND u.disabled = FALSE",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?)
}

/// Whether an active agent works on `number_id`; `None` when there is no active agent `id`.
pub async fn works_on(conn: &mut AnyConnection, id: i64, number_id: &str) -> Result<Option<bool>> {
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT CASE WHEN all_numbers THEN 1 ELSE 0 END,
                (SELECT COUNT(*) FROM user_numbers un WHERE un.user_id = users.id AND un.number_id = $2)
         FROM users WHERE id = $1 AND disabled = FALSE",
    )
    .bind(id)
    .bind(number_id)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(all, on_number)| all == 1 || on_number > 0))
}

/// The enabled users who work on a number whose role may reply: (id, name, code, away).
pub async fn colleagues_on(conn: &mut AnyConnection, number_id: &str) -> Result<Vec<(i64, String, Option<String>, i64)>> {
    Ok(sqlx::query_as(
        "SELECT u.id, u.name, u.code, CASE WHEN u.away THEN 1 ELSE 0 END
         FROM users u JOIN roles r ON r.name = u.role
         WHERE NOT u.disabled AND r.permissions LIKE '%\"reply\"%'
           AND (u.all_numbers OR EXISTS (SELECT 1 FROM user_numbers n WHERE n.user_id = u.id AND n.number_id = $1))
         ORDER BY u.name, u.id",
    )
    .bind(number_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// The numbers in a user's scope (when it is not "all").
pub(super) async fn numbers_of(conn: &mut AnyConnection, user_id: i64) -> Result<BTreeSet<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT number_id FROM user_numbers WHERE user_id = $1").bind(user_id).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// Replaces a user's scope: every number, or these.
pub(super) async fn set_scope(conn: &mut AnyConnection, user_id: i64, all: bool, numbers: &[&str]) -> Result<()> {
    sqlx::query("DELETE FROM user_numbers WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    sqlx::query("UPDATE users SET all_numbers = $1 WHERE id = $2").bind(all).bind(user_id).execute(&mut *conn).await?;
    for id in numbers {
        sqlx::query("INSERT INTO user_numbers (user_id, number_id) VALUES ($1, $2)").bind(user_id).bind(*id).execute(&mut *conn).await?;
    }
    Ok(())
}

/// An agent as the Agents page lists them.
#[derive(sqlx::FromRow)]
pub(super) struct AgentRow {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub all_numbers: i64,
    pub assigned_only: i64,
    pub disabled: i64,
    pub password_set: i64,
    pub created_at: i64,
    pub code: Option<String>,
    pub capacity: Option<i64>,
    pub away: i64,
}

const AGENT_SELECT: &str = "SELECT id, email, name, role, CASE WHEN all_numbers THEN 1 ELSE 0 END AS all_numbers,
        CASE WHEN assigned_only THEN 1 ELSE 0 END AS assigned_only, CASE WHEN disabled THEN 1 ELSE 0 END AS disabled,
        CASE WHEN password_set THEN 1 ELSE 0 END AS password_set, created_at, code, capacity,
        CASE WHEN away THEN 1 ELSE 0 END AS away FROM users";

pub(super) async fn agent(conn: &mut AnyConnection, id: i64) -> Result<Option<AgentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{AGENT_SELECT} WHERE id = $1"))).bind(id).fetch_optional(&mut *conn).await?)
}

/// Every agent: enabled first, by name.
pub(super) async fn agents(conn: &mut AnyConnection) -> Result<Vec<AgentRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{AGENT_SELECT} ORDER BY disabled, LOWER(name), id"))).fetch_all(&mut *conn).await?)
}

/// A user's public code and capacity, by email (the demo's agents).
pub async fn set_duty(conn: &mut AnyConnection, email: &str, code: Option<&str>, capacity: Option<i64>) -> Result<()> {
    sqlx::query("UPDATE users SET code = $1, capacity = $2 WHERE email = $3")
        .bind(code)
        .bind(capacity)
        .bind(email)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Whether another user has this public code.
pub(super) async fn code_taken(conn: &mut AnyConnection, code: &str, other_than: i64) -> Result<bool> {
    let found: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM users WHERE code = $1 AND id <> $2").bind(code).bind(other_than).fetch_optional(&mut *conn).await?;
    Ok(found.is_some())
}

pub(super) async fn email_taken(conn: &mut AnyConnection, email: &str) -> Result<bool> {
    let found: Option<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE email = $1").bind(email).fetch_optional(&mut *conn).await?;
    Ok(found.is_some())
}

/// A new agent without a usable password, who sets one with the link whose token hashes to
/// `reset_token_hash` before `link_expires_at`.
pub(super) struct Invite<'a> {
    pub email: &'a str,
    pub name: &'a str,
    pub role: &'a str,
    pub assigned_only: bool,
    pub reset_token_hash: &'a str,
    pub link_expires_at: i64,
}

/// Creates an invited agent; returns their id.
pub(super) async fn invite(conn: &mut AnyConnection, i: &Invite<'_>, now: i64) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (email, name, password_hash, role, disabled, created_at, assigned_only, password_set,
                            reset_token_hash, reset_expires_at)
         VALUES ($1, $2, $3, $4, FALSE, $5, $6, FALSE, $7, $8) RETURNING id",
    )
    .bind(i.email)
    .bind(i.name)
    .bind(super::agents::NO_PASSWORD)
    .bind(i.role)
    .bind(now)
    .bind(i.assigned_only)
    .bind(i.reset_token_hash)
    .bind(i.link_expires_at)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// Creates (or resets) a user with a password, from the command line; returns their id.
pub(super) async fn upsert_with_password(
    conn: &mut AnyConnection,
    email: &str,
    name: &str,
    hash: &str,
    role: &str,
    now: i64,
) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (email, name, password_hash, role, disabled, created_at, password_set) VALUES ($1, $2, $3, $4, FALSE, $5, TRUE)
         ON CONFLICT (email) DO UPDATE SET password_hash = excluded.password_hash, role = excluded.role, name = excluded.name,
             password_set = TRUE, disabled = FALSE
         RETURNING id",
    )
    .bind(email)
    .bind(name)
    .bind(hash)
    .bind(role)
    .bind(now)
    .fetch_one(&mut *conn)
    .await?;
    Ok(id)
}

/// (id, password hash) of an enabled user.
pub(super) async fn password_of(pool: &AnyPool, email: &str) -> Result<Option<(i64, String)>> {
    Ok(sqlx::query_as("SELECT id, password_hash FROM users WHERE email = $1 AND disabled = FALSE").bind(email).fetch_optional(pool).await?)
}

/// A user's role name, whether or not they are enabled.
pub async fn role_of(pool: &AnyPool, id: i64) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT role FROM users WHERE id = $1").bind(id).fetch_optional(pool).await?;
    Ok(row.map(|(r,)| r))
}

/// One change to an agent.
pub(super) enum AgentField<'a> {
    Name(&'a str),
    Role(&'a str),
    AssignedOnly(bool),
    Disabled(bool),
    Code(Option<&'a str>),
    Capacity(Option<i64>),
    Away(bool),
}

pub(super) async fn set_agent_field(conn: &mut AnyConnection, id: i64, field: AgentField<'_>) -> Result<()> {
    let q = match field {
        AgentField::Name(name) => sqlx::query("UPDATE users SET name = $1 WHERE id = $2").bind(name),
        AgentField::Role(role) => sqlx::query("UPDATE users SET role = $1 WHERE id = $2").bind(role),
        AgentField::AssignedOnly(v) => sqlx::query("UPDATE users SET assigned_only = $1 WHERE id = $2").bind(v),
        AgentField::Disabled(v) => sqlx::query("UPDATE users SET disabled = $1 WHERE id = $2").bind(v),
        AgentField::Code(v) => sqlx::query("UPDATE users SET code = $1 WHERE id = $2").bind(v),
        AgentField::Capacity(v) => sqlx::query("UPDATE users SET capacity = $1 WHERE id = $2").bind(v),
        AgentField::Away(v) => sqlx::query("UPDATE users SET away = $1 WHERE id = $2").bind(v),
    };
    q.bind(id).execute(&mut *conn).await?;
    Ok(())
}

/// The user's password stops working; a link whose token hashes to `token_hash` sets a new one.
pub(super) async fn start_password_reset(conn: &mut AnyConnection, id: i64, token_hash: &str, expires_at: i64) -> Result<()> {
    sqlx::query("UPDATE users SET reset_token_hash = $1, reset_expires_at = $2, password_hash = $3, password_set = FALSE WHERE id = $4")
        .bind(token_hash)
        .bind(expires_at)
        .bind(super::agents::NO_PASSWORD)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Sets the password of whoever holds a live link with this token; returns their id.
pub(super) async fn finish_password_reset(
    conn: &mut AnyConnection,
    token_hash: &str,
    password_hash: &str,
    now: i64,
) -> Result<Option<i64>> {
    let row: Option<(i64,)> = sqlx::query_as(
        "UPDATE users SET password_hash = $1, password_set = TRUE, reset_token_hash = NULL, reset_expires_at = NULL
         WHERE reset_token_hash = $2 AND reset_expires_at > $3 RETURNING id",
    )
    .bind(password_hash)
    .bind(token_hash)
    .bind(now)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|(id,)| id))
}

// ---- roles

/// Writes a built-in role with its fixed permissions.
pub(super) async fn save_builtin_role(pool: &AnyPool, name: &str, permissions_json: &str, now: i64) -> Result<()> {
    sqlx::query(
        "INSERT INTO roles (name, permissions, builtin, created_at) VALUES ($1, $2, TRUE, $3)
         ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, builtin = TRUE",
    )
    .bind(name)
    .bind(permissions_json)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

/// The stored name of a role given in any case (`agent` → `Agent`), if it exists.
pub async fn canonical_role(conn: &mut AnyConnection, name: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT name FROM roles WHERE LOWER(name) = LOWER($1)").bind(name.trim()).fetch_optional(&mut *conn).await?;
    Ok(row.map(|(n,)| n))
}

pub(super) async fn role_names(conn: &mut AnyConnection) -> Result<Vec<String>> {
    let names: Vec<(String,)> = sqlx::query_as("SELECT name FROM roles ORDER BY id").fetch_all(&mut *conn).await?;
    Ok(names.into_iter().map(|(n,)| n).collect())
}

/// A role with how many enabled users hold it.
#[derive(sqlx::FromRow)]
pub(super) struct RoleRow {
    pub id: i64,
    pub name: String,
    pub permissions: String,
    pub builtin: i64,
    pub members: i64,
}

const ROLE_SELECT: &str = "SELECT r.id, r.name, r.permissions, CASE WHEN r.builtin THEN 1 ELSE 0 END AS builtin,
        (SELECT COUNT(*) FROM users u WHERE u.role = r.name AND u.disabled = FALSE) AS members
        FROM roles r";

/// Built-in roles first.
pub(super) async fn roles(pool: &AnyPool) -> Result<Vec<RoleRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{ROLE_SELECT} ORDER BY r.builtin DESC, r.id"))).fetch_all(pool).await?)
}

pub(super) async fn role(conn: &mut AnyConnection, id: i64) -> Result<Option<RoleRow>> {
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(format!("{ROLE_SELECT} WHERE r.id = $1"))).bind(id).fetch_optional(&mut *conn).await?)
}

/// A custom role; the database's unique error if the name is taken.
pub(super) async fn insert_role(conn: &mut AnyConnection, name: &str, permissions_json: &str, now: i64) -> Result<i64, sqlx::Error> {
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO roles (name, permissions, builtin, created_at) VALUES ($1, $2, FALSE, $3) RETURNING id")
            .bind(name)
            .bind(permissions_json)
            .bind(now)
            .fetch_one(&mut *conn)
            .await?;
    Ok(id)
}

/// Renames a role (its holders keep it) and sets its permissions; returns its holders.
pub(super) async fn update_role(conn: &mut AnyConnection, id: i64, old_name: &str, name: &str, permissions_json: &str) -> Result<Vec<i64>> {
    sqlx::query("UPDATE roles SET name = $1, permissions = $2 WHERE id = $3")
        .bind(name)
        .bind(permissions_json)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("UPDATE users SET role = $1 WHERE role = $2").bind(name).bind(old_name).execute(&mut *conn).await?;
    let holders: Vec<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE role = $1").bind(name).fetch_all(&mut *conn).await?;
    Ok(holders.into_iter().map(|(h,)| h).collect())
}

/// How many users (enabled or not) hold a role.
pub(super) async fn holders(conn: &mut AnyConnection, name: &str) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = $1").bind(name).fetch_one(&mut *conn).await?;
    Ok(n)
}

pub(super) async fn delete_role(conn: &mut AnyConnection, id: i64) -> Result<()> {
    sqlx::query("DELETE FROM roles WHERE id = $1").bind(id).execute(&mut *conn).await?;
    Ok(())
}

// ---- audit log

/// One audit entry as stored.
pub(super) struct NewEntry<'a> {
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: &'a str,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<String>,
    pub after: Option<String>,
    /// The numbers it concerns, as `numbers_column` writes them.
    pub numbers: Option<String>,
}

pub(super) async fn append_audit(conn: &mut AnyConnection, e: NewEntry<'_>) -> Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (at, actor_id, actor, action, target, before, after, numbers) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.at)
    .bind(e.actor_id)
    .bind(e.actor)
    .bind(e.action)
    .bind(e.target)
    .bind(e.before)
    .bind(e.after)
    .bind(e.numbers)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An audit entry as read.
#[derive(sqlx::FromRow)]
pub(super) struct EntryRow {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// Audit entries matching `conditions` (with `$n` placeholders for `binds`, in order) and the
/// already-checked integer bounds, newest first.
pub(super) async fn audit_entries(
    pool: &AnyPool,
    conditions: &[String],
    binds: Vec<String>,
    from: Option<i64>,
    to: Option<i64>,
    before_id: Option<i64>,
    limit: i64,
) -> Result<Vec<EntryRow>> {
    let mut sql =
        format!("SELECT id, at, actor_id, actor, action, target, before, after FROM audit_log WHERE {}", conditions.join(" AND "));
    // Numbers are formatted, not bound: they are i64s already.
    if let Some(from) = from {
        sql.push_str(&format!(" AND at >= {from}"));
    }
    if let Some(to) = to {
        sql.push_str(&format!(" AND at < {to}"));
    }
    if let Some(before_id) = before_id {
        sql.push_str(&format!(" AND id < {before_id}"));
    }
    sql.push_str(&format!(" ORDER BY id DESC LIMIT {limit}"));
    let mut query = sqlx::query_as::<_, EntryRow>(sqlx::AssertSqlSafe(sql));
    for b in binds {
        query = query.bind(b);
    }
    Ok(query.fetch_all(pool).await?)
}
