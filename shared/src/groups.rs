//! Group control: what a provider can do with a group, who is in it, how a number is connected,
//! and the plans and jobs that act on many groups at once. The relay decides with these types;
//! the console shows the same decisions (which actions are offered, and why not).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Who serves a group: Meta's Cloud API Groups, or a linked device (a companion session of the
/// number, like WhatsApp Web).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    Cloud,
    Linked,
}

impl ProviderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ProviderKind::Cloud => "cloud",
            ProviderKind::Linked => "linked",
        }
    }

    pub fn parse(s: &str) -> Option<ProviderKind> {
        match s {
            "cloud" => Some(ProviderKind::Cloud),
            "linked" => Some(ProviderKind::Linked),
            _ => None,
        }
    }
}

/// One thing that can be done to a group: a row of the capability matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum GroupAction {
    AddMember,
    RemoveMember,
    Promote,
    Demote,
    /// Only admins may send (announcement mode).
    AdminsOnlyMessages,
    /// Only admins may edit the subject, description and photo.
    LockedInfo,
    /// Joining needs an admin's approval.
    JoinApproval,
    /// Approve or reject waiting join requests.
    DecideJoinRequests,
    Subject,
    Description,
    Photo,
    /// Read the invite link or reset it.
    InviteLink,
    Send,
    /// @mentions in a message.
    Mention,
    /// Delete someone's message for everyone.
    DeleteForEveryone,
    /// Delete the group for everyone (the Cloud API; a phone cannot).
    Delete,
    /// Leave the group (a linked device, as a phone does; the group goes on without us).
    Leave,
}

impl GroupAction {
    pub const ALL: [GroupAction; 17] = [
        GroupAction::AddMember,
        GroupAction::RemoveMember,
        GroupAction::Promote,
        GroupAction::Demote,
        GroupAction::AdminsOnlyMessages,
        GroupAction::LockedInfo,
        GroupAction::JoinApproval,
        GroupAction::DecideJoinRequests,
        GroupAction::Subject,
        GroupAction::Description,
        GroupAction::Photo,
        GroupAction::InviteLink,
        GroupAction::Send,
        GroupAction::Mention,
        GroupAction::DeleteForEveryone,
        GroupAction::Delete,
        GroupAction::Leave,
    ];

    /// Whether only a group admin may do it. Sending is for everyone unless the group is
    /// admins-only, which [`offers`] checks separately; anyone may leave.
    pub fn needs_admin(self) -> bool {
        !matches!(self, GroupAction::Send | GroupAction::Mention | GroupAction::Leave)
    }
}

/// What a provider can do at all, and its limits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupCaps {
    pub actions: Vec<GroupAction>,
    /// Members one call may remove (Cloud: 8).
    pub max_per_call: u32,
    /// Members a group may hold (Cloud: 8; WhatsApp: 1,024).
    pub max_members: u32,
}

impl GroupCaps {
    /// Meta's Cloud API Groups (cloud-api.md §5): no adds, no roles, no admin settings, no
    /// delete-for-everyone; 8 members, 8 per call.
    pub fn cloud() -> GroupCaps {
        use GroupAction::*;
        GroupCaps {
            actions: vec![RemoveMember, DecideJoinRequests, Subject, Description, Photo, InviteLink, Send, Delete],
            max_per_call: 8,
            max_members: 8,
        }
    }

    /// A linked device can do what the phone can (which leaves a group, and cannot delete one).
    pub fn linked() -> GroupCaps {
        let actions = GroupAction::ALL.into_iter().filter(|a| *a != GroupAction::Delete).collect();
        GroupCaps { actions, max_per_call: 20, max_members: 1024 }
    }

    pub fn can(&self, action: GroupAction) -> bool {
        self.actions.contains(&action)
    }
}

/// Why a linked device was logged out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum LogoutReason {
    /// Someone removed the linked device on the phone (`401 device_removed`).
    DeviceRemoved,
    /// The phone was not used for 14 days.
    Inactivity,
    /// Never paired, or the session was removed here.
    NotPaired,
}

/// How a number's group provider is connected. Anything but `Online` refuses every group
/// operation at once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Connection {
    Online,
    Connecting,
    Offline { since: i64 },
    LoggedOut { reason: LogoutReason },
    Banned,
}

impl Connection {
    pub fn is_online(&self) -> bool {
        matches!(self, Connection::Online)
    }

    /// The stored name of the state.
    pub fn name(&self) -> &'static str {
        match self {
            Connection::Online => "online",
            Connection::Connecting => "connecting",
            Connection::Offline { .. } => "offline",
            Connection::LoggedOut { .. } => "logged_out",
            Connection::Banned => "banned",
        }
    }
}

/// Why an action is not offered on a group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Refusal {
    /// The provider cannot do it (Cloud API cannot promote, for one).
    Provider,
    /// Our number is not an admin of the group.
    NotAdmin,
    /// The group is admins-only and our number is not an admin.
    AdminsOnly,
    /// The number is not connected right now.
    Offline,
    /// The linked device was logged out and must be paired again.
    LoggedOut,
    Banned,
}

