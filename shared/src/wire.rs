//! Meta Cloud API wire formats: webhook envelopes in, sends out, Graph errors back.
//!
//! Parsing is tolerant where Meta's own samples disagree (`reference/cloud-api.md` §8.1):
//! timestamps and codes may be strings or numbers, `wa_id` may be absent in the BSUID era, the
//! group participant field has two spellings, and unknown types and fields never fail a parse.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};

use crate::media::{Attachment, ContactCard, MediaState};

/// Accepts `"1749416383"` or `1749416383` (Meta uses both).
fn int_or_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Accepts a string or a number and keeps it as a string (ids, error codes in group samples).
fn string_or_int<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

// ---------------------------------------------------------------------------------------------
// Webhooks
// ---------------------------------------------------------------------------------------------

/// One webhook POST body. It may carry many entries, each with many changes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WebhookEnvelope {
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

/// One WhatsApp Business Account's part of a webhook.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// The WABA id.
    #[serde(default, deserialize_with = "string_or_int")]
    pub id: Option<String>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

/// One change: `field` names what `value` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Change {
    pub field: String,
    #[serde(default)]
    pub value: Value,
}

impl Change {
    /// The typed value of a `messages` change, or of any change shaped like one.
    pub fn messages_value(&self) -> Result<MessagesValue, serde_json::Error> {
        MessagesValue::deserialize(&self.value)
    }

    /// The typed value of a group change (`group_lifecycle_update`, `group_participants_update`,
    /// `group_settings_update`, `group_status_update`).
    pub fn groups_value(&self) -> Result<GroupsValue, serde_json::Error> {
        GroupsValue::deserialize(&self.value)
    }

    /// The typed value of a `phone_number_quality_update` change.
    pub fn quality_value(&self) -> Result<QualityUpdate, serde_json::Error> {
        QualityUpdate::deserialize(&self.value)
    }

    /// Whether this change is one of the four group fields.
    pub fn is_group_field(&self) -> bool {
        self.field.starts_with("group_")
    }
}

/// Which business number a change belongs to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Metadata {
    #[serde(default, deserialize_with = "string_or_int")]
    pub display_phone_number: Option<String>,
    #[serde(default, deserialize_with = "string_or_int")]
    pub phone_number_id: Option<String>,
}

/// The value of a `phone_number_quality_update` change: Meta re-rated a number. `FLAGGED` means
/// its quality fell to RED (its messaging limit drops if it stays there); `UNFLAGGED`,
/// `UPGRADE`, `DOWNGRADE` and `THROUGHPUT_UPGRADE` follow.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct QualityUpdate {
    #[serde(default, deserialize_with = "string_or_int")]
    pub display_phone_number: Option<String>,
    #[serde(default)]
    pub event: String,
    #[serde(default)]
    pub current_limit: Option<String>,
}

/// The value of a `messages` change: inbound messages, statuses of our sends, system errors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MessagesValue {
    #[serde(default)]
    pub messaging_product: Option<String>,
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub contacts: Vec<WebhookContact>,
    #[serde(default)]
    pub messages: Vec<InboundMessage>,
    #[serde(default)]
    pub statuses: Vec<StatusUpdate>,
    #[serde(default)]
    pub errors: Vec<WebhookError>,
}

/// The sender's profile as Meta shows it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookContact {
    #[serde(default)]
    pub profile: Profile,
    #[serde(default, deserialize_with = "string_or_int")]
    pub wa_id: Option<String>,
    /// Business-scoped user id (from 2026); always present in the BSUID era, `wa_id` may not be.
    #[serde(default)]
    pub user_id: Option<String>,
}

