//! The console's REST and event-stream types: what the relay sends and the browser reads.

use serde::{Deserialize, Serialize};

use crate::access::{Permission, Scope};
use crate::MessageStatus;

/// Every `/api/v1` error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ErrorDetail {
    /// Stable, machine-readable (`unauthorized`, `not_found`, `invalid_body`, …).
    pub code: String,
    /// For people.
    pub message: String,
}

/// The header every state-changing request must carry (CSRF defence).
pub const CSRF_HEADER: &str = "x-requested-with";
/// Its only accepted value.
pub const CSRF_VALUE: &str = "switchboard";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The signed-in user: who, with which role, allowed what, on which numbers.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub permissions: Vec<Permission>,
    pub scope: Scope,
    /// Sees only conversations assigned to them.
    pub assigned_only: bool,
    /// Public code customers may see (`103`), if they face customers.
    #[serde(default)]
    pub code: Option<String>,
    /// Set themselves away (on a break).
    #[serde(default)]
    pub away: bool,
}

/// `PUT /api/v1/me/away`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AwayRequest {
    pub away: bool,
}

impl Me {
    pub fn can(&self, p: Permission) -> bool {
        self.permissions.contains(&p)
    }
}

/// A role: built in (fixed permissions) or made in the console.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Role {
    pub id: i64,
    pub name: String,
    pub permissions: Vec<Permission>,
    pub builtin: bool,
    /// How many agents hold it.
    pub members: i64,
}

/// `POST /api/v1/roles`, `PUT /api/v1/roles/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RoleRequest {
    pub name: String,
    pub permissions: Vec<Permission>,
}

/// An agent (any console user) as the agents page lists them.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Agent {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
    pub scope: Scope,
    pub assigned_only: bool,
    pub disabled: bool,
    /// False until they have used their set-password link.
    pub password_set: bool,
    pub created_at: i64,
    /// The code customers may see (`103`, shown as `#103`); agents with one take conversations
    /// when a number assigns them automatically.
    #[serde(default)]
    pub code: Option<String>,
    /// The most open conversations they take; `None`: no limit.
    #[serde(default)]
    pub capacity: Option<i64>,
    /// Set by hand: on a break.
    #[serde(default)]
    pub away: bool,
    /// Whether they have a console open now (not stored: the relay's live presence).
    #[serde(default)]
    pub online: bool,
}

/// An agent's public code: 1 to 8 letters or digits.
pub fn check_agent_code(code: &str) -> Result<(), String> {
    if code.is_empty() || code.chars().count() > 8 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
        return Err(format!("{code:?} is not a code: 1 to 8 letters or digits, such as 103"));
    }
    Ok(())
}

/// `POST /api/v1/agents`: one or many agents at once. `emails` is a list (one per line, or
/// separated by commas) or CSV with a header naming `email` and optionally `name`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewAgentsRequest {
    pub emails: String,
    pub role: String,
    pub scope: Scope,
    #[serde(default)]
    pub assigned_only: bool,
}

/// One created agent and their one-time link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CreatedAgent {
    pub id: i64,
    pub email: String,
    /// Path of the one-time set-password page (`/set-password#token=…`); valid 7 days.
    pub set_password_link: String,
}

/// `PATCH /api/v1/agents/{id}`: any of name, role, scope, assigned-only, disabled, code,
/// capacity, away.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentChange {
    pub name: Option<String>,
    pub role: Option<String>,
    pub scope: Option<Scope>,
    pub assigned_only: Option<bool>,
    pub disabled: Option<bool>,
    /// A public code (`103`); `""` removes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The most open conversations; `0` removes the limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub away: Option<bool>,
}

/// `POST /api/v1/agents/bulk`: one change for many agents at once (all or none). A name or a
/// code belongs to one person, so neither can be changed in bulk.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkAgentChange {
    pub agent_ids: Vec<i64>,
    pub change: AgentChange,
}

/// `POST /api/v1/password`: sets a password with a one-time token.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SetPasswordRequest {
    pub token: String,
    pub password: String,
}

