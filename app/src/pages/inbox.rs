//! The shared inbox across all numbers, and the conversation view with its reply box.

use crate::key;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_params_map;
use std::collections::BTreeSet;
use switchboard_shared::access::Permission;

use switchboard_shared::api::{BulkAssignRequest, Conversation, ConversationStatus, Direction, SearchQuery, SupervisorQuery};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::format_time;
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

/// Which conversations the list shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Mine,
    Unassigned,
    All,
}

/// The list's filters and the supervisor's selection, shared by the list and its bars. They
/// live as long as the app (provided at its root), so opening a conversation or another page
/// and coming back keeps the view, the search and the filters the agent chose.
#[derive(Clone, Copy)]
pub struct Filters {
    view: RwSignal<View>,
    /// `None`: any status.
    status: RwSignal<Option<ConversationStatus>>,
    /// Empty: any.
    number: RwSignal<String>,
    label: RwSignal<String>,
    search: RwSignal<String>,
    /// What the relay found for the search (by name, phone or any message), once it answered.
    found: RwSignal<Option<Vec<Conversation>>>,
    selected: RwSignal<BTreeSet<i64>>,
}

impl Default for Filters {
    fn default() -> Filters {
        Filters {
            view: RwSignal::new(View::All),
            status: RwSignal::new(Some(ConversationStatus::Open)),
            number: RwSignal::new(String::new()),
            label: RwSignal::new(String::new()),
            search: RwSignal::new(String::new()),
            found: RwSignal::new(None),
            selected: RwSignal::new(BTreeSet::new()),
        }
    }
}

impl Filters {
    /// Whether `c` passes the view, number and label (the status is checked apart, so the
    /// view tabs can count it).
    fn keeps(&self, c: &Conversation, me: i64) -> bool {
        let view = match self.view.get() {
            View::Mine => c.assigned_to == Some(me),
            View::Unassigned => c.assigned_to.is_none(),
            View::All => true,
        };
        let number = self.number.with(|n| n.is_empty() || *n == c.number_id);
        let label = self.label.with(|l| l.is_empty() || c.labels.contains(l));
        view && number && label
    }

    fn status_ok(&self, c: &Conversation) -> bool {
        self.status.get().is_none_or(|s| s == c.status)
    }
}

