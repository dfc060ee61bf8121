//! Broadcasts: what the admin asks for, how a template's parameters are filled per contact, and
//! the numbers a report is made of. Shared so the console previews exactly what the relay sends.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::segment::AttrValue;

/// A broadcast as the admin asked for it. Stored as JSON with the broadcast.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastSpec {
    pub name: String,
    /// Phone-number ids to send from. A contact goes out through the chosen number it last
    /// talked to; one that talks to none of them through the first.
    pub numbers: Vec<String>,
    pub template: String,
    pub language: String,
    /// Template category as synced (MARKETING counts against the frequency cap).
    #[serde(default)]
    pub category: String,
    /// One value per `{{n}}` in the body, in order: text, where `{name}`, `{phone}` and
    /// `{attribute}` are replaced with the contact's values.
    #[serde(default)]
    pub parameters: Vec<String>,
    /// An image header by link, for templates whose header is an image.
    #[serde(default)]
    pub header_image_link: Option<String>,
    pub audience: Audience,
    /// When to start, UTC milliseconds; `None` for now (unless `send_local` is given).
    #[serde(default)]
    pub send_at: Option<i64>,
    /// When to start as a wall-clock time (`2026-12-01T09:00`), in each sending number's own
    /// time zone: every number's lane starts when that time comes where the number is. Takes
    /// the place of `send_at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send_local: Option<String>,
    /// Filled in by the relay for `send_local`: when each number's lane starts (UTC
    /// milliseconds).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub starts: BTreeMap<String, i64>,
    /// At most `max` marketing messages per contact in `days` days; the rest are skipped.
    #[serde(default)]
    pub frequency_cap: Option<FrequencyCap>,
    /// Filled in by the relay from its creator: a segment matches only the contacts they see
    /// (those who talk to one of these numbers), as the console counted it; `None` when their
    /// scope is every number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_numbers: Option<std::collections::BTreeSet<String>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Audience {
    /// Every contact the segment matches when the broadcast starts.
    Segment { expression: String },
    /// An uploaded list of phone numbers (as typed; normalised by the relay).
    List { phones: Vec<String> },
    /// The recipients of an earlier broadcast who did not read it or failed for a transient
    /// reason ("send again").
    Resend { broadcast_id: i64 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct FrequencyCap {
    pub max: u32,
    pub days: u32,
}

/// Where a broadcast is in its life, stored as the same text in `broadcasts.state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum BroadcastState {
    /// Waiting for its start time; its audience is not frozen yet.
    Scheduled,
    Running,
    Paused,
    Cancelled,
    /// Every recipient has an outcome.
    Done,
}

impl BroadcastState {
    pub const ALL: [BroadcastState; 5] =
        [BroadcastState::Scheduled, BroadcastState::Running, BroadcastState::Paused, BroadcastState::Cancelled, BroadcastState::Done];

    /// The stored text.
    pub const fn as_str(self) -> &'static str {
        match self {
            BroadcastState::Scheduled => "scheduled",
            BroadcastState::Running => "running",
            BroadcastState::Paused => "paused",
            BroadcastState::Cancelled => "cancelled",
            BroadcastState::Done => "done",
        }
    }

    pub fn parse(s: &str) -> Option<BroadcastState> {
        BroadcastState::ALL.into_iter().find(|state| state.as_str() == s)
    }

    /// Whether nothing more will be sent.
    pub fn is_finished(self) -> bool {
        matches!(self, BroadcastState::Cancelled | BroadcastState::Done)
    }
}

/// Where one recipient of a broadcast is, stored as the same text in
/// `broadcast_recipients.state`. Delivery and reading are its message `status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RecipientState {
    /// Not sent, for the reason in `skipped` (opted out, frequency cap, …).
    Skipped,
    /// Waiting in the outbox.
    Queued,
    /// Meta accepted the send.
    Accepted,
    /// Meta refused the send for good.
    Failed,
    /// The broadcast was cancelled before it went out.
    Cancelled,
}

impl RecipientState {
    pub const ALL: [RecipientState; 5] =
        [RecipientState::Skipped, RecipientState::Queued, RecipientState::Accepted, RecipientState::Failed, RecipientState::Cancelled];

    /// The stored text.
    pub const fn as_str(self) -> &'static str {
        match self {
            RecipientState::Skipped => "skipped",
            RecipientState::Queued => "queued",
            RecipientState::Accepted => "accepted",
            RecipientState::Failed => "failed",
            RecipientState::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<RecipientState> {
        RecipientState::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

/// What a person can do to a broadcast (`POST /api/v1/broadcasts/{id}/control`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ControlAction {
    Pause,
    Resume,
    Cancel,
}

impl ControlAction {
    pub const fn as_str(self) -> &'static str {
        match self {
            ControlAction::Pause => "pause",
            ControlAction::Resume => "resume",
            ControlAction::Cancel => "cancel",
        }
    }

    /// The action done, for messages ("it cannot be paused now").
    pub const fn done(self) -> &'static str {
        match self {
            ControlAction::Pause => "paused",
            ControlAction::Resume => "resumed",
            ControlAction::Cancel => "cancelled",
        }
    }