impl Refusal {
    /// The error code the relay answers with when the action is tried anyway.
    pub fn code(self) -> &'static str {
        match self {
            Refusal::Provider => "group_provider_cannot",
            Refusal::NotAdmin | Refusal::AdminsOnly => "group_not_admin",
            Refusal::Offline => "group_number_offline",
            Refusal::LoggedOut => "group_number_logged_out",
            Refusal::Banned => "group_number_banned",
        }
    }
}

/// Whether an action may be done now, and if not, the first reason why: what the provider can
/// do, then the connection, then our admin status.
pub fn refusal(caps: &GroupCaps, connection: &Connection, is_admin: bool, admins_only: bool, action: GroupAction) -> Option<Refusal> {
    if !caps.can(action) {
        return Some(Refusal::Provider);
    }
    match connection {
        Connection::Online => {}
        Connection::Connecting | Connection::Offline { .. } => return Some(Refusal::Offline),
        Connection::LoggedOut { .. } => return Some(Refusal::LoggedOut),
        Connection::Banned => return Some(Refusal::Banned),
    }
    if is_admin {
        None
    } else if action.needs_admin() {
        Some(Refusal::NotAdmin)
    } else if admins_only && matches!(action, GroupAction::Send | GroupAction::Mention) {
        Some(Refusal::AdminsOnly)
    } else {
        None
    }
}

/// Every action with the reason it is refused, if it is.
pub fn offers(caps: &GroupCaps, connection: &Connection, is_admin: bool, admins_only: bool) -> BTreeMap<GroupAction, Option<Refusal>> {
    GroupAction::ALL.iter().map(|&a| (a, refusal(caps, connection, is_admin, admins_only, a))).collect()
}

/// Everything known of who a member is. WhatsApp addresses people by phone (PN), by LID (a
/// private id, in LID-addressed groups), by BSUID (Cloud API) or by wa_id; a member may be known
/// by any of them. Two records are the same person only when they share one normalised id.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberIds {
    /// Phone digits (E.164 without `+`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pn: Option<String>,
    /// LID user part (no `@lid`, no device).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lid: Option<String>,
    /// Business-scoped user id (Cloud API).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bsuid: Option<String>,
    /// Cloud API's wa_id (usually the phone digits).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
}

/// The user part of a JID or a phone: `+852 9123-4567`, `85291234567@s.whatsapp.net` and
/// `85291234567:12@s.whatsapp.net` are all `85291234567`.
pub fn normalize_id(raw: &str) -> Option<String> {
    let user = raw.trim().split('@').next().unwrap_or("");
    let user = user.split(':').next().unwrap_or("");
    let digits_only = user.chars().all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let id: String = if digits_only { user.chars().filter(char::is_ascii_digit).collect() } else { user.trim().to_owned() };
    (!id.is_empty()).then_some(id)
}

