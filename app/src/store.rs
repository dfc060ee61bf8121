//! What the console has synced from the relay: the inbox snapshot plus the live event stream.
//!
//! The snapshot says which event it is current to; the stream starts right after it, and the
//! browser's EventSource resumes with `Last-Event-ID` after a drop, so nothing is missed.
//!
//! The store reads of each event only what the inbox list and the shell show (`Head`). Pages
//! that show more of the stream (an open conversation's messages and timeline, the broadcasts'
//! reports) follow it themselves (`Inbox::add_follower` with `details`), so the code that reads
//! those events is downloaded with them, not with the first page.

use std::collections::HashMap;

use leptos::prelude::*;
use switchboard_shared::api::{Activity, Backlog, BroadcastProgress, Conversation, Event, EventKind, EventsQuery, Me, Message, Number};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::JsCast;

use crate::api;
use crate::client;

/// State of the live connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Connection {
    Connecting,
    Live,
    Reconnecting,
}

/// The synced inbox, shared through context.
#[derive(Clone, Copy)]
pub struct Inbox {
    pub conversations: RwSignal<Vec<Conversation>>,
    /// The business numbers, so each conversation can say which one it is on.
    pub numbers: RwSignal<Vec<Number>>,
    /// Messages of conversations that were opened, by conversation id (kept current by the
    /// conversation pane's follower, `details`).
    pub messages: RwSignal<HashMap<i64, Vec<Message>>>,
    pub loaded: RwSignal<bool>,
    pub connection: RwSignal<Connection>,
    /// The conversation on screen: its new messages count as read at once.
    pub open: RwSignal<Option<i64>>,
    /// Set when the relay says the session ended.
    pub signed_out: RwSignal<bool>,
    /// Who is watching: their id, and whether they see only conversations assigned to them.
    pub viewer: RwSignal<Option<(i64, bool)>>,
    /// The latest report of each broadcast the stream told of since the broadcasts page was
    /// first opened (it follows these instead of asking the relay again).
    pub broadcasts: RwSignal<HashMap<i64, BroadcastProgress>>,
    /// Bumped whenever the stream says a group or a linked device changed: the groups page
    /// reads them again.
    pub groups_changed: RwSignal<u64>,
    /// How many times the stream said each bulk job over groups moved on.
    pub group_jobs: RwSignal<HashMap<i64, u64>>,
    /// Linked numbers that dropped (number id → state), for the banner.
    pub dropped: RwSignal<HashMap<String, String>>,
    /// Timeline entries (notes, assignment decisions, status changes) of opened conversations.
    pub activity: RwSignal<HashMap<i64, Vec<Activity>>>,
    /// Notes that mention the viewer, newest last, until they open the conversation.
    pub mentions: RwSignal<Vec<Mention>>,
    /// How far the relay is behind with WhatsApp's webhooks, as the stream last said (it says so
    /// while the console should show it, and once when the relay has caught up).
    pub behind: RwSignal<Backlog>,
    /// How many events the stream has brought (a page that shows something the relay counts
    /// reads it again when this moves).
    pub received: RwSignal<u64>,
    source: StoredValue<Option<web_sys::EventSource>, LocalStorage>,
    followers: StoredValue<Vec<Follower>>,
}

/// A page's reader of the stream: given the inbox, each event's name and its text.
pub type Follower = fn(Inbox, &str, &str);

/// A note that mentions someone, as the shell's notice shows it.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Mention {
    pub conversation_id: i64,
    kind: String,
    author: Option<i64>,
    pub author_name: Option<String>,
    pub text: String,
    #[serde(default)]
    mentions: Vec<i64>,
}

impl Inbox {
    pub fn new() -> Inbox {
        Inbox {
            conversations: RwSignal::new(Vec::new()),
            numbers: RwSignal::new(Vec::new()),
            messages: RwSignal::new(HashMap::new()),
            loaded: RwSignal::new(false),
            connection: RwSignal::new(Connection::Connecting),
            open: RwSignal::new(None),
            signed_out: RwSignal::new(false),
            viewer: RwSignal::new(None),
            broadcasts: RwSignal::new(HashMap::new()),
            groups_changed: RwSignal::new(0),
            group_jobs: RwSignal::new(HashMap::new()),
            dropped: RwSignal::new(HashMap::new()),
            activity: RwSignal::new(HashMap::new()),
            mentions: RwSignal::new(Vec::new()),
            behind: RwSignal::new(Backlog::default()),
            received: RwSignal::new(0),
            source: StoredValue::new_local(None),
            followers: StoredValue::new(Vec::new()),
        }
    }

