//! The real linked device (`linked_devices = "whatsapp"`, only in a relay built with the
//! `linked-device` feature): a companion session of the number through the whatsapp-rust crate,
//! like WhatsApp Web, paired by QR code or pair code.
//!
//! Each session's keys live in its own file under `<data dir>/linked/`, sealed with a key derived
//! from the relay's secret key ([`super::session_file`]). The crate's events arrive in order on one handler, which turns them into
//! our [`Status`] and [`GroupChange`]s and queues them for the session task
//! ([`super::linked`]), which stores them as it does the simulated device's.
//!
//! The mapping from the crate's types to ours is the free functions below ([`snapshot`],
//! [`changes`], [`status`], [`outcome`], [`error`]), unit-tested on hand-built values.

use std::collections::VecDeque;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use switchboard_shared::groups::{
    Connection, GroupCaps, GroupMember, GroupSetting, JoinRequest, LogoutReason, MemberIds, MemberOp, MemberOutcome, MemberRole, PerMember,
    ProviderKind, Refusal,
};
use tokio::sync::Notify;
use whatsapp_rust::features::{
    GroupCreateOptions, GroupDescription, GroupError, GroupMetadata, GroupParticipant, GroupSubject, MembershipApprovalMode,
    MembershipRequest, ParticipantChangeResponse, PreviousDescription,
};
use whatsapp_rust::pair_code::PairCodeOptions;
use whatsapp_rust::prelude::{wa, Bot, BotHandle, Event, EventHandler, IqError, MessageField, SendOptions};
use whatsapp_rust::wacore::stanza::groups::{GroupNotificationAction, GroupParticipantInfo, GroupParticipantType};
use whatsapp_rust::wacore::types::events::{ConnectFailureReason, GroupUpdate};
use whatsapp_rust::wacore_binary::JidExt as _;
use whatsapp_rust::{Client, Jid, RevokeType, SendError};

use super::linked::{Device, Happened, Page, Status};
use super::provider::{ready, Created, GroupChange, GroupErr, GroupProvider, GroupResult, Snapshot};
use super::session_file::SessionFile;

/// How many of a session's events wait for the session task at most; beyond it the oldest
/// go (the task reads them as they come, and re-reads every group when it reconnects).
const QUEUE_LIMIT: usize = 10_000;

// ---------------------------------------------------------------------------------------------
// The mapping from whatsapp-rust's types to ours.

/// A JID's identity: a phone JID gives the phone, a LID JID the LID.
pub fn ids_of(jid: &Jid) -> MemberIds {
    if jid.is_lid() {
        MemberIds::new(None, Some(&jid.user), None, None)
    } else {
        MemberIds::new(Some(&jid.user), None, None, None)
    }
}

/// Every identifier known of a participant: its JID, and the phone and LID given beside it.
fn ids_with(jid: &Jid, phone: Option<&Jid>, lid: Option<&Jid>) -> MemberIds {
    let mut ids = ids_of(jid);
    for other in phone.into_iter().chain(lid) {
        ids.merge(&ids_of(other));
    }
    ids
}

/// The JID to address a member by: the phone where known, else the LID; `None` when neither
/// is known (a BSUID alone cannot be addressed by a linked device).
pub fn jid_of(ids: &MemberIds) -> Option<Jid> {
    ids.phone_digits().map(Jid::pn).or_else(|| ids.lid.as_deref().map(Jid::lid))
}

fn role(p: &GroupParticipant) -> MemberRole {
    if p.is_super_admin() {
        MemberRole::SuperAdmin
    } else if p.is_admin() {
        MemberRole::Admin
    } else {
        MemberRole::Member
    }
}

pub fn member(p: &GroupParticipant) -> GroupMember {
    GroupMember { ids: ids_with(&p.jid, p.phone_number.as_ref(), p.lid.as_ref()), name: None, role: role(p) }
}

fn member_of_info(p: &GroupParticipantInfo) -> GroupMember {
    let role = match p.r#type {
        Some(GroupParticipantType::SuperAdmin) => MemberRole::SuperAdmin,
        Some(GroupParticipantType::Admin) => MemberRole::Admin,
        _ => MemberRole::Member,
    };
    GroupMember { ids: ids_with(&p.jid, p.phone_number.as_ref(), p.lid.as_ref()), name: None, role }
}

/// A group's metadata as a snapshot, seen from our number (`me`: its phone and LID).
pub fn snapshot(m: &GroupMetadata, me: &MemberIds) -> Snapshot {
    let members: Vec<GroupMember> = m.participants.iter().map(member).collect();
    let is_admin = members.iter().any(|p| p.role.is_admin() && p.ids.same_person(me));
    Snapshot {
        id: m.id.to_string(),
        subject: m.subject.clone(),
        description: m.description.clone().filter(|d| !d.is_empty()),
        member_count: Some(m.size.unwrap_or(members.len() as u32)),
        members,
        admins_only: m.is_announcement,
        locked: m.is_locked,
        join_approval: m.membership_approval,
        suspended: m.is_suspended,
        lid_addressing: m.addressing_mode == whatsapp_rust::wacore::types::message::AddressingMode::Lid,
        is_admin,
        invite_link: None,
    }
}