/// One line of the audit log.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AuditEntry {
    pub id: i64,
    pub at: i64,
    pub actor_id: Option<i64>,
    /// The actor's email at the time (or `cli` for the command line).
    pub actor: String,
    /// `agent.create`, `agent.disable`, `role.update`, `number.connect`, `export`, …
    pub action: String,
    /// What it was done to (`agent:12`, `number:1065…`, `conversation:7`).
    pub target: String,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
}

/// `GET /api/v1/supervisor`: live load, per number and per agent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SupervisorView {
    pub generated_at: i64,
    pub numbers: Vec<Load>,
    pub agents: Vec<Load>,
    /// How far the relay is behind with WhatsApp's webhooks.
    #[serde(default)]
    pub backlog: Backlog,
}

/// How far the relay is behind with WhatsApp's webhooks: bodies stored (and answered) but not
/// yet applied to conversations, messages and reports. Also sent on the event stream as
/// `event: backlog` (without an id: it is a reading, not part of the log) every second while
/// it is shown, and once when the relay has caught up.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Backlog {
    /// Webhook bodies waiting.
    pub waiting: i64,
    /// How long the oldest of them has waited, in milliseconds (0 when none wait).
    pub behind_ms: i64,
}

impl Backlog {
    /// The event stream's name for a backlog reading.
    pub const EVENT: &'static str = "backlog";
    /// Behind by less than this, the console says nothing: a burst being read, not a lag.
    pub const SHOWN_FROM_MS: i64 = 3_000;

    /// Whether the console says it is catching up.
    pub fn shown(&self) -> bool {
        self.behind_ms >= Backlog::SHOWN_FROM_MS
    }
}

/// The load of one number or one agent. Times in milliseconds.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Load {
    /// Phone-number id, or agent id.
    pub id: String,
    pub name: String,
    /// Agents: an open console right now. Numbers: connected and enabled.
    pub online: bool,
    /// Conversations with a message in the last 24 hours (agents: assigned to them).
    pub open: i64,
    /// Open conversations whose last message is the customer's.
    pub waiting: i64,
    pub longest_wait_ms: Option<i64>,
    /// Replies typed by people in the last hour.
    pub handled_last_hour: i64,
    /// Over waiting episodes since `day_start`: first human reply − first customer message.
    pub median_first_response_ms: Option<i64>,
    pub p90_first_response_ms: Option<i64>,
}

/// `POST /api/v1/conversations/{id}/assign`: to an agent, or back to the queue with `null`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AssignRequest {
    pub agent_id: Option<i64>,
}

/// A business number and its health, as the numbers overview shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Number {
    /// Meta's phone-number id.
    pub id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    /// GREEN, YELLOW, RED, NA or UNKNOWN.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "GREEN"))]
    pub quality_rating: crate::numbers::QualityRating,
    /// TIER_250, TIER_1K, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED, or "" when not known.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "TIER_1K"))]
    pub messaging_limit: crate::numbers::MessagingTier,
    pub throughput_per_sec: u32,
    /// Whether the last health check against the Graph API succeeded.
    pub connected: bool,
    /// The last health-check error, if any ("token expired", …).
    pub problem: Option<String>,
    /// Inbound messages not yet seen by anyone.
    pub unread: i64,
    /// When Meta last sent a webhook for this number (UTC ms).
    pub last_webhook_at: Option<i64>,
    /// Disabled numbers send nothing; their webhooks are still kept.
    #[serde(default)]
    pub disabled: bool,
    /// The IANA time zone the number's business runs in (`Asia/Taipei`): a broadcast
    /// scheduled at a wall-clock time starts at that time here.
    #[serde(default = "utc")]
    pub time_zone: String,
}

fn utc() -> String {
    "UTC".to_owned()
}

