//! The one trait every group provider implements (Cloud API Groups, a linked device, the
//! simulated linked device), what it answers with, and the changes it reports.

use async_trait::async_trait;
use switchboard_shared::groups::{
    Connection, GroupCaps, GroupMember, GroupSetting, JoinRequest, MemberIds, MemberOp, PerMember, ProviderKind, Refusal,
};

/// Why a provider call did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupErr {
    /// Refused before any I/O: the provider cannot, the number is offline, we are not admin.
    #[error("refused: {0:?}")]
    Refused(Refusal),
    /// WhatsApp's rate limit (`rate-overlimit`, 429, `131208`): back off and try later.
    #[error("rate limited")]
    RateLimited,
    #[error("no such group")]
    NotFound,
    /// The request was wrong (a message for the operator).
    #[error("{0}")]
    Invalid(String),
    /// Nothing reached WhatsApp: nothing was done.
    #[error("could not connect: {0}")]
    Unreachable(String),
    /// WhatsApp may or may not have done it.
    #[error("{0}")]
    Unknown(String),
}

impl GroupErr {
    /// Whether nothing can have happened (so trying again cannot do it twice).
    pub fn nothing_done(&self) -> bool {
        !matches!(self, GroupErr::Unknown(_))
    }
}

pub type GroupResult<T> = Result<T, GroupErr>;

/// A group as its provider reports it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    pub id: String,
    pub subject: String,
    pub description: Option<String>,
    pub members: Vec<GroupMember>,
    /// Members counted by the provider (Cloud leaves our number out of the list).
    pub member_count: Option<u32>,
    pub admins_only: bool,
    pub locked: bool,
    pub join_approval: bool,
    pub suspended: bool,
    pub lid_addressing: bool,
    /// Our number is an admin.
    pub is_admin: bool,
    pub invite_link: Option<String>,
}

impl Snapshot {
    pub fn settings(&self) -> switchboard_shared::groups::Settings<'_> {
        switchboard_shared::groups::Settings {
            admins_only: self.admins_only,
            locked: self.locked,
            join_approval: self.join_approval,
            subject: &self.subject,
            description: self.description.as_deref(),
        }
    }
}

/// What happened to a group, from a webhook (Cloud) or the session's events (linked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GroupChange {
    /// Members joined or were added.
    Joined(Vec<GroupMember>),
    /// Members left or were removed.
    Left(Vec<MemberIds>),
    Promoted(Vec<MemberIds>),
    Demoted(Vec<MemberIds>),
    Setting(GroupSetting),
    RequestCreated(JoinRequest),
    /// A request went away (approved, rejected or withdrawn).
    RequestGone(MemberIds),
    LidAddressing(bool),
    Suspended(bool),
    /// We are now in this group (it was made, or we were added).
    Appeared(Snapshot),
    /// The group is gone for us (deleted, or we left).
    Gone,
    /// Someone wrote in the group.
    Activity,
}

/// A group made by [`GroupProvider::create`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Created {
    /// It exists now (a linked device).
    Now(Snapshot),
    /// WhatsApp is making it and tells the outcome by webhook (the Cloud API): its request id.
    Requested(String),
}

/// One provider of one number. Every mutation refuses at once, before any I/O, unless the
/// connection is online (the callers check [`GroupProvider::connection`] first too; the
/// providers check again because a connection can drop in between).
#[async_trait]
pub trait GroupProvider: Send + Sync {
    fn kind(&self) -> ProviderKind;
    fn capabilities(&self) -> GroupCaps;
    fn connection(&self) -> Connection;
    /// Every group of the number, with members.
    async fn list_groups(&self) -> GroupResult<Vec<Snapshot>>;
    async fn group(&self, id: &str) -> GroupResult<Snapshot>;
    async fn members(&self, id: &str, op: MemberOp, who: &[MemberIds]) -> GroupResult<Vec<PerMember>>;
    async fn set(&self, id: &str, setting: &GroupSetting) -> GroupResult<()>;
    async fn join_requests(&self, id: &str) -> GroupResult<Vec<JoinRequest>>;
    async fn decide(&self, id: &str, requests: &[JoinRequest], approve: bool) -> GroupResult<Vec<PerMember>>;
    async fn invite_link(&self, id: &str, reset: bool) -> GroupResult<String>;
    /// Sends a text; `message_id` is ours where the provider lets the sender choose it (a
    /// linked device), so a retried send is the same message. Answers the provider's id.
    async fn send(&self, id: &str, message_id: &str, text: &str, mentions: &[MemberIds]) -> GroupResult<String>;
    async fn revoke(&self, id: &str, message_id: &str, sender: &MemberIds) -> GroupResult<()>;
    /// Sets the group's photo (a JPEG already checked against WhatsApp's rules).
    async fn set_photo(&self, id: &str, jpeg: &[u8]) -> GroupResult<()>;
    /// Makes a group with our number as its admin.
    async fn create(&self, subject: &str, description: Option<&str>, join_approval: bool) -> GroupResult<Created>;
    /// Ends the group for our number: the Cloud API deletes it for everyone
    /// ([`GroupAction::Delete`](switchboard_shared::groups::GroupAction::Delete)); a linked
    /// device leaves it, as a phone can (`Leave`).
    async fn delete(&self, id: &str) -> GroupResult<()>;
}

/// Refuses unless online: the fail-fast check every operation starts with.
pub fn ready(connection: &Connection) -> GroupResult<()> {
    match connection {
        Connection::Online => Ok(()),
        Connection::Connecting | Connection::Offline { .. } => Err(GroupErr::Refused(Refusal::Offline)),
        Connection::LoggedOut { .. } => Err(GroupErr::Refused(Refusal::LoggedOut)),
        Connection::Banned => Err(GroupErr::Refused(Refusal::Banned)),
    }
}
