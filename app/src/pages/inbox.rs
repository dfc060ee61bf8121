//! The shared inbox across all numbers, and the conversation view with its reply box.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::html;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{AssignRequest, Conversation, Direction, LabelsRequest, Message, ReplyRequest, SupervisorQuery};
use switchboard_shared::limits::CUSTOMER_SERVICE_WINDOW_MS;

use crate::api::ApiError;
use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::format_time;
use crate::components::ticks::Ticks;
use crate::i18n::use_i18n;
use crate::store::use_inbox;
use crate::Session;

#[component]
pub fn InboxPage() -> impl IntoView {
    let params = use_params_map();
    let selected = Memo::new(move |_| params.read().get("id").and_then(|s| s.parse::<i64>().ok()));
    let inbox = use_inbox();
    on_cleanup(move || inbox.open.set(None));
    view! {
        <div class="inbox" class:has-selection=move || selected.get().is_some()>
            <ConversationList selected=selected />
            <section class="conversation-pane">
                {move || match selected.get() {
                    // The open conversation (messages, reply box, labels, assignment) is its own
                    // chunk: the first download is the list.
                    Some(id) => view! {
                        <Suspense fallback=|| ()>
                            {Suspend::new(async move { conversation_pane(id).await })}
                        </Suspense>
                    }.into_any(),
                    None => view! { <PickOne/> }.into_any(),
                }}
            </section>
        </div>
    }
}

#[component]
fn PickOne() -> impl IntoView {
    let i18n = use_i18n();
    view! { <p class="empty pick">{move || i18n.t(key!("inbox.pick"))}</p> }
}

#[component]
fn ConversationList(selected: Memo<Option<i64>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    view! {
        <aside class="conversation-list">
            <h1 class="sr-only">{move || i18n.t(key!("inbox.title"))}</h1>
            <Show
                when=move || inbox.loaded.get()
                fallback=move || view! { <p class="muted pad">{i18n.t(key!("inbox.loading"))}</p> }
            >
                <Show
                    when=move || inbox.conversations.with(|l| !l.is_empty())
                    fallback=move || view! { <p class="empty">{i18n.t(key!("inbox.empty"))}</p> }
                >
                    <ul id="conversations">
                        <For
                            each=move || inbox.conversations.get()
                            key=|c| (c.id, c.last_message_at, c.unread, c.labels.clone(), c.contact_name.clone())
                            children=move |c| view! { <ConversationRow conversation=c selected=selected /> }
                        />
                    </ul>
                </Show>
            </Show>
        </aside>
    }
}

/// The name to show for a conversation: the contact's profile name, else the number.
fn display_name(c: &Conversation) -> String {
    c.contact_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| format!("+{}", c.contact))
}

#[component]
fn ConversationRow(conversation: Conversation, selected: Memo<Option<i64>>) -> impl IntoView {
    let i18n = use_i18n();
    let id = conversation.id;
    let name = display_name(&conversation);
    let initial = name.chars().find(|c| c.is_alphanumeric()).unwrap_or('?').to_string();
    let unread = conversation.unread;
    let at = conversation.last_message_at;
    let number_id = conversation.number_id.clone();
    let inbox = use_inbox();
    // Which business number this customer wrote to: its name, else its display number.
    let via = move || {
        inbox.numbers.with(|ns| {
            ns.iter().find(|n| n.id == number_id).map(|n| {
                if n.verified_name.is_empty() {
                    n.display_phone_number.clone()
                } else {
                    n.verified_name.clone()
                }
            })
        })
    };
    view! {
        <li class="conversation-row" class:selected=move || selected.get() == Some(id) class:unread={unread > 0} data-conversation=id>
            <A href=format!("/inbox/{id}")>
                <span class="avatar" aria-hidden="true">{initial}</span>
                <span class="row-main">
                    <span class="row-top">
                        <span class="name">{name}</span>
                        <span class="via" data-number=conversation.number_id.clone()>{via}</span>
                        <span class="time">{move || format_time(at, i18n.lang.get().tag())}</span>
                    </span>
                    <span class="row-bottom">
                        <span class="preview">
                            {(conversation.last_direction == Direction::Outbound).then_some("↩ ")}
                            {conversation.last_preview.clone()}
                        </span>
                        {conversation.labels.first().map(|l| view! { <span class="chip small">{l.clone()}</span> })}
                        {(unread > 0).then(|| view! {
                            <span class="badge" title=move || i18n.t(key!("inbox.unread"))>{unread}</span>
                        })}
                    </span>
                </span>
            </A>
        </li>
    }
}