/// `POST /api/v1/numbers`: connect a number (checked against the Graph API before saving).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ConnectNumberRequest {
    pub waba_id: String,
    pub phone_number_id: String,
    pub access_token: String,
    pub app_secret: String,
    #[serde(default)]
    pub verify_token: String,
    /// IANA time zone (`Asia/Taipei`); UTC if none is given for a new number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// `PATCH /api/v1/numbers/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NumberChange {
    /// Stop (or resume) sending.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// A new IANA time zone (`Asia/Taipei`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_zone: Option<String>,
}

/// Who sent a message.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// A conversation: one customer on one business number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Conversation {
    pub id: i64,
    pub number_id: String,
    /// The customer's WhatsApp id (phone number) or business-scoped user id.
    pub contact: String,
    pub contact_name: Option<String>,
    pub last_message_at: i64,
    pub last_preview: String,
    pub last_direction: Direction,
    pub unread: i64,
    /// When the customer last wrote (UTC ms): free-form replies are allowed for 24 h after it.
    pub last_inbound_at: Option<i64>,
    /// The agent it is assigned to; `None` means it waits in the queue.
    #[serde(default)]
    pub assigned_to: Option<i64>,
    /// Labels agents put on it.
    #[serde(default)]
    pub labels: Vec<String>,
    /// A WhatsApp group's conversation: `contact` is the group id, and a reply goes to every
    /// member.
    #[serde(default)]
    pub is_group: bool,
    /// Open (someone should answer), pending (waiting on the customer), resolved, or snoozed
    /// until `snoozed_until`. A customer's new message opens it again.
    #[serde(default)]
    pub status: ConversationStatus,
    #[serde(default)]
    pub snoozed_until: Option<i64>,
}

/// Where a conversation is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Someone should answer.
    #[default]
    Open,
    /// Answered; waiting on the customer.
    Pending,
    Resolved,
    /// Out of the way until a time, then open again.
    Snoozed,
}

impl ConversationStatus {
    pub const ALL: [ConversationStatus; 4] = [Self::Open, Self::Pending, Self::Resolved, Self::Snoozed];

    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Pending => "pending",
            Self::Resolved => "resolved",
            Self::Snoozed => "snoozed",
        }
    }

    pub fn parse(s: &str) -> Option<ConversationStatus> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

/// `GET /api/v1/conversations/search?q=`: conversations whose customer's name or phone, or
/// any message, contains `q` (1 to 100 characters), newest first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema, utoipa::IntoParams))]
pub struct SearchQuery {
    pub q: String,
}

/// `POST /api/v1/conversations/{id}/status`: `snoozed_until` (UTC ms, in the future) is
/// required for `snoozed` and refused otherwise.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusRequest {
    pub status: ConversationStatus,
    #[serde(default)]
    pub snoozed_until: Option<i64>,
}

/// `POST /api/v1/conversations/assign`: a supervisor moves many conversations at once, to an
/// agent or back to the queue (`null`); all or none.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BulkAssignRequest {
    pub conversation_ids: Vec<i64>,
    pub agent_id: Option<i64>,
}

/// What happened in a conversation besides its messages: an internal note, an assignment
/// decision (who and why), a change of status. Shown in the conversation's timeline, never
/// sent to the customer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Activity {
    pub id: i64,
    pub conversation_id: i64,
    pub kind: ActivityKind,
    /// Who did it; `None` for the relay itself (automatic assignment, a snooze ending).
    pub author: Option<i64>,
    pub author_name: Option<String>,
    /// A note's text; for an assignment or a status, the reason in English (the audit's words).
    pub text: String,
    /// An assignment's agent (`None`: back to the queue).
    #[serde(default)]
    pub agent: Option<i64>,
    #[serde(default)]
    pub agent_name: Option<String>,
    /// An assignment's reason: `arrival`, `opening`, `released`, `reserved`, `manual`, `bulk`.
    #[serde(default)]
    pub reason: Option<String>,
    /// A status change's new status.
    #[serde(default)]
    pub status: Option<ConversationStatus>,
    /// Colleagues a note mentions (they are told live).
    #[serde(default)]
    pub mentions: Vec<i64>,
    pub at: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Note,
    Assignment,
    Status,
}

