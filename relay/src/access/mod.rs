//! Roles, permissions and scopes, enforced: the signed-in user as every handler sees them, the
//! roles API, and what a user is shown (their numbers only, phones masked unless allowed).

pub mod agents;
pub mod audit;
pub mod auth;

use std::collections::BTreeSet;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_shared::access::{builtin_permissions, is_meta_id, mask_phone, Permission, Scope, BUILTIN_ROLES};
use switchboard_shared::api::{Conversation, Event, EventKind, Me, Role, RoleRequest};

use self::auth::{session_token, token_hash};
use crate::db::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::AppState;

/// The signed-in user, read from the session cookie, with their role's permissions and their
/// scope. Handlers that take it are closed to anyone not signed in (or disabled).
#[derive(Debug, Clone)]
pub struct AuthUser {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub permissions: BTreeSet<Permission>,
    pub scope: Scope,
    pub assigned_only: bool,
}

impl AuthUser {
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }

    /// `Ok` if the user holds `p`, else 403.
    pub fn require(&self, p: Permission) -> Result<()> {
        if self.can(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden(format!("Your role ({}) does not allow {}.", self.role, p.as_str())))
        }
    }

    pub fn covers(&self, number_id: &str) -> bool {
        self.scope.covers(number_id)
    }

    /// Whether a conversation on `number_id`, assigned to `assigned_to`, is visible.
    pub fn may_see_conversation(&self, number_id: &str, assigned_to: Option<i64>) -> bool {
        self.covers(number_id) && (!self.assigned_only || assigned_to == Some(self.id))
    }

    /// A SQL condition limiting rows to this user's scope, on the given columns. Number ids
    /// are digits only (checked when scopes are saved, and again here), so they are inlined.
    pub fn scope_sql(&self, number_column: &str, assigned_column: Option<&str>) -> String {
        let mut parts = Vec::new();
        if let Scope::Numbers(ids) = &self.scope {
            let ids: Vec<String> = ids.iter().filter(|id| is_meta_id(id)).map(|id| format!("'{id}'")).collect();
            if ids.is_empty() {
                parts.push("1 = 0".to_owned());
            } else {
                parts.push(format!("{number_column} IN ({})", ids.join(",")));
            }
        }
        if let (true, Some(column)) = (self.assigned_only, assigned_column) {
            parts.push(format!("{column} = {}", self.id));
        }
        if parts.is_empty() {
            "1 = 1".to_owned()
        } else {
            parts.join(" AND ")
        }
    }

    /// A conversation as this user may see it: phone masked unless they may see it.
    pub fn present_conversation(&self, mut c: Conversation) -> Conversation {
        if !self.can(Permission::SeeFullPhoneNumbers) {
            c.contact = mask_phone(&c.contact);
        }
        c
    }

    /// The event as this user may see it, or `None` if it is outside their scope.
    pub fn present(&self, e: &Event) -> Option<Event> {
        let visible = match &e.kind {
            EventKind::DeadLetter { .. } => self.can(Permission::ManageNumbers),
            // Someone who sees only their own conversations still needs to hear that one was
            // taken away from them, so assignment changes go to everyone on the number.
            EventKind::Assignment { .. } => self.covers(&e.number_id),
            _ => self.may_see_conversation(&e.number_id, e.assigned_to),
        };
        if !visible {
            return None;
        }
        let mut e = e.clone();
        match &mut e.kind {
            EventKind::Message { conversation, .. } | EventKind::Assignment { conversation } | EventKind::Conversation { conversation } => {
                *conversation = self.present_conversation(conversation.clone());
            }
            _ => {}
        }
        Some(e)
    }

    pub fn me(&self) -> Me {
        Me {
            id: self.id,
            email: self.email.clone(),
            name: self.name.clone(),
            role: self.role.clone(),
            permissions: self.permissions.iter().copied().collect(),
            scope: self.scope.clone(),
            assigned_only: self.assigned_only,
        }
    }
}

impl FromRequestParts<AppState> for AuthUser {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self> {
        // Already checked by the route's declared need.
        if let Some(user) = parts.extensions.get::<AuthUser>() {
            return Ok(user.clone());
        }
        let token = session_token(&parts.headers).ok_or(AppError::Unauthorized)?;
        let row: Option<(i64,)> = sqlx::query_as("SELECT user_id FROM sessions WHERE token_hash = $1 AND expires_at > $2")
            .bind(token_hash(&token))
            .bind(now_ms())
            .fetch_optional(&state.db.pool)
            .await?;
        let (id,) = row.ok_or(AppError::Unauthorized)?;
        load_user(state, id).await?.ok_or(AppError::Unauthorized)
    }
}

/// A signed-in user's row with their role's permissions (booleans read as 0/1 on both backends).
#[derive(sqlx::FromRow)]
struct UserRow {
    id: i64,
    email: String,
    name: String,
    role: String,
    all_numbers: i64,
    assigned_only: i64,
    permissions: Option<String>,
}

