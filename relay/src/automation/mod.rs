//! Auto-replies, run by the relay with no browser open: a welcome for a first-time contact,
//! keyword answers, and an away message outside the number's business hours that names the
//! agent who will follow up and when.
//!
//! They run inside the webhook processor's transaction, right after the customer's message is
//! stored: the answer is queued in the outbox (keyed by rule and message) in the same commit, so
//! a message is answered exactly once, however often Meta delivers it, and never lost.
//!
//! Guards, each a rule of its own:
//! - only a customer's 1:1 message (never ours, never a group's), inside the 24-hour window;
//! - each rule answers a conversation at most once per its period;
//! - no loop with another bot: a message that repeats one of our automatic messages is not
//!   answered, and no conversation gets more than [`MAX_PER_HOUR`] automatic messages an hour;
//! - a message that opted the customer out is not answered.

mod http;
mod store;

pub use http::{create_rule, delete_rule, rules, support_settings, update_rule, update_support_settings};
pub use store::insert_rule as add_rule;

use std::collections::HashMap;

use sqlx::AnyConnection;
use switchboard_shared::api::{Conversation, Direction, Event, EventKind, Message};
use switchboard_shared::support::{contains_any, fill, normalize, AutoAnswer, AutoRule, Trigger};
use switchboard_shared::wire::{OutboundBody, SendRequest, TemplateLanguage, TemplateSend};
use switchboard_shared::MessageStatus;

use crate::error::Result;
pub use crate::numbers::NumberSupport;
use crate::outbox::Payload;

/// The most automatic messages one conversation gets in an hour, whatever the rules say.
pub const MAX_PER_HOUR: i64 = 3;
/// WhatsApp's customer service window: free-form messages only this long after the customer's.
const WINDOW_MS: i64 = 24 * 3_600_000;

/// What one processing batch reads once: the rules and each number's settings.
pub struct Batch {
    /// The relay's clock when the batch began.
    pub now: i64,
    rules: Option<Vec<AutoRule>>,
    numbers: HashMap<String, Option<NumberSupport>>,
}

impl Batch {
    pub fn new(now: i64) -> Batch {
        Batch { now, rules: None, numbers: HashMap::new() }
    }

    async fn rules(&mut self, conn: &mut AnyConnection) -> Result<&[AutoRule]> {
        if self.rules.is_none() {
            self.rules = Some(store::enabled_rules(conn).await?);
        }
        Ok(self.rules.as_deref().unwrap_or_default())
    }

    async fn support(&mut self, conn: &mut AnyConnection, number_id: &str) -> Result<Option<NumberSupport>> {
        if !self.numbers.contains_key(number_id) {
            let found = crate::numbers::support_of(conn, number_id).await?.map(|(settings, tz)| NumberSupport::new(settings, &tz));
            self.numbers.insert(number_id.to_owned(), found);
        }
        Ok(self.numbers.get(number_id).cloned().flatten())
    }
}

/// A customer's message was stored: answer it by the rules that apply. `conversation` is kept
/// as it is now (a reservation assigns it), for the batch's later messages in it.
pub async fn on_inbound(
    conn: &mut AnyConnection,
    batch: &mut Batch,
    conversation: &mut Conversation,
    message: &Message,
    out: &mut Vec<Event>,
) -> Result<()> {
    let now = batch.now;
    if conversation.is_group || message.direction != Direction::Inbound || now - message.created_at > WINDOW_MS {
        return Ok(());
    }
    let rules: Vec<AutoRule> = batch
        .rules(conn)
        .await?
        .iter()
        .filter(|r| r.spec.number_ids.is_empty() || r.spec.number_ids.contains(&conversation.number_id))
        .cloned()
        .collect();
    if rules.is_empty() {
        return Ok(());
    }
    let Some(support) = batch.support(conn, &conversation.number_id).await? else { return Ok(()) };
    let text = if message.kind == "text" { message.body.as_str() } else { "" };
    let history = store::history(conn, conversation.id, now - WINDOW_MS).await?;
    if !text.is_empty() && history.repeats(&normalize(text)) {
        tracing::info!("conversation {}: the message repeats our automatic reply; not answering (a bot?)", conversation.id);
        return Ok(());
    }
    let open = support.is_open(now);
    // Welcome first, then the first keyword rule that matches, then the away message.
    let welcome = match rules.iter().find(|r| r.spec.trigger == Trigger::Welcome) {
        Some(rule) if store::first_inbound(conn, conversation.id, message.id).await? => Some(rule),
        _ => None,
    };
    let keyword = rules.iter().find(|r| matches!(&r.spec.trigger, Trigger::Keyword { words } if contains_any(words, text)));
    let away = rules.iter().find(|r| r.spec.trigger == Trigger::Away && !open);
    let mut due = Vec::new();
    for rule in [welcome, keyword, away].into_iter().flatten() {
        if !history.answered_since(rule.id, now - i64::from(rule.spec.period_minutes) * 60_000) {
            due.push(rule);
        }
    }
    if due.is_empty() {
        return Ok(());
    }
    if history.automatic_since(now - 3_600_000) >= MAX_PER_HOUR {
        tracing::info!("conversation {}: {MAX_PER_HOUR} automatic messages this hour; no more", conversation.id);
        return Ok(());
    }
    // The texts go as one message, in the rules' order (separate sends could arrive in any
    // order, and one notification is kinder); a template goes on its own.
    let mut texts: Vec<(&AutoRule, String)> = Vec::new();
    let mut reserved = false;
    for rule in &due {
        match render(conn, rule, conversation, &support, now, &mut reserved, out).await? {
            Rendered::Text(text) => texts.push((rule, text)),
            Rendered::Template(body, shown) => {
                *conversation = send(conn, &[rule], conversation, reserved, message, body, "template", shown, now, out).await?
            }
        }
    }
    if !texts.is_empty() {
        let text = texts.iter().map(|(_, t)| t.as_str()).collect::<Vec<_>>().join("\n\n");
        let rules: Vec<&AutoRule> = texts.iter().map(|(r, _)| *r).collect();
        *conversation =
            send(conn, &rules, conversation, reserved, message, OutboundBody::text(text.clone()), "text", text, now, out).await?;
    }
    Ok(())
}