/// What a group update means for us. `fetch` is set when the group itself must be read (it was
/// created with us in it, or we were added): the update does not carry it.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Mapped {
    pub changes: Vec<GroupChange>,
    pub fetch: bool,
}

/// A group update (one action of a `w:gp2` notification) as our changes.
pub fn changes(u: &GroupUpdate, me: &MemberIds) -> Mapped {
    use GroupNotificationAction as A;
    let ids = |ps: &[GroupParticipantInfo]| -> Vec<MemberIds> { ps.iter().map(|p| member_of_info(p).ids).collect() };
    let requester = || JoinRequest {
        id: u.participant.as_ref().map(|j| j.user.to_string()).unwrap_or_default(),
        ids: ids_with(u.participant.as_ref().unwrap_or(&Jid::default()), u.participant_pn.as_ref(), None),
        name: u.notify.clone(),
        requested_at: u.timestamp.timestamp_millis(),
    };
    let mut out = Mapped::default();
    match &u.action {
        A::Add { participants, .. } => {
            let members: Vec<GroupMember> = participants.iter().map(member_of_info).collect();
            if members.iter().any(|m| m.ids.same_person(me)) {
                out.fetch = true;
            } else {
                out.changes.push(GroupChange::Joined(members));
            }
        }
        A::Remove { participants, .. } => {
            let left = ids(participants);
            out.changes.push(if left.iter().any(|m| m.same_person(me)) { GroupChange::Gone } else { GroupChange::Left(left) });
        }
        A::Promote { participants } => out.changes.push(GroupChange::Promoted(ids(participants))),
        A::Demote { participants } => out.changes.push(GroupChange::Demoted(ids(participants))),
        A::Subject { subject, .. } => out.changes.push(GroupChange::Setting(GroupSetting::Subject(subject.clone()))),
        A::Description { description, .. } => {
            out.changes.push(GroupChange::Setting(GroupSetting::Description(description.clone().unwrap_or_default())))
        }
        A::Locked { .. } => out.changes.push(GroupChange::Setting(GroupSetting::LockedInfo(true))),
        A::Unlocked => out.changes.push(GroupChange::Setting(GroupSetting::LockedInfo(false))),
        A::Announce => out.changes.push(GroupChange::Setting(GroupSetting::AdminsOnlyMessages(true))),
        A::NotAnnounce => out.changes.push(GroupChange::Setting(GroupSetting::AdminsOnlyMessages(false))),
        A::MembershipApprovalMode { enabled } => out.changes.push(GroupChange::Setting(GroupSetting::JoinApproval(*enabled))),
        A::MembershipApprovalRequest { .. } => out.changes.push(GroupChange::RequestCreated(requester())),
        A::CreatedMembershipRequests { requests, .. } => {
            for r in requests {
                let m = member_of_info(r);
                out.changes.push(GroupChange::RequestCreated(JoinRequest {
                    id: r.jid.user.to_string(),
                    ids: m.ids,
                    name: r.display_name.clone(),
                    requested_at: u.timestamp.timestamp_millis(),
                }));
            }
        }
        A::RevokedMembershipRequests { participants } => {
            out.changes.extend(participants.iter().map(|j| GroupChange::RequestGone(ids_of(j))))
        }
        A::Create { .. } => out.fetch = true,
        A::Delete { .. } => out.changes.push(GroupChange::Gone),
        A::Suspended => out.changes.push(GroupChange::Suspended(true)),
        A::Unsuspended => out.changes.push(GroupChange::Suspended(false)),
        // Ephemeral timers, invite link changes, community links and the rest change nothing we
        // keep.
        _ => {}
    }
    if u.is_lid_addressing_mode && !out.changes.is_empty() {
        out.changes.push(GroupChange::LidAddressing(true));
    }
    out
}

/// How a session event changes the connection (with the code to link it while pairing);
/// `None` when it says nothing about the connection.
pub fn status(event: &Event) -> Option<Status> {
    let plain = |connection| Some(Status { connection, qr: None, code: None });
    match event {
        Event::Connected(_) => plain(Connection::Online),
        Event::Disconnected(_) | Event::StreamReplaced(_) | Event::ConnectFailure(_) => plain(Connection::Offline { since: 0 }),
        Event::PairSuccess(_) => plain(Connection::Connecting),
        Event::PairingQrCode(q) => Some(Status { connection: Connection::Connecting, qr: Some(q.code.clone()), code: None }),
        Event::PairingCode(p) => Some(Status { connection: Connection::Connecting, qr: None, code: Some(p.code.clone()) }),
        Event::PairingQrCodesExhausted(_) | Event::PairError(_) => plain(Connection::LoggedOut { reason: LogoutReason::NotPaired }),
        Event::TemporaryBan(_) => plain(Connection::Banned),
        Event::LoggedOut(l) => plain(match l.reason {
            ConnectFailureReason::TempBanned | ConnectFailureReason::AccountLocked => Connection::Banned,
            _ => Connection::LoggedOut { reason: LogoutReason::DeviceRemoved },
        }),
        _ => None,
    }
}