/// A user with their role's permissions and their scope; `None` if unknown or disabled.
pub async fn load_user(state: &AppState, id: i64) -> Result<Option<AuthUser>> {
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT u.id, u.email, u.name, u.role,
                CASE WHEN u.all_numbers THEN 1 ELSE 0 END AS all_numbers, CASE WHEN u.assigned_only THEN 1 ELSE 0 END AS assigned_only,
                r.permissions
         FROM users u LEFT JOIN roles r ON r.name = u.role
         WHERE u.id = $1 AND u.disabled = FALSE",
    )
    .bind(id)
    .fetch_optional(&state.db.pool)
    .await?;
    let Some(u) = row else { return Ok(None) };
    let scope = if u.all_numbers == 1 { Scope::All } else { Scope::Numbers(user_numbers(state, u.id).await?) };
    Ok(Some(AuthUser {
        id: u.id,
        email: u.email,
        name: u.name,
        role: u.role,
        // A role missing from under a user leaves them with no permissions, not an error.
        permissions: u.permissions.as_deref().map(parse_permissions).unwrap_or_default(),
        scope,
        assigned_only: u.assigned_only == 1,
    }))
}

/// Whether an active agent works on `number_id`; `None` when there is no active agent `id`.
pub async fn works_on(conn: &mut sqlx::AnyConnection, id: i64, number_id: &str) -> Result<Option<bool>> {
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

/// The numbers in a user's scope (when it is not "all").
pub async fn user_numbers(state: &AppState, user_id: i64) -> Result<BTreeSet<String>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT number_id FROM user_numbers WHERE user_id = $1").bind(user_id).fetch_all(&state.db.pool).await?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// Saves a user's scope (inside the caller's transaction).
pub async fn save_scope(conn: &mut sqlx::AnyConnection, user_id: i64, scope: &Scope) -> Result<()> {
    sqlx::query("DELETE FROM user_numbers WHERE user_id = $1").bind(user_id).execute(&mut *conn).await?;
    let all = matches!(scope, Scope::All);
    sqlx::query("UPDATE users SET all_numbers = $1 WHERE id = $2").bind(all).bind(user_id).execute(&mut *conn).await?;
    if let Scope::Numbers(ids) = scope {
        for id in ids {
            if !is_meta_id(id) {
                return Err(AppError::bad_request("invalid_scope", format!("{id:?} is not a phone-number id")));
            }
            sqlx::query("INSERT INTO user_numbers (user_id, number_id) VALUES ($1, $2)").bind(user_id).bind(id).execute(&mut *conn).await?;
        }
    }
    Ok(())
}

fn parse_permissions(json: &str) -> BTreeSet<Permission> {
    let names: Vec<String> = serde_json::from_str(json).unwrap_or_default();
    names.iter().filter_map(|n| Permission::parse(n)).collect()
}

fn permissions_json(permissions: &BTreeSet<Permission>) -> String {
    serde_json::to_string(&permissions.iter().map(|p| p.as_str()).collect::<Vec<_>>()).unwrap_or_else(|_| "[]".into())
}

/// Writes the built-in roles with their fixed permissions (at every start, so a new
/// permission reaches Administrator without a migration).
pub async fn ensure_builtin_roles(state: &AppState) -> anyhow::Result<()> {
    for name in BUILTIN_ROLES {
        let permissions = builtin_permissions(name).expect("built-in role");
        sqlx::query(
            "INSERT INTO roles (name, permissions, builtin, created_at) VALUES ($1, $2, TRUE, $3)
             ON CONFLICT (name) DO UPDATE SET permissions = excluded.permissions, builtin = TRUE",
        )
        .bind(name)
        .bind(permissions_json(&permissions))
        .bind(now_ms())
        .execute(&state.db.pool)
        .await?;
    }
    Ok(())
}

/// The stored name of a role given in any case (`agent` → `Agent`), if it exists.
pub async fn canonical_role(conn: &mut sqlx::AnyConnection, name: &str) -> Result<Option<String>> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT name FROM roles WHERE LOWER(name) = LOWER($1)").bind(name.trim()).fetch_optional(&mut *conn).await?;
    Ok(row.map(|(n,)| n))
}

type RoleRow = (i64, String, String, i64, i64);

const ROLE_SELECT: &str = "SELECT r.id, r.name, r.permissions, CASE WHEN r.builtin THEN 1 ELSE 0 END,
        (SELECT COUNT(*) FROM users u WHERE u.role = r.name AND u.disabled = FALSE)
        FROM roles r";

fn role_from(row: RoleRow) -> Role {
    let (id, name, permissions, builtin, members) = row;
    Role { id, name, permissions: parse_permissions(&permissions).into_iter().collect(), builtin: builtin == 1, members }
}

