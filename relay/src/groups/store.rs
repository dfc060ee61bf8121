//! The group tables: groups, their members and join requests, each number's LID ↔ phone map,
//! linked devices, bulk jobs with their items, and group creations asked of WhatsApp.

use sqlx::{AnyConnection, AnyPool};
use switchboard_shared::groups::{GroupCreation, GroupMember, ItemState, JoinRequest, MemberIds, MemberRole, ProviderKind, Verdict};

use super::provider::Snapshot;
use crate::clock::now_ms;
use crate::error::Result;

/// Remembers what a webhook said of a group; what it did not say stays as it was.
pub async fn remember(
    conn: &mut AnyConnection,
    group_id: &str,
    number_id: &str,
    subject: Option<&str>,
    invite_link: Option<&str>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO groups (id, number_id, subject, invite_link, updated_at) VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (id) DO UPDATE SET subject = COALESCE(excluded.subject, groups.subject),
           invite_link = COALESCE(excluded.invite_link, groups.invite_link), updated_at = excluded.updated_at, gone = FALSE",
    )
    .bind(group_id)
    .bind(number_id)
    .bind(subject)
    .bind(invite_link)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A group's subject, if a webhook has told us.
pub async fn subject(conn: &mut AnyConnection, group_id: &str) -> Result<Option<String>> {
    let row: Option<(Option<String>,)> =
        sqlx::query_as("SELECT subject FROM groups WHERE id = $1").bind(group_id).fetch_optional(&mut *conn).await?;
    Ok(row.and_then(|(s,)| s))
}

/// A group row as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct GroupRow {
    pub id: String,
    pub number_id: String,
    pub provider: String,
    pub subject: Option<String>,
    pub description: Option<String>,
    pub invite_link: Option<String>,
    pub admins_only: i64,
    pub locked: i64,
    pub join_approval: i64,
    pub suspended: i64,
    pub lid_addressing: i64,
    pub is_admin: i64,
    pub last_activity_at: Option<i64>,
    pub photo_sha: Option<String>,
    pub member_count: i64,
    pub pending: i64,
}

impl GroupRow {
    pub fn provider(&self) -> ProviderKind {
        ProviderKind::parse(&self.provider).unwrap_or(ProviderKind::Cloud)
    }
}

const GROUP_COLUMNS: &str = "g.id, g.number_id, g.provider, g.subject, g.description, g.invite_link,
    CASE WHEN g.admins_only THEN 1 ELSE 0 END AS admins_only, CASE WHEN g.locked THEN 1 ELSE 0 END AS locked,
    CASE WHEN g.join_approval THEN 1 ELSE 0 END AS join_approval, CASE WHEN g.suspended THEN 1 ELSE 0 END AS suspended,
    CASE WHEN g.lid_addressing THEN 1 ELSE 0 END AS lid_addressing, CASE WHEN g.is_admin THEN 1 ELSE 0 END AS is_admin, g.last_activity_at, g.photo_sha,
    (SELECT COUNT(*) FROM group_members m WHERE m.group_id = g.id) AS member_count,
    (SELECT COUNT(*) FROM group_join_requests r WHERE r.group_id = g.id) AS pending";

/// Every group still ours on the numbers `scope` (a SQL condition on `g.number_id`) allows.
pub async fn list(pool: &AnyPool, scope: &str) -> Result<Vec<GroupRow>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.gone = FALSE AND {scope} ORDER BY g.subject, g.id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?)
}

pub async fn one(conn: &mut AnyConnection, id: &str) -> Result<Option<GroupRow>> {
    let sql = format!("SELECT {GROUP_COLUMNS} FROM groups g WHERE g.id = $1 AND g.gone = FALSE");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?)
}

#[derive(sqlx::FromRow)]
struct MemberRow {
    group_id: String,
    pn: Option<String>,
    lid: Option<String>,
    bsuid: Option<String>,
    wa_id: Option<String>,
    name: Option<String>,
    role: String,
}

impl MemberRow {
    fn member(self) -> (String, GroupMember) {
        let ids = MemberIds { pn: self.pn, lid: self.lid, bsuid: self.bsuid, wa_id: self.wa_id };
        (self.group_id, GroupMember { ids, name: self.name, role: MemberRole::parse(&self.role) })
    }
}

