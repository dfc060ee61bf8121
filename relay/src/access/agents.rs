//! Agents (every console user): create one or many with one-time set-password links, change
//! role and scope, disable (sessions end at once, their conversations go back to the queue),
//! re-enable, reset a password.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use rand::RngCore;
use serde_json::json;
use switchboard_shared::access::Scope;
use switchboard_shared::api::{Agent, AgentChange, BulkAgentChange, CreatedAgent, Event, NewAgentsRequest, SetPasswordRequest};

use super::store::{self, AgentField, AgentRow};
use crate::access::audit;
use crate::access::auth::{hash_password, token_hash};
use crate::access::{self, AuthUser};
use crate::clock::now_ms;
use crate::error::{ApiJson, AppError, Result};
use crate::AppState;

/// How long a set-password link stays valid.
pub const LINK_LIFETIME_MS: i64 = 7 * 24 * 3600 * 1000;
/// Stored instead of a hash until a set-password link is used: no password verifies against it.
pub const NO_PASSWORD: &str = "!unset";

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Most agents created in one request.
pub const MAX_AGENTS_PER_REQUEST: usize = 500;

async fn agent_from(conn: &mut sqlx::AnyConnection, row: AgentRow) -> Result<Agent> {
    let scope = if row.all_numbers == 1 { Scope::All } else { Scope::Numbers(store::numbers_of(conn, row.id).await?) };
    Ok(Agent {
        id: row.id,
        email: row.email,
        name: row.name,
        role: row.role,
        scope,
        assigned_only: row.assigned_only == 1,
        disabled: row.disabled == 1,
        password_set: row.password_set == 1,
        created_at: row.created_at,
        code: row.code,
        capacity: row.capacity,
        away: row.away == 1,
        online: false,
    })
}

pub async fn load_agent(conn: &mut sqlx::AnyConnection, id: i64) -> Result<Agent> {
    let row = store::agent(conn, id).await?.ok_or(AppError::NotFound)?;
    agent_from(conn, row).await
}

/// `GET /api/v1/agents`
pub async fn list(State(state): State<AppState>) -> Result<Json<Vec<Agent>>> {
    let mut conn = state.db.pool.acquire().await?;
    let rows = store::agents(&mut conn).await?;
    let mut agents = Vec::with_capacity(rows.len());
    for row in rows {
        let mut agent = agent_from(&mut conn, row).await?;
        agent.online = state.events.console_open(agent.id);
        agents.push(agent);
    }
    Ok(Json(agents))
}

/// One person to create: email and an optional display name.
#[derive(Debug, PartialEq, Eq)]
pub struct Invitee {
    pub email: String,
    pub name: Option<String>,
}

