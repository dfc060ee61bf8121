//! One conversation: who the customer is, its status and agent, its labels, and its timeline —
//! the messages with the notes, assignment decisions and status changes between them — above
//! the composer.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{
    Activity, ActivityKind, AssignRequest, Conversation, ConversationStatus, Direction, LabelsRequest, Message, StatusRequest,
};

use super::attachment::AttachmentView;
use super::composer::Composer;
use super::inbox::{display_name, status_name};
use crate::api::ApiError;
use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::format_time;
use crate::components::ticks::Ticks;
use crate::i18n::use_i18n;
use crate::store::use_inbox;
use crate::Session;

/// One line of the timeline.
#[derive(Debug, Clone, PartialEq)]
enum Entry {
    Message(Message),
    Activity(Activity),
}

impl Entry {
    fn at(&self) -> i64 {
        match self {
            Entry::Message(m) => m.created_at,
            Entry::Activity(a) => a.at,
        }
    }

    fn key(&self) -> (u8, i64, String) {
        match self {
            Entry::Message(m) => (0, m.id, m.kind.clone()),
            Entry::Activity(a) => (1, a.id, String::new()),
        }
    }
}

#[component]
pub fn ConversationView(id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let load_error = RwSignal::new(None::<ApiError>);
    inbox.add_follower(crate::store::details);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Err(e) = inbox.open_conversation(id).await {
                load_error.set(Some(e));
            }
        });
    });
    let conversation = Memo::new(move |_| inbox.conversations.with(|l| l.iter().find(|c| c.id == id).cloned()));
    // Messages and timeline entries in time order (a message before an entry of the same ms).
    let timeline = Memo::new(move |_| {
        let messages = inbox.messages.with(|m| m.get(&id).cloned())?;
        let activity = inbox.activity.with(|a| a.get(&id).cloned()).unwrap_or_default();
        let mut all: Vec<Entry> = messages.into_iter().map(Entry::Message).chain(activity.into_iter().map(Entry::Activity)).collect();
        all.sort_by_key(|e| (e.at(), e.key().0));
        Some(all)
    });
    let list_ref = NodeRef::<html::Div>::new();
    // Keep the newest entry in view.
    Effect::new(move |_| {
        timeline.track();
        if let Some(el) = list_ref.get() {
            el.set_scroll_top(el.scroll_height());
        }
    });
    view! {
        <div class="conversation" data-conversation=id>
            <header class="conversation-head">
                <A href="/inbox" attr:class="back">{move || format!("‹ {}", i18n.t(key!("conv.back")))}</A>
                <div>
                    <h2 id="conversation-name">{move || conversation.get().map(|c| display_name(&c))}</h2>
                    <p class="muted">{move || conversation.get().map(|c| format!("+{}", c.contact))}</p>
                </div>
                <StatusControl id=id conversation=conversation />
                <Assignment id=id conversation=conversation />
            </header>
            <Labels id=id conversation=conversation />
            <div class="messages" node_ref=list_ref>
                {move || match (timeline.get(), load_error.get()) {
                    (_, Some(ApiError::Refused { status: 404, .. })) => view! { <p class="empty">{i18n.t(key!("conv.not_found"))}</p> }.into_any(),
                    (_, Some(e)) => view! { <ErrorNote error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                    (None, None) => view! { <p class="muted pad">{i18n.t(key!("conv.loading"))}</p> }.into_any(),
                    (Some(list), None) => view! {
                        <ol id="messages">
                            <For each=move || list.clone() key=Entry::key children=move |e| match e {
                                Entry::Message(m) => view! { <MessageBubble id=id message=m /> }.into_any(),
                                Entry::Activity(a) => view! { <ActivityLine activity=a /> }.into_any(),
                            } />
                        </ol>
                    }.into_any(),
                }}
            </div>
            <Composer id=id conversation=conversation />
        </div>
    }
}