impl ActivityKind {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Assignment => "assignment",
            Self::Status => "status",
        }
    }

    pub fn parse(s: &str) -> Option<ActivityKind> {
        [Self::Note, Self::Assignment, Self::Status].into_iter().find(|x| x.as_str() == s)
    }
}

/// `POST /api/v1/conversations/{id}/notes`: an internal note; `mentions` are colleagues who
/// work on the conversation's number.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NoteRequest {
    pub text: String,
    #[serde(default)]
    pub mentions: Vec<i64>,
}

/// Someone who may work on a conversation: for the assign menu and `@mentions`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Colleague {
    pub id: i64,
    pub name: String,
    /// Public code (`103`), if they face customers.
    pub code: Option<String>,
    /// Console open now and not away.
    pub online: bool,
}

/// `GET /api/v1/conversations`: the inbox snapshot; `seq` is the event id it is current to, so
/// the console follows the event stream from there.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InboxSnapshot {
    pub seq: i64,
    pub conversations: Vec<Conversation>,
}

/// `PUT /api/v1/conversations/{id}/labels`: the conversation's whole set of labels.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LabelsRequest {
    pub labels: Vec<String>,
}

/// Most labels on one conversation, and longest label.
pub const MAX_LABELS: usize = 20;
pub const MAX_LABEL_CHARS: usize = 40;

/// Trims, drops empties and duplicates (ignoring case), keeps order; commas are not allowed.
pub fn normalize_labels(labels: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for raw in labels {
        let label = raw.trim();
        if label.is_empty() {
            continue;
        }
        if label.contains(',') {
            return Err(format!("{label:?}: a label cannot contain a comma"));
        }
        if label.chars().count() > MAX_LABEL_CHARS {
            return Err(format!("{label:?}: a label has at most {MAX_LABEL_CHARS} characters"));
        }
        if !out.iter().any(|l| l.to_lowercase() == label.to_lowercase()) {
            out.push(label.to_owned());
        }
    }
    if out.len() > MAX_LABELS {
        return Err(format!("at most {MAX_LABELS} labels on a conversation"));
    }
    Ok(out)
}

/// One message in a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Message {
    pub id: i64,
    pub conversation_id: i64,
    pub wamid: Option<String>,
    pub direction: Direction,
    /// The kind Meta gave it: text, image, template, …
    pub kind: String,
    pub body: String,
    /// Outbound only.
    pub status: Option<MessageStatus>,
    /// Meta's error code and title when a send failed.
    pub error: Option<String>,
    pub created_at: i64,
    /// An automatic message: the name of the rule that sent it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_rule: Option<String>,
    /// A photo, document, voice note, location or contact cards it carries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<crate::media::Attachment>,
}

/// `POST /api/v1/conversations/{id}/template`: an approved template with its `{{n}}` values, in
/// order (the only message WhatsApp allows once the 24-hour window has closed).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TemplateReplyRequest {
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub parameters: Vec<String>,
}

/// `POST /api/v1/conversations/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReplyRequest {
    pub text: String,
}

/// One event on `GET /api/v1/events`; `seq` is the SSE id, so a reconnect resumes after it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Event {
    pub seq: i64,
    pub number_id: String,
    pub at: i64,
    /// The agent the event's conversation is assigned to, for those who see only their own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assigned_to: Option<i64>,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