/// The members of these groups (group id, member), phones filled in from the LID map.
pub async fn members_of(conn: &mut AnyConnection, group_ids: &[String]) -> Result<Vec<(String, GroupMember)>> {
    if group_ids.is_empty() {
        return Ok(vec![]);
    }
    let list = in_list(group_ids);
    let sql = format!(
        "SELECT m.group_id, COALESCE(m.pn, l.pn) AS pn, m.lid, m.bsuid, m.wa_id, m.name, m.role
         FROM group_members m JOIN groups g ON g.id = m.group_id
         LEFT JOIN lid_map l ON l.number_id = g.number_id AND l.lid = m.lid
         WHERE m.group_id IN ({list}) ORDER BY m.group_id, m.role DESC, m.name, m.member_key"
    );
    let rows: Vec<MemberRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut *conn).await?;
    Ok(rows.into_iter().map(MemberRow::member).collect())
}

/// Group ids quoted for an `IN (…)` list; quotes inside are doubled.
fn in_list(ids: &[String]) -> String {
    ids.iter().map(|id| format!("'{}'", id.replace('\'', "''"))).collect::<Vec<_>>().join(",")
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    request_id: String,
    pn: Option<String>,
    lid: Option<String>,
    bsuid: Option<String>,
    wa_id: Option<String>,
    name: Option<String>,
    requested_at: i64,
}

pub async fn requests_of(conn: &mut AnyConnection, group_id: &str) -> Result<Vec<JoinRequest>> {
    let rows: Vec<RequestRow> = sqlx::query_as(
        "SELECT r.request_id, COALESCE(r.pn, l.pn) AS pn, r.lid, r.bsuid, r.wa_id, r.name, r.requested_at
         FROM group_join_requests r JOIN groups g ON g.id = r.group_id
         LEFT JOIN lid_map l ON l.number_id = g.number_id AND l.lid = r.lid
         WHERE r.group_id = $1 ORDER BY r.requested_at, r.request_id",
    )
    .bind(group_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| JoinRequest {
            id: r.request_id,
            ids: MemberIds { pn: r.pn, lid: r.lid, bsuid: r.bsuid, wa_id: r.wa_id },
            name: r.name,
            requested_at: r.requested_at,
        })
        .collect())
}

/// Stores a group as its provider reported it: settings, the whole member list, and the join
/// requests when they were read too.
pub async fn save_snapshot(
    conn: &mut AnyConnection,
    number_id: &str,
    provider: ProviderKind,
    s: &Snapshot,
    requests: Option<&[JoinRequest]>,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO groups (id, number_id, provider, subject, description, invite_link, admins_only, locked, join_approval,
           suspended, lid_addressing, is_admin, updated_at, gone)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, FALSE)
         ON CONFLICT (id) DO UPDATE SET number_id = excluded.number_id, provider = excluded.provider, subject = excluded.subject,
           description = excluded.description, invite_link = COALESCE(excluded.invite_link, groups.invite_link),
           admins_only = excluded.admins_only, locked = excluded.locked, join_approval = excluded.join_approval,
           suspended = excluded.suspended, lid_addressing = excluded.lid_addressing, is_admin = excluded.is_admin,
           updated_at = excluded.updated_at, gone = FALSE",
    )
    .bind(&s.id)
    .bind(number_id)
    .bind(provider.as_str())
    .bind(&s.subject)
    .bind(&s.description)
    .bind(&s.invite_link)
    .bind(s.admins_only)
    .bind(s.locked)
    .bind(s.join_approval)
    .bind(s.suspended)
    .bind(s.lid_addressing)
    .bind(s.is_admin)
    .bind(now_ms())
    .execute(&mut *conn)
    .await?;
    sqlx::query("DELETE FROM group_members WHERE group_id = $1").bind(&s.id).execute(&mut *conn).await?;
    for m in &s.members {
        upsert_member(conn, &s.id, m).await?;
    }
    learn_lids(conn, number_id, s.members.iter().map(|m| &m.ids)).await?;
    if let Some(requests) = requests {
        sqlx::query("DELETE FROM group_join_requests WHERE group_id = $1").bind(&s.id).execute(&mut *conn).await?;
        for r in requests {
            add_request(conn, &s.id, r).await?;
        }
        learn_lids(conn, number_id, requests.iter().map(|r| &r.ids)).await?;
    }
    Ok(())
}