impl MemberIds {
    /// Ids as written by anyone (JIDs, `+` phones): each is normalised, empty ones dropped.
    pub fn new(pn: Option<&str>, lid: Option<&str>, bsuid: Option<&str>, wa_id: Option<&str>) -> MemberIds {
        let digits = |s: &str| normalize_id(s).filter(|id| id.bytes().all(|b| b.is_ascii_digit()));
        MemberIds {
            pn: pn.and_then(digits),
            lid: lid.and_then(digits),
            bsuid: bsuid.map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned),
            wa_id: wa_id.and_then(digits),
        }
    }

    pub fn phone(pn: &str) -> MemberIds {
        MemberIds::new(Some(pn), None, None, None)
    }

    /// The phone, from the PN or the wa_id (a wa_id is the phone's digits).
    pub fn phone_digits(&self) -> Option<&str> {
        self.pn.as_deref().or(self.wa_id.as_deref())
    }

    /// Whether the two share an identifier. A phone matches a wa_id (both are the digits); a LID
    /// never matches a phone.
    pub fn same_person(&self, other: &MemberIds) -> bool {
        let eq = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(a), Some(b)) if a == b);
        let phone = |m: &MemberIds| [m.pn.clone(), m.wa_id.clone()];
        eq(&self.lid, &other.lid) || eq(&self.bsuid, &other.bsuid) || phone(self).iter().any(|a| phone(other).iter().any(|b| eq(a, b)))
    }

    pub fn is_empty(&self) -> bool {
        self.pn.is_none() && self.lid.is_none() && self.bsuid.is_none() && self.wa_id.is_none()
    }

    /// Known only by a LID: whether it is a given phone cannot be told.
    pub fn lid_only(&self) -> bool {
        self.lid.is_some() && self.phone_digits().is_none()
    }

    /// One stable key for storage: the first known of LID, phone, BSUID.
    pub fn key(&self) -> String {
        if let Some(lid) = &self.lid {
            format!("lid:{lid}")
        } else if let Some(p) = self.phone_digits() {
            format!("pn:{p}")
        } else if let Some(b) = &self.bsuid {
            format!("bsuid:{b}")
        } else {
            String::new()
        }
    }

    /// Fills in what `other` knows and this does not.
    pub fn merge(&mut self, other: &MemberIds) {
        for (mine, theirs) in
            [(&mut self.pn, &other.pn), (&mut self.lid, &other.lid), (&mut self.bsuid, &other.bsuid), (&mut self.wa_id, &other.wa_id)]
        {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberRole {
    #[default]
    Member,
    Admin,
    /// The group's creator.
    SuperAdmin,
}

impl MemberRole {
    pub fn is_admin(self) -> bool {
        self != MemberRole::Member
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MemberRole::Member => "member",
            MemberRole::Admin => "admin",
            MemberRole::SuperAdmin => "superadmin",
        }
    }

    pub fn parse(s: &str) -> MemberRole {
        match s {
            "admin" => MemberRole::Admin,
            "superadmin" | "super_admin" => MemberRole::SuperAdmin,
            _ => MemberRole::Member,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMember {
    pub ids: MemberIds,
    #[serde(default)]
    pub name: Option<String>,
    pub role: MemberRole,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct JoinRequest {
    /// The provider's id of the request (Cloud: `join_request_id`; linked: the requester's JID).
    pub id: String,
    pub ids: MemberIds,
    #[serde(default)]
    pub name: Option<String>,
    pub requested_at: i64,
}

/// A group as the groups list shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Group {
    pub id: String,
    pub number_id: String,
    pub provider: ProviderKind,
    pub subject: String,
    #[serde(default)]
    pub description: Option<String>,
    pub member_count: u32,
    /// Admins' display names or phones (masked as the reader must see them).
    pub admins: Vec<String>,
    pub pending_requests: u32,
    pub admins_only_messages: bool,
    pub locked_info: bool,
    pub join_approval: bool,
    pub suspended: bool,
    /// Members are addressed by LID in this group.
    pub lid_addressing: bool,
    /// Our number is an admin of it.
    pub is_admin: bool,
    pub last_activity_at: Option<i64>,
    #[serde(default)]
    pub invite_link: Option<String>,
    /// The photo set through Switchboard (its SHA-256), served at `/groups/{id}/photo`.
    #[serde(default)]
    pub photo: Option<String>,
    pub connection: Connection,
    /// Every action, and why it is refused if it is.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub actions: BTreeMap<GroupAction, Option<Refusal>>,
}

/// A group with its members and waiting join requests.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupDetail {
    pub group: Group,
    pub members: Vec<GroupMember>,
    pub join_requests: Vec<JoinRequest>,
    /// Our own number among the members, where it is listed (a linked device's phone and LID;
    /// the Cloud API leaves the business out): the console offers no remove or demote on it.
    #[serde(default)]
    pub us: Option<MemberIds>,
}

/// A change of a group's settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "setting", content = "value", rename_all = "snake_case")]
pub enum GroupSetting {
    AdminsOnlyMessages(bool),
    LockedInfo(bool),
    JoinApproval(bool),
    Subject(String),
    Description(String),
}

impl GroupSetting {
    pub fn action(&self) -> GroupAction {
        match self {
            GroupSetting::AdminsOnlyMessages(_) => GroupAction::AdminsOnlyMessages,
            GroupSetting::LockedInfo(_) => GroupAction::LockedInfo,
            GroupSetting::JoinApproval(_) => GroupAction::JoinApproval,
            GroupSetting::Subject(_) => GroupAction::Subject,
            GroupSetting::Description(_) => GroupAction::Description,
        }
    }

    /// Whether a group with these settings already has it (a re-run does nothing).
    pub fn holds_in(&self, g: &Group) -> bool {
        self.holds(&Settings {
            admins_only: g.admins_only_messages,
            locked: g.locked_info,
            join_approval: g.join_approval,
            subject: &g.subject,
            description: g.description.as_deref(),
        })
    }

    /// Whether a group whose settings are `now` already has it.
    pub fn holds(&self, now: &Settings<'_>) -> bool {
        match self {
            GroupSetting::AdminsOnlyMessages(on) => now.admins_only == *on,
            GroupSetting::LockedInfo(on) => now.locked == *on,
            GroupSetting::JoinApproval(on) => now.join_approval == *on,
            GroupSetting::Subject(s) => now.subject == s,
            GroupSetting::Description(d) => now.description.unwrap_or("") == d,
        }
    }
}

/// A group's settings as they are now, however they were read (the list, or a provider).
#[derive(Debug, Clone, Copy)]
pub struct Settings<'a> {
    pub admins_only: bool,
    pub locked: bool,
    pub join_approval: bool,
    pub subject: &'a str,
    pub description: Option<&'a str>,
}

/// The longest subject WhatsApp takes.
pub const MAX_SUBJECT_CHARS: usize = 128;
/// The longest description WhatsApp takes.
pub const MAX_DESCRIPTION_CHARS: usize = 2048;

impl GroupSetting {
    /// A clear reason if the value cannot be set.
    pub fn check(&self) -> Result<(), String> {
        match self {
            GroupSetting::Subject(s) if s.trim().is_empty() => Err("The subject cannot be empty.".into()),
            GroupSetting::Subject(s) if s.chars().count() > MAX_SUBJECT_CHARS => {
                Err(format!("The subject is longer than {MAX_SUBJECT_CHARS} characters."))
            }
            GroupSetting::Description(d) if d.chars().count() > MAX_DESCRIPTION_CHARS => {
                Err(format!("The description is longer than {MAX_DESCRIPTION_CHARS} characters."))
            }
            _ => Ok(()),
        }
    }
}

/// A member change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum MemberOp {
    Add,
    Remove,
    Promote,
    Demote,
}

impl MemberOp {
    pub fn action(self) -> GroupAction {
        match self {
            MemberOp::Add => GroupAction::AddMember,
            MemberOp::Remove => GroupAction::RemoveMember,
            MemberOp::Promote => GroupAction::Promote,
            MemberOp::Demote => GroupAction::Demote,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            MemberOp::Add => "add",
            MemberOp::Remove => "remove",
            MemberOp::Promote => "promote",
            MemberOp::Demote => "demote",
        }
    }
}

/// What happened to one member of a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum MemberOutcome {
    Done,
    /// Their privacy settings refuse adds: send them the invite link instead.
    PrivacyRefused {
        #[serde(default)]
        invite_link: Option<String>,
    },
    NotMember,
    AlreadyMember,
    Failed {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PerMember {
    pub ids: MemberIds,
    #[serde(flatten)]
    pub outcome: MemberOutcome,
}

/// A linked device of a number, as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkedDevice {
    /// The number id groups and scopes use (a Cloud number's id when the device is that number).
    pub number_id: String,
    pub phone: String,
    pub label: String,
    pub connection: Connection,
    /// While pairing: the QR code to scan with WhatsApp on the phone, as an SVG image.
    #[serde(default)]
    pub qr_svg: Option<String>,
    /// While pairing by code: the code to type on the phone.
    #[serde(default)]
    pub pair_code: Option<String>,
    pub groups: u32,
}

/// A bulk action across groups.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum BulkAction {
    /// Remove a person (by phone, LID or BSUID) from every chosen group.
    RemoveMember {
        person: String,
    },
    /// Approve the person's waiting join requests everywhere.
    ApproveRequests {
        person: String,
    },
    RejectRequests {
        person: String,
    },
    /// Apply one setting to every chosen group.
    Setting {
        setting: GroupSetting,
    },
    /// Post one message to every chosen group.
    Announce {
        text: String,
    },
}