// A wire type, built once per event and serialised: boxing the message would only add an
// allocation to the commonest event.
#[allow(clippy::large_enum_variant)]
pub enum EventKind {
    /// A message arrived from a customer, or an agent's reply was queued.
    Message { conversation: Conversation, message: Message },
    /// An outbound message moved forward (accepted, sent, delivered, read, failed).
    Status { conversation_id: i64, message_id: i64, wamid: Option<String>, status: MessageStatus, error: Option<String> },
    /// A signed webhook could not be understood and went to the dead-letter table.
    DeadLetter { id: i64, reason: String },
    /// A conversation was assigned, taken over or sent back to the queue.
    Assignment { conversation: Conversation },
    /// A conversation changed otherwise (a group's new subject names it).
    Conversation { conversation: Conversation },
    /// A message was deleted from the record (its text is gone; the row stays as a tombstone).
    MessageDeleted { conversation_id: i64, message_id: i64 },
    /// A broadcast's report changed (sent at most four times a second while it runs,
    /// and for ten minutes after, while statuses and replies still come in).
    Broadcast { progress: BroadcastProgress },
    /// A group changed (members, settings, join requests), or WhatsApp answered a group
    /// creation (then `group_id` is the group, or the request id if it failed): the console
    /// reads the groups again.
    Group { group_id: String },
    /// A bulk job over groups moved on (its counts; the items are read on demand).
    GroupJob { job: crate::groups::GroupJobProgress },
    /// A linked device's connection changed (online, offline since, logged out, a new QR
    /// code): the console reads the devices again, and shows a banner when one dropped. The
    /// number is the event's own `number_id` (a field of its own here would repeat the key, and
    /// a JSON reader refuses an object with a key twice).
    LinkedDevice { state: String },
    /// A note, an assignment decision or a status change in a conversation's timeline.
    Activity { activity: Activity },
    /// A message's file arrived (or could not be fetched): its attachment as it is now.
    Attachment { conversation_id: i64, message_id: i64, attachment: crate::media::Attachment },
}

impl EventKind {
    /// Every SSE `event:` name: a browser's `EventSource` hears only the names it listens for,
    /// so the console subscribes to each of these.
    pub const NAMES: [&'static str; 12] = [
        "message",
        "status",
        "dead_letter",
        "assignment",
        "conversation",
        "message_deleted",
        "broadcast",
        "group",
        "group_job",
        "linked_device",
        "activity",
        "attachment",
    ];

    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Message { .. } => "message",
            EventKind::Status { .. } => "status",
            EventKind::DeadLetter { .. } => "dead_letter",
            EventKind::Assignment { .. } => "assignment",
            EventKind::Conversation { .. } => "conversation",
            EventKind::MessageDeleted { .. } => "message_deleted",
            EventKind::Broadcast { .. } => "broadcast",
            EventKind::Group { .. } => "group",
            EventKind::GroupJob { .. } => "group_job",
            EventKind::LinkedDevice { .. } => "linked_device",
            EventKind::Activity { .. } => "activity",
            EventKind::Attachment { .. } => "attachment",
        }
    }
}

/// A contact as the console sees it: the segment fields plus phone and name. The phone is
/// masked without `see_full_phone_numbers`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Contact {
    pub phone: String,
    pub name: Option<String>,
    #[serde(flatten)]
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub fields: crate::segment::SegmentContact,
}

/// How the columns of an uploaded CSV map onto contacts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportMapping {
    /// The column holding phone numbers (header text, any case).
    pub phone: String,
    #[serde(default)]
    pub name: Option<String>,
    /// A column of tags separated by `;` or `,`.
    #[serde(default)]
    pub tags: Option<String>,
    /// Tags every imported contact gets.
    #[serde(default)]
    pub add_tags: Vec<String>,
    /// A yes/no column for marketing opt-in.
    #[serde(default)]
    pub opted_in: Option<String>,
    #[serde(default)]
    pub attributes: Vec<AttributeColumn>,
    /// ISO 3166 country (e.g. `HK`) for numbers written without `+` and country code.
    pub default_country: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AttributeColumn {
    pub column: String,
    /// The attribute's name in segments and templates (letters, digits, `_`).
    pub key: String,
    pub kind: AttributeKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum AttributeKind {
    Text,
    Number,
    /// `YYYY-MM-DD`.
    Date,
    /// yes/no, true/false, 1/0, 是/否.
    Bool,
}

/// An import's progress and, once done, its outcome.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ImportStatus {
    pub id: i64,
    /// Data rows in the file.
    pub total: u64,
    /// Rows read so far.
    pub done: u64,
    pub finished: bool,
    /// New contacts.
    pub created: u64,
    /// Rows that updated an existing contact or merged with an earlier row of the file.
    pub merged: u64,
    pub rejected: u64,
    /// Why the whole import stopped (nothing was saved), if it did.
    pub error: Option<String>,
}

