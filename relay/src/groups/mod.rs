//! Group control: every group of every number, served by the provider that can reach it (the
//! Cloud API's Groups, or a linked device of the number), kept in the groups tables as the
//! providers report them and as their webhooks and events change them.
//!
//! - `provider`: the one trait every provider implements; `cloud`, `sim` and (with the
//!   `linked-device` feature) `whatsapp`, the real linked device, implement it.
//! - `linked`: the linked devices of numbers, their sessions and connection state.
//! - `jobs`: bulk actions across groups, planned (a dry run) then carried out like the outbox.
//! - `http`: the console's routes.
//! - `store` holds every group table's SQL.

mod cloud;
pub mod http;
pub mod jobs;
pub mod linked;
pub mod provider;
#[cfg(feature = "linked-device")]
mod session_file;
mod sim;
mod store;
#[cfg(feature = "linked-device")]
mod whatsapp;

use std::collections::BTreeMap;
use std::sync::Arc;

use sqlx::AnyConnection;
use switchboard_shared::api::{Event, EventKind};
use switchboard_shared::groups::{
    offers, Connection, Group, GroupCaps, GroupMember, GroupSetting, JoinRequest, MemberIds, MemberRole, ProviderKind,
};
use switchboard_shared::wire::GroupEvent;

pub use provider::{GroupChange, GroupErr, GroupProvider, Snapshot};
pub use store::{remember, subject};

use crate::error::Result;
use crate::AppState;

/// The group state shared by handlers and background work.
#[derive(Default)]
pub struct Groups {
    pub linked: linked::Sessions,
    pub workers: jobs::Workers,
}

/// The provider of `kind` for a number, if it has one: Cloud when the number is connected to
/// the Cloud API, linked when it has a linked device.
pub async fn provider(state: &AppState, number_id: &str, kind: ProviderKind) -> Result<Option<Arc<dyn GroupProvider>>> {
    Ok(match kind {
        ProviderKind::Cloud => crate::numbers::cloud_access(state, number_id).await?.map(|(token, usable)| {
            Arc::new(cloud::CloudGroups {
                client: state.cloud.clone(),
                number_id: number_id.to_owned(),
                token,
                connection: cloud_connection(usable),
            }) as Arc<dyn GroupProvider>
        }),
        ProviderKind::Linked => state.groups.linked.provider(number_id),
    })
}

/// A Cloud API number's connection: usable (connected and not disabled) or not.
fn cloud_connection(usable: bool) -> Connection {
    if usable {
        Connection::Online
    } else {
        Connection::Offline { since: 0 }
    }
}

/// How a number's provider is connected right now (a number without one is logged out). Read
/// without building the provider: listing groups needs no token opened.
async fn connection_of(state: &AppState, number_id: &str, kind: ProviderKind) -> Result<Connection> {
    let connection = match kind {
        ProviderKind::Cloud => crate::numbers::cloud_usable(state, number_id).await?.map(cloud_connection),
        ProviderKind::Linked => state.groups.linked.get(number_id).map(|s| s.connection.read().expect("connection lock").clone()),
    };
    Ok(connection.unwrap_or(Connection::LoggedOut { reason: switchboard_shared::groups::LogoutReason::NotPaired }))
}

fn caps(kind: ProviderKind) -> GroupCaps {
    match kind {
        ProviderKind::Cloud => GroupCaps::cloud(),
        ProviderKind::Linked => GroupCaps::linked(),
    }
}

/// Stored groups as the console shows them, with what may be done to each and why not. (It
/// takes the pool, not a connection: finding a provider reads the numbers, and SQLite has one.)
pub async fn present(state: &AppState, rows: Vec<store::GroupRow>, mask: bool) -> Result<Vec<Group>> {
    let mut connections: BTreeMap<(String, ProviderKind), Connection> = BTreeMap::new();
    for r in &rows {
        let key = (r.number_id.clone(), r.provider());
        if let std::collections::btree_map::Entry::Vacant(slot) = connections.entry(key) {
            let c = connection_of(state, &r.number_id, r.provider()).await?;
            slot.insert(c);
        }
    }
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut admins: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut conn = state.db.pool.acquire().await?;
    for chunk in ids.chunks(500) {
        for (g, m) in store::members_of(&mut conn, chunk).await? {
            if m.role.is_admin() {
                admins.entry(g).or_default().push(display(&m, mask));
            }
        }
    }
    drop(conn);
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let kind = r.provider();
        let connection = connections[&(r.number_id.clone(), kind)].clone();
        out.push(Group {
            actions: offers(&caps(kind), &connection, r.is_admin != 0, r.admins_only != 0),
            admins: admins.remove(&r.id).unwrap_or_default(),
            subject: r.subject.clone().unwrap_or_else(|| r.id.clone()),
            id: r.id,
            number_id: r.number_id,
            provider: kind,
            description: r.description,
            member_count: r.member_count as u32,
            pending_requests: r.pending as u32,
            admins_only_messages: r.admins_only != 0,
            locked_info: r.locked != 0,
            join_approval: r.join_approval != 0,
            suspended: r.suspended != 0,
            lid_addressing: r.lid_addressing != 0,
            is_admin: r.is_admin != 0,
            last_activity_at: r.last_activity_at,
            invite_link: r.invite_link,
            photo: r.photo_sha,
            connection,
        });
    }
    Ok(out)
}

