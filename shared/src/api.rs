//! The console's REST and event-stream types: what the relay sends and the browser reads.

use serde::{Deserialize, Serialize};

use crate::MessageStatus;

/// Every `/api/v1` error: `{"error": {"code": "...", "message": "..."}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
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
pub struct LoginRequest {
    pub email: String,
    pub password: String,
}

/// The signed-in user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Me {
    pub id: i64,
    pub email: String,
    pub name: String,
    pub role: String,
}

/// A business number and its health, as the numbers overview shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Number {
    /// Meta's phone-number id.
    pub id: String,
    pub waba_id: String,
    pub display_phone_number: String,
    pub verified_name: String,
    /// GREEN, YELLOW, RED, NA or UNKNOWN.
    pub quality_rating: String,
    /// TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED.
    pub messaging_limit: String,
    pub throughput_per_sec: u32,
    /// Whether the last health check against the Graph API succeeded.
    pub connected: bool,
    /// The last health-check error, if any ("token expired", …).
    pub problem: Option<String>,
    /// Inbound messages not yet seen by anyone.
    pub unread: i64,
    /// When Meta last sent a webhook for this number (UTC ms).
    pub last_webhook_at: Option<i64>,
}

/// Who sent a message.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// A conversation: one customer on one business number.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
}

/// One message in a conversation.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
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
}

/// `POST /api/v1/conversations/{id}/messages`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReplyRequest {
    pub text: String,
}

/// One event on `GET /api/v1/events`; `seq` is the SSE id, so a reconnect resumes after it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Event {
    pub seq: i64,
    pub number_id: String,
    pub at: i64,
    #[serde(flatten)]
    pub kind: EventKind,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// A message arrived from a customer, or an agent's reply was queued.
    Message { conversation: Conversation, message: Message },
    /// An outbound message moved forward (accepted, sent, delivered, read, failed).
    Status { conversation_id: i64, message_id: i64, wamid: Option<String>, status: MessageStatus, error: Option<String> },
    /// A signed webhook could not be understood and went to the dead-letter table.
    DeadLetter { id: i64, reason: String },
}

impl EventKind {
    /// The SSE `event:` name.
    pub fn name(&self) -> &'static str {
        match self {
            EventKind::Message { .. } => "message",
            EventKind::Status { .. } => "status",
            EventKind::DeadLetter { .. } => "dead_letter",
        }
    }
}