    /// Loads the snapshot, then follows the event stream from there.
    pub async fn start(self) {
        if let Ok(numbers) = client::numbers().await {
            self.numbers.set(numbers);
        }
        match client::inbox().await {
            Ok(snapshot) => {
                self.conversations.set(sorted(snapshot.conversations));
                self.loaded.set(true);
                self.follow(snapshot.seq);
            }
            Err(api::ApiError::Unauthorized) => self.signed_out.set(true),
            Err(_) => self.connection.set(Connection::Reconnecting),
        }
    }

    /// Closes the stream (sign-out).
    pub fn stop(self) {
        if let Some(source) = self.source.get_value() {
            source.close();
        }
        self.source.set_value(None);
        self.conversations.set(Vec::new());
        self.messages.set(HashMap::new());
        self.activity.set(HashMap::new());
        self.mentions.set(Vec::new());
        self.loaded.set(false);
    }

    fn follow(self, after: i64) {
        if let Some(old) = self.source.get_value() {
            old.close();
        }
        let Ok(source) = web_sys::EventSource::new(&client::events_url(&EventsQuery { after: Some(after) })) else {
            self.connection.set(Connection::Reconnecting);
            return;
        };
        let on_event = Closure::<dyn FnMut(web_sys::MessageEvent)>::new(move |e: web_sys::MessageEvent| {
            if let Some(text) = e.data().as_string() {
                self.receive(&e.type_(), &text);
            }
        });
        for name in EventKind::NAMES.into_iter().chain([Backlog::EVENT]) {
            let _ = source.add_event_listener_with_callback(name, on_event.as_ref().unchecked_ref());
        }
        on_event.forget();
        let on_open = Closure::<dyn FnMut()>::new(move || self.connection.set(Connection::Live));
        source.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        on_open.forget();
        let watched = source.clone();
        let on_error = Closure::<dyn FnMut()>::new(move || {
            self.connection.set(Connection::Reconnecting);
            // CLOSED means the browser gave up (e.g. 401): check whether we are still signed in.
            if watched.ready_state() == web_sys::EventSource::CLOSED {
                leptos::task::spawn_local(async move {
                    if client::me().await.map(|_: Me| ()) == Err(api::ApiError::Unauthorized) {
                        self.signed_out.set(true);
                    } else {
                        self.start().await;
                    }
                });
            }
        });
        source.set_onerror(Some(on_error.as_ref().unchecked_ref()));
        on_error.forget();
        self.source.set_value(Some(source));
    }

    /// Takes one event of the stream (its SSE name and its text): the store applies what the
    /// inbox list and the shell show, then each follower reads what its page shows.
    pub fn receive(self, name: &str, text: &str) {
        if name == Backlog::EVENT {
            if let Ok(reading) = serde_json::from_str::<Backlog>(text) {
                self.behind.set(reading);
            }
            return;
        }
        if let Ok(head) = serde_json::from_str::<Head>(text) {
            self.apply_head(name, head);
        }
        for follower in self.followers.get_value() {
            follower(self, name, text);
        }
        self.received.update(|n| *n += 1);
    }

    /// Adds a page's reader of the stream (once, however often the page is opened). It reads
    /// every later event, after the store.
    pub fn add_follower(self, follower: Follower) {
        self.followers.update_value(|all| {
            if !all.iter().any(|f| std::ptr::fn_addr_eq(*f, follower)) {
                all.push(follower);
            }
        });
    }