/// A member's name, else their phone (masked when the reader may not see phones), else LID.
fn display(m: &GroupMember, mask: bool) -> String {
    if let Some(n) = m.name.as_ref().filter(|n| !n.is_empty()) {
        return n.clone();
    }
    match m.ids.phone_digits() {
        Some(p) if mask => switchboard_shared::access::mask_phone(p),
        Some(p) => format!("+{p}"),
        None => m.ids.lid.as_ref().map(|l| format!("LID {l}")).or(m.ids.bsuid.clone()).unwrap_or_default(),
    }
}

/// Reads every group of a number from its provider into the tables; groups no longer listed
/// are gone. Answers how many there are.
pub async fn sync_number(state: &AppState, number_id: &str, kind: ProviderKind) -> Result<usize> {
    let Some(p) = provider(state, number_id, kind).await? else { return Ok(0) };
    let snapshots = p.list_groups().await.map_err(|e| crate::error::AppError::from_group(e, None))?;
    let mut with_requests = Vec::with_capacity(snapshots.len());
    for s in snapshots {
        let requests = if s.is_admin && p.capabilities().can(switchboard_shared::groups::GroupAction::DecideJoinRequests) {
            p.join_requests(&s.id).await.ok()
        } else {
            None
        };
        with_requests.push((s, requests));
    }
    let mut tx = state.db.pool.begin().await?;
    let mut events = Vec::new();
    for (s, requests) in &with_requests {
        store::save_snapshot(&mut tx, number_id, kind, s, requests.as_deref()).await?;
    }
    let keep: Vec<String> = with_requests.iter().map(|(s, _)| s.id.clone()).collect();
    store::mark_gone_except(&mut tx, number_id, kind, &keep).await?;
    events.push(crate::events::append(&mut tx, number_id, None, EventKind::Group { group_id: String::new() }).await?);
    tx.commit().await?;
    state.events.publish(events);
    Ok(keep.len())
}

/// A `group_create` webhook answers a creation we asked for: it is marked made (with its group)
/// or failed (with Meta's reason), and the console told.
pub async fn creation_answered(
    conn: &mut AnyConnection,
    request_id: &str,
    group_id: Option<&str>,
    error: Option<&str>,
    out: &mut Vec<Event>,
) -> Result<()> {
    let group_id = if error.is_some() { None } else { group_id };
    if let Some(number_id) = store::settle_creation(conn, request_id, group_id, error).await? {
        let kind = EventKind::Group { group_id: group_id.unwrap_or(request_id).to_owned() };
        out.push(crate::events::append(conn, &number_id, None, kind).await?);
    }
    Ok(())
}