/// One member's result of an add, remove, promote, demote, approve or reject.
pub fn outcome(op: MemberOp, r: &ParticipantChangeResponse) -> MemberOutcome {
    match r.error.as_deref() {
        None => MemberOutcome::Done,
        // Their privacy settings refuse adds: WhatsApp offers a private invite instead, which
        // the console turns into the group's invite link.
        Some("403") if op == MemberOp::Add => MemberOutcome::PrivacyRefused { invite_link: None },
        Some("404") => MemberOutcome::NotMember,
        Some("409") => MemberOutcome::AlreadyMember,
        Some(code) => MemberOutcome::Failed { reason: format!("WhatsApp answered {code}") },
    }
}

/// The results for the members asked about, in their order: each found by any identifier.
fn per_member(op: MemberOp, who: &[MemberIds], results: &[ParticipantChangeResponse]) -> Vec<PerMember> {
    who.iter()
        .map(|ids| {
            let result = results.iter().find(|r| ids_with(&r.jid, r.phone_number.as_ref(), None).same_person(ids));
            let outcome = match result {
                Some(r) => outcome(op, r),
                None if jid_of(ids).is_none() => MemberOutcome::Failed { reason: "no phone number or LID known".into() },
                None => MemberOutcome::Failed { reason: "WhatsApp did not answer for this member".into() },
            };
            PerMember { ids: ids.clone(), outcome }
        })
        .collect()
}

fn iq_error(e: &IqError) -> GroupErr {
    match e {
        IqError::NotConnected => GroupErr::Unreachable(e.to_string()),
        IqError::ServerError { code: 429, .. } => GroupErr::RateLimited,
        IqError::ServerError { code: 401 | 403, .. } => GroupErr::Refused(Refusal::NotAdmin),
        IqError::ServerError { code: 404, .. } => GroupErr::NotFound,
        IqError::ServerError { code: 400 | 406 | 409, text, .. } => GroupErr::Invalid(text.clone()),
        // Timeouts, dropped sockets, server errors: it may have happened.
        other => GroupErr::Unknown(other.to_string()),
    }
}

pub fn error(e: &GroupError) -> GroupErr {
    match e {
        GroupError::Iq(iq) => iq_error(iq),
        GroupError::InvalidRequest(text) => GroupErr::Invalid(text.clone()),
        GroupError::DescriptionConflict => GroupErr::Invalid("the description was changed meanwhile; read it again".into()),
        other => GroupErr::Unknown(other.to_string()),
    }
}

fn send_error(e: &SendError) -> GroupErr {
    match e {
        SendError::Iq(iq) => iq_error(iq),
        SendError::NotLoggedIn => GroupErr::Refused(Refusal::LoggedOut),
        SendError::InvalidRequest(text) => GroupErr::Invalid(text.clone()),
        other => GroupErr::Unknown(other.to_string()),
    }
}

fn group_jid(id: &str) -> GroupResult<Jid> {
    let jid: Jid = id.parse().map_err(|_| GroupErr::NotFound)?;
    if jid.is_group() {
        Ok(jid)
    } else {
        Err(GroupErr::NotFound)
    }
}