impl WebhookContact {
    /// The best id we have for this person: the phone number if Meta gave it, else the BSUID.
    pub fn key(&self) -> Option<&str> {
        self.wa_id.as_deref().or(self.user_id.as_deref())
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Profile {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub username: Option<String>,
}

/// An inbound message. The type-specific body stays in `rest`; [`InboundMessage::content`]
/// reads it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InboundMessage {
    pub id: String,
    #[serde(default, deserialize_with = "string_or_int")]
    pub from: Option<String>,
    #[serde(default)]
    pub from_user_id: Option<String>,
    #[serde(default, deserialize_with = "int_or_string")]
    pub timestamp: Option<i64>,
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub context: Option<MessageContext>,
    #[serde(default)]
    pub errors: Vec<WebhookError>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

/// Reply context, forward flags, or the product a message refers to.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct MessageContext {
    #[serde(default, deserialize_with = "string_or_int")]
    pub from: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub forwarded: Option<bool>,
    #[serde(default)]
    pub frequently_forwarded: Option<bool>,
}

/// What an inbound message says, by type.
#[derive(Debug, Clone, PartialEq)]
pub enum MessageContent {
    Text {
        body: String,
    },
    Media {
        kind: String,
        id: Option<String>,
        mime_type: Option<String>,
        caption: Option<String>,
        filename: Option<String>,
        /// An audio message recorded as a voice note.
        voice: bool,
    },
    /// `emoji` is `None` when a reaction is removed.
    Reaction {
        message_id: String,
        emoji: Option<String>,
    },
    /// A tap on a reply button or a list row.
    InteractiveReply {
        id: String,
        title: String,
    },
    /// A tap on a template's quick-reply button.
    Button {
        payload: Option<String>,
        text: String,
    },
    Location {
        latitude: f64,
        longitude: f64,
        name: Option<String>,
        address: Option<String>,
    },
    Contacts {
        cards: Vec<ContactCard>,
    },
    Order {
        items: usize,
    },
    System {
        body: String,
    },
    /// A type Meta marks unsupported (often with an error such as 131051 or 130501).
    Unsupported,
    /// A type this version does not know yet.
    Unknown {
        kind: String,
    },
}

fn str_at<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    v.get(key).and_then(Value::as_str)
}