impl BulkAction {
    pub fn action(&self) -> GroupAction {
        match self {
            BulkAction::RemoveMember { .. } => GroupAction::RemoveMember,
            BulkAction::ApproveRequests { .. } | BulkAction::RejectRequests { .. } => GroupAction::DecideJoinRequests,
            BulkAction::Setting { setting } => setting.action(),
            BulkAction::Announce { .. } => GroupAction::Send,
        }
    }

    /// The person it is about, normalised, if it is about one.
    pub fn person(&self) -> Option<MemberIds> {
        match self {
            BulkAction::RemoveMember { person } | BulkAction::ApproveRequests { person } | BulkAction::RejectRequests { person } => {
                Some(person_ids(person))
            }
            _ => None,
        }
    }
}

/// How a person typed by an operator is taken: `lid:…` a LID, `bsuid:…` or `US.…` a BSUID,
/// anything else a phone.
pub fn person_ids(raw: &str) -> MemberIds {
    let raw = raw.trim();
    if let Some(lid) = raw.strip_prefix("lid:").or_else(|| raw.strip_suffix("@lid")) {
        MemberIds::new(None, Some(lid), None, None)
    } else if let Some(b) = raw.strip_prefix("bsuid:") {
        MemberIds::new(None, None, Some(b), None)
    } else if raw.starts_with("US.") {
        MemberIds::new(None, None, Some(raw), None)
    } else {
        MemberIds::phone(raw)
    }
}

/// A bulk action and the groups it is for (none named: every group the user may manage).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkRequest {
    pub action: BulkAction,
    #[serde(default)]
    pub groups: Option<Vec<String>>,
}

/// What a bulk action will do to one group, decided before anything is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Act,
    /// The person is not in the group (or has no waiting request), or the setting already holds.
    NothingToDo,
    NotAdmin,
    /// The group has members known only by LID, so whether the person is there cannot be told.
    Unresolved,
    Offline,
    /// The provider cannot do it.
    Cannot,
}

/// Where one group's part of a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Not planned to act (the dry run's verdict says why).
    Skipped,
    Waiting,
    /// Sent to the provider; its answer not yet recorded.
    InFlight,
    /// The provider accepted it; waiting for the event that shows it took effect.
    Accepted,
    /// The following event or webhook showed it took effect.
    Confirmed,
    /// Accepted, but no event showed it within the confirmation window.
    Unconfirmed,
    /// The number was not online when its turn came: re-run to try again.
    SkippedOffline,
    Failed,
    /// Cancelled before its turn.
    Cancelled,
}