/// `GET /api/v1/roles`
pub async fn list_roles(State(state): State<AppState>) -> Result<Json<Vec<Role>>> {
    let rows: Vec<RoleRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{ROLE_SELECT} ORDER BY r.builtin DESC, r.id"))).fetch_all(&state.db.pool).await?;
    Ok(Json(rows.into_iter().map(role_from).collect()))
}

/// A role request with its name checked and trimmed.
fn check_role_request(request: RoleRequest) -> Result<RoleRequest> {
    let name = request.name.trim();
    if name.is_empty() || name.chars().count() > 60 {
        return Err(AppError::bad_request("invalid_name", "A role needs a name of 1 to 60 characters."));
    }
    if builtin_permissions(name).is_some() {
        return Err(AppError::Conflict(format!("{name} is a built-in role.")));
    }
    Ok(RoleRequest { name: name.to_owned(), permissions: request.permissions })
}

/// `POST /api/v1/roles`: a custom role.
pub async fn create_role(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<RoleRequest>,
) -> Result<(StatusCode, Json<Role>)> {
    let request = check_role_request(request)?;
    let permissions: BTreeSet<Permission> = request.permissions.iter().copied().collect();
    let mut tx = state.db.pool.begin().await?;
    let taken = || format!("A role named {} already exists.", request.name);
    if canonical_role(&mut tx, &request.name).await?.is_some() {
        // Another case of the same name (`agent` for `Agent`): the unique index is exact.
        return Err(AppError::Conflict(taken()));
    }
    let (id,): (i64,) =
        sqlx::query_as("INSERT INTO roles (name, permissions, builtin, created_at) VALUES ($1, $2, FALSE, $3) RETURNING id")
            .bind(&request.name)
            .bind(permissions_json(&permissions))
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| AppError::conflict_if_unique(e, taken))?;
    let role = Role { id, name: request.name, permissions: permissions.into_iter().collect(), builtin: false, members: 0 };
    audit::record(&mut tx, &user, "role.create", &format!("role:{id}"), None, Some(json!(role))).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(role)))
}

async fn load_role(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Role> {
    let row: Option<RoleRow> =
        sqlx::query_as(sqlx::AssertSqlSafe(format!("{ROLE_SELECT} WHERE r.id = $1"))).bind(id).fetch_optional(&mut *conn).await?;
    row.map(role_from).ok_or(AppError::NotFound)
}

/// `PUT /api/v1/roles/{id}`: rename a custom role or change its permissions; agents holding it
/// get the new permissions on their next request.
pub async fn update_role(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(request): ApiJson<RoleRequest>,
) -> Result<Json<Role>> {
    let request = check_role_request(request)?;
    let mut tx = state.db.pool.begin().await?;
    let before = load_role(&mut tx, id).await?;
    if before.builtin {
        return Err(AppError::Conflict(format!("{} is a built-in role; its permissions are fixed.", before.name)));
    }
    if let Some(existing) = canonical_role(&mut tx, &request.name).await? {
        if existing != before.name {
            return Err(AppError::Conflict(format!("A role named {existing} already exists.")));
        }
    }
    let permissions: BTreeSet<Permission> = request.permissions.iter().copied().collect();
    sqlx::query("UPDATE roles SET name = $1, permissions = $2 WHERE id = $3")
        .bind(&request.name)
        .bind(permissions_json(&permissions))
        .bind(id)
        .execute(&mut *tx)
        .await?;
    sqlx::query("UPDATE users SET role = $1 WHERE role = $2").bind(&request.name).bind(&before.name).execute(&mut *tx).await?;
    let after = load_role(&mut tx, id).await?;
    audit::record(&mut tx, &user, "role.update", &format!("role:{id}"), Some(json!(before)), Some(json!(after))).await?;
    let holders: Vec<(i64,)> = sqlx::query_as("SELECT id FROM users WHERE role = $1").bind(&after.name).fetch_all(&mut *tx).await?;
    tx.commit().await?;
    // Their live streams reconnect with the role's new permissions (masking may change).
    for (holder,) in holders {
        state.events.close_streams_of(holder);
    }
    Ok(Json(after))
}

/// `DELETE /api/v1/roles/{id}`: only a custom role nobody holds.
pub async fn delete_role(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<StatusCode> {
    let mut tx = state.db.pool.begin().await?;
    let before = load_role(&mut tx, id).await?;
    if before.builtin {
        return Err(AppError::Conflict(format!("{} is a built-in role and cannot be removed.", before.name)));
    }
    let (holders,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM users WHERE role = $1").bind(&before.name).fetch_one(&mut *tx).await?;
    if holders > 0 {
        return Err(AppError::Conflict(format!("{holders} agents still hold {}; give them another role first.", before.name)));
    }
    sqlx::query("DELETE FROM roles WHERE id = $1").bind(id).execute(&mut *tx).await?;
    audit::record(&mut tx, &user, "role.delete", &format!("role:{id}"), Some(json!(before)), None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me`
pub async fn me(user: AuthUser) -> Json<Me> {
    Json(user.me())
}