/// A timeline entry: a note (for colleagues only), or who decided what and why.
#[component]
fn ActivityLine(activity: Activity) -> impl IntoView {
    let i18n = use_i18n();
    let at = activity.at;
    let author = activity.author_name.clone().unwrap_or_default();
    if activity.kind == ActivityKind::Note {
        let text = activity.text.clone();
        return view! {
            <li class="note" data-activity=activity.id>
                <p class="note-head">{move || i18n.t(key!("conv.note"))} " · " <strong>{author.clone()}</strong></p>
                <p class="body">{text}</p>
                <p class="meta"><span class="time">{move || format_time(at, i18n.lang.get().tag())}</span></p>
            </li>
        }
        .into_any();
    }
    let agent = activity.agent_name.clone().unwrap_or_default();
    let reason = activity.reason.clone().unwrap_or_default();
    let status = activity.status;
    let has_agent = activity.agent.is_some();
    let detail = activity.text.clone();
    let line = move || {
        let sentence = match (activity.kind, reason.as_str(), has_agent) {
            (ActivityKind::Status, _, _) => match (status, author.is_empty()) {
                (Some(ConversationStatus::Open), true) => i18n.t(key!("activity.snooze_ended")),
                (Some(s), _) => i18n.t(key!("activity.status")).replace("{status}", &status_name(i18n, s)),
                (None, _) => String::new(),
            },
            (_, "reserved", _) => i18n.t(key!("activity.reserved")),
            (_, "opening", true) => i18n.t(key!("activity.opening")),
            (_, "arrival", true) => i18n.t(key!("activity.arrival")),
            (_, "released", true) => i18n.t(key!("activity.released")),
            (_, "released", false) => i18n.t(key!("activity.released_queue")),
            (_, "bulk", true) | (_, "manual", true) => i18n.t(key!("activity.assigned")),
            (_, _, false) => i18n.t(key!("activity.queue")),
            _ => i18n.t(key!("activity.assigned")),
        };
        sentence.replace("{agent}", &agent).replace("{author}", if author.is_empty() { "Switchboard" } else { &author })
    };
    view! {
        <li class="activity" data-activity=activity.id data-reason=activity.reason.clone().unwrap_or_default() title=detail>
            <span class="activity-text">{line}</span>
            " · "
            <span class="time">{move || format_time(at, i18n.lang.get().tag())}</span>
        </li>
    }
    .into_any()
}

/// The conversation's status, and the buttons that move it: resolve, wait on the customer,
/// snooze until a time, open again.
#[component]
fn StatusControl(id: i64, conversation: Memo<Option<Conversation>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let can_reply = session.me.get_untracked().is_some_and(|m| m.can(Permission::Reply));
    let changing = Mutation::new();
    let status = move || conversation.get().map(|c| c.status).unwrap_or_default();
    let set = move |status: ConversationStatus, snoozed_until: Option<i64>| {
        let request = StatusRequest { status, snoozed_until };
        changing.run(async move { client::set_status(id, &request).await }, move |c: Conversation| {
            inbox.conversations.update(|l| {
                if let Some(x) = l.iter_mut().find(|x| x.id == c.id) {
                    x.status = c.status;
                    x.snoozed_until = c.snoozed_until;
                }
            })
        });
    };
    let snooze = move |ev: leptos::ev::Event| {
        let hours: i64 = event_target_value(&ev).parse().unwrap_or(0);
        if hours > 0 {
            set(ConversationStatus::Snoozed, Some(js_sys::Date::now() as i64 + hours * 3_600_000));
        }
    };
    view! {
        <div class="status-control" id="status-control">
            <span class="pill" id="conversation-status" data-status=move || status().as_str()>
                {move || status_name(i18n, status())}
                {move || conversation.get().and_then(|c| c.snoozed_until).map(|t| format!(" · {}", format_time(t, i18n.lang.get().tag())))}
            </span>
            {can_reply.then(|| view! {
                <Show when=move || status() != ConversationStatus::Resolved>
                    <button type="button" class="secondary small" id="resolve" on:click=move |_| set(ConversationStatus::Resolved, None)>
                        {move || i18n.t(key!("conv.resolve"))}
                    </button>
                </Show>
                <Show when=move || status() == ConversationStatus::Open>
                    <button type="button" class="text-button" id="mark-pending" on:click=move |_| set(ConversationStatus::Pending, None)>
                        {move || i18n.t(key!("conv.mark_pending"))}
                    </button>
                </Show>
                <Show when=move || status() != ConversationStatus::Open>
                    <button type="button" class="text-button" id="reopen" on:click=move |_| set(ConversationStatus::Open, None)>
                        {move || i18n.t(key!("conv.reopen"))}
                    </button>
                </Show>
                <select id="snooze" class="small" on:change=snooze prop:value="">
                    <option value="">{move || i18n.t(key!("conv.snooze"))}</option>
                    <option value="1">{move || i18n.t(key!("conv.snooze.hour"))}</option>
                    <option value="4">{move || i18n.t(key!("conv.snooze.hours4"))}</option>
                    <option value="24">{move || i18n.t(key!("conv.snooze.day"))}</option>
                    <option value="168">{move || i18n.t(key!("conv.snooze.week"))}</option>
                </select>
            })}
            <ErrorNote error=changing.error() />
        </div>
    }
}