impl ItemState {
    pub fn as_str(self) -> &'static str {
        match self {
            ItemState::Skipped => "skipped",
            ItemState::Waiting => "waiting",
            ItemState::InFlight => "in_flight",
            ItemState::Accepted => "accepted",
            ItemState::Confirmed => "confirmed",
            ItemState::Unconfirmed => "unconfirmed",
            ItemState::SkippedOffline => "skipped_offline",
            ItemState::Failed => "failed",
            ItemState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<ItemState> {
        [
            ItemState::Skipped,
            ItemState::Waiting,
            ItemState::InFlight,
            ItemState::Accepted,
            ItemState::Confirmed,
            ItemState::Unconfirmed,
            ItemState::SkippedOffline,
            ItemState::Failed,
            ItemState::Cancelled,
        ]
        .into_iter()
        .find(|st| st.as_str() == s)
    }

    /// Nothing more will happen to it.
    pub fn is_final(self) -> bool {
        !matches!(self, ItemState::Waiting | ItemState::InFlight | ItemState::Accepted)
    }
}

/// One group of a plan or a job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkItem {
    pub group_id: String,
    pub number_id: String,
    pub subject: String,
    pub verdict: Verdict,
    /// In a job: where it stands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub state: Option<ItemState>,
    /// Why it failed, or what the provider said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The dry run of a bulk action: what it would do to each group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkPlan {
    pub action: BulkAction,
    pub items: Vec<BulkItem>,
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub counts: BTreeMap<Verdict, u32>,
}

impl BulkPlan {
    pub fn new(action: BulkAction, items: Vec<BulkItem>) -> BulkPlan {
        let mut counts = BTreeMap::new();
        for i in &items {
            *counts.entry(i.verdict).or_insert(0) += 1;
        }
        BulkPlan { action, items, counts }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Cancelled,
}

impl JobState {
    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> JobState {
        match s {
            "done" => JobState::Done,
            "cancelled" => JobState::Cancelled,
            _ => JobState::Running,
        }
    }
}

/// A bulk job: the plan being carried out, group by group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupJob {
    pub id: i64,
    pub action: BulkAction,
    pub state: JobState,
    pub created_by: String,
    pub created_at: i64,
    pub finished_at: Option<i64>,
    /// Items by state.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub counts: BTreeMap<ItemState, u32>,
    /// The numbers it acts on (who may see it).
    pub numbers: Vec<String>,
    #[serde(default)]
    pub items: Vec<BulkItem>,
}

impl GroupJob {
    pub fn count(&self, s: ItemState) -> u32 {
        self.counts.get(&s).copied().unwrap_or(0)
    }
}

/// That a job moved on: the stream carries only which job (and whose numbers, for who may see
/// it); the page reads the job again. (The whole job's types would weigh on every page's first
/// download, as the event stream is read everywhere.)
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupJobProgress {
    pub id: i64,
    /// The numbers it acts on (who may see it).
    pub numbers: Vec<String>,
}

impl GroupJob {
    pub fn progress(&self) -> GroupJobProgress {
        GroupJobProgress { id: self.id, numbers: self.numbers.clone() }
    }
}

/// Where a person is, across groups (the "find a person" search).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PersonHit {
    pub group_id: String,
    pub subject: String,
    pub number_id: String,
    pub member: GroupMember,
    /// A waiting join request rather than a member.
    pub requested: bool,
}

/// The groups list's filters, applied in the browser.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupFilter {
    /// Part of the subject, any case.
    pub text: String,
    pub number: Option<String>,
    pub provider: Option<ProviderKind>,
    /// Only groups with join requests waiting.
    pub pending: bool,
    /// Only admins-only groups.
    pub admins_only: bool,
    /// Only groups where our number is not an admin.
    pub not_admin: bool,
}

impl GroupFilter {
    pub fn matches(&self, g: &Group, text_lower: &str) -> bool {
        self.number.as_ref().is_none_or(|n| *n == g.number_id)
            && self.provider.is_none_or(|p| p == g.provider)
            && (!self.pending || g.pending_requests > 0)
            && (!self.admins_only || g.admins_only_messages)
            && (!self.not_admin || !g.is_admin)
            && (text_lower.is_empty() || g.subject.to_lowercase().contains(text_lower))
    }

    /// The positions of the groups that pass, in order.
    pub fn apply(&self, groups: &[Group]) -> Vec<usize> {
        let text = self.text.trim().to_lowercase();
        groups.iter().enumerate().filter(|(_, g)| self.matches(g, &text)).map(|(i, _)| i).collect()
    }
}

/// `POST /groups/{id}/members`: add, remove, promote or demote people (phones, `lid:…` or
/// BSUIDs as an operator types them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MemberChange {
    pub op: MemberOp,
    pub people: Vec<String>,
}

/// `POST /groups/{id}/requests`: approve or reject some waiting requests (by id), or all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DecideRequests {
    pub approve: bool,
    #[serde(default)]
    pub requests: Vec<String>,
    #[serde(default)]
    pub all: bool,
}

/// `POST /groups/{id}/invite-link`: read it, or reset it (the old link stops working).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteLinkRequest {
    pub reset: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InviteLink {
    pub link: String,
}

/// `POST /groups/{id}/messages`: a text, with @mentions of members (phones or `lid:…`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupMessage {
    pub text: String,
    #[serde(default)]
    pub mentions: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SentGroupMessage {
    pub id: String,
}