    fn apply_head(self, name: &str, head: Head) {
        match (name, head) {
            ("message", Head { conversation: Some(mut conversation), .. }) => {
                if self.open.get_untracked() == Some(conversation.id) && conversation.unread > 0 {
                    conversation.unread = 0;
                    let id = conversation.id;
                    leptos::task::spawn_local(async move {
                        let _ = client::mark_read(id).await;
                    });
                }
                let id = conversation.id;
                self.conversations.update(|list| {
                    list.retain(|c| c.id != id);
                    list.push(conversation);
                    *list = sorted(std::mem::take(list));
                });
            }
            ("assignment" | "conversation", Head { conversation: Some(conversation), .. }) => {
                // Someone who sees only their own conversations loses one that moved away.
                let keep = self.viewer.get_untracked().is_none_or(|(me, own_only)| !own_only || conversation.assigned_to == Some(me));
                self.conversations.update(|list| {
                    list.retain(|c| c.id != conversation.id);
                    if keep {
                        list.push(conversation);
                        *list = sorted(std::mem::take(list));
                    }
                });
            }
            ("group", _) => self.groups_changed.update(|n| *n += 1),
            ("group_job", Head { job: Some(job), .. }) => self.group_jobs.update(|all| {
                *all.entry(job.id).or_insert(0) += 1;
            }),
            ("activity", Head { activity: Some(note), .. }) => {
                let me = self.viewer.get_untracked().map(|(me, _)| me);
                let mentioned = note.kind == "note"
                    && me.is_some_and(|me| note.mentions.contains(&me) && note.author != Some(me))
                    && self.open.get_untracked() != Some(note.conversation_id);
                if mentioned {
                    self.mentions.update(|m| m.push(note));
                }
            }
            ("linked_device", Head { state: Some(state), number_id, .. }) => {
                self.dropped.update(|d| {
                    if state == "online" || state == "removed" {
                        d.remove(&number_id);
                    } else if state != "connecting" {
                        d.insert(number_id, state);
                    }
                });
                self.groups_changed.update(|n| *n += 1);
            }
            _ => {}
        }
    }

    /// Applies what an event says beyond the inbox list: a conversation's messages, their
    /// statuses and attachments, its timeline, a broadcast's report.
    pub fn apply_details(self, event: Event) {
        match event.kind {
            EventKind::Message { conversation, message } => self.add_message(conversation.id, message),
            EventKind::Status { conversation_id, message_id, wamid, status, error } => {
                self.messages.update(|all| {
                    if let Some(m) = all.get_mut(&conversation_id).and_then(|l| l.iter_mut().find(|m| m.id == message_id)) {
                        if m.status.is_none_or(|s| s.advances_to(status)) {
                            m.status = Some(status);
                            m.wamid = wamid.or(m.wamid.take());
                            if error.is_some() {
                                m.error = error;
                            }
                        }
                    }
                });
            }
            EventKind::MessageDeleted { conversation_id, message_id } => self.forget_message(conversation_id, message_id),
            EventKind::Attachment { conversation_id, message_id, attachment } => self.messages.update(|all| {
                if let Some(m) = all.get_mut(&conversation_id).and_then(|l| l.iter_mut().find(|m| m.id == message_id)) {
                    m.attachment = Some(attachment);
                }
            }),
            EventKind::Broadcast { progress } => self.broadcasts.update(|all| {
                all.insert(progress.id, progress);
            }),
            EventKind::Activity { activity } => self.add_activity(activity),
            EventKind::Assignment { .. }
            | EventKind::Conversation { .. }
            | EventKind::DeadLetter { .. }
            | EventKind::Group { .. }
            | EventKind::GroupJob { .. }
            | EventKind::LinkedDevice { .. } => {}
        }
    }

    /// Blanks a deleted message (it stays in place, marked deleted).
    pub fn forget_message(self, conversation_id: i64, message_id: i64) {
        self.messages.update(|all| {
            if let Some(m) = all.get_mut(&conversation_id).and_then(|l| l.iter_mut().find(|m| m.id == message_id)) {
                m.kind = "deleted".into();
                m.body.clear();
                m.error = None;
            }
        });
    }

    /// Adds a message to a loaded conversation, unless it is already there (the reply's own
    /// answer and its event can arrive in either order).
    pub fn add_message(self, conversation_id: i64, message: Message) {
        self.messages.update(|all| {
            if let Some(list) = all.get_mut(&conversation_id) {
                if !list.iter().any(|m| m.id == message.id) {
                    list.push(message);
                }
            }
        });
    }

    /// Adds a timeline entry to a loaded conversation, unless it is already there.
    pub fn add_activity(self, activity: Activity) {
        self.activity.update(|all| {
            if let Some(list) = all.get_mut(&activity.conversation_id) {
                if !list.iter().any(|a| a.id == activity.id) {
                    list.push(activity);
                }
            }
        });
    }