fn float_at(v: &Value, key: &str) -> Option<f64> {
    match v.get(key)? {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
}

impl InboundMessage {
    /// The sender: phone number if present, else the business-scoped user id.
    pub fn sender(&self) -> Option<&str> {
        self.from.as_deref().or(self.from_user_id.as_deref())
    }

    /// Reads the type-specific body.
    pub fn content(&self) -> MessageContent {
        let body = self.rest.get(&self.kind).cloned().unwrap_or(Value::Null);
        match self.kind.as_str() {
            "text" => MessageContent::Text { body: str_at(&body, "body").unwrap_or_default().to_owned() },
            "image" | "video" | "audio" | "document" | "sticker" => MessageContent::Media {
                kind: self.kind.clone(),
                id: str_at(&body, "id").map(str::to_owned),
                mime_type: str_at(&body, "mime_type").map(str::to_owned),
                caption: str_at(&body, "caption").map(str::to_owned),
                filename: str_at(&body, "filename").map(str::to_owned),
                voice: body.get("voice").and_then(Value::as_bool).unwrap_or(false),
            },
            "reaction" => MessageContent::Reaction {
                message_id: str_at(&body, "message_id").unwrap_or_default().to_owned(),
                emoji: str_at(&body, "emoji").filter(|e| !e.is_empty()).map(str::to_owned),
            },
            "interactive" => {
                let reply = body
                    .get("button_reply")
                    .or_else(|| body.get("list_reply"))
                    .or_else(|| body.get("nfm_reply"))
                    .cloned()
                    .unwrap_or(Value::Null);
                MessageContent::InteractiveReply {
                    id: str_at(&reply, "id").unwrap_or_default().to_owned(),
                    title: str_at(&reply, "title").or_else(|| str_at(&reply, "body")).unwrap_or_default().to_owned(),
                }
            }
            "button" => MessageContent::Button {
                payload: str_at(&body, "payload").map(str::to_owned),
                text: str_at(&body, "text").unwrap_or_default().to_owned(),
            },
            "location" => MessageContent::Location {
                latitude: float_at(&body, "latitude").unwrap_or_default(),
                longitude: float_at(&body, "longitude").unwrap_or_default(),
                name: str_at(&body, "name").map(str::to_owned),
                address: str_at(&body, "address").map(str::to_owned),
            },
            "contacts" => MessageContent::Contacts {
                cards: body
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .map(|c| ContactCard {
                                name: c.pointer("/name/formatted_name").and_then(Value::as_str).unwrap_or_default().to_owned(),
                                phones: c
                                    .get("phones")
                                    .and_then(Value::as_array)
                                    .map(|ps| ps.iter().filter_map(|p| str_at(p, "phone")).map(str::to_owned).collect())
                                    .unwrap_or_default(),
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            },
            "order" => MessageContent::Order { items: body.get("product_items").and_then(Value::as_array).map_or(0, Vec::len) },
            "system" => MessageContent::System { body: str_at(&body, "body").unwrap_or_default().to_owned() },
            "unsupported" => MessageContent::Unsupported,
            other => MessageContent::Unknown { kind: other.to_owned() },
        }
    }

    /// What the message carries besides text, as the conversation shows it: a file (still to
    /// be fetched), a location or contact cards.
    pub fn attachment(&self) -> Option<Attachment> {
        match self.content() {
            MessageContent::Media { kind, mime_type, caption, filename, voice, .. } => {
                Some(Attachment::Media { kind, mime_type, filename, caption, voice, state: MediaState::Pending, size: None, error: None })
            }
            MessageContent::Location { latitude, longitude, name, address } => {
                Some(Attachment::Location { latitude, longitude, name, address })
            }
            MessageContent::Contacts { cards } => Some(Attachment::Contacts { cards }),
            _ => None,
        }
    }

    /// A one-line text for lists and previews.
    pub fn summary(&self) -> String {
        match self.content() {
            MessageContent::Text { body } => body,
            MessageContent::Media { kind, caption, filename, .. } => {
                let label = caption.or(filename).unwrap_or_default();
                if label.is_empty() {
                    format!("[{kind}]")
                } else {
                    format!("[{kind}] {label}")
                }
            }
            MessageContent::Reaction { emoji: Some(e), .. } => format!("[reaction] {e}"),
            MessageContent::Reaction { emoji: None, .. } => "[reaction removed]".to_owned(),
            MessageContent::InteractiveReply { title, .. } => title,
            MessageContent::Button { text, .. } => text,
            MessageContent::Location { name, latitude, longitude, .. } => {
                format!("[location] {}", name.unwrap_or_else(|| format!("{latitude:.5}, {longitude:.5}")))
            }
            MessageContent::Contacts { cards } => {
                format!("[contacts] {}", cards.iter().map(|c| c.name.as_str()).collect::<Vec<_>>().join(", "))
            }
            MessageContent::Order { items } => format!("[order] {items} items"),
            MessageContent::System { body } => format!("[system] {body}"),
            MessageContent::Unsupported => "[unsupported message]".to_owned(),
            MessageContent::Unknown { kind } => format!("[{kind}]"),
        }
    }
}

/// A status update for one of our sends.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StatusUpdate {
    pub id: String,
    pub status: String,
    #[serde(default, deserialize_with = "int_or_string")]
    pub timestamp: Option<i64>,
    #[serde(default, deserialize_with = "string_or_int")]
    pub recipient_id: Option<String>,
    #[serde(default)]
    pub recipient_user_id: Option<String>,
    #[serde(default)]
    pub recipient_type: Option<String>,
    /// Group sends: the participant. Meta's samples spell it both ways.
    #[serde(default, alias = "participant_recipient_id", deserialize_with = "string_or_int")]
    pub recipient_participant_id: Option<String>,
    #[serde(default)]
    pub biz_opaque_callback_data: Option<String>,
    #[serde(default)]
    pub errors: Vec<WebhookError>,
    #[serde(default)]
    pub pricing: Option<Value>,
    #[serde(default)]
    pub conversation: Option<Value>,
}

/// An error inside a webhook (`statuses[].errors`, `messages[].errors`, `value.errors`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct WebhookError {
    /// Integer in most payloads, a string in some group samples.
    #[serde(default, deserialize_with = "int_or_string")]
    pub code: Option<i64>,
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
    #[serde(default)]
    pub href: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorData {
    #[serde(default)]
    pub messaging_product: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
}

/// The value of a group change.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct GroupsValue {
    #[serde(default)]
    pub metadata: Metadata,
    #[serde(default)]
    pub groups: Vec<GroupEvent>,
}

/// One group event; the fields depend on `type`, the rest stay in `rest`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GroupEvent {
    #[serde(rename = "type", default)]
    pub kind: String,
    #[serde(default)]
    pub group_id: Option<String>,
    #[serde(default)]
    pub request_id: Option<String>,
    #[serde(default, deserialize_with = "int_or_string")]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub errors: Vec<WebhookError>,
    #[serde(flatten)]
    pub rest: Map<String, Value>,
}