#[component]
fn MessageBubble(id: i64, message: Message) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let message_id = message.id;
    // The status changes live; read it from the store rather than the copy we were given.
    let status = Signal::derive(move || {
        inbox.messages.with(|m| m.get(&id).and_then(|l| l.iter().find(|x| x.id == message_id)).and_then(|x| x.status))
    });
    let error = Signal::derive(move || {
        inbox.messages.with(|m| m.get(&id).and_then(|l| l.iter().find(|x| x.id == message_id)).and_then(|x| x.error.clone()))
    });
    // A file arrives after its message: read the attachment from the store too.
    let attachment = Signal::derive(move || {
        inbox.messages.with(|m| m.get(&id).and_then(|l| l.iter().find(|x| x.id == message_id)).and_then(|x| x.attachment.clone()))
    });
    let has_attachment = message.attachment.is_some();
    let outbound = message.direction == Direction::Outbound;
    let at = message.created_at;
    let deleted = message.kind == "deleted";
    let session = expect_context::<Session>();
    let can_delete = !deleted && session.me.get_untracked().is_some_and(|m| m.can(Permission::DeleteMessages));
    let automatic = message.auto_rule.clone();
    let is_auto = automatic.is_some();
    let removal = Mutation::new();
    let delete = move |_| {
        let ok = web_sys::window().and_then(|w| w.confirm_with_message(&i18n.t(key!("conv.confirm_delete"))).ok()).unwrap_or(false);
        if ok {
            removal.run(client::delete_message(message_id), move |()| inbox.forget_message(id, message_id));
        }
    };
    view! {
        <li class="bubble" class:out=outbound class:in=!outbound class:deleted=deleted class:auto=is_auto data-message=message_id>
            {automatic.map(|rule| view! { <p class="auto-label">{move || i18n.t(key!("conv.automatic"))} " · " {rule.clone()}</p> })}
            {if deleted {
                view! { <p class="body muted">{move || i18n.t(key!("conv.deleted"))}</p> }.into_any()
            } else if has_attachment {
                // The attachment shows itself and its caption; the body is only its summary.
                view! { <AttachmentView message_id=message_id attachment=attachment /> }.into_any()
            } else {
                view! { <p class="body">{message.body.clone()}</p> }.into_any()
            }}
            <p class="meta">
                {can_delete.then(|| view! {
                    <button type="button" class="bubble-delete" title=move || i18n.t(key!("common.delete")) on:click=delete>"🗑"</button>
                })}
                <span class="time">{move || format_time(at, i18n.lang.get().tag())}</span>
                {outbound.then(|| view! { <Ticks status=status /> })}
            </p>
            <Show when=move || error.get().is_some()>
                <p class="bubble-error">{move || error.get()}</p>
            </Show>
            <ErrorNote error=removal.error() />
        </li>
    }
}