/// A rule's answer with its placeholders filled.
enum Rendered {
    Text(String),
    /// The template to send, and how the timeline shows it.
    Template(OutboundBody, String),
}

/// Fills a rule's placeholders: `{agent}` reserves the conversation for the agent it names (and
/// sets `reserved`: the conversation may have changed hands).
async fn render(
    conn: &mut AnyConnection,
    rule: &AutoRule,
    conversation: &Conversation,
    support: &NumberSupport,
    now: i64,
    reserved: &mut bool,
    out: &mut Vec<Event>,
) -> Result<Rendered> {
    let lang = rule.spec.lang.as_str();
    let mut values: Vec<(&str, String)> = vec![(
        "contact.name",
        conversation.contact_name.clone().unwrap_or_else(|| if lang == "zh-Hant" { "你好".into() } else { "there".into() }),
    )];
    let needs = |name: &str| match &rule.spec.answer {
        AutoAnswer::Text { text } => text.contains(&format!("{{{name}}}")),
        AutoAnswer::Template { params, .. } => params.iter().any(|p| p.contains(&format!("{{{name}}}"))),
    };
    if needs("agent") {
        *reserved = true;
        let agent = crate::assignment::reserve(conn, conversation, &rule.spec.name, now, out).await?;
        let named = match agent {
            Some(a) => a.public_name(),
            None if lang == "zh-Hant" => "我們的同事".into(),
            None => "our team".into(),
        };
        values.push(("agent", named));
    }
    if needs("opens_at") {
        let when = support.schedule.as_ref().and_then(|s| s.next_opening(now).map(|at| s.describe(at, now, lang)));
        values.push(("opens_at", when.unwrap_or_else(|| if lang == "zh-Hant" { "稍後".into() } else { "soon".into() })));
    }
    let values: Vec<(&str, &str)> = values.iter().map(|(k, v)| (*k, v.as_str())).collect();
    Ok(match &rule.spec.answer {
        AutoAnswer::Text { text } => Rendered::Text(fill(text, &values)),
        AutoAnswer::Template { name, language, params } => {
            let filled: Vec<String> = params.iter().map(|p| fill(p, &values)).collect();
            let template = TemplateSend {
                name: name.clone(),
                language: TemplateLanguage { code: language.clone(), policy: None },
                components: switchboard_shared::broadcast::components(None, &filled),
            };
            Rendered::Template(OutboundBody::Template { template }, format!("[template] {name}"))
        }
    })
}

/// Queues one automatic message in the outbox under `auto-<first rule>-<wamid>` and shows it in
/// the conversation, naming the rules it answers for; returns the conversation as it is now.
#[allow(clippy::too_many_arguments)]
async fn send(
    conn: &mut AnyConnection,
    rules: &[&AutoRule],
    conversation: &Conversation,
    reserved: bool,
    message: &Message,
    body: OutboundBody,
    kind: &str,
    shown: String,
    now: i64,
    out: &mut Vec<Event>,
) -> Result<Conversation> {
    let names = rules.iter().map(|r| r.spec.name.as_str()).collect::<Vec<_>>().join(", ");
    let wamid = message.wamid.as_deref().unwrap_or_default();
    let message_id = crate::conversations::add_automatic(conn, conversation, kind, &shown, now, &names).await?;
    let send = SendRequest::individual(conversation.contact.clone(), body);
    let payload = Payload::Send { body: serde_json::to_value(&send).map_err(anyhow::Error::from)? };
    crate::outbox::enqueue(conn, &format!("auto-{}-{wamid}", rules[0].id), &conversation.number_id, Some(message_id), &payload).await?;
    for rule in rules {
        store::answered(conn, rule.id, conversation.id, now).await?;
    }
    let message = Message {
        id: message_id,
        conversation_id: conversation.id,
        wamid: None,
        direction: Direction::Outbound,
        kind: kind.into(),
        body: shown,
        status: Some(MessageStatus::Pending),
        error: None,
        created_at: now,
        auto_rule: Some(names),
        attachment: None,
    };
    // The conversation as it is now (a reservation may have assigned it).
    let conversation = match reserved {
        true => crate::conversations::load_conversation(conn, conversation.id).await?.unwrap_or_else(|| conversation.clone()),
        false => conversation.clone(),
    };
    let (number_id, assigned_to) = (conversation.number_id.clone(), conversation.assigned_to);
    out.push(crate::events::pending(&number_id, assigned_to, EventKind::Message { conversation: conversation.clone(), message }));
    Ok(conversation)
}