/// Groups of a number and provider not in `keep` are gone (left, deleted, or we were removed).
pub async fn mark_gone_except(conn: &mut AnyConnection, number_id: &str, provider: ProviderKind, keep: &[String]) -> Result<u64> {
    let keep = if keep.is_empty() { "''".to_owned() } else { in_list(keep) };
    let sql = format!("UPDATE groups SET gone = TRUE WHERE number_id = $1 AND provider = $2 AND gone = FALSE AND id NOT IN ({keep})");
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(number_id).bind(provider.as_str()).execute(&mut *conn).await?.rows_affected())
}

pub async fn mark_gone(conn: &mut AnyConnection, group_id: &str) -> Result<()> {
    sqlx::query("UPDATE groups SET gone = TRUE WHERE id = $1").bind(group_id).execute(&mut *conn).await?;
    Ok(())
}

/// A row that shares an id with the person bound as $2 (LID), $3 (phone) and $4 (BSUID): what
/// [`MemberIds::same_person`] says, in SQL.
const SAME_PERSON: &str =
    "(($2 IS NOT NULL AND lid = $2) OR ($3 IS NOT NULL AND (pn = $3 OR wa_id = $3)) OR ($4 IS NOT NULL AND bsuid = $4))";

/// Finds the stored key of a member sharing an id with `ids`.
async fn member_key(conn: &mut AnyConnection, group_id: &str, ids: &MemberIds) -> Result<Option<String>> {
    let sql = format!("SELECT member_key FROM group_members WHERE group_id = $1 AND {SAME_PERSON} LIMIT 1");
    let row: Option<(String,)> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(group_id)
        .bind(&ids.lid)
        .bind(ids.phone_digits())
        .bind(&ids.bsuid)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(k,)| k))
}