    /// Loads a conversation's messages and timeline (once) and marks it read.
    pub async fn open_conversation(self, id: i64) -> Result<(), api::ApiError> {
        self.open.set(Some(id));
        self.mentions.update(|m| m.retain(|a| a.conversation_id != id));
        if !self.activity.with_untracked(|m| m.contains_key(&id)) {
            let list = client::activity(id).await?;
            self.activity.update(|all| {
                let live = all.remove(&id).unwrap_or_default();
                let mut merged = list;
                for a in live {
                    if !merged.iter().any(|x| x.id == a.id) {
                        merged.push(a);
                    }
                }
                all.insert(id, merged);
            });
        }
        if !self.messages.with_untracked(|m| m.contains_key(&id)) {
            let list = client::messages(id).await?;
            self.messages.update(|all| {
                // Events that arrived while loading are kept.
                let live = all.remove(&id).unwrap_or_default();
                let mut merged = list;
                for m in live {
                    if !merged.iter().any(|x| x.id == m.id) {
                        merged.push(m);
                    }
                }
                all.insert(id, merged);
            });
        }
        if self.conversations.with_untracked(|l| l.iter().any(|c| c.id == id && c.unread > 0)) {
            self.conversations.update(|l| {
                if let Some(c) = l.iter_mut().find(|c| c.id == id) {
                    c.unread = 0;
                }
            });
            let _ = client::mark_read(id).await;
        }
        Ok(())
    }
}

impl Default for Inbox {
    fn default() -> Self {
        Inbox::new()
    }
}

fn sorted(mut list: Vec<Conversation>) -> Vec<Conversation> {
    list.sort_by(|a, b| b.last_message_at.cmp(&a.last_message_at).then(b.id.cmp(&a.id)));
    list
}

pub fn use_inbox() -> Inbox {
    expect_context::<Inbox>()
}

/// What the inbox list and the shell need of an event; its other fields are skipped unread.
#[derive(serde::Deserialize)]
struct Head {
    number_id: String,
    conversation: Option<Conversation>,
    state: Option<String>,
    job: Option<JobId>,
    activity: Option<Mention>,
}

#[derive(serde::Deserialize)]
struct JobId {
    id: i64,
}

/// The follower of the pages that show messages, timelines and broadcast reports: reads the
/// whole event (`decode`) and applies its details.
pub fn details(inbox: Inbox, name: &str, text: &str) {
    if let Some(event) = decode(name, text) {
        inbox.apply_details(event);
    }
}

