//! Roles, permissions and scopes, enforced: the signed-in user as every handler sees them, the
//! roles API, and what a user is shown (their numbers only, phones masked unless allowed).

pub mod agents;
pub mod audit;
pub mod auth;
mod store;

pub use store::{canonical_role, colleagues_on, role_of, set_duty, works_on};

use std::collections::BTreeSet;

use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde_json::json;
use switchboard_shared::access::{builtin_permissions, is_meta_id, mask_phone, Permission, Scope, BUILTIN_ROLES};
use switchboard_shared::api::{Conversation, Event, EventKind, Me, Role, RoleRequest};

use self::auth::{session_token, token_hash};
use crate::clock::now_ms;
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
    /// Public code customers may see (`103`).
    pub code: Option<String>,
    pub away: bool,
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
            // A broadcast is seen by those who may broadcast on every number it sends from.
            EventKind::Broadcast { progress } => self.can(Permission::Broadcast) && progress.numbers.iter().all(|n| self.covers(n)),
            // Groups are seen by those who manage the groups of the number.
            EventKind::Group { .. } | EventKind::LinkedDevice { .. } => self.can(Permission::ManageGroups) && self.covers(&e.number_id),
            EventKind::GroupJob { job } => self.can(Permission::ManageGroups) && job.numbers.iter().all(|n| self.covers(n)),
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
            code: self.code.clone(),
            away: self.away,
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
        let id = store::session_user(&state.db.pool, &token_hash(&token), now_ms()).await?.ok_or(AppError::Unauthorized)?;
        load_user(state, id).await?.ok_or(AppError::Unauthorized)
    }
}

/// A user with their role's permissions and their scope; `None` if unknown or disabled.
pub async fn load_user(state: &AppState, id: i64) -> Result<Option<AuthUser>> {
    let row = store::active_user(&state.db.pool, id).await?;
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
        code: u.code,
        away: u.away == 1,
    }))
}

/// The numbers in a user's scope (when it is not "all").
pub async fn user_numbers(state: &AppState, user_id: i64) -> Result<BTreeSet<String>> {
    store::numbers_of(&mut *state.db.pool.acquire().await?, user_id).await
}

/// Saves a user's scope (inside the caller's transaction).
pub async fn save_scope(conn: &mut sqlx::AnyConnection, user_id: i64, scope: &Scope) -> Result<()> {
    let numbers: Vec<&str> = match scope {
        Scope::All => Vec::new(),
        Scope::Numbers(ids) => ids.iter().map(String::as_str).collect(),
    };
    if let Some(id) = numbers.iter().find(|id| !is_meta_id(id)) {
        return Err(AppError::bad_request("invalid_scope", format!("{id:?} is not a phone-number id")));
    }
    store::set_scope(conn, user_id, matches!(scope, Scope::All), &numbers).await
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
        store::save_builtin_role(&state.db.pool, name, &permissions_json(&permissions), now_ms()).await?;
    }
    Ok(())
}

fn role_from(row: store::RoleRow) -> Role {
    Role {
        id: row.id,
        name: row.name,
        permissions: parse_permissions(&row.permissions).into_iter().collect(),
        builtin: row.builtin == 1,
        members: row.members,
    }
}

/// `GET /api/v1/roles`
pub async fn list_roles(State(state): State<AppState>) -> Result<Json<Vec<Role>>> {
    Ok(Json(store::roles(&state.db.pool).await?.into_iter().map(role_from).collect()))
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
    let id = store::insert_role(&mut tx, &request.name, &permissions_json(&permissions), now_ms())
        .await
        .map_err(|e| AppError::conflict_if_unique(e, taken))?;
    let role = Role { id, name: request.name, permissions: permissions.into_iter().collect(), builtin: false, members: 0 };
    audit::record(&mut tx, &user, "role.create", &format!("role:{id}"), None, Some(json!(role))).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(role)))
}

async fn load_role(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Role> {
    store::role(conn, id).await?.map(role_from).ok_or(AppError::NotFound)
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
    let holders = store::update_role(&mut tx, id, &before.name, &request.name, &permissions_json(&permissions)).await?;
    let after = load_role(&mut tx, id).await?;
    audit::record(&mut tx, &user, "role.update", &format!("role:{id}"), Some(json!(before)), Some(json!(after))).await?;
    tx.commit().await?;
    // Their live streams reconnect with the role's new permissions (masking may change).
    for holder in holders {
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
    let holders = store::holders(&mut tx, &before.name).await?;
    if holders > 0 {
        return Err(AppError::Conflict(format!("{holders} agents still hold {}; give them another role first.", before.name)));
    }
    store::delete_role(&mut tx, id).await?;
    audit::record(&mut tx, &user, "role.delete", &format!("role:{id}"), Some(json!(before)), None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /api/v1/me`
pub async fn me(user: AuthUser) -> Json<Me> {
    Json(user.me())
}

/// `PUT /api/v1/me/away`: an agent sets themselves away (on a break) or back on duty. Away
/// for longer than the grace period, the conversations waiting on them go to colleagues.
pub async fn set_away(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<switchboard_shared::api::AwayRequest>,
) -> Result<Json<Me>> {
    let mut tx = state.db.pool.begin().await?;
    store::set_agent_field(&mut tx, user.id, store::AgentField::Away(request.away)).await?;
    if request.away != user.away {
        audit::record(&mut tx, &user, if request.away { "agent.away" } else { "agent.back" }, &format!("agent:{}", user.id), None, None)
            .await?;
    }
    tx.commit().await?;
    state.events.set_away(user.id, request.away, state.clock.now_ms());
    let mut me = user.me();
    me.away = request.away;
    Ok(Json(me))
}