    /// The states it applies to.
    pub const fn from(self) -> &'static [BroadcastState] {
        match self {
            ControlAction::Pause => &[BroadcastState::Running, BroadcastState::Scheduled],
            ControlAction::Resume => &[BroadcastState::Paused],
            ControlAction::Cancel => &[BroadcastState::Running, BroadcastState::Paused, BroadcastState::Scheduled],
        }
    }

    /// The state it leads to; a paused broadcast that never started resumes into the schedule.
    pub fn to(self, started: bool) -> BroadcastState {
        match self {
            ControlAction::Pause => BroadcastState::Paused,
            ControlAction::Resume if started => BroadcastState::Running,
            ControlAction::Resume => BroadcastState::Scheduled,
            ControlAction::Cancel => BroadcastState::Cancelled,
        }
    }
}

/// Why a recipient in the frozen audience got nothing.
pub mod skip {
    pub const OPTED_OUT: &str = "opted_out";
    pub const NOT_OPTED_IN: &str = "not_opted_in";
    pub const FREQUENCY_CAP: &str = "frequency_cap";
    pub const MISSING_VALUE: &str = "missing_value";
    pub const INVALID_NUMBER: &str = "invalid_number";
    pub const NO_NUMBER: &str = "no_number_in_scope";
}

/// What a contact brings to a template: name, phone and attributes.
pub struct ContactValues<'a> {
    pub name: Option<&'a str>,
    pub phone: &'a str,
    pub attributes: &'a BTreeMap<String, AttrValue>,
}

/// Fills `{name}`, `{phone}` and `{attribute}` in one parameter. `Err` names the first value
/// the contact lacks. A `{` not closed is kept as text.
pub fn fill(parameter: &str, c: &ContactValues) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = parameter;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let key = after[..close].trim();
        let value = match key {
            "name" => c.name.filter(|n| !n.trim().is_empty()).map(str::to_owned),
            "phone" => Some(format!("+{}", c.phone)),
            _ => c.attributes.get(key).map(attr_text),
        };
        match value {
            Some(v) => out.push_str(&v),
            None => return Err(key.to_owned()),
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// How an attribute reads inside a message.
pub fn attr_text(v: &AttrValue) -> String {
    match v {
        AttrValue::Text(s) => s.clone(),
        AttrValue::Number(n) if n.fract() == 0.0 && n.abs() < 1e15 => format!("{}", *n as i64),
        AttrValue::Number(n) => n.to_string(),
        AttrValue::Date(ms) => crate::segment::format_date(*ms),
        AttrValue::Bool(true) => "yes".into(),
        AttrValue::Bool(false) => "no".into(),
    }
}

/// The `components` of a template send: the header image (if any) and the body parameters.
pub fn components(header_image_link: Option<&str>, body: &[String]) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(link) = header_image_link {
        out.push(json!({"type": "header", "parameters": [{"type": "image", "image": {"link": link}}]}));
    }
    if !body.is_empty() {
        let parameters: Vec<Value> = body.iter().map(|t| json!({"type": "text", "text": t})).collect();
        out.push(json!({"type": "body", "parameters": parameters}));
    }
    out
}

/// A template's body text with `{{n}}` replaced by the values (a missing one stays `{{n}}`).
pub fn render(body: &str, values: &[String]) -> String {
    let mut out = body.to_owned();
    for (i, v) in values.iter().enumerate() {
        out = out.replace(&format!("{{{{{}}}}}", i + 1), v);
    }
    out
}

/// How many `{{n}}` placeholders a template's body has.
pub fn placeholders(body: &str) -> usize {
    (1..=100).take_while(|i| body.contains(&format!("{{{{{i}}}}}"))).count()
}

/// The body text of a template's components, if it has one.
pub fn body_text(components: &[Value]) -> Option<&str> {
    components
        .iter()
        .find(|c| c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("body")))
        .and_then(|c| c.get("text"))
        .and_then(Value::as_str)
}

/// Whether a template's header is an image.
pub fn has_image_header(components: &[Value]) -> bool {
    components.iter().any(|c| {
        c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("header"))
            && c.get("format").and_then(Value::as_str).is_some_and(|f| f.eq_ignore_ascii_case("image"))
    })
}

/// Whether a template's header needs a file (an image, a video or a document) at send time.
pub fn needs_header_media(components: &[Value]) -> bool {
    components.iter().any(|c| {
        c.get("type").and_then(Value::as_str).is_some_and(|t| t.eq_ignore_ascii_case("header"))
            && c.get("format")
                .and_then(Value::as_str)
                .is_some_and(|f| ["image", "video", "document"].iter().any(|m| f.eq_ignore_ascii_case(m)))
    })
}