#[component]
fn ConversationList(selected: Memo<Option<i64>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let me = session.me.get_untracked();
    let my_id = me.as_ref().map_or(0, |m| m.id);
    let supervises = me.as_ref().is_some_and(|m| m.can(Permission::ViewReports) || m.can(Permission::ManageAgents));
    let filters = use_context::<Filters>().unwrap_or_default();
    // Searching asks the relay (it reads every message), a moment after the typing stops.
    let searching = Mutation::new();
    let typed = RwSignal::new(0u64);
    Effect::new(move |_| {
        let q = filters.search.get();
        let ticket = typed.get_untracked() + 1;
        typed.set(ticket);
        if q.trim().is_empty() {
            filters.found.set(None);
            return;
        }
        set_timeout(
            move || {
                if typed.try_get_untracked() == Some(ticket) {
                    searching.load(async move { client::search(&SearchQuery { q }).await }, move |found| filters.found.set(Some(found)));
                }
            },
            std::time::Duration::from_millis(300),
        );
    });
    // The list: the search's answer while searching, else the live inbox; then the filters.
    let shown = Memo::new(move |_| {
        let base = match filters.found.get() {
            Some(found) => found,
            None => inbox.conversations.get(),
        };
        let searching = filters.found.with(Option::is_some);
        base.into_iter().filter(|c| filters.keeps(c, my_id) && (searching || filters.status_ok(c))).collect::<Vec<_>>()
    });
    let count = move |view: View| {
        inbox.conversations.with(|l| {
            l.iter()
                .filter(|c| {
                    let in_view = match view {
                        View::Mine => c.assigned_to == Some(my_id),
                        View::Unassigned => c.assigned_to.is_none(),
                        View::All => true,
                    };
                    in_view && filters.status_ok(c)
                })
                .count()
        })
    };
    let labels = Memo::new(move |_| {
        // Each label once, in order: kept sorted as it is built (a few labels over many
        // conversations).
        let mut all: Vec<String> = Vec::new();
        inbox.conversations.with(|l| {
            for label in l.iter().flat_map(|c| &c.labels) {
                if let Err(at) = all.binary_search(label) {
                    all.insert(at, label.clone());
                }
            }
        });
        all
    });
    let tab = move |view: View, label: crate::i18n::Key, id: &'static str| {
        view! {
            <button type="button" role="tab" id=id class="tab" class:active=move || filters.view.get() == view
                aria-selected=move || (filters.view.get() == view).to_string()
                on:click=move |_| filters.view.set(view)>
                {move || i18n.t(label)} " " <span class="count">{move || count(view)}</span>
            </button>
        }
    };
    view! {
        <aside class="conversation-list">
            <h1 class="sr-only">{move || i18n.t(key!("inbox.title"))}</h1>
            <div class="list-tools">
                <div class="tabs" role="tablist">
                    {tab(View::Mine, key!("inbox.view.mine"), "view-mine")}
                    {tab(View::Unassigned, key!("inbox.view.unassigned"), "view-unassigned")}
                    {tab(View::All, key!("inbox.view.all"), "view-all")}
                </div>
                <input id="inbox-search" type="search" maxlength="100" placeholder=move || i18n.t(key!("inbox.search"))
                    prop:value=filters.search on:input=move |ev| filters.search.set(event_target_value(&ev)) />
                <div class="filters">
                    <select id="filter-status" title=move || i18n.t(key!("inbox.filter.status"))
                        on:change=move |ev| filters.status.set(ConversationStatus::parse(&event_target_value(&ev)))>
                        {ConversationStatus::ALL.into_iter().map(|s| view! {
                            <option value=s.as_str() selected=move || filters.status.get() == Some(s)>{move || status_name(i18n, s)}</option>
                        }).collect_view()}
                        <option value="any">{move || i18n.t(key!("inbox.filter.any_status"))}</option>
                    </select>
                    <Show when=move || inbox.numbers.with(|n| n.len() > 1)>
                        <select id="filter-number" on:change=move |ev| filters.number.set(event_target_value(&ev))>
                            <option value="">{move || i18n.t(key!("inbox.all_numbers"))}</option>
                            <For each=move || inbox.numbers.get() key=|n| n.id.clone() children=move |n| view! {
                                <option value=n.id.clone()>{if n.verified_name.is_empty() { n.display_phone_number.clone() } else { n.verified_name.clone() }}</option>
                            } />
                        </select>
                    </Show>
                    <Show when=move || labels.with(|l| !l.is_empty())>
                        <select id="filter-label" on:change=move |ev| filters.label.set(event_target_value(&ev))>
                            <option value="">{move || i18n.t(key!("inbox.filter.any_label"))}</option>
                            <For each=move || labels.get() key=|l| l.clone() children=move |l| view! { <option value=l.clone()>{l.clone()}</option> } />
                        </select>
                    </Show>
                </div>
            </div>
            // The bulk bar is its own chunk: only supervisors fetch it, when the list first shows.
            {supervises.then(|| view! {
                <Suspense fallback=|| ()>{Suspend::new(async move { bulk_bar(filters).await })}</Suspense>
            })}
            <ErrorNote error=searching.error() />
            <Show
                when=move || inbox.loaded.get()
                fallback=move || view! { <p class="muted pad">{i18n.t(key!("inbox.loading"))}</p> }
            >
                <Show
                    when=move || shown.with(|l| !l.is_empty())
                    fallback=move || {
                        let empty = if filters.found.with(Option::is_some) {
                            key!("inbox.no_match")
                        } else if inbox.conversations.with(Vec::is_empty) {
                            key!("inbox.empty")
                        } else {
                            key!("inbox.none_here")
                        };
                        view! { <p class="empty" id="list-empty">{i18n.t(empty)}</p> }
                    }
                >
                    <ul id="conversations">
                        <For
                            each=move || shown.get()
                            key=|c| (c.id, c.last_message_at, c.unread, c.labels.clone(), c.contact_name.clone(), c.status, c.assigned_to)
                            children=move |c| view! { <ConversationRow conversation=c selected=selected filters=filters supervises=supervises /> }
                        />
                    </ul>
                </Show>
            </Show>
        </aside>
    }
}

/// A status as people read it.
pub(crate) fn status_name(i18n: crate::i18n::I18n, s: ConversationStatus) -> String {
    match s {
        ConversationStatus::Open => i18n.t(key!("conv.status.open")),
        ConversationStatus::Pending => i18n.t(key!("conv.status.pending")),
        ConversationStatus::Resolved => i18n.t(key!("conv.status.resolved")),
        ConversationStatus::Snoozed => i18n.t(key!("conv.status.snoozed")),
    }
}