/// Adds a member, or fills in what is newly known of one already there.
pub async fn upsert_member(conn: &mut AnyConnection, group_id: &str, m: &GroupMember) -> Result<()> {
    match member_key(conn, group_id, &m.ids).await? {
        Some(key) => {
            sqlx::query(
                "UPDATE group_members SET pn = COALESCE($1, pn), lid = COALESCE($2, lid), bsuid = COALESCE($3, bsuid),
                   wa_id = COALESCE($4, wa_id), name = COALESCE($5, name), role = $6 WHERE group_id = $7 AND member_key = $8",
            )
            .bind(&m.ids.pn)
            .bind(&m.ids.lid)
            .bind(&m.ids.bsuid)
            .bind(&m.ids.wa_id)
            .bind(&m.name)
            .bind(m.role.as_str())
            .bind(group_id)
            .bind(key)
            .execute(&mut *conn)
            .await?;
        }
        None => {
            sqlx::query(
                "INSERT INTO group_members (group_id, member_key, pn, lid, bsuid, wa_id, name, role) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(group_id)
            .bind(m.ids.key())
            .bind(&m.ids.pn)
            .bind(&m.ids.lid)
            .bind(&m.ids.bsuid)
            .bind(&m.ids.wa_id)
            .bind(&m.name)
            .bind(m.role.as_str())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

pub async fn remove_member(conn: &mut AnyConnection, group_id: &str, ids: &MemberIds) -> Result<bool> {
    let Some(key) = member_key(conn, group_id, ids).await? else { return Ok(false) };
    sqlx::query("DELETE FROM group_members WHERE group_id = $1 AND member_key = $2").bind(group_id).bind(key).execute(&mut *conn).await?;
    Ok(true)
}

pub async fn set_role(conn: &mut AnyConnection, group_id: &str, ids: &MemberIds, role: MemberRole) -> Result<bool> {
    let Some(key) = member_key(conn, group_id, ids).await? else { return Ok(false) };
    sqlx::query("UPDATE group_members SET role = $1 WHERE group_id = $2 AND member_key = $3")
        .bind(role.as_str())
        .bind(group_id)
        .bind(key)
        .execute(&mut *conn)
        .await?;
    Ok(true)
}

pub async fn add_request(conn: &mut AnyConnection, group_id: &str, r: &JoinRequest) -> Result<()> {
    sqlx::query(
        "INSERT INTO group_join_requests (group_id, request_id, pn, lid, bsuid, wa_id, name, requested_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (group_id, request_id) DO NOTHING",
    )
    .bind(group_id)
    .bind(&r.id)
    .bind(&r.ids.pn)
    .bind(&r.ids.lid)
    .bind(&r.ids.bsuid)
    .bind(&r.ids.wa_id)
    .bind(&r.name)
    .bind(r.requested_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drops the requests of whoever shares an id with `ids`; says how many went.
pub async fn remove_request(conn: &mut AnyConnection, group_id: &str, ids: &MemberIds) -> Result<u64> {
    let sql = format!("DELETE FROM group_join_requests WHERE group_id = $1 AND {SAME_PERSON}");
    Ok(sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(group_id)
        .bind(&ids.lid)
        .bind(ids.phone_digits())
        .bind(&ids.bsuid)
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Sets a group's flags and texts; `None` leaves one as it is.
#[derive(Default)]
pub struct GroupFlags<'a> {
    pub subject: Option<&'a str>,
    pub description: Option<&'a str>,
    pub admins_only: Option<bool>,
    pub locked: Option<bool>,
    pub join_approval: Option<bool>,
    pub suspended: Option<bool>,
    pub lid_addressing: Option<bool>,
    pub is_admin: Option<bool>,
    pub invite_link: Option<&'a str>,
    pub activity_at: Option<i64>,
}

pub async fn set_flags(conn: &mut AnyConnection, group_id: &str, f: GroupFlags<'_>) -> Result<()> {
    sqlx::query(
        "UPDATE groups SET subject = COALESCE($1, subject), description = COALESCE($2, description),
           admins_only = COALESCE($3, admins_only), locked = COALESCE($4, locked), join_approval = COALESCE($5, join_approval),
           suspended = COALESCE($6, suspended), lid_addressing = COALESCE($7, lid_addressing), is_admin = COALESCE($8, is_admin),
           invite_link = COALESCE($9, invite_link), last_activity_at = COALESCE($10, last_activity_at), updated_at = $11
         WHERE id = $12",
    )
    .bind(f.subject)
    .bind(f.description)
    .bind(f.admins_only)
    .bind(f.locked)
    .bind(f.join_approval)
    .bind(f.suspended)
    .bind(f.lid_addressing)
    .bind(f.is_admin)
    .bind(f.invite_link)
    .bind(f.activity_at)
    .bind(now_ms())
    .bind(group_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Learns LID ↔ phone pairs from members known by both.
pub async fn learn_lids<'a>(conn: &mut AnyConnection, number_id: &str, ids: impl Iterator<Item = &'a MemberIds>) -> Result<()> {
    for m in ids {
        if let (Some(lid), Some(pn)) = (&m.lid, &m.pn) {
            sqlx::query(
                "INSERT INTO lid_map (number_id, lid, pn, learned_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (number_id, lid) DO UPDATE SET pn = excluded.pn, learned_at = excluded.learned_at",
            )
            .bind(number_id)
            .bind(lid)
            .bind(pn)
            .bind(now_ms())
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

/// The LID a number has learned for a phone.
pub async fn lid_for_phone(conn: &mut AnyConnection, number_id: &str, pn: &str) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT lid FROM lid_map WHERE number_id = $1 AND pn = $2 LIMIT 1")
        .bind(number_id)
        .bind(pn)
        .fetch_optional(&mut *conn)
        .await?;
    Ok(row.map(|(l,)| l))
}

/// Members and join requests matching a search (phone digits, LID or name), in these groups'
/// numbers' scope.
pub async fn find_people(pool: &AnyPool, scope: &str, needle: &str) -> Result<Vec<(String, GroupMember, bool)>> {
    let digits: String = needle.chars().filter(char::is_ascii_digit).collect();
    let like = format!("%{}%", needle.trim().to_lowercase().replace(['%', '_'], ""));
    let digits_like = if digits.len() >= 4 { format!("%{digits}%") } else { "\u{0}".to_owned() };
    let sql = format!(
        "SELECT g.id AS group_id, COALESCE(m.pn, l.pn) AS pn, m.lid, m.bsuid, m.wa_id, m.name, m.role FROM group_members m
           JOIN groups g ON g.id = m.group_id LEFT JOIN lid_map l ON l.number_id = g.number_id AND l.lid = m.lid
           WHERE g.gone = FALSE AND {scope} AND (LOWER(COALESCE(m.name, '')) LIKE $1 OR COALESCE(m.pn, l.pn, m.wa_id, '') LIKE $2 OR COALESCE(m.lid, '') LIKE $2)
         UNION ALL
         SELECT g.id AS group_id, COALESCE(r.pn, l.pn) AS pn, r.lid, r.bsuid, r.wa_id, r.name, 'request' AS role FROM group_join_requests r
           JOIN groups g ON g.id = r.group_id LEFT JOIN lid_map l ON l.number_id = g.number_id AND l.lid = r.lid
           WHERE g.gone = FALSE AND {scope} AND (LOWER(COALESCE(r.name, '')) LIKE $1 OR COALESCE(r.pn, l.pn, r.wa_id, '') LIKE $2 OR COALESCE(r.lid, '') LIKE $2)
         LIMIT 500"
    );
    let rows: Vec<MemberRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(&like).bind(&digits_like).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            let requested = r.role == "request";
            let (g, m) = r.member();
            (g, m, requested)
        })
        .collect())
}

// ---------------------------------------------------------------------------------------------
// Linked devices
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DeviceRow {
    pub number_id: String,
    pub phone: String,
    pub label: String,
    pub state: String,
    pub state_since: i64,
    pub reason: Option<String>,
    pub qr: Option<String>,
    pub pair_code: Option<String>,
    pub event_seq: i64,
    pub groups: i64,
}

const DEVICE_COLUMNS: &str = "d.number_id, d.phone, d.label, d.state, d.state_since, d.reason, d.qr, d.pair_code, d.event_seq,
    (SELECT COUNT(*) FROM groups g WHERE g.number_id = d.number_id AND g.provider = 'linked' AND g.gone = FALSE) AS groups";

pub async fn devices(pool: &AnyPool, scope: &str) -> Result<Vec<DeviceRow>> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM linked_devices d WHERE {scope} ORDER BY d.label, d.number_id");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?)
}

pub async fn device(conn: &mut AnyConnection, number_id: &str) -> Result<Option<DeviceRow>> {
    let sql = format!("SELECT {DEVICE_COLUMNS} FROM linked_devices d WHERE d.number_id = $1");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(number_id).fetch_optional(&mut *conn).await?)
}

pub async fn add_device(conn: &mut AnyConnection, number_id: &str, phone: &str, label: &str) -> Result<()> {
    let now = now_ms();
    sqlx::query(
        "INSERT INTO linked_devices (number_id, phone, label, state, state_since, created_at) VALUES ($1, $2, $3, 'logged_out', $4, $4)
         ON CONFLICT (number_id) DO UPDATE SET label = excluded.label",
    )
    .bind(number_id)
    .bind(phone)
    .bind(label)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records a connection state; `state_since` moves only when the state changes. Says whether
/// it changed.
pub async fn set_device_state(
    conn: &mut AnyConnection,
    number_id: &str,
    state: &str,
    reason: Option<&str>,
    qr: Option<&str>,
    pair_code: Option<&str>,
) -> Result<bool> {
    let now = now_ms();
    let changed = sqlx::query(
        "UPDATE linked_devices SET state_since = CASE WHEN state = $1 THEN state_since ELSE $2 END, state = $1, reason = $3, qr = $4, pair_code = $5
         WHERE number_id = $6 AND (state <> $1 OR COALESCE(reason, '') <> COALESCE($3, '') OR COALESCE(qr, '') <> COALESCE($4, '')
           OR COALESCE(pair_code, '') <> COALESCE($5, ''))",
    )
    .bind(state)
    .bind(now)
    .bind(reason)
    .bind(qr)
    .bind(pair_code)
    .bind(number_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(changed > 0)
}

pub async fn set_event_seq(conn: &mut AnyConnection, number_id: &str, seq: i64) -> Result<()> {
    sqlx::query("UPDATE linked_devices SET event_seq = $1 WHERE number_id = $2 AND event_seq < $1")
        .bind(seq)
        .bind(number_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

pub async fn remove_device(conn: &mut AnyConnection, number_id: &str) -> Result<bool> {
    let n = sqlx::query("DELETE FROM linked_devices WHERE number_id = $1").bind(number_id).execute(&mut *conn).await?.rows_affected();
    sqlx::query("UPDATE groups SET gone = TRUE WHERE number_id = $1 AND provider = 'linked'").bind(number_id).execute(&mut *conn).await?;
    Ok(n > 0)
}

// ---------------------------------------------------------------------------------------------
// Daily add cap
// ---------------------------------------------------------------------------------------------

/// Counts `n` adds on a number today unless that passes `cap`; says whether it did.
pub async fn take_adds(conn: &mut AnyConnection, number_id: &str, day: &str, n: i64, cap: i64) -> Result<bool> {
    let (used,): (i64,) = sqlx::query_as("SELECT COALESCE(MAX(count), 0) FROM group_adds WHERE number_id = $1 AND day = $2")
        .bind(number_id)
        .bind(day)
        .fetch_one(&mut *conn)
        .await?;
    if used + n > cap {
        return Ok(false);
    }
    sqlx::query(
        "INSERT INTO group_adds (number_id, day, count) VALUES ($1, $2, $3)
         ON CONFLICT (number_id, day) DO UPDATE SET count = group_adds.count + excluded.count",
    )
    .bind(number_id)
    .bind(day)
    .bind(n)
    .execute(&mut *conn)
    .await?;
    Ok(true)
}

// ---------------------------------------------------------------------------------------------
// Bulk jobs
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct JobRow {
    pub id: i64,
    pub action: String,
    pub state: String,
    pub created_by: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    pub numbers: String,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ItemRow {
    pub job_id: i64,
    pub seq: i64,
    pub group_id: String,
    pub number_id: String,
    pub subject: String,
    pub verdict: String,
    pub state: String,
    pub detail: Option<String>,
    pub attempts: i64,
    pub not_before: i64,
}

impl ItemRow {
    pub fn state(&self) -> ItemState {
        ItemState::parse(&self.state).unwrap_or(ItemState::Failed)
    }
}

/// One item to insert: (group, number, subject, verdict, state).
pub struct NewItem<'a> {
    pub group_id: &'a str,
    pub number_id: &'a str,
    pub subject: &'a str,
    pub verdict: Verdict,
    pub state: ItemState,
}

pub fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Act => "act",
        Verdict::NothingToDo => "nothing_to_do",
        Verdict::NotAdmin => "not_admin",
        Verdict::Unresolved => "unresolved",
        Verdict::Offline => "offline",
        Verdict::Cannot => "cannot",
    }
}

pub fn parse_verdict(s: &str) -> Verdict {
    match s {
        "act" => Verdict::Act,
        "nothing_to_do" => Verdict::NothingToDo,
        "not_admin" => Verdict::NotAdmin,
        "unresolved" => Verdict::Unresolved,
        "offline" => Verdict::Offline,
        _ => Verdict::Cannot,
    }
}

pub async fn create_job(conn: &mut AnyConnection, action: &str, created_by: &str, numbers: &str, items: &[NewItem<'_>]) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO group_jobs (action, state, created_by, created_at, numbers) VALUES ($1, 'running', $2, $3, $4) RETURNING id",
    )
    .bind(action)
    .bind(created_by)
    .bind(now_ms())
    .bind(numbers)
    .fetch_one(&mut *conn)
    .await?;
    for (seq, it) in items.iter().enumerate() {
        sqlx::query(
            "INSERT INTO group_job_items (job_id, seq, group_id, number_id, subject, verdict, state) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(id)
        .bind(seq as i64)
        .bind(it.group_id)
        .bind(it.number_id)
        .bind(it.subject)
        .bind(verdict_str(it.verdict))
        .bind(it.state.as_str())
        .execute(&mut *conn)
        .await?;
    }
    Ok(id)
}

pub async fn job(conn: &mut AnyConnection, id: i64) -> Result<Option<JobRow>> {
    Ok(sqlx::query_as("SELECT id, action, state, created_by, created_at, finished_at, numbers FROM group_jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?)
}

pub async fn jobs(pool: &AnyPool, limit: i64) -> Result<Vec<JobRow>> {
    Ok(sqlx::query_as("SELECT id, action, state, created_by, created_at, finished_at, numbers FROM group_jobs ORDER BY id DESC LIMIT $1")
        .bind(limit)
        .fetch_all(pool)
        .await?)
}

const ITEM_COLUMNS: &str = "job_id, seq, group_id, number_id, subject, verdict, state, detail, attempts, not_before";

pub async fn items(conn: &mut AnyConnection, job_id: i64) -> Result<Vec<ItemRow>> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM group_job_items WHERE job_id = $1 ORDER BY seq");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(job_id).fetch_all(&mut *conn).await?)
}

pub async fn item_counts(conn: &mut AnyConnection, job_id: i64) -> Result<Vec<(String, i64)>> {
    Ok(sqlx::query_as("SELECT state, COUNT(*) FROM group_job_items WHERE job_id = $1 GROUP BY state")
        .bind(job_id)
        .fetch_all(&mut *conn)
        .await?)
}

/// The next item a number should act on: the oldest waiting one of a running job whose time
/// has come. `None` with the earliest `not_before` still ahead, if any.
pub async fn next_item(conn: &mut AnyConnection, number_id: &str, now: i64) -> Result<(Option<ItemRow>, Option<i64>)> {
    let sql = format!(
        "SELECT {ITEM_COLUMNS} FROM group_job_items WHERE number_id = $1 AND state = 'waiting'
           AND job_id IN (SELECT id FROM group_jobs WHERE state = 'running') ORDER BY not_before, job_id, seq LIMIT 1"
    );
    let row: Option<ItemRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(number_id).fetch_optional(&mut *conn).await?;
    match row {
        Some(r) if r.not_before <= now => Ok((Some(r), None)),
        Some(r) => Ok((None, Some(r.not_before))),
        None => Ok((None, None)),
    }
}

/// Moves an item on, if it is still in `from` (so a cancelled item stays cancelled).
pub async fn move_item(
    conn: &mut AnyConnection,
    job_id: i64,
    seq: i64,
    from: &[ItemState],
    to: ItemState,
    detail: Option<&str>,
) -> Result<bool> {
    let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
    let now = now_ms();
    let sql = format!(
        "UPDATE group_job_items SET state = $1, detail = COALESCE($2, detail),
           accepted_at = CASE WHEN $1 = 'accepted' THEN $3 ELSE accepted_at END,
           done_at = CASE WHEN $1 IN ('confirmed', 'unconfirmed', 'failed', 'skipped_offline', 'cancelled') THEN $3 ELSE done_at END,
           attempts = CASE WHEN $1 = 'in_flight' THEN attempts + 1 ELSE attempts END
         WHERE job_id = $4 AND seq = $5 AND state IN ({})",
        from.join(",")
    );
    let n = sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to.as_str())
        .bind(detail)
        .bind(now)
        .bind(job_id)
        .bind(seq)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// Puts an item back to wait until `not_before` (after a rate limit).
pub async fn retry_later(conn: &mut AnyConnection, job_id: i64, seq: i64, not_before: i64, detail: &str) -> Result<()> {
    sqlx::query("UPDATE group_job_items SET state = 'waiting', not_before = $1, detail = $2 WHERE job_id = $3 AND seq = $4")
        .bind(not_before)
        .bind(detail)
        .bind(job_id)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Items on a group an event can confirm: in flight (the event can come before the answer),
/// accepted, or flagged for never showing (an event that comes late, after a reconnection,
/// still confirms them). One statement, so an item moving from in flight to accepted meanwhile
/// is seen in one state or the other, never missed.
pub async fn awaiting_confirmation(conn: &mut AnyConnection, group_id: &str) -> Result<Vec<(i64, i64, String)>> {
    Ok(sqlx::query_as(
        "SELECT i.job_id, i.seq, j.action FROM group_job_items i JOIN group_jobs j ON j.id = i.job_id
         WHERE i.group_id = $1 AND i.state IN ('in_flight', 'accepted', 'unconfirmed')",
    )
    .bind(group_id)
    .fetch_all(&mut *conn)
    .await?)
}

/// Items accepted before `before` and never confirmed.
pub async fn stale_accepted(conn: &mut AnyConnection, before: i64) -> Result<Vec<(i64, i64)>> {
    Ok(sqlx::query_as("SELECT job_id, seq FROM group_job_items WHERE state = 'accepted' AND accepted_at < $1")
        .bind(before)
        .fetch_all(&mut *conn)
        .await?)
}

/// Items caught in flight by a restart.
pub async fn in_flight(pool: &AnyPool) -> Result<Vec<ItemRow>> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM group_job_items WHERE state = 'in_flight'");
    Ok(sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(pool).await?)
}

/// Numbers with waiting items in running jobs.
pub async fn numbers_with_work(pool: &AnyPool) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "SELECT DISTINCT number_id FROM group_job_items WHERE state IN ('waiting', 'in_flight')
           AND job_id IN (SELECT id FROM group_jobs WHERE state = 'running')",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(|(n,)| n).collect())
}

/// Finishes a running job whose items are all final; says whether it did.
pub async fn finish_if_done(conn: &mut AnyConnection, job_id: i64) -> Result<bool> {
    let n = sqlx::query(
        "UPDATE group_jobs SET state = 'done', finished_at = $1 WHERE id = $2 AND state = 'running'
           AND NOT EXISTS (SELECT 1 FROM group_job_items WHERE job_id = $2 AND state IN ('waiting', 'in_flight', 'accepted'))",
    )
    .bind(now_ms())
    .bind(job_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

pub async fn cancel_job(conn: &mut AnyConnection, job_id: i64) -> Result<bool> {
    let n = sqlx::query("UPDATE group_jobs SET state = 'cancelled', finished_at = $1 WHERE id = $2 AND state = 'running'")
        .bind(now_ms())
        .bind(job_id)
        .execute(&mut *conn)
        .await?
        .rows_affected();
    sqlx::query("UPDATE group_job_items SET state = 'cancelled', done_at = $1 WHERE job_id = $2 AND state = 'waiting'")
        .bind(now_ms())
        .bind(job_id)
        .execute(&mut *conn)
        .await?;
    Ok(n > 0)
}

/// Sets the items of a job that were skipped as offline waiting again, and the job running.
pub async fn rerun_offline(conn: &mut AnyConnection, job_id: i64) -> Result<u64> {
    let n = sqlx::query(
        "UPDATE group_job_items SET state = 'waiting', not_before = 0, detail = NULL WHERE job_id = $1 AND state = 'skipped_offline'",
    )
    .bind(job_id)
    .execute(&mut *conn)
    .await?
    .rows_affected();
    if n > 0 {
        sqlx::query("UPDATE group_jobs SET state = 'running', finished_at = NULL WHERE id = $1").bind(job_id).execute(&mut *conn).await?;
    }
    Ok(n)
}

/// The photo set through us (its SHA-256; the file is under the data directory).
pub async fn set_photo(conn: &mut AnyConnection, group_id: &str, sha: &str) -> Result<()> {
    sqlx::query("UPDATE groups SET photo_sha = $2, updated_at = $3 WHERE id = $1")
        .bind(group_id)
        .bind(sha)
        .bind(now_ms())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

// --- Group creations -------------------------------------------------------------------------

#[derive(sqlx::FromRow)]
struct CreationRow {
    request_id: String,
    number_id: String,
    subject: String,
    requested_at: i64,
    state: String,
    group_id: Option<String>,
    error: Option<String>,
}

impl From<CreationRow> for GroupCreation {
    fn from(r: CreationRow) -> GroupCreation {
        GroupCreation {
            request_id: r.request_id,
            number_id: r.number_id,
            subject: r.subject,
            requested_at: r.requested_at,
            state: r.state,
            group_id: r.group_id,
            error: r.error,
        }
    }
}

/// Records a creation asked of WhatsApp: `requested` until its webhook, or already `created`.
pub async fn add_creation(conn: &mut AnyConnection, c: &GroupCreation, requested_by: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO group_creations (request_id, number_id, subject, requested_by, requested_at, state, group_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&c.request_id)
    .bind(&c.number_id)
    .bind(&c.subject)
    .bind(requested_by)
    .bind(c.requested_at)
    .bind(&c.state)
    .bind(&c.group_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What WhatsApp said of a creation: made (with the group) or refused (with why). Answers the
/// number it was asked on, `None` for a request we did not make (made elsewhere, or told twice).
pub async fn settle_creation(
    conn: &mut AnyConnection,
    request_id: &str,
    group_id: Option<&str>,
    error: Option<&str>,
) -> Result<Option<String>> {
    let state = if error.is_some() { "failed" } else { "created" };
    let row: Option<(String,)> = sqlx::query_as(
        "UPDATE group_creations SET state = $2, group_id = $3, error = $4 WHERE request_id = $1 AND state = 'requested' RETURNING number_id",
    )
    .bind(request_id)
    .bind(state)
    .bind(group_id)
    .bind(error)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(row.map(|r| r.0))
}

/// The creations of the last week on the numbers `scope` (a SQL condition on `c.number_id`)
/// allows that are still waiting or failed (a made group is in the list itself), newest first.
pub async fn creations(pool: &AnyPool, scope: &str, since: i64) -> Result<Vec<GroupCreation>> {
    let sql = format!(
        "SELECT c.request_id, c.number_id, c.subject, c.requested_at, c.state, c.group_id, c.error FROM group_creations c
         WHERE {scope} AND c.requested_at >= $1 AND c.state <> 'created' ORDER BY c.requested_at DESC LIMIT 50"
    );
    let rows: Vec<CreationRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(since).fetch_all(pool).await?;
    Ok(rows.into_iter().map(GroupCreation::from).collect())
}