/// A broadcast's report, as counts; rates follow peers-and-complaints §4.3.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BroadcastCounts {
    pub audience: u64,
    /// Skipped, by reason (see [`skip`]).
    pub skipped: BTreeMap<String, u64>,
    /// Queued, not yet sent (including those waiting for the messaging limit).
    pub waiting: u64,
    /// Of `waiting`, held back until the portfolio's messaging limit window has room.
    pub waiting_for_limit: u64,
    pub accepted: u64,
    pub delivered: u64,
    pub read: u64,
    pub replied: u64,
    pub failed: u64,
    /// Failed, by Meta's error code ("0" when Meta gave none).
    pub failed_by_code: BTreeMap<String, u64>,
    pub cancelled: u64,
    pub opted_out: u64,
}

impl BroadcastCounts {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
    /// `|R| − skipped`.
    pub fn attempted(&self) -> u64 {
        self.audience.saturating_sub(self.skipped_total())
    }
    pub fn delivery_rate(&self) -> Option<f64> {
        ratio(self.delivered, self.accepted)
    }
    pub fn read_rate(&self) -> Option<f64> {
        ratio(self.read, self.delivered)
    }
    pub fn reply_rate(&self) -> Option<f64> {
        ratio(self.replied, self.delivered)
    }
    pub fn failure_rate(&self) -> Option<f64> {
        ratio(self.failed, self.attempted())
    }
    pub fn opt_out_rate(&self) -> Option<f64> {
        ratio(self.opted_out, self.delivered)
    }
}

fn ratio(a: u64, b: u64) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_take_the_contacts_values_and_name_what_is_missing() {
        let mut attributes = BTreeMap::new();
        attributes.insert("pick".to_owned(), AttrValue::Text("菠蘿包".into()));
        attributes.insert("spend".to_owned(), AttrValue::Number(500.0));
        let c = ContactValues { name: Some("陳大文"), phone: "85291234567", attributes: &attributes };
        assert_eq!(fill("{name}", &c).unwrap(), "陳大文");
        assert_eq!(fill("Today: { pick } ({spend} pts) {phone}", &c).unwrap(), "Today: 菠蘿包 (500 pts) +85291234567");
        assert_eq!(fill("{city}", &c), Err("city".to_owned()));
        assert_eq!(fill("literal {oops", &c).unwrap(), "literal {oops");
        let nameless = ContactValues { name: Some(" "), phone: "1", attributes: &attributes };
        assert_eq!(fill("{name}", &nameless), Err("name".to_owned()));
    }

    #[test]
    fn render_and_count_placeholders() {
        let body = "{{1}} 您好，今日推薦：{{2}}";
        assert_eq!(placeholders(body), 2);
        assert_eq!(render(body, &["May".into(), "Tea".into()]), "May 您好，今日推薦：Tea");
        assert_eq!(placeholders("Hello"), 0);
        let c = components(Some("https://x/y.jpg"), &["a".into()]);
        assert_eq!(c[0]["parameters"][0]["image"]["link"], "https://x/y.jpg");
        assert_eq!(c[1]["parameters"][0]["text"], "a");
    }

    #[test]
    fn rates_follow_the_definitions() {
        let mut c = BroadcastCounts { audience: 100, accepted: 80, delivered: 60, read: 30, replied: 6, failed: 10, ..Default::default() };
        c.skipped.insert(skip::OPTED_OUT.into(), 10);
        assert_eq!(c.attempted(), 90);
        assert_eq!(c.delivery_rate(), Some(0.75));
        assert_eq!(c.read_rate(), Some(0.5));
        assert_eq!(c.reply_rate(), Some(0.1));
        assert_eq!(c.failure_rate(), Some(10.0 / 90.0));
    }
}

#[cfg(test)]
mod state_tests {
    use super::*;

    #[test]
    fn states_round_trip_as_their_stored_text() {
        for state in BroadcastState::ALL {
            assert_eq!(BroadcastState::parse(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), serde_json::json!(state.as_str()));
        }
        assert_eq!(BroadcastState::parse("pausd"), None);
        for state in RecipientState::ALL {
            assert_eq!(RecipientState::parse(state.as_str()), Some(state));
            assert_eq!(serde_json::to_value(state).unwrap(), serde_json::json!(state.as_str()));
        }
    }

    #[test]
    fn control_actions_say_what_they_do_in_plain_words() {
        assert_eq!(ControlAction::Pause.done(), "paused");
        assert_eq!(ControlAction::Resume.done(), "resumed");
        assert_eq!(ControlAction::Cancel.done(), "cancelled");
        assert_eq!(ControlAction::Resume.to(false), BroadcastState::Scheduled);
        assert_eq!(ControlAction::Resume.to(true), BroadcastState::Running);
        assert!(!ControlAction::Resume.from().contains(&BroadcastState::Done));
        assert_eq!(serde_json::from_str::<ControlAction>("\"cancel\"").unwrap(), ControlAction::Cancel);
    }
}