/// `POST /groups/{id}/messages/{message}/revoke`: delete a message for everyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RevokeMessage {
    /// Who sent it (phone or `lid:…`).
    pub sender: String,
}

/// `POST /linked-devices`: link a number's WhatsApp as a device of the relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LinkDevice {
    /// The number's phone, with country code.
    pub phone: String,
    #[serde(default)]
    pub label: String,
    /// Pair by typing a code on the phone instead of scanning a QR code.
    #[serde(default)]
    pub by_code: bool,
}

/// `POST /groups`: make a new group on a number, served by the provider chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewGroup {
    pub number_id: String,
    pub provider: ProviderKind,
    pub subject: String,
    #[serde(default)]
    pub description: Option<String>,
    /// New members need an admin's approval to join.
    #[serde(default)]
    pub join_approval: bool,
}

impl NewGroup {
    /// The subject trimmed, 1 to 128 characters; the description at most 2,048 (WhatsApp's limits).
    pub fn check(&self) -> Result<(), &'static str> {
        let subject = self.subject.trim().chars().count();
        if subject == 0 || subject > 128 {
            return Err("The group's name must be 1 to 128 characters.");
        }
        if self.description.as_deref().is_some_and(|d| d.chars().count() > 2048) {
            return Err("The description must be at most 2,048 characters.");
        }
        Ok(())
    }
}

/// A group creation asked of WhatsApp. A linked device makes the group at once; the Cloud API
/// answers a request and tells the outcome later by webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GroupCreation {
    pub request_id: String,
    pub number_id: String,
    pub subject: String,
    pub requested_at: i64,
    /// `requested` (waiting for WhatsApp), `created` or `failed`.
    pub state: String,
    #[serde(default)]
    pub group_id: Option<String>,
    /// Why WhatsApp refused, when it did.
    #[serde(default)]
    pub error: Option<String>,
}

/// The most a group photo may weigh (cloud-api.md §5.3.4).
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;
/// The smallest side a group photo may have, in pixels.
pub const MIN_PHOTO_SIDE: u32 = 192;

/// Why a file cannot be a group photo.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoProblem {
    NotJpeg,
    TooBig,
    NotSquare,
    TooSmall,
}

impl PhotoProblem {
    pub fn message(self) -> &'static str {
        match self {
            PhotoProblem::NotJpeg => "A group photo must be a JPEG image.",
            PhotoProblem::TooBig => "A group photo must be at most 5 MB.",
            PhotoProblem::NotSquare => "A group photo must be square (as wide as it is high).",
            PhotoProblem::TooSmall => "A group photo must be at least 192 × 192 pixels.",
        }
    }
}

/// The width and height of a JPEG, read from its frame header (no decoding).
pub fn jpeg_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < 4 || b[0] != 0xFF || b[1] != 0xD8 {
        return None;
    }
    let mut i = 2;
    while i + 3 < b.len() {
        if b[i] != 0xFF {
            return None;
        }
        let marker = b[i + 1];
        // Fill bytes, and markers that stand alone (no length).
        if marker == 0xFF {
            i += 1;
            continue;
        }
        if marker == 0x01 || (0xD0..=0xD7).contains(&marker) {
            i += 2;
            continue;
        }
        let len = usize::from(u16::from_be_bytes([b[i + 2], b[i + 3]]));
        // Start of frame (any coding), but not DHT, JPG or DAC, which share the range.
        if (0xC0..=0xCF).contains(&marker) && ![0xC4, 0xC8, 0xCC].contains(&marker) {
            let f = b.get(i + 5..i + 9)?;
            let height = u32::from(u16::from_be_bytes([f[0], f[1]]));
            let width = u32::from(u16::from_be_bytes([f[2], f[3]]));
            return Some((width, height));
        }
        if marker == 0xDA || len < 2 {
            return None;
        }
        i += 2 + len;
    }
    None
}

/// Whether a file may be a group photo as WhatsApp takes it: a JPEG of at most 5 MB, square,
/// at least 192 × 192.
pub fn check_photo(b: &[u8]) -> Result<(), PhotoProblem> {
    if b.len() > MAX_PHOTO_BYTES {
        return Err(PhotoProblem::TooBig);
    }
    let (w, h) = jpeg_size(b).ok_or(PhotoProblem::NotJpeg)?;
    if w != h {
        return Err(PhotoProblem::NotSquare);
    }
    if w < MIN_PHOTO_SIDE {
        return Err(PhotoProblem::TooSmall);
    }
    Ok(())
}

/// A JPEG header of the given size and nothing else (tests and the demo: every check reads
/// only the header).
pub fn jpeg_header(width: u16, height: u16) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0, 1, 1, 0, 0, 1, 0, 1, 0, 0];
    b.extend([0xFF, 0xC0, 0x00, 0x11, 0x08]);
    b.extend(height.to_be_bytes());
    b.extend(width.to_be_bytes());
    b.extend([0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11, 0x01]);
    b.extend([0xFF, 0xD9]);
    b
}

/// `GET /groups/people?q=`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct PeopleQuery {
    /// A phone (4+ digits), LID or part of a name.
    pub q: String,
}