impl GroupEvent {
    /// Normalises the two spellings Meta uses for participant events
    /// (`group_participants_add` vs `group_add_participants`).
    pub fn normalized_kind(&self) -> &str {
        match self.kind.as_str() {
            "group_add_participants" => "group_participants_add",
            "group_remove_participants" => "group_participants_remove",
            other => other,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sends
// ---------------------------------------------------------------------------------------------

/// `POST /{phone-number-id}/messages` for a message (not mark-as-read).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SendRequest {
    pub messaging_product: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recipient_type: Option<String>,
    pub to: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context: Option<ReplyContext>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub biz_opaque_callback_data: Option<String>,
    #[serde(flatten)]
    pub body: OutboundBody,
}

impl SendRequest {
    /// A send to one person with Meta's fixed envelope fields filled in.
    pub fn individual(to: impl Into<String>, body: OutboundBody) -> Self {
        SendRequest {
            messaging_product: "whatsapp".into(),
            recipient_type: Some("individual".into()),
            to: to.into(),
            context: None,
            biz_opaque_callback_data: None,
            body,
        }
    }

    /// A send to a WhatsApp group (Groups API): `to` is the group id.
    pub fn group(group_id: impl Into<String>, body: OutboundBody) -> Self {
        SendRequest { recipient_type: Some("group".into()), ..SendRequest::individual(group_id, body) }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReplyContext {
    pub message_id: String,
}

/// The typed part of a send, tagged by `type` as Meta expects.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum OutboundBody {
    Text { text: TextBody },
    Image { image: MediaRef },
    Document { document: MediaRef },
    Video { video: MediaRef },
    Audio { audio: MediaRef },
    Template { template: TemplateSend },
}

impl OutboundBody {
    pub fn text(body: impl Into<String>) -> Self {
        OutboundBody::Text { text: TextBody { body: body.into(), preview_url: None } }
    }

    /// A file sent by the media id an upload gave: `kind` is image, document, video or audio
    /// (a caption is dropped for audio, which has none; a file name is kept for documents).
    pub fn media(kind: &str, media_id: &str, caption: Option<String>, filename: Option<String>) -> Option<Self> {
        let m =
            |caption: Option<String>, filename: Option<String>| MediaRef { id: Some(media_id.to_owned()), link: None, caption, filename };
        Some(match kind {
            "image" => OutboundBody::Image { image: m(caption, None) },
            "video" => OutboundBody::Video { video: m(caption, None) },
            "audio" => OutboundBody::Audio { audio: m(None, None) },
            "document" => OutboundBody::Document { document: m(caption, filename) },
            _ => return None,
        })
    }

    /// The `type` Meta reads.
    pub fn kind(&self) -> &'static str {
        match self {
            OutboundBody::Text { .. } => "text",
            OutboundBody::Image { .. } => "image",
            OutboundBody::Document { .. } => "document",
            OutboundBody::Video { .. } => "video",
            OutboundBody::Audio { .. } => "audio",
            OutboundBody::Template { .. } => "template",
        }
    }

    /// The uploaded media a send names, if any.
    pub fn media_id(&self) -> Option<&str> {
        match self {
            OutboundBody::Image { image: m }
            | OutboundBody::Video { video: m }
            | OutboundBody::Audio { audio: m }
            | OutboundBody::Document { document: m } => m.id.as_deref(),
            _ => None,
        }
    }

    /// Whether Meta allows this outside the 24-hour customer service window.
    pub fn is_template(&self) -> bool {
        matches!(self, OutboundBody::Template { .. })
    }

    /// A one-line text for lists and previews.
    pub fn summary(&self) -> String {
        match self {
            OutboundBody::Text { text } => text.body.clone(),
            OutboundBody::Image { image: m } | OutboundBody::Video { video: m } | OutboundBody::Audio { audio: m } => match &m.caption {
                Some(c) => format!("[{}] {c}", self.kind()),
                None => format!("[{}]", self.kind()),
            },
            OutboundBody::Document { document } => match document.caption.as_deref().or(document.filename.as_deref()) {
                Some(label) => format!("[document] {label}"),
                None => "[document]".into(),
            },
            OutboundBody::Template { template } => format!("[template] {}", template.name),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TextBody {
    pub body: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preview_url: Option<bool>,
}

/// Media by uploaded id or by link.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MediaRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    /// Documents: the name the customer sees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TemplateSend {
    pub name: String,
    pub language: TemplateLanguage,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub components: Vec<Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TemplateLanguage {
    pub code: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policy: Option<String>,
}

/// `POST /{phone-number-id}/messages` marking an inbound message read.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MarkReadRequest {
    pub messaging_product: String,
    pub status: String,
    pub message_id: String,
}

impl MarkReadRequest {
    pub fn new(message_id: impl Into<String>) -> Self {
        MarkReadRequest { messaging_product: "whatsapp".into(), status: "read".into(), message_id: message_id.into() }
    }
}

/// What Meta answers to an accepted send.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendResponse {
    pub messaging_product: String,
    #[serde(default)]
    pub contacts: Vec<SendResponseContact>,
    #[serde(default)]
    pub messages: Vec<SendResponseMessage>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendResponseContact {
    pub input: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wa_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SendResponseMessage {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
}

/// `{"success": true}` (Meta sometimes sends `"true"`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SuccessResponse {
    pub success: Value,
}

/// A Graph API error response: `{"error": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GraphErrorResponse {
    pub error: GraphError,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GraphError {
    pub message: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    #[serde(default, deserialize_with = "int_or_string")]
    pub code: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_data: Option<ErrorData>,
    #[serde(default, skip_serializing_if = "Option::is_none", deserialize_with = "int_or_string")]
    pub error_subcode: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fbtrace_id: Option<String>,
}

impl GraphErrorResponse {
    /// Meta's shape for a given code: `message` is `"(#<code>) <title>"`.
    pub fn new(code: i64, title: &str, details: &str) -> Self {
        GraphErrorResponse {
            error: GraphError {
                message: format!("(#{code}) {title}"),
                kind: Some("OAuthException".into()),
                code: Some(code),
                error_data: Some(ErrorData { messaging_product: Some("whatsapp".into()), details: Some(details.into()) }),
                error_subcode: None,
                fbtrace_id: Some("Sandbox".into()),
            },
        }
    }

    /// The title part of `message`, without the `(#code)` prefix.
    pub fn title(&self) -> &str {
        let m = self.error.message.as_str();
        match m.split_once(") ") {
            Some((prefix, rest)) if prefix.starts_with("(#") => rest,
            _ => m,
        }
    }
}

/// `GET /{phone-number-id}`: a business number's health as Meta reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct PhoneNumberInfo {
    pub id: String,
    #[serde(default)]
    pub display_phone_number: Option<String>,
    #[serde(default)]
    pub verified_name: Option<String>,
    #[serde(default)]
    pub quality_rating: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verification_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<Throughput>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// v24+ name; older responses use `messaging_limit_tier`.
    #[serde(default, alias = "messaging_limit_tier", skip_serializing_if = "Option::is_none")]
    pub whatsapp_business_manager_messaging_limit: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Throughput {
    #[serde(default)]
    pub level: Option<String>,
}

/// A Graph list: `{"data": [...], "paging": {...}}`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GraphList<T> {
    pub data: Vec<T>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<Value>,
}

/// A message template as `GET /{waba-id}/message_templates` lists it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TemplateInfo {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub components: Vec<Value>,
}

/// `GET /{media-id}`: where to download a file for the next five minutes (with the token).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MediaInfo {
    pub url: String,
    #[serde(default)]
    pub mime_type: Option<String>,
    #[serde(default)]
    pub sha256: Option<String>,
    /// A string in Meta's samples; a number is read too.
    #[serde(default, deserialize_with = "int_or_string")]
    pub file_size: Option<i64>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub messaging_product: Option<String>,
}

/// `POST /{phone-number-id}/media`: the uploaded file's id, to send it by.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct MediaUploaded {
    pub id: String,
}