/// A saved segment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SavedSegment {
    pub id: i64,
    pub name: String,
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SegmentRequest {
    pub name: String,
    pub expression: String,
}

/// Changes to one contact (each field optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ContactChange {
    pub tags: Option<Vec<String>>,
    pub opted_in: Option<bool>,
    pub opted_out: Option<bool>,
}

/// The opt-out keywords and the one confirmation sent when a contact uses one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OptOutSettings {
    pub keywords: Vec<String>,
    pub confirmation: String,
}

/// A WABA's template as last synced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Template {
    pub waba_id: String,
    pub name: String,
    pub language: String,
    pub category: String,
    pub status: String,
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<Object>))]
    pub components: Vec<serde_json::Value>,
    pub synced_at: i64,
}

/// A broadcast in lists and its live report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Broadcast {
    pub id: i64,
    pub spec: crate::broadcast::BroadcastSpec,
    pub state: crate::broadcast::BroadcastState,
    pub send_at: i64,
    pub created_at: i64,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    /// Why it was paused, when the relay paused it: `low_quality:<phone-number id>`.
    #[serde(default)]
    pub paused_reason: Option<String>,
    pub counts: crate::broadcast::BroadcastCounts,
    /// Accepted per number (throughput observed is this over the running time).
    pub accepted_by_number: std::collections::BTreeMap<String, u64>,
    /// When the messaging limit window next has room, if recipients wait for it.
    pub limit_window_opens_at: Option<i64>,
}

/// What changes in a broadcast's report while it runs: the report without the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastProgress {
    pub id: i64,
    /// The numbers it sends from (who may see it).
    pub numbers: Vec<String>,
    pub state: crate::broadcast::BroadcastState,
    pub started_at: Option<i64>,
    pub completed_at: Option<i64>,
    #[serde(default)]
    pub paused_reason: Option<String>,
    pub counts: crate::broadcast::BroadcastCounts,
    pub accepted_by_number: std::collections::BTreeMap<String, u64>,
    pub limit_window_opens_at: Option<i64>,
}

impl Broadcast {
    /// Its report as a progress event carries it.
    pub fn progress(&self) -> BroadcastProgress {
        BroadcastProgress {
            id: self.id,
            numbers: self.spec.numbers.clone(),
            state: self.state,
            started_at: self.started_at,
            completed_at: self.completed_at,
            paused_reason: self.paused_reason.clone(),
            counts: self.counts.clone(),
            accepted_by_number: self.accepted_by_number.clone(),
            limit_window_opens_at: self.limit_window_opens_at,
        }
    }

    /// Takes in a newer report of this broadcast.
    pub fn apply(&mut self, p: BroadcastProgress) {
        self.state = p.state;
        self.started_at = p.started_at;
        self.completed_at = p.completed_at;
        self.paused_reason = p.paused_reason;
        self.counts = p.counts;
        self.accepted_by_number = p.accepted_by_number;
        self.limit_window_opens_at = p.limit_window_opens_at;
    }
}

/// `POST /api/v1/broadcasts/{id}/control`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ControlRequest {
    pub action: crate::broadcast::ControlAction,
}

/// One recipient's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Recipient {
    pub phone: String,
    pub name: Option<String>,
    pub number_id: Option<String>,
    pub state: crate::broadcast::RecipientState,
    pub skipped: Option<String>,
    pub status: Option<String>,
    pub error_code: Option<i64>,
    pub error_title: Option<String>,
    pub accepted_at: Option<i64>,
    pub delivered_at: Option<i64>,
    pub read_at: Option<i64>,
    pub replied_at: Option<i64>,
}