/// Reads a list of emails (one per line, or separated by commas or semicolons) or a CSV whose
/// header names an `email` column (and optionally `name`). Every bad line is reported at once.
pub fn parse_invitees(text: &str) -> std::result::Result<Vec<Invitee>, String> {
    let text = text.trim_start_matches('\u{feff}');
    let first = text.lines().next().unwrap_or_default().to_lowercase();
    let mut invitees = Vec::new();
    let mut problems = Vec::new();
    if first.split(',').any(|h| h.trim().trim_matches('"') == "email") {
        let mut reader = csv::ReaderBuilder::new().flexible(true).trim(csv::Trim::All).from_reader(text.as_bytes());
        let headers = reader.headers().map_err(|e| format!("the CSV header cannot be read: {e}"))?.clone();
        let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
        let email_at = column("email").ok_or("the CSV has no email column")?;
        let name_at = column("name");
        for (i, record) in reader.records().enumerate() {
            let line = i + 2;
            match record {
                Ok(r) => {
                    let email = r.get(email_at).unwrap_or_default().to_owned();
                    let name = name_at.and_then(|n| r.get(n)).filter(|n| !n.is_empty()).map(str::to_owned);
                    if email.is_empty() && r.iter().all(str::is_empty) {
                        continue;
                    }
                    invitees.push((line, Invitee { email, name }));
                }
                Err(e) => problems.push(format!("line {line}: {e}")),
            }
        }
    } else {
        for (i, line) in text.lines().enumerate() {
            for part in line.split([',', ';']) {
                let email = part.trim().to_owned();
                if !email.is_empty() {
                    invitees.push((i + 1, Invitee { email, name: None }));
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (line, mut invitee) in invitees {
        invitee.email = invitee.email.to_lowercase();
        if !looks_like_email(&invitee.email) {
            problems.push(format!("line {line}: {:?} is not an email address", invitee.email));
        } else if seen.insert(invitee.email.clone()) {
            out.push(invitee);
        }
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    if out.is_empty() {
        return Err("no email addresses given".into());
    }
    if out.len() > MAX_AGENTS_PER_REQUEST {
        return Err(format!("at most {MAX_AGENTS_PER_REQUEST} agents at once ({} given)", out.len()));
    }
    Ok(out)
}

fn looks_like_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && s.len() <= 254
        && !s.chars().any(|c| c.is_whitespace() || c == '<' || c == '>' || c == '"')
}

/// A fresh one-time token: (token for the link, its hash for the database).
fn new_token() -> (String, String) {
    let mut raw = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut raw);
    let token = hex::encode(raw);
    let hash = token_hash(&token);
    (token, hash)
}

fn link(token: &str) -> String {
    format!("/set-password#token={token}")
}

/// `POST /api/v1/agents`: one or many agents; all or none are created.
pub async fn create(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<NewAgentsRequest>,
) -> Result<(StatusCode, Json<Vec<CreatedAgent>>)> {
    let invitees = parse_invitees(&request.emails).map_err(|m| AppError::bad_request("invalid_emails", m))?;
    let mut tx = state.db.pool.begin().await?;
    let role = access::canonical_role(&mut tx, &request.role)
        .await?
        .ok_or_else(|| AppError::bad_request("unknown_role", format!("There is no role named {:?}.", request.role)))?;
    let mut existing = Vec::new();
    for invitee in &invitees {
        if store::email_taken(&mut tx, &invitee.email).await? {
            existing.push(invitee.email.clone());
        }
    }
    if !existing.is_empty() {
        return Err(AppError::Conflict(format!("Already agents: {}. Nothing was created.", existing.join(", "))));
    }
    let now = now_ms();
    let mut created = Vec::with_capacity(invitees.len());
    for invitee in invitees {
        let (token, hash) = new_token();
        let name = invitee.name.clone().unwrap_or_else(|| invitee.email.split('@').next().unwrap_or_default().to_owned());
        // No usable password until the link is used.
        let invite = store::Invite {
            email: &invitee.email,
            name: &name,
            role: &role,
            assigned_only: request.assigned_only,
            reset_token_hash: &hash,
            link_expires_at: now + LINK_LIFETIME_MS,
        };
        let id = store::invite(&mut tx, &invite, now).await?;
        access::save_scope(&mut tx, id, &request.scope).await?;
        let agent = load_agent(&mut tx, id).await?;
        audit::record(&mut tx, &user, "agent.create", &format!("agent:{id}"), None, Some(json!(agent))).await?;
        created.push(CreatedAgent { id, email: invitee.email, set_password_link: link(&token) });
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(created)))
}

/// `PATCH /api/v1/agents/{id}`: name, role, scope, assigned-only, disabled, code, capacity,
/// away.
pub async fn update(
    State(state): State<AppState>,
    user: AuthUser,
    Path(id): Path<i64>,
    ApiJson(change): ApiJson<AgentChange>,
) -> Result<Json<Agent>> {
    let mut tx = state.db.pool.begin().await?;
    let (mut after, requeued) = change_one(&mut tx, &user, id, &change).await?;
    tx.commit().await?;
    changed(&state, &mut after, &change, requeued);
    Ok(Json(after))
}

/// Most agents changed in one bulk request.
pub const MAX_AGENTS_PER_CHANGE: usize = 500;

/// `POST /api/v1/agents/bulk`: one change (role, scope, assigned-only, disabled, capacity,
/// away) for many agents, in one transaction: if any of them cannot take it, nobody changes
/// and the answer says which and why.
pub async fn update_many(
    State(state): State<AppState>,
    user: AuthUser,
    ApiJson(request): ApiJson<BulkAgentChange>,
) -> Result<Json<Vec<Agent>>> {
    let mut ids = request.agent_ids.clone();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() || ids.len() > MAX_AGENTS_PER_CHANGE {
        return Err(AppError::bad_request("invalid_agents", format!("Choose 1 to {MAX_AGENTS_PER_CHANGE} agents.")));
    }
    let change = &request.change;
    if change.name.is_some() || change.code.is_some() {
        return Err(AppError::bad_request("invalid_change", "A name or a code belongs to one person: change it on their row."));
    }
    if *change == AgentChange::default() {
        return Err(AppError::bad_request("invalid_change", "Choose what to change."));
    }
    let mut tx = state.db.pool.begin().await?;
    let mut done = Vec::with_capacity(ids.len());
    for &id in &ids {
        let one = change_one(&mut tx, &user, id, change).await.map_err(|e| match e {
            AppError::NotFound => AppError::bad_request("invalid_agents", format!("There is no agent {id}; nobody was changed.")),
            other => other,
        })?;
        done.push(one);
    }
    tx.commit().await?;
    let mut agents = Vec::with_capacity(done.len());
    for (mut agent, requeued) in done {
        changed(&state, &mut agent, change, requeued);
        agents.push(agent);
    }
    Ok(Json(agents))
}

/// Applies `change` to agent `id` inside `tx`, with its audit entry; returns the agent after it
/// and the events of the conversations they left (when disabled).
async fn change_one(tx: &mut sqlx::AnyConnection, user: &AuthUser, id: i64, change: &AgentChange) -> Result<(Agent, Vec<Event>)> {
    if id == user.id && (change.disabled == Some(true) || change.role.is_some()) {
        return Err(AppError::Conflict("You cannot disable yourself or change your own role.".into()));
    }
    let before = load_agent(&mut *tx, id).await?;
    if let Some(name) = &change.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(AppError::bad_request("invalid_name", "A name has 1 to 100 characters."));
        }
        store::set_agent_field(&mut *tx, id, AgentField::Name(name)).await?;
    }
    if let Some(role) = &change.role {
        let role = access::canonical_role(&mut *tx, role)
            .await?
            .ok_or_else(|| AppError::bad_request("unknown_role", format!("There is no role named {role:?}.")))?;
        store::set_agent_field(&mut *tx, id, AgentField::Role(&role)).await?;
    }
    if let Some(scope) = &change.scope {
        access::save_scope(&mut *tx, id, scope).await?;
    }
    if let Some(assigned_only) = change.assigned_only {
        store::set_agent_field(&mut *tx, id, AgentField::AssignedOnly(assigned_only)).await?;
    }
    if let Some(code) = &change.code {
        let code = code.trim().trim_start_matches('#');
        if code.is_empty() {
            store::set_agent_field(&mut *tx, id, AgentField::Code(None)).await?;
        } else {
            switchboard_shared::api::check_agent_code(code).map_err(|m| AppError::bad_request("invalid_code", m))?;
            if store::code_taken(&mut *tx, code, id).await? {
                return Err(AppError::Conflict(format!("Another agent already has the code {code}.")));
            }
            store::set_agent_field(&mut *tx, id, AgentField::Code(Some(code))).await?;
        }
    }
    if let Some(capacity) = change.capacity {
        if !(0..=10_000).contains(&capacity) {
            return Err(AppError::bad_request("invalid_capacity", "A capacity is 1 to 10,000 conversations, or 0 for no limit."));
        }
        store::set_agent_field(&mut *tx, id, AgentField::Capacity((capacity > 0).then_some(capacity))).await?;
    }
    if let Some(away) = change.away {
        store::set_agent_field(&mut *tx, id, AgentField::Away(away)).await?;
    }
    let mut requeued = Vec::new();
    if let Some(disabled) = change.disabled {
        store::set_agent_field(&mut *tx, id, AgentField::Disabled(disabled)).await?;
        if disabled && !before.disabled {
            store::end_sessions_of(&mut *tx, id).await?;
            requeued = crate::agent_left(&mut *tx, id).await?;
        }
    }
    let after = load_agent(&mut *tx, id).await?;
    let action = match (before.disabled, after.disabled) {
        (false, true) => "agent.disable",
        (true, false) => "agent.enable",
        _ => "agent.update",
    };
    audit::record(&mut *tx, user, action, &format!("agent:{id}"), Some(json!(before)), Some(json!(after))).await?;
    Ok((after, requeued))
}