/// The conversation's labels: chips, removable, and a field to add one.
#[component]
fn Labels(id: i64, conversation: Memo<Option<Conversation>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let can_edit = session.me.get_untracked().is_some_and(|m| m.can(Permission::Reply));
    let draft = RwSignal::new(String::new());
    let saving = Mutation::new();
    let labels = move || conversation.get().map(|c| c.labels).unwrap_or_default();
    let save = move |next: Vec<String>| {
        saving.run(async move { client::set_labels(id, &LabelsRequest { labels: next }).await }, move |c: Conversation| {
            inbox.conversations.update(|l| {
                if let Some(x) = l.iter_mut().find(|x| x.id == c.id) {
                    x.labels = c.labels;
                }
            })
        });
    };
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        let label = draft.get_untracked().trim().to_owned();
        if label.is_empty() {
            return;
        }
        draft.set(String::new());
        let mut next = labels();
        next.push(label);
        save(next);
    };
    view! {
        <div class="labels" id="labels">
            <For each=labels key=|l| l.clone() children=move |l| {
                let name = l.clone();
                view! {
                    <span class="chip" data-label=l.clone()>
                        {l.clone()}
                        {can_edit.then(|| view! {
                            <button type="button" class="chip-x" title=move || i18n.t(key!("common.delete"))
                                on:click=move |_| save(labels().into_iter().filter(|x| *x != name).collect())>"×"</button>
                        })}
                    </span>
                }
            } />
            {can_edit.then(|| view! {
                <form class="label-add" on:submit=add>
                    <input id="label-input" maxlength="40" placeholder=move || i18n.t(key!("labels.add"))
                        prop:value=draft on:input=move |ev| draft.set(event_target_value(&ev)) />
                </form>
            })}
            <ErrorNote error=saving.error() />
        </div>
    }
}

/// Who has the conversation, with "take over" and "back to queue".
#[component]
fn Assignment(id: i64, conversation: Memo<Option<Conversation>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let me = session.me.get_untracked();
    let my_id = me.as_ref().map_or(0, |m| m.id);
    let can_reply = me.as_ref().is_some_and(|m| m.can(Permission::Reply));
    let supervises = me.as_ref().is_some_and(|m| m.can(Permission::ViewReports) || m.can(Permission::ManageAgents));
    let assigning = Mutation::new();
    // Who may work on it (names for the label, and a supervisor's choice of agent).
    let colleagues = LocalResource::new(move || async move { client::colleagues(id).await.unwrap_or_default() });
    let assigned = move || conversation.get().and_then(|c| c.assigned_to);
    let assign = move |agent_id: Option<i64>| {
        assigning.run(async move { client::assign(id, &AssignRequest { agent_id }).await }, move |c: Conversation| {
            inbox.conversations.update(|l| {
                if let Some(x) = l.iter_mut().find(|x| x.id == c.id) {
                    x.assigned_to = c.assigned_to;
                }
            })
        });
    };
    let label = move || match assigned() {
        None => i18n.t(key!("conv.in_queue")),
        Some(a) if a == my_id => i18n.t(key!("conv.assigned_to_me")),
        Some(a) => {
            let name = colleagues.get().unwrap_or_default().into_iter().find(|c| c.id == a).map_or_else(
                || format!("#{a}"),
                |c| match c.code {
                    Some(code) => format!("#{code} {}", c.name),
                    None => c.name,
                },
            );
            format!("{} {name}", i18n.t(key!("conv.assigned_to")))
        }
    };
    view! {
        <div class="assignment" id="assignment">
            <span class="pill" class:ok=move || assigned() == Some(my_id)>{label}</span>
            <Show when=move || can_reply && assigned() != Some(my_id) && (assigned().is_none() || supervises)>
                <button type="button" class="secondary small" id="take-over" on:click=move |_| assign(Some(my_id))>{move || i18n.t(key!("conv.take_over"))}</button>
            </Show>
            <Show when=move || assigned() == Some(my_id) || (supervises && assigned().is_some())>
                <button type="button" class="text-button" id="release" on:click=move |_| assign(None)>{move || i18n.t(key!("conv.release"))}</button>
            </Show>
            {supervises.then(|| view! {
                <select id="assign-to" class="small" prop:value="" on:change=move |ev| {
                    if let Ok(agent) = event_target_value(&ev).parse::<i64>() {
                        assign(Some(agent));
                    }
                }>
                    <option value="">{move || i18n.t(key!("conv.assign_to"))}</option>
                    {move || colleagues.get().unwrap_or_default().into_iter().map(|c| {
                        let label = format!("{}{}{}", c.code.as_ref().map(|k| format!("#{k} ")).unwrap_or_default(), c.name, if c.online { " ●" } else { "" });
                        view! { <option value=c.id.to_string()>{label}</option> }
                    }).collect_view()}
                </select>
            })}
            <ErrorNote error=assigning.error() />
        </div>
    }
}