/// How many groups a refresh read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncReport {
    pub groups: u32,
    /// Numbers whose groups could not be read (offline, logged out), each as `number: reason`.
    pub failed: Vec<String>,
}

/// The simulated linked device's protocol (`sim-linked`): what the sandbox's simulated phone
/// sessions and the relay's `SimLinked` provider say to each other over HTTP, in place of the
/// WhatsApp socket a real linked device uses.
pub mod sim {
    use serde::{Deserialize, Serialize};

    use super::{MemberIds, MemberRole};

    /// A participant as the session reports it: a JID-like user part, maybe a LID and a phone.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Participant {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub pn: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub lid: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub name: Option<String>,
        #[serde(default)]
        pub role: MemberRole,
    }

    impl Participant {
        pub fn ids(&self) -> MemberIds {
            MemberIds::new(self.pn.as_deref(), self.lid.as_deref(), None, None)
        }
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Metadata {
        pub jid: String,
        pub subject: String,
        #[serde(default)]
        pub description: Option<String>,
        pub participants: Vec<Participant>,
        #[serde(default)]
        pub announce: bool,
        #[serde(default)]
        pub locked: bool,
        #[serde(default)]
        pub join_approval: bool,
        #[serde(default)]
        pub lid_addressing: bool,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Request {
        pub requester: Participant,
        pub requested_at: i64,
    }

    /// The connection as the session reports it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Status {
        /// `unpaired`, `pairing`, `online`, `offline`, `logged_out`, `banned`.
        pub state: String,
        #[serde(default)]
        pub reason: Option<String>,
        #[serde(default)]
        pub qr: Option<String>,
        #[serde(default)]
        pub code: Option<String>,
    }

    /// `POST /_linked/{phone}/groups`: make a group with us as its only member and admin.
    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct CreateBody {
        pub subject: String,
        #[serde(default)]
        pub description: Option<String>,
        #[serde(default)]
        pub join_approval: bool,
    }

    /// Events after a sequence number, with the connection now.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct EventPage {
        pub status: Status,
        pub events: Vec<Event>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Event {
        pub seq: u64,
        pub group: String,
        #[serde(flatten)]
        pub change: Change,
    }

    /// What happened to a group, as `whatsapp-rust`'s `GroupUpdate` tells it.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum Change {
        /// `add`, `remove`, `promote`, `demote`, `leave`, `join`.
        Participants {
            action: String,
            participants: Vec<Participant>,
        },
        Settings {
            #[serde(default)]
            announce: Option<bool>,
            #[serde(default)]
            locked: Option<bool>,
            #[serde(default)]
            join_approval: Option<bool>,
            #[serde(default)]
            subject: Option<String>,
            #[serde(default)]
            description: Option<String>,
        },
        /// `created` or `revoked`.
        JoinRequest {
            action: String,
            requester: Participant,
        },
        LidAddressing {
            on: bool,
        },
        /// A group we are now in (created, or added to).
        Joined {
            metadata: Metadata,
        },
        /// A group we are no longer in.
        Left,
        /// A message in the group (the last activity).
        Message {
            id: String,
            from: Participant,
            text: String,
        },
    }

    /// One member of a change, as the session answers it (`ParticipantChangeResponse`).
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ChangeResult {
        pub participant: Participant,
        /// `200` done, `403` privacy refused the add, `404` not a member, `409` already one.
        pub status: String,
        #[serde(default)]
        pub invite_code: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct ParticipantsBody {
        pub action: String,
        pub participants: Vec<Participant>,
    }

    #[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
    pub struct SettingsBody {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub announce: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub locked: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub join_approval: Option<bool>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub subject: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pub description: Option<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct DecideBody {
        pub approve: bool,
        pub participants: Vec<Participant>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct MessageBody {
        /// Chosen by the sender: a message id sent twice is one message.
        pub id: String,
        pub text: String,
        #[serde(default)]
        pub mentions: Vec<String>,
    }

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct RevokeBody {
        pub id: String,
        pub sender: Participant,
    }

    /// An error the session answers with: `rate-overlimit`, `not-authorized`, `item-not-found`,
    /// `offline`, `logged-out`, `bad-request`.
    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    pub struct Error {
        pub error: String,
        #[serde(default)]
        pub message: Option<String>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_group_photo_is_a_square_jpeg_of_at_least_192_pixels_and_5_mb_at_most() {
        assert_eq!(jpeg_size(&jpeg_header(640, 480)), Some((640, 480)));
        assert_eq!(check_photo(&jpeg_header(640, 640)), Ok(()));
        assert_eq!(check_photo(&jpeg_header(640, 480)), Err(PhotoProblem::NotSquare));
        assert_eq!(check_photo(&jpeg_header(100, 100)), Err(PhotoProblem::TooSmall));
        assert_eq!(check_photo(b"\x89PNG\r\n\x1a\n"), Err(PhotoProblem::NotJpeg));
        assert_eq!(check_photo(&[]), Err(PhotoProblem::NotJpeg));
        let mut big = jpeg_header(640, 640);
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert_eq!(check_photo(&big), Err(PhotoProblem::TooBig));
        // Cut off before its frame header, or garbage after the start: not a JPEG, no panic.
        let whole = jpeg_header(640, 640);
        for n in 0..whole.len() {
            let _ = jpeg_size(&whole[..n]);
        }
        assert_eq!(jpeg_size(&[0xFF, 0xD8, 0x00, 0x00, 0x00]), None);
    }

    #[test]
    fn ids_are_compared_normalised_never_as_raw_strings() {
        let a = MemberIds::new(Some("85291234567@s.whatsapp.net"), None, None, None);
        let b = MemberIds::new(Some("+852 9123 4567"), None, None, None);
        let c = MemberIds::new(None, None, None, Some("85291234567"));
        let device = MemberIds::new(Some("85291234567:12@s.whatsapp.net"), None, None, None);
        assert!(a.same_person(&b) && a.same_person(&c) && a.same_person(&device));
        let lid = MemberIds::new(None, Some("123456789012345@lid"), None, None);
        let lid_too = MemberIds::new(Some("85291234567"), Some("123456789012345:3@lid"), None, None);
        assert!(!lid.same_person(&a), "a LID is never a phone");
        assert!(lid.same_person(&lid_too));
        assert!(lid.lid_only() && !lid_too.lid_only());
        assert!(!MemberIds::default().same_person(&MemberIds::default()), "nothing known matches nothing");
    }

    #[test]
    fn the_first_refusal_is_the_provider_then_the_connection_then_admin() {
        let cloud = GroupCaps::cloud();
        let linked = GroupCaps::linked();
        let off = Connection::Offline { since: 1 };
        assert_eq!(refusal(&cloud, &off, false, false, GroupAction::Promote), Some(Refusal::Provider));
        assert_eq!(refusal(&linked, &off, true, false, GroupAction::Promote), Some(Refusal::Offline));
        assert_eq!(refusal(&linked, &Connection::Online, false, false, GroupAction::Promote), Some(Refusal::NotAdmin));
        assert_eq!(refusal(&linked, &Connection::Online, false, false, GroupAction::Send), None);
        assert_eq!(refusal(&linked, &Connection::Online, false, true, GroupAction::Send), Some(Refusal::AdminsOnly));
        assert_eq!(refusal(&linked, &Connection::Online, true, true, GroupAction::Send), None);
        let out = Connection::LoggedOut { reason: LogoutReason::DeviceRemoved };
        assert_eq!(refusal(&linked, &out, true, false, GroupAction::Subject), Some(Refusal::LoggedOut));
        assert!(!cloud.can(GroupAction::AddMember) && cloud.can(GroupAction::InviteLink));
    }

    #[test]
    fn an_operator_types_a_person_as_phone_lid_or_bsuid() {
        assert_eq!(person_ids("+852 9123 4567").pn.as_deref(), Some("85291234567"));
        assert_eq!(person_ids("lid:12345").lid.as_deref(), Some("12345"));
        assert_eq!(person_ids("12345@lid").lid.as_deref(), Some("12345"));
        assert_eq!(person_ids("US.13491208655302741918").bsuid.as_deref(), Some("US.13491208655302741918"));
        assert!(person_ids("   ").is_empty());
        assert!(person_ids("hello").is_empty(), "a phone is digits");
    }

    fn group(subject: &str, number: &str, pending: u32, admins_only: bool, is_admin: bool) -> Group {
        Group {
            id: subject.into(),
            number_id: number.into(),
            provider: ProviderKind::Linked,
            subject: subject.into(),
            description: None,
            member_count: 3,
            admins: vec![],
            pending_requests: pending,
            admins_only_messages: admins_only,
            locked_info: false,
            join_approval: false,
            suspended: false,
            lid_addressing: false,
            is_admin,
            last_activity_at: None,
            invite_link: None,
            photo: None,
            connection: Connection::Online,
            actions: BTreeMap::new(),
        }
    }

    #[test]
    fn the_list_filters_by_text_number_requests_mode_and_admin() {
        let all = vec![
            group("3B Parents", "1", 2, false, true),
            group("Exam hall", "1", 0, true, true),
            group("Alumni 3B", "2", 0, false, false),
        ];
        let f = |f: GroupFilter| f.apply(&all);
        assert_eq!(f(GroupFilter { text: "3b".into(), ..Default::default() }), vec![0, 2]);
        assert_eq!(f(GroupFilter { number: Some("1".into()), ..Default::default() }), vec![0, 1]);
        assert_eq!(f(GroupFilter { pending: true, ..Default::default() }), vec![0]);
        assert_eq!(f(GroupFilter { admins_only: true, ..Default::default() }), vec![1]);
        assert_eq!(f(GroupFilter { not_admin: true, ..Default::default() }), vec![2]);
        assert_eq!(f(GroupFilter::default()), vec![0, 1, 2]);
    }

    #[test]
    fn settings_are_checked_and_known_to_hold() {
        assert!(GroupSetting::Subject(" ".into()).check().is_err());
        assert!(GroupSetting::Subject("x".repeat(129)).check().is_err());
        assert!(GroupSetting::Description("x".repeat(2049)).check().is_err());
        assert!(GroupSetting::Subject("Parents 3B".into()).check().is_ok());
    }
}