/// What follows a committed change: presence, assignment and the agent's open streams; the
/// agent as answered then says whether their console is open.
fn changed(state: &AppState, agent: &mut Agent, change: &AgentChange, requeued: Vec<Event>) {
    let id = agent.id;
    state.events.publish(requeued);
    if let Some(away) = change.away {
        state.events.set_away(id, away, state.clock.now_ms());
    }
    // Capacity, scope, code or role may change who takes conversations.
    state.assignment_bell.notify_one();
    // Open event streams carry the user as they were; closing them makes the browser reconnect
    // (resuming after its last event) with the new role and scope, or be refused if disabled.
    state.events.close_streams_of(id);
    agent.online = state.events.console_open(id);
}

/// `POST /api/v1/agents/{id}/password-link`: a new one-time link; the old password stops
/// working and their sessions end.
pub async fn reset_password(State(state): State<AppState>, user: AuthUser, Path(id): Path<i64>) -> Result<Json<CreatedAgent>> {
    let mut tx = state.db.pool.begin().await?;
    let agent = load_agent(&mut tx, id).await?;
    let (token, hash) = new_token();
    store::start_password_reset(&mut tx, id, &hash, now_ms() + LINK_LIFETIME_MS).await?;
    store::end_sessions_of(&mut tx, id).await?;
    audit::record(&mut tx, &user, "agent.reset_password", &format!("agent:{id}"), None, None).await?;
    tx.commit().await?;
    state.events.close_streams_of(id);
    Ok(Json(CreatedAgent { id, email: agent.email, set_password_link: link(&token) }))
}