#[cfg_attr(not(feature = "whole"), leptos::lazy)]
async fn conversation_pane(id: i64) -> AnyView {
    view! { <ConversationView id=id /> }.into_any()
}

#[component]
fn ConversationView(id: i64) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let load_error = RwSignal::new(None::<ApiError>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Err(e) = inbox.open_conversation(id).await {
                load_error.set(Some(e));
            }
        });
    });
    let conversation = Memo::new(move |_| inbox.conversations.with(|l| l.iter().find(|c| c.id == id).cloned()));
    let messages = Memo::new(move |_| inbox.messages.with(|m| m.get(&id).cloned()));
    let list_ref = NodeRef::<html::Div>::new();
    // Keep the newest message in view.
    Effect::new(move |_| {
        messages.track();
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
                <Assignment id=id conversation=conversation />
            </header>
            <Labels id=id conversation=conversation />
            <div class="messages" node_ref=list_ref>
                {move || match (messages.get(), load_error.get()) {
                    (_, Some(ApiError::Refused { status: 404, .. })) => view! { <p class="empty">{i18n.t(key!("conv.not_found"))}</p> }.into_any(),
                    (_, Some(e)) => view! { <ErrorNote error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                    (None, None) => view! { <p class="muted pad">{i18n.t(key!("conv.loading"))}</p> }.into_any(),
                    (Some(list), None) => view! {
                        <ol id="messages">
                            <For each=move || list.clone() key=|m| (m.id, m.kind.clone()) children=move |m| view! { <MessageBubble id=id message=m /> } />
                        </ol>
                    }.into_any(),
                }}
            </div>
            <ReplyBox id=id conversation=conversation />
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
    // Colleagues' names, for those allowed to see the live view.
    let names = LocalResource::new(move || async move {
        if supervises {
            client::supervisor(&SupervisorQuery::default()).await.map(|v| v.agents).unwrap_or_default()
        } else {
            Vec::new()
        }
    });
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
            let name =
                names.get().unwrap_or_default().into_iter().find(|l| l.id == a.to_string()).map_or_else(|| format!("#{a}"), |l| l.name);
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
            <ErrorNote error=assigning.error() />
        </div>
    }
}

#[component]
fn ReplyBox(id: i64, conversation: Memo<Option<Conversation>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let can_reply = session.me.get_untracked().is_some_and(|m| m.can(Permission::Reply));
    let text = RwSignal::new(String::new());
    let sending = Mutation::new();
    let busy = sending.pending();
    let window_open = move || {
        conversation.get().and_then(|c| c.last_inbound_at).is_some_and(|t| js_sys::Date::now() as i64 - t < CUSTOMER_SERVICE_WINDOW_MS)
    };
    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        let body = text.get_untracked();
        if body.trim().is_empty() {
            return;
        }
        let call = async move {
            let answer = client::reply(id, &ReplyRequest { text: body }).await;
            if matches!(answer, Err(ApiError::Unauthorized)) {
                inbox.signed_out.set(true);
            }
            answer
        };
        sending.run(call, move |message| {
            text.set(String::new());
            inbox.add_message(id, message);
        });
    };
    if !can_reply {
        return view! { <p class="notice" id="read-only">{move || i18n.t(key!("conv.read_only"))}</p> }.into_any();
    }
    view! {
        <Show
            when=window_open
            fallback=move || view! { <p class="notice" id="window-closed">{i18n.t(key!("conv.window_closed"))}</p> }
        >
            <form class="reply" on:submit=send>
                <textarea id="reply-text" rows="2" maxlength="4096"
                    placeholder=move || i18n.t(key!("conv.reply_placeholder"))
                    prop:value=text
                    on:input=move |ev| text.set(event_target_value(&ev))
                ></textarea>
                <button id="send" type="submit" class="primary" disabled=move || busy.get() || text.with(|t| t.trim().is_empty())>
                    {move || if busy.get() { i18n.t(key!("conv.sending")) } else { i18n.t(key!("conv.send")) }}
                </button>
            </form>
            <ErrorNote error=sending.error() />
        </Show>
    }
    .into_any()
}