/// A text with @mentions, as WhatsApp sends it.
pub fn text_message(text: &str, mentions: &[MemberIds]) -> wa::Message {
    let mentioned_jid: Vec<String> = mentions.iter().filter_map(jid_of).map(|j| j.to_string()).collect();
    wa::Message {
        extended_text_message: MessageField::some(wa::message::ExtendedTextMessage {
            text: Some(text.to_owned()),
            context_info: if mentioned_jid.is_empty() {
                MessageField::none()
            } else {
                MessageField::some(wa::ContextInfo { mentioned_jid, ..Default::default() })
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------------
// The session.

/// A group change waiting for the session task, or a group to read first.
enum Item {
    Change(GroupChange),
    Fetch,
}

struct Queued {
    seq: u64,
    group: String,
    item: Item,
}

/// What the crate's events left for the session task.
struct Inbox {
    status: Status,
    next: u64,
    queue: VecDeque<Queued>,
}

/// Shared between the session and its event handler.
struct Shared {
    inbox: Mutex<Inbox>,
    notify: Notify,
    client: OnceLock<Arc<Client>>,
}

impl Shared {
    fn me(&self) -> MemberIds {
        let Some(client) = self.client.get() else { return MemberIds::default() };
        let mut me = client.pn().map(|j| ids_of(&j)).unwrap_or_default();
        if let Some(lid) = client.lid() {
            me.merge(&ids_of(&lid));
        }
        me
    }

    fn push(&self, group: String, item: Item) {
        let mut inbox = self.inbox.lock().expect("inbox lock");
        let seq = inbox.next;
        inbox.next += 1;
        inbox.queue.push_back(Queued { seq, group, item });
        if inbox.queue.len() > QUEUE_LIMIT {
            inbox.queue.pop_front();
        }
    }

    fn set_status(&self, s: Status) {
        self.inbox.lock().expect("inbox lock").status = s;
    }
}

/// The crate's event handler: runs inline, in the order events arrive.
struct Handler(Arc<Shared>);

impl EventHandler for Handler {
    fn handle_event(&self, event: Arc<Event>) {
        let shared = &self.0;
        if let Some(s) = status(&event) {
            shared.set_status(s);
        }
        match &*event {
            Event::GroupUpdate(u) => {
                let mapped = changes(u, &shared.me());
                let group = u.group_jid.to_string();
                for c in mapped.changes {
                    shared.push(group.clone(), Item::Change(c));
                }
                if mapped.fetch {
                    shared.push(group, Item::Fetch);
                }
            }
            Event::Messages(batch) => {
                for m in batch.messages.iter() {
                    if m.info.source.is_group {
                        shared.push(m.info.source.chat.to_string(), Item::Change(GroupChange::Activity));
                    }
                }
            }
            _ => {}
        }
        shared.notify.notify_one();
    }
}

pub struct WaDevice {
    phone: String,
    file: SessionFile,
    connection: Arc<RwLock<Connection>>,
    shared: Arc<Shared>,
    bot: tokio::sync::Mutex<Option<BotHandle>>,
}

impl WaDevice {
    fn new(file: SessionFile, phone: &str, after: u64, connection: Arc<RwLock<Connection>>) -> WaDevice {
        let status = Status { connection: Connection::Connecting, qr: None, code: None };
        WaDevice {
            phone: phone.to_owned(),
            file,
            connection,
            shared: Arc::new(Shared {
                inbox: Mutex::new(Inbox { status, next: after + 1, queue: VecDeque::new() }),
                notify: Notify::new(),
                client: OnceLock::new(),
            }),
            bot: tokio::sync::Mutex::new(None),
        }
    }

    /// The session of a number, its keys in `<dir>/<number id>.db` sealed with a key derived
    /// from `secret`; its events numbered after `after` (the last one stored). Connects in the
    /// background.
    pub fn start(
        dir: &Path,
        secret: &crate::secrets::SecretKey,
        number_id: &str,
        phone: &str,
        after: u64,
        connection: Arc<RwLock<Connection>>,
    ) -> Arc<WaDevice> {
        let device = Arc::new(WaDevice::new(SessionFile::new(dir, number_id, secret), phone, after, connection));
        let booting = device.clone();
        tokio::spawn(async move {
            if let Err(e) = booting.boot().await {
                tracing::warn!("the linked session of {} could not start: {e:#}", booting.phone);
                booting.shared.set_status(Status { connection: Connection::Offline { since: 0 }, qr: None, code: None });
                booting.shared.notify.notify_one();
            }
        });
        device
    }

    /// Opens the session's store and runs the crate's client, which connects (or, unpaired,
    /// shows QR codes) and reconnects by itself.
    async fn boot(&self) -> anyhow::Result<()> {
        let store = self.file.open().await?;
        let bot = Bot::builder().with_backend(store).with_event_handler(Handler(self.shared.clone())).build().await?;
        // A second boot (pairing again) keeps the first client: it is the one the handler knows.
        let _ = self.shared.client.set(bot.client());
        *self.bot.lock().await = Some(bot.spawn());
        Ok(())
    }

    fn client(&self) -> GroupResult<Arc<Client>> {
        ready(&self.connection())?;
        self.shared.client.get().cloned().ok_or(GroupErr::Refused(Refusal::Offline))
    }

    async fn read(&self, client: &Client, id: &str) -> GroupResult<Snapshot> {
        let m = client.groups().get_metadata(&group_jid(id)?).await.map_err(|e| error(&e))?;
        Ok(snapshot(&m, &self.shared.me()))
    }

    /// Stops the client and forgets the session's keys.
    async fn forget(&self) {
        if let Some(bot) = self.bot.lock().await.take() {
            bot.shutdown().await;
        }
        self.file.remove();
    }
}

#[async_trait]
impl GroupProvider for WaDevice {
    fn kind(&self) -> ProviderKind {
        ProviderKind::Linked
    }

    fn capabilities(&self) -> GroupCaps {
        GroupCaps::linked()
    }

    fn connection(&self) -> Connection {
        self.connection.read().expect("connection lock").clone()
    }

    async fn list_groups(&self) -> GroupResult<Vec<Snapshot>> {
        let client = self.client()?;
        let all = client.groups().get_participating().await.map_err(|e| error(&e))?;
        let me = self.shared.me();
        Ok(all.values().map(|m| snapshot(m, &me)).collect())
    }

    async fn group(&self, id: &str) -> GroupResult<Snapshot> {
        let client = self.client()?;
        self.read(&client, id).await
    }

    async fn members(&self, id: &str, op: MemberOp, who: &[MemberIds]) -> GroupResult<Vec<PerMember>> {
        let client = self.client()?;
        let group = group_jid(id)?;
        let jids: Vec<Jid> = who.iter().filter_map(jid_of).collect();
        if jids.is_empty() {
            return Ok(per_member(op, who, &[]));
        }
        let g = client.groups();
        let results = match op {
            MemberOp::Add => g.add_participants(group, &jids).await,
            MemberOp::Remove => g.remove_participants(group, &jids).await,
            MemberOp::Promote => g.promote_participants(group, &jids).await,
            MemberOp::Demote => g.demote_participants(group, &jids).await,
        }
        .map_err(|e| error(&e))?;
        Ok(per_member(op, who, &results))
    }

    async fn set(&self, id: &str, setting: &GroupSetting) -> GroupResult<()> {
        let client = self.client()?;
        let group = group_jid(id)?;
        let g = client.groups();
        let invalid = |e: anyhow::Error| GroupErr::Invalid(e.to_string());
        match setting {
            GroupSetting::AdminsOnlyMessages(on) => g.set_announce(group, *on).await,
            GroupSetting::LockedInfo(on) => g.set_locked(group, *on).await,
            GroupSetting::JoinApproval(on) => {
                g.set_membership_approval(group, if *on { MembershipApprovalMode::On } else { MembershipApprovalMode::Off }).await
            }
            GroupSetting::Subject(s) => g.set_subject(group, GroupSubject::new(s.as_str()).map_err(invalid)?).await,
            GroupSetting::Description(d) => {
                let d = if d.is_empty() { None } else { Some(GroupDescription::new(d.as_str()).map_err(invalid)?) };
                g.set_description(group, d, PreviousDescription::Resolve).await
            }
        }
        .map_err(|e| error(&e))
    }

    async fn join_requests(&self, id: &str) -> GroupResult<Vec<JoinRequest>> {
        let client = self.client()?;
        let list: Vec<MembershipRequest> = client.groups().get_membership_requests(group_jid(id)?).await.map_err(|e| error(&e))?;
        Ok(list
            .iter()
            .map(|r| JoinRequest {
                id: r.jid.user.to_string(),
                ids: ids_of(&r.jid),
                name: None,
                requested_at: r.request_time.map(|t| t as i64 * 1000).unwrap_or_default(),
            })
            .collect())
    }

    async fn decide(&self, id: &str, requests: &[JoinRequest], approve: bool) -> GroupResult<Vec<PerMember>> {
        let client = self.client()?;
        let group = group_jid(id)?;
        let who: Vec<MemberIds> = requests.iter().map(|r| r.ids.clone()).collect();
        let jids: Vec<Jid> = who.iter().filter_map(jid_of).collect();
        let g = client.groups();
        let results =
            if approve { g.approve_membership_requests(group, &jids).await } else { g.reject_membership_requests(group, &jids).await }
                .map_err(|e| error(&e))?;
        // An approval adds the member: an answer of "not a member" means no such request.
        Ok(per_member(MemberOp::Add, &who, &results))
    }

    async fn invite_link(&self, id: &str, reset: bool) -> GroupResult<String> {
        let client = self.client()?;
        client.groups().get_invite_link(group_jid(id)?, reset).await.map_err(|e| error(&e))
    }

    async fn send(&self, id: &str, message_id: &str, text: &str, mentions: &[MemberIds]) -> GroupResult<String> {
        let client = self.client()?;
        let options = SendOptions::default().with_message_id(message_id);
        let sent =
            client.send_message_with_options(group_jid(id)?, text_message(text, mentions), options).await.map_err(|e| send_error(&e))?;
        Ok(sent.message_id)
    }

    async fn revoke(&self, id: &str, message_id: &str, sender: &MemberIds) -> GroupResult<()> {
        let client = self.client()?;
        let original_sender = jid_of(sender).ok_or_else(|| GroupErr::Invalid("the sender has no phone number or LID".into()))?;
        client.revoke_message(group_jid(id)?, message_id, RevokeType::Admin { original_sender }).await.map_err(|e| send_error(&e))
    }

    async fn set_photo(&self, id: &str, jpeg: &[u8]) -> GroupResult<()> {
        let client = self.client()?;
        client.groups().set_profile_picture(group_jid(id)?, jpeg.to_vec()).await.map(drop).map_err(|e| error(&e))
    }

    async fn create(&self, subject: &str, description: Option<&str>, join_approval: bool) -> GroupResult<Created> {
        let client = self.client()?;
        let invalid = |e: anyhow::Error| GroupErr::Invalid(e.to_string());
        let description = match description.filter(|d| !d.is_empty()) {
            Some(d) => Some(GroupDescription::new(d).map_err(invalid)?),
            None => None,
        };
        let approval = if join_approval { MembershipApprovalMode::On } else { MembershipApprovalMode::Off };
        let options =
            GroupCreateOptions { membership_approval_mode: Some(approval), description, ..GroupCreateOptions::new(subject.trim()) };
        let made = client.groups().create_group(options).await.map_err(|e| error(&e))?;
        Ok(Created::Now(snapshot(&made.metadata, &self.shared.me())))
    }

    async fn delete(&self, id: &str) -> GroupResult<()> {
        let client = self.client()?;
        client.groups().leave(group_jid(id)?).await.map_err(|e| error(&e))
    }
}

#[async_trait]
impl Device for WaDevice {
    async fn events(&self, after: u64, wait: Duration) -> GroupResult<Page> {
        let notified = self.shared.notify.notified();
        let waiting = {
            let mut inbox = self.shared.inbox.lock().expect("inbox lock");
            inbox.queue.retain(|q| q.seq > after);
            inbox.queue.is_empty()
        };
        if waiting && !wait.is_zero() {
            let _ = tokio::time::timeout(wait, notified).await;
        }
        let (status, queued): (Status, Vec<(u64, String, bool, Option<GroupChange>)>) = {
            let inbox = self.shared.inbox.lock().expect("inbox lock");
            let queued = inbox
                .queue
                .iter()
                .filter(|q| q.seq > after)
                .map(|q| match &q.item {
                    Item::Change(c) => (q.seq, q.group.clone(), false, Some(c.clone())),
                    Item::Fetch => (q.seq, q.group.clone(), true, None),
                })
                .collect();
            (inbox.status.clone(), queued)
        };
        let mut events = Vec::with_capacity(queued.len());
        for (seq, group, fetch, change) in queued {
            let change = match change {
                Some(c) if !fetch => c,
                _ => match self.shared.client.get() {
                    Some(client) => match self.read(client, &group).await {
                        Ok(s) => GroupChange::Appeared(s),
                        Err(e) => {
                            tracing::warn!("a new group {group} of {} could not be read: {e}", self.phone);
                            GroupChange::Activity
                        }
                    },
                    None => GroupChange::Activity,
                },
            };
            events.push(Happened { seq, group, change });
        }
        Ok(Page { status, events })
    }

    async fn pair(&self, by_code: bool) -> GroupResult<Status> {
        let current = self.shared.inbox.lock().expect("inbox lock").status.clone();
        if matches!(current.connection, Connection::LoggedOut { .. } | Connection::Banned) {
            // A session WhatsApp logged out cannot log in again: start a new one.
            self.forget().await;
            self.shared.set_status(Status { connection: Connection::Connecting, qr: None, code: None });
            self.boot().await.map_err(|e| GroupErr::Unreachable(format!("{e:#}")))?;
        }
        // The client shows QR codes by itself once connected; wait a little for the first.
        for _ in 0..100 {
            let s = self.shared.inbox.lock().expect("inbox lock").status.clone();
            if s.qr.is_some() || s.connection.is_online() || (by_code && self.shared.client.get().is_some()) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        if by_code {
            let client = self.shared.client.get().cloned().ok_or_else(|| GroupErr::Unreachable("the session is not running".into()))?;
            let options = PairCodeOptions { phone_number: self.phone.clone(), ..Default::default() };
            let code = client.pair_with_code(options).await.map_err(|e| GroupErr::Unreachable(e.to_string()))?;
            self.shared.set_status(Status { connection: Connection::Connecting, qr: None, code: Some(code) });
        }
        Ok(self.shared.inbox.lock().expect("inbox lock").status.clone())
    }

    async fn logout(&self) -> GroupResult<()> {
        if let Some(client) = self.shared.client.get() {
            client.logout().await;
        }
        self.forget().await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use whatsapp_rust::wacore::protocol::ProtocolNode;
    use whatsapp_rust::wacore::types::events::{Connected, LoggedOut, PairingQrCode};
    use whatsapp_rust::wacore_binary::builder::NodeBuilder;
    use whatsapp_rust::wacore_binary::Server;

    fn participant(jid: Jid, phone: Option<Jid>, lid: Option<Jid>, kind: whatsapp_rust::features::ParticipantType) -> GroupParticipant {
        GroupParticipant { jid, phone_number: phone, lid, username: None, participant_type: kind, details: None }
    }

    fn info(jid: Jid, phone: Option<Jid>) -> GroupParticipantInfo {
        GroupParticipantInfo {
            jid,
            phone_number: phone,
            display_name: None,
            r#type: None,
            lid: None,
            username: None,
            join_time: None,
            group_history_sent_state: None,
        }
    }

    fn update(action: GroupNotificationAction, lid_mode: bool) -> GroupUpdate {
        GroupUpdate::builder()
            .group_jid(Jid::new("120363000000000001", Server::Group))
            .participant(Jid::lid("999"))
            .participant_pn(Jid::pn("85291234567"))
            .timestamp(whatsapp_rust::chrono::DateTime::from_timestamp(1_700_000_000, 0).expect("a time"))
            .is_lid_addressing_mode(lid_mode)
            .action(action)
            .build()
    }

    fn me() -> MemberIds {
        MemberIds::new(Some("85255500101"), Some("777"), None, None)
    }

    #[test]
    fn metadata_reads_as_a_snapshot_with_every_identifier_and_our_admin_status() {
        use whatsapp_rust::features::ParticipantType as T;
        let m = GroupMetadata {
            id: Jid::new("120363000000000001", Server::Group),
            subject: "Parents 3B".into(),
            description: Some("Exams week".into()),
            participants: vec![
                // Our number, addressed by LID in a LID group, its phone beside it.
                participant(Jid::lid("777"), Some(Jid::pn("85255500101")), None, T::SuperAdmin),
                participant(Jid::pn("85291234567"), None, Some(Jid::lid("555")), T::Member),
                participant(Jid::lid("556"), None, None, T::Admin),
            ],
            addressing_mode: whatsapp_rust::wacore::types::message::AddressingMode::Lid,
            is_announcement: true,
            membership_approval: true,
            ..Default::default()
        };
        let s = snapshot(&m, &me());
        assert_eq!(s.id, "120363000000000001@g.us");
        assert_eq!(s.subject, "Parents 3B");
        assert_eq!(s.description.as_deref(), Some("Exams week"));
        assert!(s.is_admin && s.admins_only && s.join_approval && s.lid_addressing && !s.locked);
        assert_eq!(s.member_count, Some(3));
        assert_eq!(s.members[1].ids, MemberIds::new(Some("85291234567"), Some("555"), None, None));
        assert_eq!(s.members[2].ids, MemberIds::new(None, Some("556"), None, None));
        assert_eq!(s.members[2].role, MemberRole::Admin);
        // Not admin when our entry is a plain member.
        let mut m2 = m.clone();
        m2.participants[0].participant_type = T::Member;
        assert!(!snapshot(&m2, &me()).is_admin);
    }

    #[test]
    fn participant_answers_map_to_outcomes_per_member_found_by_any_identifier() {
        let answer = |node| ParticipantChangeResponse::try_from_node(&node).expect("a participant node");
        let done =
            answer(NodeBuilder::new("participant").attr("jid", Jid::lid("555")).attr("phone_number", Jid::pn("85291234567")).build());
        let refused = answer(
            NodeBuilder::new("participant")
                .attr("jid", Jid::pn("85290000002"))
                .attr("error", "403")
                .children([NodeBuilder::new("add_request").attr("code", "AbCd").attr("expiration", "1700000000").build()])
                .build(),
        );
        let missing = answer(NodeBuilder::new("participant").attr("jid", Jid::pn("85290000003")).attr("error", "404").build());
        let who = vec![
            MemberIds::phone("85291234567"),
            MemberIds::phone("85290000002"),
            MemberIds::phone("85290000003"),
            MemberIds::phone("85290000004"),
        ];
        let out = per_member(MemberOp::Add, &who, &[missing, refused.clone(), done]);
        assert_eq!(out[0].outcome, MemberOutcome::Done);
        assert_eq!(out[1].outcome, MemberOutcome::PrivacyRefused { invite_link: None });
        assert_eq!(out[2].outcome, MemberOutcome::NotMember);
        assert!(matches!(out[3].outcome, MemberOutcome::Failed { .. }));
        // A 403 on a removal is not a privacy refusal.
        assert!(matches!(outcome(MemberOp::Remove, &refused), MemberOutcome::Failed { .. }));
        // Nobody addressable: nothing sent, said so.
        let bsuid_only = MemberIds::new(None, None, Some("US.123"), None);
        assert!(
            matches!(&per_member(MemberOp::Remove, &[bsuid_only], &[])[0].outcome, MemberOutcome::Failed { reason } if reason.contains("no phone"))
        );
    }

    #[test]
    fn group_updates_map_to_changes() {
        use GroupNotificationAction as A;
        let removed = changes(
            &update(A::Remove { participants: vec![info(Jid::lid("555"), Some(Jid::pn("85291234567")))], reason: None }, false),
            &me(),
        );
        assert_eq!(removed.changes, vec![GroupChange::Left(vec![MemberIds::new(Some("85291234567"), Some("555"), None, None)])]);
        // We were removed (by our LID): the group is gone for us.
        let we_left = changes(&update(A::Remove { participants: vec![info(Jid::lid("777"), None)], reason: None }, false), &me());
        assert_eq!(we_left.changes, vec![GroupChange::Gone]);
        // We were added: the group must be read.
        let added = changes(&update(A::Add { participants: vec![info(Jid::pn("85255500101"), None)], reason: None }, false), &me());
        assert!(added.fetch && added.changes.is_empty());
        let joined = changes(&update(A::Add { participants: vec![info(Jid::pn("85290000009"), None)], reason: None }, true), &me());
        assert!(matches!(&joined.changes[0], GroupChange::Joined(m) if m[0].ids.pn.as_deref() == Some("85290000009")));
        assert_eq!(joined.changes[1], GroupChange::LidAddressing(true));
        assert_eq!(changes(&update(A::Announce, false), &me()).changes, vec![GroupChange::Setting(GroupSetting::AdminsOnlyMessages(true))]);
        assert_eq!(changes(&update(A::Unlocked, false), &me()).changes, vec![GroupChange::Setting(GroupSetting::LockedInfo(false))]);
        assert_eq!(
            changes(&update(A::MembershipApprovalMode { enabled: true }, false), &me()).changes,
            vec![GroupChange::Setting(GroupSetting::JoinApproval(true))]
        );
        assert_eq!(
            changes(&update(A::Description { id: "d1".into(), description: None }, false), &me()).changes,
            vec![GroupChange::Setting(GroupSetting::Description(String::new()))]
        );
        assert_eq!(changes(&update(A::Delete { reason: None }, false), &me()).changes, vec![GroupChange::Gone]);
        assert_eq!(changes(&update(A::Suspended, false), &me()).changes, vec![GroupChange::Suspended(true)]);
        // A customer asks to join: the requester's LID and phone both kept.
        let asked = changes(
            &update(
                A::MembershipApprovalRequest {
                    request_method: whatsapp_rust::wacore::stanza::groups::MembershipRequestMethod::InviteLink,
                    parent_group_jid: None,
                },
                false,
            ),
            &me(),
        );
        match &asked.changes[..] {
            [GroupChange::RequestCreated(r)] => {
                assert_eq!(r.ids, MemberIds::new(Some("85291234567"), Some("999"), None, None));
                assert_eq!(r.requested_at, 1_700_000_000_000);
            }
            other => panic!("{other:?}"),
        }
        let gone = changes(&update(A::RevokedMembershipRequests { participants: vec![Jid::lid("999")] }, false), &me());
        assert_eq!(gone.changes, vec![GroupChange::RequestGone(MemberIds::new(None, Some("999"), None, None))]);
        // What we do not keep changes nothing.
        assert_eq!(changes(&update(A::RevokeInvite, true), &me()), Mapped::default());
    }

    #[test]
    fn session_events_read_as_a_connection() {
        assert_eq!(status(&Event::Connected(Connected::builder().build())).map(|s| s.connection), Some(Connection::Online));
        let qr = status(&Event::PairingQrCode(PairingQrCode::builder().code("2@abc".into()).timeout(Duration::from_secs(60)).build()))
            .expect("a status");
        assert_eq!((qr.connection, qr.qr.as_deref()), (Connection::Connecting, Some("2@abc")));
        let removed = LoggedOut::builder().on_connect(false).reason(ConnectFailureReason::LoggedOut).build();
        assert_eq!(
            status(&Event::LoggedOut(removed)).map(|s| s.connection),
            Some(Connection::LoggedOut { reason: LogoutReason::DeviceRemoved })
        );
        let banned = LoggedOut::builder().on_connect(true).reason(ConnectFailureReason::TempBanned).build();
        assert_eq!(status(&Event::LoggedOut(banned)).map(|s| s.connection), Some(Connection::Banned));
    }

    #[tokio::test]
    async fn the_sessions_events_reach_the_session_task_in_order_numbered_after_the_last_stored() {
        use GroupNotificationAction as A;
        let dir = tempfile::tempdir().expect("a directory");
        let connection = Arc::new(RwLock::new(Connection::Connecting));
        let secret = crate::secrets::SecretKey::from_hex(&"ab".repeat(32)).expect("a key");
        let file = SessionFile::new(dir.path(), "110000000000001", &secret);
        let device = WaDevice::new(file, "85255500101", 41, connection);
        let handler = Handler(device.shared.clone());
        // Not online: every operation refuses at once, nothing is sent anywhere.
        assert_eq!(device.group("120363000000000001@g.us").await, Err(GroupErr::Refused(Refusal::Offline)));
        handler.handle_event(Arc::new(Event::Connected(Connected::builder().build())));
        handler.handle_event(Arc::new(Event::GroupUpdate(update(A::Announce, false))));
        handler.handle_event(Arc::new(Event::GroupUpdate(update(
            A::Remove { participants: vec![info(Jid::pn("85290000009"), None)], reason: None },
            false,
        ))));
        let page = device.events(41, Duration::from_secs(5)).await.expect("a page");
        assert_eq!(page.status.connection, Connection::Online);
        let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![42, 43]);
        assert_eq!(page.events[0].group, "120363000000000001@g.us");
        assert_eq!(page.events[0].change, GroupChange::Setting(GroupSetting::AdminsOnlyMessages(true)));
        assert!(matches!(page.events[1].change, GroupChange::Left(_)));
        // What the task has stored is not given again; a wait with nothing new ends at its time.
        let again = device.events(43, Duration::from_millis(50)).await.expect("a page");
        assert!(again.events.is_empty());
        // A drop reads as offline.
        handler.handle_event(Arc::new(Event::LoggedOut(
            LoggedOut::builder().on_connect(false).reason(ConnectFailureReason::LoggedOut).build(),
        )));
        let out = device.events(43, Duration::ZERO).await.expect("a page");
        assert_eq!(out.status.connection, Connection::LoggedOut { reason: LogoutReason::DeviceRemoved });
    }

    #[test]
    fn errors_say_whether_anything_can_have_happened() {
        let server = |code| GroupError::Iq(IqError::ServerError { code, text: "x".into(), error_type: None, backoff: None });
        assert_eq!(error(&server(429)), GroupErr::RateLimited);
        assert_eq!(error(&server(403)), GroupErr::Refused(Refusal::NotAdmin));
        assert_eq!(error(&server(404)), GroupErr::NotFound);
        assert!(error(&GroupError::Iq(IqError::NotConnected)).nothing_done());
        assert!(!error(&GroupError::Iq(IqError::Timeout)).nothing_done());
        assert!(!error(&server(500)).nothing_done());
    }

    #[test]
    fn a_text_carries_its_mentions_and_ids_address_by_phone_first() {
        let m = text_message(
            "Hi @85291234567",
            &[MemberIds::new(Some("85291234567"), Some("555"), None, None), MemberIds::new(None, Some("556"), None, None)],
        );
        let t = m.extended_text_message.as_option().expect("a text");
        assert_eq!(t.text.as_deref(), Some("Hi @85291234567"));
        assert_eq!(
            t.context_info.as_option().expect("mentions").mentioned_jid,
            vec!["85291234567@s.whatsapp.net".to_owned(), "556@lid".to_owned()]
        );
        assert_eq!(jid_of(&MemberIds::new(None, None, Some("US.1"), None)), None);
        assert!(group_jid("85291234567@s.whatsapp.net").is_err());
        assert!(group_jid("120363000000000001@g.us").is_ok());
    }
}