/// `POST /api/v1/password`: sets a password with a one-time token (no session needed).
pub async fn set_password(State(state): State<AppState>, ApiJson(request): ApiJson<SetPasswordRequest>) -> Result<StatusCode> {
    if request.password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AppError::bad_request("weak_password", format!("Choose a password of at least {MIN_PASSWORD_CHARS} characters.")));
    }
    let hash = hash_password(&request.password)?;
    let mut tx = state.db.pool.begin().await?;
    let row = store::finish_password_reset(&mut tx, &token_hash(request.token.trim()), &hash, now_ms()).await?;
    let Some(id) = row else {
        return Err(AppError::bad_request(
            "invalid_link",
            "This link has expired or was already used. Ask an administrator for a new one.",
        ));
    };
    audit::record(&mut tx, audit::Actor::Link(id), "agent.set_password", &format!("agent:{id}"), None, None).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_csv_both_give_invitees() {
        let list = parse_invitees("a@example.com\nB@Example.com, c@example.com;a@example.com\n").unwrap();
        assert_eq!(list.iter().map(|i| i.email.as_str()).collect::<Vec<_>>(), ["a@example.com", "b@example.com", "c@example.com"]);
        let csv = parse_invitees("\u{feff}Name,Email\n陳大文,chan@example.com\n\"Lee, Amy\",amy@example.com\n").unwrap();
        assert_eq!(csv[0], Invitee { email: "chan@example.com".into(), name: Some("陳大文".into()) });
        assert_eq!(csv[1].name.as_deref(), Some("Lee, Amy"));
    }

    #[test]
    fn every_bad_line_is_named() {
        let e = parse_invitees("ok@example.com\nnot-an-email\nalso@bad\n").unwrap_err();
        assert!(e.contains("line 2") && e.contains("line 3"), "{e}");
        assert!(parse_invitees("  \n").unwrap_err().contains("no email"));
        let e = parse_invitees("email,name\nx@y\n").unwrap_err();
        assert!(e.contains("line 2"), "{e}");
    }
}