/// Applies one change to a stored group, confirms the job items it shows took effect, and
/// adds the events to publish after the commit.
pub async fn apply_change(
    conn: &mut AnyConnection,
    number_id: &str,
    kind: ProviderKind,
    group_id: &str,
    change: &GroupChange,
    out: &mut Vec<Event>,
) -> Result<()> {
    use store::GroupFlags;
    match change {
        GroupChange::Joined(members) => {
            for m in members {
                store::upsert_member(conn, group_id, m).await?;
                store::remove_request(conn, group_id, &m.ids).await?;
            }
            store::learn_lids(conn, number_id, members.iter().map(|m| &m.ids)).await?;
        }
        GroupChange::Left(ids) => {
            for i in ids {
                store::remove_member(conn, group_id, i).await?;
            }
        }
        GroupChange::Promoted(ids) | GroupChange::Demoted(ids) => {
            let role = if matches!(change, GroupChange::Promoted(_)) { MemberRole::Admin } else { MemberRole::Member };
            for i in ids {
                store::set_role(conn, group_id, i, role).await?;
            }
        }
        GroupChange::Setting(s) => {
            let mut f = GroupFlags::default();
            match s {
                GroupSetting::AdminsOnlyMessages(v) => f.admins_only = Some(*v),
                GroupSetting::LockedInfo(v) => f.locked = Some(*v),
                GroupSetting::JoinApproval(v) => f.join_approval = Some(*v),
                GroupSetting::Subject(v) => f.subject = Some(v),
                GroupSetting::Description(v) => f.description = Some(v),
            }
            store::set_flags(conn, group_id, f).await?;
            if let GroupSetting::Subject(v) = s {
                crate::conversations::rename(conn, number_id, group_id, v, out).await?;
            }
        }
        GroupChange::RequestCreated(r) => {
            store::add_request(conn, group_id, r).await?;
            store::learn_lids(conn, number_id, std::iter::once(&r.ids)).await?;
        }
        GroupChange::RequestGone(ids) => {
            store::remove_request(conn, group_id, ids).await?;
        }
        GroupChange::LidAddressing(on) => {
            store::set_flags(conn, group_id, GroupFlags { lid_addressing: Some(*on), ..Default::default() }).await?
        }
        GroupChange::Suspended(on) => store::set_flags(conn, group_id, GroupFlags { suspended: Some(*on), ..Default::default() }).await?,
        GroupChange::Appeared(s) => {
            if store::one(conn, group_id).await?.is_none() || !s.members.is_empty() {
                store::save_snapshot(conn, number_id, kind, s, None).await?;
            } else {
                // Known already (a webhook about it came first): what the news says, without
                // forgetting the members we know.
                store::remember(conn, group_id, number_id, Some(&s.subject), s.invite_link.as_deref()).await?;
                let flags = GroupFlags {
                    description: s.description.as_deref(),
                    join_approval: Some(s.join_approval),
                    is_admin: Some(s.is_admin),
                    ..Default::default()
                };
                store::set_flags(conn, group_id, flags).await?;
            }
            if !s.subject.is_empty() {
                crate::conversations::rename(conn, number_id, group_id, &s.subject, out).await?;
            }
        }
        GroupChange::Gone => store::mark_gone(conn, group_id).await?,
        GroupChange::Activity => {
            store::set_flags(conn, group_id, GroupFlags { activity_at: Some(crate::clock::now_ms()), ..Default::default() }).await?
        }
    }
    jobs::confirm(conn, number_id, group_id, change, out).await?;
    if !matches!(change, GroupChange::Activity) {
        out.push(crate::events::append(conn, number_id, None, EventKind::Group { group_id: group_id.to_owned() }).await?);
    }
    Ok(())
}

/// What a Cloud group webhook says happened.
pub fn cloud_changes(g: &GroupEvent) -> Vec<GroupChange> {
    use serde_json::Value;
    let people = |key: &str| -> Vec<MemberIds> {
        g.rest.get(key).and_then(Value::as_array).map(|a| a.iter().map(cloud::participant_ids).collect()).unwrap_or_default()
    };
    let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
    if !g.errors.is_empty() && g.kind == "group_create" {
        return vec![];
    }
    match g.normalized_kind() {
        "group_create" => vec![GroupChange::Appeared(Snapshot {
            id: g.group_id.clone().unwrap_or_default(),
            subject: text(g.rest.get("subject")).unwrap_or_default(),
            description: text(g.rest.get("description")),
            join_approval: text(g.rest.get("join_approval_mode")).as_deref() == Some("approval_required"),
            is_admin: true,
            invite_link: text(g.rest.get("invite_link")),
            ..Snapshot::default()
        })],
        "group_delete" if g.errors.is_empty() => vec![GroupChange::Gone],
        "group_participants_add" => vec![GroupChange::Joined(
            people("added_participants").into_iter().map(|ids| GroupMember { ids, name: None, role: MemberRole::Member }).collect(),
        )],
        "group_participants_remove" => vec![GroupChange::Left(people("removed_participants"))],
        "group_join_request_created" => {
            let ids = cloud::participant_ids(&serde_json::Value::Object(g.rest.clone()));
            let id = text(g.rest.get("join_request_id")).unwrap_or_default();
            vec![GroupChange::RequestCreated(JoinRequest {
                id,
                ids,
                name: text(g.rest.get("username")),
                requested_at: g.timestamp.map_or_else(crate::clock::now_ms, |t| t * 1000),
            })]
        }
        "group_join_request_revoked" => vec![GroupChange::RequestGone(cloud::participant_ids(&serde_json::Value::Object(g.rest.clone())))],
        "group_settings_update" => {
            let ok = |key: &str| {
                g.rest
                    .get(key)
                    .filter(|v| v.get("update_successful").and_then(Value::as_bool).unwrap_or(false))
                    .and_then(|v| text(v.get("text")))
            };
            let mut v = Vec::new();
            if let Some(s) = ok("group_subject") {
                v.push(GroupChange::Setting(GroupSetting::Subject(s)));
            }
            if let Some(d) = ok("group_description") {
                v.push(GroupChange::Setting(GroupSetting::Description(d)));
            }
            v
        }
        "group_suspend" => vec![GroupChange::Suspended(true)],
        "group_suspend_cleared" => vec![GroupChange::Suspended(false)],
        _ => vec![],
    }
}

/// Starts the linked sessions and resumes bulk jobs after a restart.
pub async fn start(state: &AppState) -> anyhow::Result<()> {
    linked::start_all(state).await?;
    jobs::recover(state).await?;
    tokio::spawn(jobs::sweep(state.clone()));
    Ok(())
}