/// `GET /api/v1/audit?…`: newest first, filtered and searched.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct AuditQuery {
    /// Words that must all appear in the actor, action, target, before or after.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub q: Option<String>,
    /// Exact action, or a prefix ending in `.` (`agent.`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    /// At or after this time (UTC ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Before this time (UTC ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// Entries older than this id (paging backwards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before_id: Option<i64>,
    /// At most this many (1 to 1,000; 200 when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// `GET /api/v1/export/conversations?…`: which messages, in which format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ExportQuery {
    /// `csv` (default) or `json`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Only this business number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number: Option<String>,
    /// Only conversations assigned to this agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<i64>,
    /// Messages at or after this time (UTC ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    /// Messages before this time (UTC ms).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<i64>,
    /// Only conversations with this label.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// `GET /api/v1/broadcasts/{id}/recipients?…`: one page of a broadcast's recipients.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct RecipientQuery {
    /// skipped | queued | accepted | failed | cancelled | delivered | read | replied (all when
    /// absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offset: Option<i64>,
    /// 1 to 1,000; 100 when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<i64>,
}

/// `GET /api/v1/supervisor?…`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct SupervisorQuery {
    /// Start of "today" in the viewer's time zone (UTC ms); UTC midnight when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub day_start: Option<i64>,
}

/// `GET /api/v1/events?…`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct EventsQuery {
    /// Resume after this event id (for the first connection, where a browser cannot set
    /// `Last-Event-ID`). Without it and without the header, the stream starts at "now".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<i64>,
}

/// `POST /api/v1/contacts/import?mapping=…` (the CSV is the body).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct ImportQuery {
    /// The column mapping as JSON (an `ImportMapping`).
    pub mapping: String,
}

#[cfg(test)]
mod event_tests {
    use super::*;

    /// What the relay writes to the stream the console reads back: a kind's field that repeats
    /// one of the event's own (`number_id` was one) makes the whole event unreadable.
    #[test]
    fn every_simple_event_reads_back_as_it_was_written() {
        let kinds = [
            EventKind::Status {
                conversation_id: 1,
                message_id: 2,
                wamid: Some("wamid.X".into()),
                status: MessageStatus::Read,
                error: None,
            },
            EventKind::DeadLetter { id: 3, reason: "bad".into() },
            EventKind::MessageDeleted { conversation_id: 1, message_id: 2 },
            EventKind::Group { group_id: "120363@g.us".into() },
            EventKind::LinkedDevice { state: "offline".into() },
        ];
        for kind in kinds {
            let e = Event { seq: 40, number_id: "85255500188".into(), at: 1, assigned_to: Some(7), kind };
            let text = serde_json::to_string(&e).unwrap();
            assert_eq!(serde_json::from_str::<Event>(&text).unwrap(), e, "{text}");
        }
    }

    /// The names the console subscribes to are every kind serde knows (its error for an
    /// unknown kind lists them all), so a new kind cannot be missed by the console's stream.
    #[test]
    fn the_listened_names_are_every_kind_of_event() {
        let err = serde_json::from_str::<EventKind>(r#"{"type":"no_such_kind"}"#).unwrap_err().to_string();
        let listed = err.split("expected one of ").nth(1).expect("serde lists the kinds");
        let mut kinds: Vec<&str> =
            listed.split(", ").map(|k| k.trim_matches(|c: char| c == '`' || c.is_whitespace() || c == ',')).collect();
        kinds.retain(|k| !k.is_empty());
        let kinds: Vec<&str> = kinds.iter().map(|k| k.split('`').next().unwrap_or(k)).collect();
        let mut names = EventKind::NAMES.to_vec();
        let mut kinds_sorted = kinds.clone();
        names.sort_unstable();
        kinds_sorted.sort_unstable();
        assert_eq!(names, kinds_sorted, "serde said: {err}");
        let sample = EventKind::MessageDeleted { conversation_id: 1, message_id: 2 };
        assert!(EventKind::NAMES.contains(&sample.name()));
    }
}