/// Reads one event of the stream; its SSE name says which kind it is.
///
/// `Event` as serde derives it is internally tagged and flattened: reading it buffers every
/// event into serde's generic tree to find its `type`, and compiles every type inside a second
/// time to read from that tree (~30 KB of the first download, which every page needs). Here
/// every event reads straight from its text into one flat struct of every kind's fields, each
/// optional (one reader's code, not one per kind: the names do not clash); its name then says
/// which fields it must have.
pub fn decode(name: &str, text: &str) -> Option<Event> {
    #[derive(serde::Deserialize)]
    struct Fields {
        seq: i64,
        number_id: String,
        at: i64,
        assigned_to: Option<i64>,
        conversation: Option<Conversation>,
        message: Option<Message>,
        conversation_id: Option<i64>,
        message_id: Option<i64>,
        wamid: Option<String>,
        status: Option<switchboard_shared::MessageStatus>,
        error: Option<String>,
        id: Option<i64>,
        reason: Option<String>,
        progress: Option<BroadcastProgress>,
        group_id: Option<String>,
        job: Option<switchboard_shared::groups::GroupJobProgress>,
        state: Option<String>,
        activity: Option<Activity>,
        attachment: Option<switchboard_shared::media::Attachment>,
    }
    let f: Fields = serde_json::from_str(text).ok()?;
    let kind = match name {
        "message" => EventKind::Message { conversation: f.conversation?, message: f.message? },
        "status" => EventKind::Status {
            conversation_id: f.conversation_id?,
            message_id: f.message_id?,
            wamid: f.wamid,
            status: f.status?,
            error: f.error,
        },
        "dead_letter" => EventKind::DeadLetter { id: f.id?, reason: f.reason? },
        "assignment" => EventKind::Assignment { conversation: f.conversation? },
        "conversation" => EventKind::Conversation { conversation: f.conversation? },
        "message_deleted" => EventKind::MessageDeleted { conversation_id: f.conversation_id?, message_id: f.message_id? },
        "broadcast" => EventKind::Broadcast { progress: f.progress? },
        "group" => EventKind::Group { group_id: f.group_id? },
        "group_job" => EventKind::GroupJob { job: f.job? },
        "linked_device" => EventKind::LinkedDevice { state: f.state? },
        "activity" => EventKind::Activity { activity: f.activity? },
        "attachment" => EventKind::Attachment { conversation_id: f.conversation_id?, message_id: f.message_id?, attachment: f.attachment? },
        _ => return None,
    };
    Some(Event { seq: f.seq, number_id: f.number_id, at: f.at, assigned_to: f.assigned_to, kind })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// One event of each kind as the relay writes it (serde's own form of `Event`).
    fn samples() -> Vec<Event> {
        let conversation = json!({"id": 7, "number_id": "111", "contact": "85291234567", "contact_name": "陳大文",
            "last_message_at": 5, "last_preview": "hi", "last_direction": "inbound", "unread": 1, "last_inbound_at": 5,
            "assigned_to": 3, "labels": ["vip"], "status": "snoozed", "snoozed_until": 9});
        let message = json!({"id": 70, "conversation_id": 7, "wamid": "wamid.A", "direction": "inbound", "kind": "image",
            "body": "[image]", "status": null, "error": null, "created_at": 5, "auto_rule": "Welcome",
            "attachment": {"type": "media", "kind": "image", "state": "pending", "voice": true}});
        let kinds = [
            json!({"type": "message", "conversation": conversation, "message": message}),
            json!({"type": "status", "conversation_id": 7, "message_id": 70, "wamid": "wamid.B", "status": "failed", "error": "131026: undeliverable"}),
            json!({"type": "dead_letter", "id": 2, "reason": "not a webhook envelope"}),
            json!({"type": "assignment", "conversation": conversation}),
            json!({"type": "conversation", "conversation": conversation}),
            json!({"type": "message_deleted", "conversation_id": 7, "message_id": 70}),
            json!({"type": "broadcast", "progress": {"id": 4, "numbers": ["111"], "state": "running", "started_at": 1,
                "completed_at": null, "paused_reason": null, "counts": {"audience": 3, "skipped": {"opted_out": 1}, "waiting": 1,
                "waiting_for_limit": 0, "accepted": 1, "delivered": 1, "read": 0, "replied": 0, "failed": 0,
                "failed_by_code": {}, "cancelled": 0, "opted_out": 1}, "accepted_by_number": {"111": 1}, "limit_window_opens_at": null}}),
            json!({"type": "group", "group_id": "120363@g.us"}),
            json!({"type": "group_job", "job": {"id": 5, "numbers": ["111"]}}),
            json!({"type": "linked_device", "state": "offline"}),
            json!({"type": "activity", "activity": {"id": 8, "conversation_id": 7, "kind": "note", "author": 3, "author_name": "Amy",
                "text": "@Ben please call", "mentions": [4], "at": 6}}),
            json!({"type": "attachment", "conversation_id": 7, "message_id": 70, "attachment": {"type": "location",
                "latitude": 22.3, "longitude": 114.2, "name": "Shop"}}),
        ];
        kinds
            .into_iter()
            .enumerate()
            .map(|(i, kind)| {
                let mut event = json!({"seq": 10 + i, "number_id": "111", "at": 6, "assigned_to": 3});
                event.as_object_mut().unwrap().extend(kind.as_object().unwrap().clone());
                serde_json::from_value(event).unwrap()
            })
            .collect()
    }

    #[test]
    fn every_kind_of_event_reads_by_its_name_as_serde_wrote_it() {
        let samples = samples();
        let names: Vec<&str> = samples.iter().map(|e| e.kind.name()).collect();
        assert_eq!(names, EventKind::NAMES, "a sample of every kind, in the order of NAMES");
        for event in samples {
            let text = serde_json::to_string(&event).unwrap();
            assert_eq!(decode(event.kind.name(), &text).as_ref(), Some(&event), "{text}");
        }
        // Without an agent the head still reads.
        let text = r#"{"seq":1,"number_id":"111","at":2,"type":"group","group_id":"g"}"#;
        assert_eq!(decode("group", text).and_then(|e| e.assigned_to.or(Some(-1))), Some(-1));
    }

    #[test]
    fn the_store_reads_the_lists_part_and_a_follower_the_rest() {
        let inbox = Inbox::new();
        inbox.viewer.set(Some((4, false)));
        for event in samples() {
            inbox.receive(event.kind.name(), &serde_json::to_string(&event).unwrap());
        }
        let conversations = inbox.conversations.get_untracked();
        assert_eq!(conversations.len(), 1, "message, assignment and conversation events name one conversation");
        let mention = inbox.mentions.get_untracked();
        assert_eq!(mention.len(), 1, "the note mentions the viewer (4), written by 3");
        assert_eq!(
            (mention[0].conversation_id, mention[0].author_name.as_deref(), mention[0].text.as_str()),
            (7, Some("Amy"), "@Ben please call")
        );
        assert_eq!(inbox.group_jobs.get_untracked().get(&5), Some(&1));
        assert_eq!(inbox.dropped.get_untracked().get("111").map(String::as_str), Some("offline"));
        assert!(inbox.broadcasts.get_untracked().is_empty(), "no page follows broadcasts yet");
        assert_eq!(inbox.received.get_untracked(), EventKind::NAMES.len() as u64);
        // A page that shows broadcasts and messages follows the stream from now on.
        inbox.add_follower(details);
        inbox.messages.update(|m| {
            m.insert(7, Vec::new());
        });
        inbox.activity.update(|a| {
            a.insert(7, Vec::new());
        });
        for event in samples() {
            inbox.receive(event.kind.name(), &serde_json::to_string(&event).unwrap());
        }
        assert_eq!(inbox.broadcasts.get_untracked().get(&4).map(|p| p.counts.audience), Some(3));
        let messages = inbox.messages.get_untracked();
        let message = &messages[&7][0];
        assert_eq!((message.id, message.kind.as_str()), (70, "deleted"), "added, its status applied, then deleted");
        assert!(matches!(message.attachment, Some(switchboard_shared::media::Attachment::Location { .. })));
        assert_eq!(inbox.activity.get_untracked()[&7].len(), 1);
        // A note by the viewer, or one that does not mention them, is no notice.
        let mine = r#"{"seq":30,"number_id":"111","at":6,"activity":{"id":9,"conversation_id":7,"kind":"note","author":4,"text":"@me","mentions":[4],"at":6}}"#;
        inbox.receive("activity", mine);
        assert_eq!(inbox.mentions.get_untracked().len(), 2, "the sample note, read twice; not the viewer's own");
    }

    #[test]
    fn a_backlog_reading_sets_how_far_behind_and_is_not_an_event() {
        let inbox = Inbox::new();
        inbox.receive(Backlog::EVENT, r#"{"waiting":1200,"behind_ms":7000}"#);
        assert_eq!(inbox.behind.get_untracked(), Backlog { waiting: 1200, behind_ms: 7000 });
        assert!(inbox.behind.get_untracked().shown());
        assert_eq!(inbox.received.get_untracked(), 0, "a reading, not an event of the log");
        inbox.receive(Backlog::EVENT, "not json");
        assert_eq!(inbox.behind.get_untracked().waiting, 1200, "a reading that does not read changes nothing");
        inbox.receive(Backlog::EVENT, r#"{"waiting":0,"behind_ms":0}"#);
        assert!(!inbox.behind.get_untracked().shown());
    }

    #[test]
    fn an_event_that_does_not_read_is_skipped() {
        let group = r#"{"seq":1,"number_id":"111","at":2,"type":"group","group_id":"g"}"#;
        assert!(decode("no_such_kind", group).is_none(), "unknown name");
        assert!(decode("status", group).is_none(), "fields of another kind");
        let status = r#"{"seq":1,"number_id":"111","at":2,"conversation_id":7,"message_id":70,"status":"exploded"}"#;
        assert!(decode("status", status).is_none(), "a status WhatsApp does not have");
        assert!(decode("status", &status.replace("exploded", "read")).is_some(), "the same event with a real status");
        assert!(decode("group", r#"{"number_id":"111","at":2,"group_id":"g"}"#).is_none(), "no seq");
        assert!(decode("group", "not json").is_none());
    }
}