/// A supervisor's bar for the selected conversations: move them to an agent, or back to the
/// queue, all at once.
#[component]
fn BulkBar(filters: Filters) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let moving = Mutation::new();
    let agents =
        LocalResource::new(
            move || async move { client::supervisor(&SupervisorQuery::default()).await.map(|v| v.agents).unwrap_or_default() },
        );
    let target = RwSignal::new(String::new());
    let moved = RwSignal::new(None::<usize>);
    let apply = move |agent_id: Option<i64>| {
        let ids: Vec<i64> = filters.selected.get_untracked().into_iter().collect();
        let request = BulkAssignRequest { conversation_ids: ids, agent_id };
        moving.run(async move { client::assign_many(&request).await }, move |list: Vec<Conversation>| {
            let n = list.len();
            inbox.conversations.update(|all| {
                for c in list {
                    if let Some(x) = all.iter_mut().find(|x| x.id == c.id) {
                        x.assigned_to = c.assigned_to;
                    }
                }
            });
            filters.selected.set(BTreeSet::new());
            moved.set(Some(n));
        });
    };
    view! {
        <Show when=move || !filters.selected.with(BTreeSet::is_empty) fallback=move || view! {
            <Show when=move || moved.get().is_some()>
                <p class="notice ok" id="bulk-done">{move || i18n.t(key!("inbox.bulk.done")).replace("{n}", &moved.get().unwrap_or(0).to_string())}</p>
            </Show>
        }>
            <div class="bulk-bar" id="bulk-bar">
                <span id="bulk-count">{move || i18n.t(key!("inbox.bulk.selected")).replace("{n}", &filters.selected.with(BTreeSet::len).to_string())}</span>
                <select id="bulk-agent" on:change=move |ev| target.set(event_target_value(&ev))>
                    <option value="">{move || i18n.t(key!("inbox.bulk.choose"))}</option>
                    {move || agents.get().unwrap_or_default().into_iter().map(|a| view! {
                        <option value=a.id.clone()>{a.name.clone()}{if a.online { " ●" } else { "" }}</option>
                    }).collect_view()}
                </select>
                <button type="button" class="primary small" id="bulk-move" disabled=move || target.with(String::is_empty) || moving.pending().get()
                    on:click=move |_| apply(target.get_untracked().parse().ok())>{move || i18n.t(key!("inbox.bulk.move"))}</button>
                <button type="button" class="secondary small" id="bulk-queue" on:click=move |_| apply(None)>{move || i18n.t(key!("conv.release"))}</button>
                <button type="button" class="text-button" id="bulk-clear" on:click=move |_| filters.selected.set(BTreeSet::new())>{move || i18n.t(key!("common.cancel"))}</button>
                <ErrorNote error=moving.error() />
            </div>
        </Show>
    }
}

/// The name to show for a conversation: the contact's profile name, else the number.
pub(crate) fn display_name(c: &Conversation) -> String {
    c.contact_name.clone().filter(|n| !n.trim().is_empty()).unwrap_or_else(|| format!("+{}", c.contact))
}

#[component]
fn ConversationRow(conversation: Conversation, selected: Memo<Option<i64>>, filters: Filters, supervises: bool) -> impl IntoView {
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
        <li class="conversation-row" class:selected=move || selected.get() == Some(id) class:unread={unread > 0} data-conversation=id
            data-status=conversation.status.as_str() data-assigned=conversation.assigned_to.map(|a| a.to_string()).unwrap_or_default()>
            {supervises.then(|| view! {
                <input type="checkbox" class="row-check" aria-label=move || i18n.t(key!("inbox.bulk.pick"))
                    prop:checked=move || filters.selected.with(|s| s.contains(&id))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        filters.selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                    } />
            })}
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
                            {let preview = conversation.last_preview.clone(); move || friendly_preview(&preview, |k| i18n.t(k))}
                        </span>
                        {(conversation.status != ConversationStatus::Open).then(|| {
                            let s = conversation.status;
                            view! { <span class="chip small status" data-status=s.as_str()>{move || status_name(i18n, s)}</span> }
                        })}
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

/// What a file or a place looks like in the list: `[image] 包裹` as `📷 包裹`, a bare `[voice]`
/// as `🎤 Voice message` in the reader's language (a group's `Name: [image]` keeps the name).
fn friendly_preview(text: &str, word: impl Fn(crate::i18n::Key) -> String) -> String {
    let tags: [(&str, &str, crate::i18n::Key); 8] = [
        ("[image]", "📷", key!("media.photo")),
        ("[audio]", "🎤", key!("media.voice")),
        ("[video]", "🎬", key!("media.video")),
        ("[document]", "📄", key!("media.document")),
        ("[sticker]", "🙂", key!("media.sticker")),
        ("[location]", "📍", key!("media.location")),
        ("[contacts]", "👤", key!("media.contacts")),
        ("[template]", "📋", key!("media.template")),
    ];
    for (tag, icon, label) in tags {
        if let Some(at) = text.find(tag) {
            let rest = text[at + tag.len()..].trim();
            let shown = if rest.is_empty() { word(label) } else { rest.to_owned() };
            return format!("{}{icon} {shown}", &text[..at]);
        }
    }
    text.to_owned()
}

#[cfg_attr(not(feature = "whole"), leptos::lazy)]
async fn bulk_bar(filters: Filters) -> AnyView {
    view! { <BulkBar filters=filters /> }.into_any()
}

#[cfg_attr(not(feature = "whole"), leptos::lazy)]
async fn conversation_pane(id: i64) -> AnyView {
    view! { <super::conversation::ConversationView id=id /> }.into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_and_places_read_as_icons_and_words_in_the_list() {
        let word = |k: crate::i18n::Key| format!("<{}>", k.as_str());
        assert_eq!(friendly_preview("[image] 包裹到了", word), "📷 包裹到了");
        assert_eq!(friendly_preview("[audio]", word), "🎤 <media.voice>");
        assert_eq!(friendly_preview("陳美玲: [document] price-list.pdf", word), "陳美玲: 📄 price-list.pdf");
        assert_eq!(friendly_preview("[location] Star Ferry Pier", word), "📍 Star Ferry Pier");
        assert_eq!(friendly_preview("[template] order_update", word), "📋 order_update");
        assert_eq!(friendly_preview("請問今天有營業嗎？", word), "請問今天有營業嗎？");
    }
}
