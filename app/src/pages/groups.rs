//! Groups: every group of every number in the user's scope, a group's members, settings and
//! join requests, the linked devices that serve groups, and bulk actions across groups (a dry
//! run first, then a job whose progress is live).
//!
//! Only the actions the relay offers on a group are buttons; the others say why not.

use std::collections::HashMap;

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use switchboard_shared::groups::{
    BulkAction, BulkPlan, BulkRequest, Connection, DecideRequests, Group, GroupAction, GroupCreation, GroupDetail, GroupFilter, GroupJob,
    GroupMember, GroupMessage, GroupSetting, InviteLinkRequest, ItemState, LinkDevice, LinkedDevice, MemberChange, MemberOp, MemberOutcome,
    MemberRole, NewGroup, PeopleQuery, PerMember, PersonHit, ProviderKind, Refusal, RevokeMessage, Verdict,
};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::{format_time, sleep_ms};
use crate::i18n::{use_i18n, I18n};
use crate::store::use_inbox;

/// Why an action is refused, in the reader's language.
fn why(i18n: I18n, r: Refusal) -> String {
    match r {
        Refusal::Provider => i18n.t(key!("groups.why.provider")),
        Refusal::NotAdmin => i18n.t(key!("groups.why.not_admin")),
        Refusal::AdminsOnly => i18n.t(key!("groups.why.admins_only")),
        Refusal::Offline => i18n.t(key!("groups.why.offline")),
        Refusal::LoggedOut => i18n.t(key!("groups.why.logged_out")),
        Refusal::Banned => i18n.t(key!("groups.why.banned")),
    }
}

fn refused(g: &Group, a: GroupAction) -> Option<Refusal> {
    g.actions.get(&a).copied().flatten()
}

fn connection_text(i18n: I18n, c: &Connection) -> String {
    let lang = i18n.lang.get();
    match c {
        Connection::Online => i18n.t(key!("groups.conn.online")),
        Connection::Connecting => i18n.t(key!("groups.conn.connecting")),
        Connection::Offline { since } if *since > 0 => {
            format!("{} {}", i18n.t(key!("groups.conn.offline_since")), format_time(*since, lang.tag()))
        }
        Connection::Offline { .. } => i18n.t(key!("groups.conn.offline")),
        Connection::LoggedOut { .. } => i18n.t(key!("groups.conn.logged_out")),
        Connection::Banned => i18n.t(key!("groups.conn.banned")),
    }
}

fn provider_text(i18n: I18n, p: ProviderKind) -> String {
    match p {
        ProviderKind::Cloud => i18n.t(key!("groups.provider.cloud")),
        ProviderKind::Linked => i18n.t(key!("groups.provider.linked")),
    }
}

/// A member as people read them: name, then phone, then LID.
fn who(m: &GroupMember) -> (String, String) {
    let name = m.name.clone().unwrap_or_default();
    let ids = match (m.ids.phone_digits(), &m.ids.lid) {
        (Some(p), Some(l)) => format!("+{p} · LID {l}"),
        (Some(p), None) => format!("+{p}"),
        (None, Some(l)) => format!("LID {l}"),
        (None, None) => m.ids.bsuid.clone().unwrap_or_default(),
    };
    (name, ids)
}

/// How an operator would type this member back (what the member actions send).
fn typed(ids: &switchboard_shared::groups::MemberIds) -> String {
    match (ids.phone_digits(), &ids.lid, &ids.bsuid) {
        (Some(p), _, _) => p.to_owned(),
        (None, Some(l), _) => format!("lid:{l}"),
        (None, None, Some(b)) => format!("bsuid:{b}"),
        _ => String::new(),
    }
}

/// Rows the list shows at first, and adds per "show more".
const PAGE: usize = 200;

/// A high-resolution clock for timing the filter (ms).
fn now_ms() -> f64 {
    web_sys::window().and_then(|w| w.performance()).map_or(0.0, |p| p.now())
}

#[component]
pub fn GroupsPage() -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let groups = RwSignal::new(Vec::<Group>::new());
    let devices = RwSignal::new(Vec::<LinkedDevice>::new());
    let creations = RwSignal::new(Vec::<GroupCreation>::new());
    let loaded = RwSignal::new(false);
    let open = RwSignal::new(None::<String>);
    let creating = RwSignal::new(false);
    let selected = RwSignal::new(std::collections::BTreeSet::<String>::new());
    let fetch = Mutation::new();
    let reload = move || {
        fetch.load(
            async move { Ok((client::groups().await?, client::linked_devices().await?, client::group_creations().await?)) },
            move |(g, d, c)| {
                groups.set(g);
                devices.set(d);
                creations.set(c);
                loaded.set(true);
            },
        );
    };
    reload();
    // The stream says a group or device changed: read again (at most every 700 ms).
    let pending = StoredValue::new(false);
    Effect::new(move |prev: Option<u64>| {
        let n = inbox.groups_changed.get();
        if prev.is_some() && !pending.get_value() {
            pending.set_value(true);
            leptos::task::spawn_local(async move {
                sleep_ms(700).await;
                pending.set_value(false);
                reload();
            });
        }
        n
    });

    // Filters.
    let text = RwSignal::new(String::new());
    let number = RwSignal::new(String::new());
    let with_requests = RwSignal::new(false);
    let admins_only = RwSignal::new(false);
    let not_admin = RwSignal::new(false);
    // Rows shown at once (a cheap phone does not lay out 10,000 rows); "show more" adds more.
    let limit = RwSignal::new(PAGE);
    // The filtered positions, and how long filtering took in this browser (ms).
    let filtered = Memo::new(move |_| {
        let f = GroupFilter {
            text: text.get(),
            number: Some(number.get()).filter(|n| !n.is_empty()),
            provider: None,
            pending: with_requests.get(),
            admins_only: admins_only.get(),
            not_admin: not_admin.get(),
        };
        let started = now_ms();
        let hits = groups.with(|all| f.apply(all));
        (hits, now_ms() - started)
    });
    let shown = Memo::new(move |_| {
        let n = limit.get();
        filtered.with(|(hits, _)| groups.with(|all| hits.iter().take(n).map(|&i| all[i].clone()).collect::<Vec<_>>()))
    });
    let labels = Memo::new(move |_| {
        let mut m: HashMap<String, String> = HashMap::new();
        inbox.numbers.with(|ns| {
            for n in ns {
                m.insert(n.id.clone(), if n.verified_name.is_empty() { n.display_phone_number.clone() } else { n.verified_name.clone() });
            }
        });
        devices.with(|ds| {
            for d in ds {
                m.entry(d.number_id.clone()).or_insert_with(|| d.label.clone());
            }
        });
        m
    });
    let label = move |id: &str| labels.with(|m| m.get(id).cloned().unwrap_or_else(|| id.to_owned()));
    let numbers_in_list = Memo::new(move |_| {
        let mut ids: Vec<String> = groups.with(|g| g.iter().map(|g| g.number_id.clone()).collect());
        ids.sort();
        ids.dedup();
        ids
    });
    let sync = Mutation::new();
    let refresh = move |_| sync.run(client::sync_groups(), move |_| reload());

    view! {
        <section class="page groups-page">
            <div class="page-head">
                <h1>{move || i18n.t(key!("groups.title"))}</h1>
                <div class="inline">
                    <button class="primary" id="new-group" on:click=move |_| creating.update(|c| *c = !*c)>{move || i18n.t(key!("groups.new"))}</button>
                    <button class="secondary" id="groups-refresh" on:click=refresh disabled=move || sync.pending().get()>
                        {move || if sync.pending().get() { i18n.t(key!("groups.refreshing")) } else { i18n.t(key!("groups.refresh")) }}
                    </button>
                </div>
            </div>
            <ErrorNote error=sync.error() />
            <Banner devices=devices />
            // The form and a group's page are their own chunks, fetched when first opened.
            <Show when=move || creating.get()>
                <Suspense fallback=|| ()>
                    {Suspend::new(async move {
                        new_group_form(devices, labels, Callback::new(move |c: GroupCreation| {
                            creating.set(false);
                            if let Some(id) = c.group_id { open.set(Some(id)); scroll_to_panel(); }
                            reload();
                        })).await
                    })}
                </Suspense>
            </Show>
            <Creations creations=creations labels=labels />
            <Devices devices=devices reload=Callback::new(move |_| reload()) />
            <ErrorNote error=fetch.error() />
            <Bulk selected=selected labels=labels />
            {move || open.get().map(|id| view! {
                <Suspense fallback=|| ()>
                    {Suspend::new(async move { group_panel(id, Callback::new(move |_| open.set(None))).await })}
                </Suspense>
            })}
            <div class="filters" id="group-filters">
                <input id="group-search" type="search" placeholder=move || i18n.t(key!("groups.search"))
                    prop:value=text on:input=move |ev| text.set(event_target_value(&ev)) />
                <select id="group-number" on:change=move |ev| number.set(event_target_value(&ev))>
                    <option value="">{move || i18n.t(key!("groups.all_numbers"))}</option>
                    {move || numbers_in_list.get().into_iter().map(|id| { let l = label(&id); view! { <option value=id>{l}</option> } }).collect_view()}
                </select>
                <label class="check"><input type="checkbox" id="filter-requests" on:change=move |ev| with_requests.set(event_target_checked(&ev)) />
                    {move || i18n.t(key!("groups.filter.requests"))}</label>
                <label class="check"><input type="checkbox" id="filter-admins-only" on:change=move |ev| admins_only.set(event_target_checked(&ev)) />
                    {move || i18n.t(key!("groups.filter.admins_only"))}</label>
                <label class="check"><input type="checkbox" id="filter-not-admin" on:change=move |ev| not_admin.set(event_target_checked(&ev)) />
                    {move || i18n.t(key!("groups.filter.not_admin"))}</label>
            </div>
            <Show when=move || loaded.get() fallback=move || view! { <p class="muted">{i18n.t(key!("common.loading"))}</p> }>
                <Show when=move || groups.with(|g| !g.is_empty()) fallback=move || view! { <p class="empty" id="groups-empty">{i18n.t(key!("groups.empty"))}</p> }>
                    <p class="muted small" id="groups-count" data-count=move || filtered.with(|(h, _)| h.len())
                        data-ms=move || filtered.with(|(_, ms)| format!("{ms:.2}"))>
                        {move || format!("{} / {}", filtered.with(|(h, _)| h.len()), groups.with(Vec::len))}</p>
                    <div class="table-wrap">
                        <table class="grid" id="groups">
                            <thead><tr>
                                <th></th>
                                <th>{move || i18n.t(key!("groups.col.subject"))}</th>
                                <th>{move || i18n.t(key!("groups.col.number"))}</th>
                                <th>{move || i18n.t(key!("groups.col.members"))}</th>
                                <th>{move || i18n.t(key!("groups.col.admins"))}</th>
                                <th>{move || i18n.t(key!("groups.col.requests"))}</th>
                                <th>{move || i18n.t(key!("groups.col.settings"))}</th>
                                <th>{move || i18n.t(key!("groups.col.activity"))}</th>
                            </tr></thead>
                            <tbody>
                                <For each=move || shown.get() key=|g| (g.id.clone(), g.member_count, g.pending_requests, g.admins_only_messages, g.connection.name(), g.is_admin, g.subject.clone()) children=move |g| {
                                    let id = g.id.clone();
                                    let id_check = g.id.clone();
                                    let id_open = g.id.clone();
                                    let number = label(&g.number_id);
                                    let provider = provider_text(i18n, g.provider);
                                    let conn = g.connection.clone();
                                    let online = conn.is_online();
                                    let activity = g.last_activity_at;
                                    view! {
                                        <tr data-group=g.id.clone() class:dim=!online>
                                            <td><input type="checkbox" class="pick-group" aria-label=move || i18n.t(key!("groups.pick"))
                                                prop:checked=move || selected.with(|s| s.contains(&id_check))
                                                on:change=move |ev| { let on = event_target_checked(&ev); let id = id.clone(); selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } }); } /></td>
                                            <td data-label=move || i18n.t(key!("groups.col.subject"))>
                                                <button class="text-button open-group" on:click=move |_| { open.set(Some(id_open.clone())); scroll_to_panel(); }>{g.subject.clone()}</button>
                                                <span class="pill">{provider}</span>
                                            </td>
                                            <td data-label=move || i18n.t(key!("groups.col.number"))>{number}
                                                {(!online).then(|| view! { <span class="pill warn">{move || connection_text(i18n, &conn)}</span> })}</td>
                                            <td data-label=move || i18n.t(key!("groups.col.members"))>{g.member_count}</td>
                                            <td data-label=move || i18n.t(key!("groups.col.admins")) class="small">{g.admins.join(", ")}
                                                {(!g.is_admin).then(|| view! { <span class="pill">{move || i18n.t(key!("groups.not_admin"))}</span> })}</td>
                                            <td data-label=move || i18n.t(key!("groups.col.requests"))>{(g.pending_requests > 0).then(|| view! { <span class="badge">{g.pending_requests}</span> })}</td>
                                            <td data-label=move || i18n.t(key!("groups.col.settings")) class="small">
                                                {g.admins_only_messages.then(|| view! { <span class="pill" title=move || i18n.t(key!("groups.admins_only"))>"📢"</span> })}
                                                {g.locked_info.then(|| view! { <span class="pill" title=move || i18n.t(key!("groups.locked"))>"🔒"</span> })}
                                                {g.join_approval.then(|| view! { <span class="pill" title=move || i18n.t(key!("groups.approval"))>"✋"</span> })}
                                                {g.lid_addressing.then(|| view! { <span class="pill" title=move || i18n.t(key!("groups.lid"))>"LID"</span> })}
                                            </td>
                                            <td data-label=move || i18n.t(key!("groups.col.activity")) class="small">{move || activity.map(|t| format_time(t, i18n.lang.get().tag())).unwrap_or_default()}</td>
                                        </tr>
                                    }
                                } />
                            </tbody>
                        </table>
                    </div>
                    <Show when=move || { filtered.with(|(h, _)| h.len()) > limit.get() }>
                        <button class="secondary" id="groups-more" on:click=move |_| limit.update(|n| *n += PAGE)>{move || i18n.t(key!("common.load_more"))}</button>
                    </Show>
                </Show>
            </Show>
        </section>
    }
}

/// The new-group form, in its own chunk: fetched when it is first opened.
#[cfg_attr(not(feature = "whole"), leptos::lazy)]
async fn new_group_form(
    devices: RwSignal<Vec<LinkedDevice>>,
    labels: Memo<HashMap<String, String>>,
    done: Callback<GroupCreation>,
) -> AnyView {
    view! { <NewGroupForm devices=devices labels=labels done=done /> }.into_any()
}

/// A new group on one of the numbers that can make one: a Cloud API number, or a linked device.
#[component]
fn NewGroupForm(
    devices: RwSignal<Vec<LinkedDevice>>,
    labels: Memo<HashMap<String, String>>,
    done: Callback<GroupCreation>,
) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    // ("cloud:<number id>" or "linked:<number id>", what the reader sees).
    let choices = Memo::new(move |_| {
        let label = |id: &str| labels.with(|m| m.get(id).cloned().unwrap_or_else(|| id.to_owned()));
        let mut v: Vec<(String, String)> = inbox.numbers.with(|ns| {
            ns.iter()
                .map(|n| (format!("cloud:{}", n.id), format!("{} · {}", label(&n.id), provider_text(i18n, ProviderKind::Cloud))))
                .collect()
        });
        devices.with(|ds| {
            v.extend(
                ds.iter()
                    .map(|d| (format!("linked:{}", d.number_id), format!("{} · {}", d.label, provider_text(i18n, ProviderKind::Linked)))),
            )
        });
        v
    });
    let chosen = RwSignal::new(String::new());
    let subject = RwSignal::new(String::new());
    let description = RwSignal::new(String::new());
    let approval = RwSignal::new(false);
    let made = RwSignal::new(None::<bool>);
    let act = Mutation::new();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let choice = Some(chosen.get_untracked())
            .filter(|c| !c.is_empty())
            .or_else(|| choices.with_untracked(|c| c.first().map(|(v, _)| v.clone())));
        let Some((provider, number_id)) = choice.as_deref().and_then(|c| c.split_once(':')) else { return };
        let g = NewGroup {
            number_id: number_id.to_owned(),
            provider: if provider == "linked" { ProviderKind::Linked } else { ProviderKind::Cloud },
            subject: subject.get_untracked(),
            description: Some(description.get_untracked()).filter(|d| !d.trim().is_empty()),
            join_approval: approval.get_untracked(),
        };
        if g.check().is_err() {
            act.refuse(key!("error.code.invalid_group"));
            return;
        }
        act.run(async move { client::create_group(&g).await }, move |c| {
            made.set(Some(c.state == "created"));
            subject.set(String::new());
            description.set(String::new());
            done.run(c);
        });
    };
    view! {
        <form class="card pad stack" id="new-group-form" on:submit=submit>
            <h2>{move || i18n.t(key!("groups.new.title"))}</h2>
            <Show when=move || choices.with(|c| !c.is_empty()) fallback=move || view! { <p class="empty">{i18n.t(key!("groups.new.no_numbers"))}</p> }>
                <label class="stack">{move || i18n.t(key!("groups.new.number"))}
                    <select id="new-group-number" on:change=move |ev| chosen.set(event_target_value(&ev))>
                        {move || choices.get().into_iter().map(|(v, l)| view! { <option value=v>{l}</option> }).collect_view()}
                    </select>
                </label>
                <label>{move || i18n.t(key!("groups.new.subject"))}
                    <input type="text" id="new-group-subject" maxlength="128" required prop:value=subject on:input=move |ev| subject.set(event_target_value(&ev)) />
                </label>
                <label>{move || i18n.t(key!("groups.new.description"))}
                    <textarea id="new-group-description" rows="2" maxlength="2048" prop:value=description on:input=move |ev| description.set(event_target_value(&ev))></textarea>
                </label>
                <label class="check"><input type="checkbox" id="new-group-approval" on:change=move |ev| approval.set(event_target_checked(&ev)) />
                    {move || i18n.t(key!("groups.new.approval"))}</label>
                <div class="inline">
                    <button class="primary" type="submit" id="new-group-create" disabled=move || act.pending().get()>{move || i18n.t(key!("groups.new.create"))}</button>
                </div>
            </Show>
            <ErrorNote error=act.error() id="new-group-error" />
            {move || made.get().map(|now| view! { <p class="ok-text" id="new-group-note">{move || if now { i18n.t(key!("groups.new.made")) } else { i18n.t(key!("groups.new.requested")) }}</p> })}
        </form>
    }
}

/// Groups asked of WhatsApp that it has not made yet, or refused (with its reason).
#[component]
fn Creations(creations: RwSignal<Vec<GroupCreation>>, labels: Memo<HashMap<String, String>>) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <Show when=move || creations.with(|c| !c.is_empty())>
            <div class="card pad" id="group-creations">
                <h3>{move || i18n.t(key!("groups.creations.title"))}</h3>
                <ul class="plain">
                    {move || creations.get().into_iter().map(|c| {
                        let number = labels.with(|m| m.get(&c.number_id).cloned().unwrap_or_else(|| c.number_id.clone()));
                        let failed = c.state == "failed";
                        view! {
                            <li class="creation" data-state=c.state.clone()>
                                <strong>{c.subject.clone()}</strong>" · "{number}" · "
                                <span class=if failed { "pill warn" } else { "pill" }>
                                    {move || if failed { i18n.t(key!("groups.creation.failed")) } else { i18n.t(key!("groups.creation.requested")) }}</span>
                                " "<span class="muted small">{c.error.clone().unwrap_or_default()}" "{move || format_time(c.requested_at, i18n.lang.get().tag())}</span>
                            </li>
                        }
                    }).collect_view()}
                </ul>
            </div>
        </Show>
    }
}

/// Brings the opened group into view (it opens above the list).
fn scroll_to_panel() {
    leptos::task::spawn_local(async {
        sleep_ms(50).await;
        if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("group-panel")) {
            el.scroll_into_view();
        }
    });
}

/// Numbers that dropped: offline since when, logged out (pair again), banned.
#[component]
fn Banner(devices: RwSignal<Vec<LinkedDevice>>) -> impl IntoView {
    let i18n = use_i18n();
    let down = move || {
        devices.with(|d| {
            d.iter().filter(|d| !d.connection.is_online() && d.qr_svg.is_none() && d.pair_code.is_none()).cloned().collect::<Vec<_>>()
        })
    };
    view! {
        <For each=down key=|d| (d.number_id.clone(), d.connection.name()) children=move |d| {
            let conn = d.connection.clone();
            let logged_out = matches!(conn, Connection::LoggedOut { .. });
            view! {
                <p class="notice" role="status" data-banner=d.number_id.clone()>
                    <strong>{d.label.clone()}</strong>" — "{move || connection_text(i18n, &conn)}". "
                    {move || if logged_out { i18n.t(key!("groups.banner.repair")) } else { i18n.t(key!("groups.banner.refused")) }}
                </p>
            }
        } />
    }
}

/// The linked devices: their connection, and linking a number by QR code or pair code.
#[component]
fn Devices(devices: RwSignal<Vec<LinkedDevice>>, reload: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let phone = RwSignal::new(String::new());
    let label = RwSignal::new(String::new());
    let by_code = RwSignal::new(false);
    let link = Mutation::new();
    let unlink = Mutation::new();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if phone.get_untracked().chars().filter(char::is_ascii_digit).count() < 8 {
            link.refuse(key!("error.code.invalid_phone"));
            return;
        }
        let request = LinkDevice { phone: phone.get_untracked(), label: label.get_untracked(), by_code: by_code.get_untracked() };
        link.run(async move { client::link_device(&request).await }, move |_| reload.run(()));
    };
    view! {
        <details class="card pad" id="linked-devices">
            <summary><strong>{move || i18n.t(key!("groups.devices.title"))}</strong>" "
                <span class="muted small">{move || devices.with(|d| d.len())}</span></summary>
            <p class="muted small">{move || i18n.t(key!("groups.devices.help"))}</p>
            <ul class="plain">
                <For each=move || devices.get() key=|d| (d.number_id.clone(), d.connection.name(), d.qr_svg.is_some(), d.groups) children=move |d| {
                    let conn = d.connection.clone();
                    let state = conn.name();
                    let number = d.number_id.clone();
                    let qr = d.qr_svg.clone();
                    let code = d.pair_code.clone();
                    view! {
                        <li class="device" data-device=d.number_id.clone() data-state=state>
                            <span class="presence" data-state=state></span>
                            <strong>{d.label.clone()}</strong>" +"{d.phone.clone()}" · "
                            {move || connection_text(i18n, &conn)}" · "{d.groups}" "{move || i18n.t(key!("groups.devices.groups"))}
                            {qr.map(|svg| view! { <div class="qr"><p class="small">{move || i18n.t(key!("groups.devices.scan"))}</p><div class="qr-code" inner_html=svg></div></div> })}
                            {code.map(|c| view! { <p class="small">{move || i18n.t(key!("groups.devices.code"))}" "<code class="pair-code">{c.clone()}</code></p> })}
                            <button class="link small" on:click=move |_| { let n = number.clone(); unlink.run(async move { client::unlink_device(&n).await }, move |_| reload.run(())); }>
                                {move || i18n.t(key!("groups.devices.unlink"))}</button>
                        </li>
                    }
                } />
            </ul>
            <form class="inline" on:submit=submit id="link-device">
                <input type="tel" id="link-phone" placeholder=move || i18n.t(key!("groups.devices.phone")) prop:value=phone
                    on:input=move |ev| phone.set(event_target_value(&ev)) />
                <input type="text" id="link-label" placeholder=move || i18n.t(key!("groups.devices.label")) prop:value=label
                    on:input=move |ev| label.set(event_target_value(&ev)) />
                <label class="check"><input type="checkbox" on:change=move |ev| by_code.set(event_target_checked(&ev)) />{move || i18n.t(key!("groups.devices.by_code"))}</label>
                <button class="primary" type="submit" disabled=move || link.pending().get()>{move || i18n.t(key!("groups.devices.link"))}</button>
            </form>
            <ErrorNote error=link.error() />
            <ErrorNote error=unlink.error() />
        </details>
    }
}

/// A group's page, in its own chunk: fetched when the first group is opened.
#[cfg_attr(not(feature = "whole"), leptos::lazy)]
async fn group_panel(id: String, close: Callback<()>) -> AnyView {
    view! { <GroupPanel id=id close=close /> }.into_any()
}

/// One group: settings, invite link, join requests, members, a message.
#[component]
fn GroupPanel(id: String, close: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let detail = RwSignal::new(None::<GroupDetail>);
    let fetch = Mutation::new();
    let gid = StoredValue::new(id);
    let reload = move || fetch.load(async move { client::group(&gid.get_value()).await }, move |d| detail.set(Some(d)));
    reload();
    Effect::new(move |prev: Option<u64>| {
        let n = inbox.groups_changed.get();
        if prev.is_some() {
            reload();
        }
        n
    });
    let act = Mutation::new();
    let results = RwSignal::new(Vec::<PerMember>::new());
    let link = RwSignal::new(None::<String>);
    let setting = move |s: GroupSetting| act.run(async move { client::group_setting(&gid.get_value(), &s).await }, move |_| ());
    let members = move |op: MemberOp, people: Vec<String>| {
        act.run(async move { client::change_members(&gid.get_value(), &MemberChange { op, people }).await }, move |r| {
            results.set(r);
            reload();
        })
    };
    let decide = move |approve: bool, ids: Vec<String>| {
        let all = ids.is_empty();
        act.run(async move { client::decide_requests(&gid.get_value(), &DecideRequests { approve, requests: ids, all }).await }, move |r| {
            results.set(r);
            reload();
        })
    };
    let invite = move |reset: bool| {
        act.run(async move { client::invite_link(&gid.get_value(), &InviteLinkRequest { reset }).await }, move |l| link.set(Some(l.link)))
    };
    let add_text = RwSignal::new(String::new());
    let message = RwSignal::new(String::new());
    let mentions = RwSignal::new(Vec::<String>::new());
    let revoke_id = RwSignal::new(String::new());
    let revoke_sender = RwSignal::new(String::new());
    let sent = RwSignal::new(false);
    let new_subject = RwSignal::new(None::<String>);
    let new_description = RwSignal::new(None::<String>);
    let saved = RwSignal::new(false);
    let confirming = RwSignal::new(false);
    let ending = RwSignal::new(false);

    view! {
        <div class="panel card pad" id="group-panel" role="dialog">
            <div class="page-head">
                <h2>{move || detail.with(|d| d.as_ref().map(|d| d.group.subject.clone()).unwrap_or_default())}</h2>
                <button class="link" id="close-group" on:click=move |_| close.run(())>{move || i18n.t(key!("common.close"))}</button>
            </div>
            <ErrorNote error=fetch.error() />
            <ErrorNote error=act.error() id="group-error" />
            {move || detail.get().map(|d| {
                let g = d.group.clone();
                let can = |a: GroupAction| refused(&g, a);
                let toggle = |a: GroupAction, on: bool, make: fn(bool) -> GroupSetting, label: crate::i18n::Key, id: &'static str| {
                    let why_not = can(a);
                    view! {
                        <label class="check" id=id title=move || why_not.map(|r| why(i18n, r)).unwrap_or_default()>
                            <input type="checkbox" prop:checked=on disabled=why_not.is_some()
                                on:change=move |ev| setting(make(event_target_checked(&ev))) />
                            {move || i18n.t(label)}
                            {why_not.map(|r| view! { <span class="muted small why">" ("{move || why(i18n, r)}")"</span> })}
                        </label>
                    }
                };
                let conn = g.connection.clone();
                let add_refused = can(GroupAction::AddMember);
                let link_refused = can(GroupAction::InviteLink);
                let decide_refused = can(GroupAction::DecideJoinRequests);
                let promote_refused = can(GroupAction::Promote);
                let remove_refused = can(GroupAction::RemoveMember);
                let send_refused = can(GroupAction::Send);
                let mention_ok = can(GroupAction::Mention).is_none();
                let revoke_refused = can(GroupAction::DeleteForEveryone);
                let subject_refused = can(GroupAction::Subject);
                let description_refused = can(GroupAction::Description);
                let end_action = if g.provider == ProviderKind::Cloud { GroupAction::Delete } else { GroupAction::Leave };
                let end_refused = can(end_action);
                let (old_subject, old_description) = (g.subject.clone(), g.description.clone().unwrap_or_default());
                let (shown_subject, shown_description) = (old_subject.clone(), old_description.clone());
                let save = move |ev: SubmitEvent| {
                    ev.prevent_default();
                    let subject = new_subject.get_untracked().filter(|s| *s != old_subject);
                    let description = new_description.get_untracked().filter(|d| *d != old_description);
                    if subject.as_deref().is_some_and(|s| s.trim().is_empty() || s.chars().count() > 128) {
                        act.refuse(key!("error.code.invalid_group"));
                        return;
                    }
                    act.run(async move {
                        if let Some(s) = subject { client::group_setting(&gid.get_value(), &GroupSetting::Subject(s)).await?; }
                        if let Some(d) = description { client::group_setting(&gid.get_value(), &GroupSetting::Description(d)).await?; }
                        Ok(())
                    }, move |_| saved.set(true));
                };
                let photo_refused = can(GroupAction::Photo);
                let photo_url = g.photo.as_deref().map(|sha| client::group_photo_url(&g.id, sha));
                let choose_photo = move |ev: leptos::ev::Event| {
                    let input: web_sys::HtmlInputElement = event_target(&ev);
                    let Some(file) = input.files().and_then(|f| f.get(0)) else { return };
                    saved.set(false);
                    leptos::task::spawn_local(async move {
                        let Ok(buffer) = wasm_bindgen_futures::JsFuture::from(file.array_buffer()).await else {
                            act.refuse(key!("error.code.invalid_photo"));
                            return;
                        };
                        let jpeg = js_sys::Uint8Array::new(&buffer).to_vec();
                        // WhatsApp's rules, checked here before a 5 MB upload is refused.
                        if switchboard_shared::groups::check_photo(&jpeg).is_err() {
                            act.refuse(key!("error.code.invalid_photo"));
                            return;
                        }
                        act.run(async move { client::set_group_photo(&gid.get_value(), &jpeg).await }, move |_| saved.set(true));
                    });
                };
                let requests = d.join_requests.clone();
                let member_list = d.members.clone();
                let us = d.us.clone();
                let mention_choices = d.members.clone();
                view! {
                    <p class="muted small">{provider_text(i18n, g.provider)}" · "{move || connection_text(i18n, &conn)}" · "
                        {g.member_count}" "{move || i18n.t(key!("groups.members"))}</p>
                    {g.description.clone().map(|t| view! { <p class="small">{t}</p> })}
                    <div class="checks" id="group-settings">
                        {toggle(GroupAction::AdminsOnlyMessages, g.admins_only_messages, GroupSetting::AdminsOnlyMessages, key!("groups.admins_only"), "set-admins-only")}
                        {toggle(GroupAction::LockedInfo, g.locked_info, GroupSetting::LockedInfo, key!("groups.locked"), "set-locked")}
                        {toggle(GroupAction::JoinApproval, g.join_approval, GroupSetting::JoinApproval, key!("groups.approval"), "set-approval")}
                    </div>
                    {photo_url.clone().map(|src| view! { <img class="group-photo" id="group-photo" src=src alt="" width="64" height="64" /> })}
                    <details class="small" id="group-edit">
                        <summary>{move || i18n.t(key!("groups.edit.title"))}</summary>
                        <label class="stack" title=move || photo_refused.map(|r| why(i18n, r)).unwrap_or_default()>
                            {move || i18n.t(key!("groups.photo"))}
                            <input type="file" id="group-photo-file" accept="image/jpeg" disabled=photo_refused.is_some() on:change=choose_photo />
                            <span class="muted small">{move || i18n.t(key!("groups.photo.help"))}</span>
                        </label>
                        <form class="stack" on:submit=save>
                            <input type="text" id="edit-subject" maxlength="128" disabled=subject_refused.is_some() prop:value=shown_subject
                                aria-label=move || i18n.t(key!("groups.new.subject")) placeholder=move || i18n.t(key!("groups.new.subject"))
                                on:input=move |ev| { saved.set(false); new_subject.set(Some(event_target_value(&ev))) } />
                            <textarea id="edit-description" rows="2" maxlength="2048" disabled=description_refused.is_some() prop:value=shown_description
                                aria-label=move || i18n.t(key!("groups.new.description")) placeholder=move || i18n.t(key!("groups.new.description"))
                                on:input=move |ev| { saved.set(false); new_description.set(Some(event_target_value(&ev))) }></textarea>
                            <div class="inline">
                                <button class="primary small" type="submit" id="edit-save" disabled=subject_refused.is_some() && description_refused.is_some()>{move || i18n.t(key!("common.save"))}</button>
                                {subject_refused.or(description_refused).map(|r| view! { <span class="muted small">{move || why(i18n, r)}</span> })}
                                <Show when=move || saved.get()><span class="ok-text" id="edit-saved">{move || i18n.t(key!("common.saved"))}</span></Show>
                            </div>
                        </form>
                    </details>
                    <div class="inline">
                        <button class="secondary small" id="show-link" disabled=link_refused.is_some() on:click=move |_| invite(false)
                            title=move || link_refused.map(|r| why(i18n, r)).unwrap_or_default()>{move || i18n.t(key!("groups.link.show"))}</button>
                        <button class="secondary small" id="reset-link" disabled=link_refused.is_some() on:click=move |_| invite(true)>{move || i18n.t(key!("groups.link.reset"))}</button>
                        {move || link.get().map(|l| view! { <code class="link-text" id="invite-link">{l}</code> })}
                    </div>
                    <h3>{move || i18n.t(key!("groups.requests"))}" ("{requests.len()}")"</h3>
                    {if requests.is_empty() {
                        view! { <p class="muted small">{move || i18n.t(key!("groups.requests.none"))}</p> }.into_any()
                    } else {
                        let rows = requests.clone();
                        view! {
                            <div class="inline">
                                <button class="primary small" id="approve-all" disabled=decide_refused.is_some() on:click=move |_| decide(true, vec![])>{move || i18n.t(key!("groups.requests.approve_all"))}</button>
                                <button class="danger small" id="reject-all" disabled=decide_refused.is_some() on:click=move |_| decide(false, vec![])>{move || i18n.t(key!("groups.requests.reject_all"))}</button>
                                {decide_refused.map(|r| view! { <span class="muted small">{move || why(i18n, r)}</span> })}
                            </div>
                            <ul class="plain" id="join-requests">
                                {rows.into_iter().map(|r| {
                                    let (a, b) = (r.id.clone(), r.id.clone());
                                    let m = GroupMember { ids: r.ids.clone(), name: r.name.clone(), role: MemberRole::Member };
                                    let (name, ids) = who(&m);
                                    view! { <li class="request" data-request=r.id.clone()>
                                        <strong>{name}</strong>" "<span class="muted small">{ids}</span>" "
                                        <button class="secondary small approve" disabled=decide_refused.is_some() on:click=move |_| decide(true, vec![a.clone()])>{move || i18n.t(key!("groups.requests.approve"))}</button>
                                        <button class="link small reject" disabled=decide_refused.is_some() on:click=move |_| decide(false, vec![b.clone()])>{move || i18n.t(key!("groups.requests.reject"))}</button>
                                    </li> }
                                }).collect_view()}
                            </ul>
                        }.into_any()
                    }}
                    <h3>{move || i18n.t(key!("groups.members.title"))}</h3>
                    <form class="inline" id="add-members" on:submit=move |ev: SubmitEvent| {
                        ev.prevent_default();
                        let people: Vec<String> = add_text.get_untracked().split([',', '\n', ';']).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
                        if people.is_empty() { act.refuse(key!("error.code.invalid_people")); return; }
                        members(MemberOp::Add, people);
                    }>
                        <input type="text" id="add-people" placeholder=move || i18n.t(key!("groups.add.placeholder")) prop:value=add_text on:input=move |ev| add_text.set(event_target_value(&ev)) />
                        {match add_refused {
                            None => view! { <button class="primary small" type="submit" id="add-button">{move || i18n.t(key!("groups.add"))}</button> }.into_any(),
                            // The provider cannot add: the invite link is the way in.
                            Some(r @ Refusal::Provider) => view! {
                                <button class="secondary small" type="button" id="send-invite" disabled=link_refused.is_some() on:click=move |_| invite(false)>{move || i18n.t(key!("groups.add.invite"))}</button>
                                <span class="muted small" id="add-why">{move || why(i18n, r)}</span>
                            }.into_any(),
                            Some(r) => view! { <span class="muted small" id="add-why">{move || why(i18n, r)}</span> }.into_any(),
                        }}
                    </form>
                    <Show when=move || results.with(|r| !r.is_empty())>
                        <ul class="plain small" id="member-results">
                            {move || results.get().into_iter().map(|p| {
                                let person = p.ids.phone_digits().map(|d| format!("+{d}")).or(p.ids.lid.clone()).unwrap_or_default();
                                let text = match &p.outcome {
                                    MemberOutcome::Done => i18n.t(key!("groups.outcome.done")),
                                    MemberOutcome::PrivacyRefused { invite_link } => format!("{} {}", i18n.t(key!("groups.outcome.privacy")), invite_link.clone().unwrap_or_default()),
                                    MemberOutcome::NotMember => i18n.t(key!("groups.outcome.not_member")),
                                    MemberOutcome::AlreadyMember => i18n.t(key!("groups.outcome.already")),
                                    MemberOutcome::Failed { reason } => reason.clone(),
                                };
                                view! { <li>{person}": "{text}</li> }
                            }).collect_view()}
                        </ul>
                    </Show>
                    <div class="table-wrap">
                        <table class="grid" id="members">
                            <tbody>
                                {member_list.into_iter().map(|m| {
                                    // Our own number: leaving is the way out, not removing or demoting it.
                                    let is_us = us.as_ref().is_some_and(|u| u.same_person(&m.ids));
                                    let (name, ids) = who(&m);
                                    let key = typed(&m.ids);
                                    let (k1, k2) = (key.clone(), key.clone());
                                    let is_admin = m.role.is_admin();
                                    let role = match m.role {
                                        MemberRole::Member => i18n.t(key!("groups.role.member")),
                                        MemberRole::Admin => i18n.t(key!("groups.role.admin")),
                                        MemberRole::SuperAdmin => i18n.t(key!("groups.role.owner")),
                                    };
                                    view! { <tr data-member=key.clone()>
                                        <td><strong>{name}</strong>" "<span class="muted small">{ids}</span></td>
                                        <td><span class="pill">{role}</span></td>
                                        <td class="row-actions">
                                            {is_us.then(|| view! { <span class="pill" id="member-us">{move || i18n.t(key!("groups.us"))}</span> })}
                                            {(!is_us).then(|| view! {
                                            <button class="link small promote" disabled=promote_refused.is_some()
                                                title=move || promote_refused.map(|r| why(i18n, r)).unwrap_or_default()
                                                on:click=move |_| members(if is_admin { MemberOp::Demote } else { MemberOp::Promote }, vec![k1.clone()])>
                                                {move || if is_admin { i18n.t(key!("groups.demote")) } else { i18n.t(key!("groups.promote")) }}</button>
                                            <button class="link small remove" disabled=remove_refused.is_some()
                                                title=move || remove_refused.map(|r| why(i18n, r)).unwrap_or_default()
                                                on:click=move |_| members(MemberOp::Remove, vec![k2.clone()])>{move || i18n.t(key!("groups.remove"))}</button>
                                            })}
                                        </td>
                                    </tr> }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    <h3>{move || i18n.t(key!("groups.send.title"))}</h3>
                    <form class="stack" id="group-message" on:submit=move |ev: SubmitEvent| {
                        ev.prevent_default();
                        let text = message.get_untracked();
                        if text.trim().is_empty() { act.refuse(key!("error.code.empty_message")); return; }
                        let m = GroupMessage { text, mentions: mentions.get_untracked() };
                        act.run(async move { client::send_to_group(&gid.get_value(), &m).await }, move |_| { message.set(String::new()); mentions.set(vec![]); sent.set(true); });
                    }>
                        <textarea id="group-text" rows="3" prop:value=message on:input=move |ev| { sent.set(false); message.set(event_target_value(&ev)) }
                            placeholder=move || i18n.t(key!("groups.send.placeholder"))></textarea>
                        {mention_ok.then(|| view! {
                            <select id="mention" on:change=move |ev| { let v = event_target_value(&ev); if !v.is_empty() { mentions.update(|m| if !m.contains(&v) { m.push(v) }); } }>
                                <option value="">{move || i18n.t(key!("groups.send.mention"))}</option>
                                {mention_choices.iter().map(|m| { let (name, ids) = who(m); let k = typed(&m.ids); view! { <option value=k>{format!("{name} {ids}")}</option> } }).collect_view()}
                            </select>
                        })}
                        <div class="chips">{move || mentions.get().into_iter().map(|m| view! { <span class="chip">"@"{m}</span> }).collect_view()}</div>
                        <div class="inline">
                            <button class="primary" type="submit" disabled=send_refused.is_some()>{move || i18n.t(key!("groups.send"))}</button>
                            {send_refused.map(|r| view! { <span class="muted small">{move || why(i18n, r)}</span> })}
                            <Show when=move || sent.get()><span class="ok-text" id="sent-note">{move || i18n.t(key!("groups.send.sent"))}</span></Show>
                        </div>
                    </form>
                    <details class="small">
                        <summary>{move || i18n.t(key!("groups.revoke.title"))}</summary>
                        {match revoke_refused {
                            Some(r) => view! { <p class="muted">{move || why(i18n, r)}</p> }.into_any(),
                            None => view! {
                                <form class="inline" on:submit=move |ev: SubmitEvent| {
                                    ev.prevent_default();
                                    let req = RevokeMessage { sender: revoke_sender.get_untracked() };
                                    act.run(async move { client::revoke_group_message(&gid.get_value(), &revoke_id.get_untracked(), &req).await }, move |_| revoke_id.set(String::new()));
                                }>
                                    <input type="text" placeholder=move || i18n.t(key!("groups.revoke.id")) prop:value=revoke_id on:input=move |ev| revoke_id.set(event_target_value(&ev)) />
                                    <input type="text" placeholder=move || i18n.t(key!("groups.revoke.sender")) prop:value=revoke_sender on:input=move |ev| revoke_sender.set(event_target_value(&ev)) />
                                    <button class="danger small" type="submit">{move || i18n.t(key!("groups.revoke.button"))}</button>
                                </form>
                            }.into_any(),
                        }}
                    </details>
                    <div class="inline danger-zone" id="group-end">
                        {move || match (ending.get(), confirming.get()) {
                            (true, _) => view! { <p class="muted" id="group-ending">{i18n.t(key!("groups.ending"))}</p> }.into_any(),
                            (false, false) => view! {
                                <button class="danger small" id="end-group" disabled=end_refused.is_some() on:click=move |_| confirming.set(true)
                                    title=move || end_refused.map(|r| why(i18n, r)).unwrap_or_default()>
                                    {move || if end_action == GroupAction::Delete { i18n.t(key!("groups.delete")) } else { i18n.t(key!("groups.leave")) }}</button>
                                {end_refused.map(|r| view! { <span class="muted small">{move || why(i18n, r)}</span> })}
                            }.into_any(),
                            (false, true) => view! {
                                <p>{move || if end_action == GroupAction::Delete { i18n.t(key!("groups.delete.confirm")) } else { i18n.t(key!("groups.leave.confirm")) }}</p>
                                <button class="danger small" id="confirm-end" on:click=move |_| {
                                    confirming.set(false);
                                    act.run(async move { client::delete_group(&gid.get_value()).await }, move |_| ending.set(true));
                                }>{move || if end_action == GroupAction::Delete { i18n.t(key!("groups.delete")) } else { i18n.t(key!("groups.leave")) }}</button>
                                <button class="link small" on:click=move |_| confirming.set(false)>{i18n.t(key!("common.cancel"))}</button>
                            }.into_any(),
                        }}
                    </div>
                }
            })}
        </div>
    }
}

fn verdict_text(i18n: I18n, v: Verdict) -> String {
    match v {
        Verdict::Act => i18n.t(key!("groups.verdict.act")),
        Verdict::NothingToDo => i18n.t(key!("groups.verdict.nothing")),
        Verdict::NotAdmin => i18n.t(key!("groups.verdict.not_admin")),
        Verdict::Unresolved => i18n.t(key!("groups.verdict.unresolved")),
        Verdict::Offline => i18n.t(key!("groups.verdict.offline")),
        Verdict::Cannot => i18n.t(key!("groups.verdict.cannot")),
    }
}

fn state_text(i18n: I18n, s: ItemState) -> String {
    match s {
        ItemState::Skipped => i18n.t(key!("groups.item.skipped")),
        ItemState::Waiting => i18n.t(key!("groups.item.waiting")),
        ItemState::InFlight => i18n.t(key!("groups.item.in_flight")),
        ItemState::Accepted => i18n.t(key!("groups.item.accepted")),
        ItemState::Confirmed => i18n.t(key!("groups.item.confirmed")),
        ItemState::Unconfirmed => i18n.t(key!("groups.item.unconfirmed")),
        ItemState::SkippedOffline => i18n.t(key!("groups.item.skipped_offline")),
        ItemState::Failed => i18n.t(key!("groups.item.failed")),
        ItemState::Cancelled => i18n.t(key!("groups.item.cancelled")),
    }
}

/// Bulk actions: find a person, choose what to do and where, dry run, run, watch.
#[component]
fn Bulk(selected: RwSignal<std::collections::BTreeSet<String>>, labels: Memo<HashMap<String, String>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let person = RwSignal::new(String::new());
    let kind = RwSignal::new("remove_member".to_owned());
    let text = RwSignal::new(String::new());
    let only_selected = RwSignal::new(false);
    let hits = RwSignal::new(Vec::<PersonHit>::new());
    let plan = RwSignal::new(None::<BulkPlan>);
    let job = RwSignal::new(None::<GroupJob>);
    let find = Mutation::new();
    let dry = Mutation::new();
    let run = Mutation::new();
    let control = Mutation::new();
    let request = move || -> BulkRequest {
        let p = person.get_untracked();
        let action = match kind.get_untracked().as_str() {
            "approve" => BulkAction::ApproveRequests { person: p },
            "reject" => BulkAction::RejectRequests { person: p },
            "admins_only_on" => BulkAction::Setting { setting: GroupSetting::AdminsOnlyMessages(true) },
            "admins_only_off" => BulkAction::Setting { setting: GroupSetting::AdminsOnlyMessages(false) },
            "locked_on" => BulkAction::Setting { setting: GroupSetting::LockedInfo(true) },
            "locked_off" => BulkAction::Setting { setting: GroupSetting::LockedInfo(false) },
            "announce" => BulkAction::Announce { text: text.get_untracked() },
            _ => BulkAction::RemoveMember { person: p },
        };
        let groups = only_selected.get_untracked().then(|| selected.get_untracked().into_iter().collect());
        BulkRequest { action, groups }
    };
    let needs_person = move || matches!(kind.get().as_str(), "remove_member" | "approve" | "reject");
    let search = move |ev: SubmitEvent| {
        ev.prevent_default();
        let q = PeopleQuery { q: person.get_untracked() };
        find.run(async move { client::group_people(&q).await }, move |h| hits.set(h));
    };
    let dry_run = move |_| {
        job.set(None);
        let r = request();
        dry.run(async move { client::plan_group_job(&r).await }, move |p| plan.set(Some(p)));
    };
    let start = move |_| {
        let r = request();
        run.run(async move { client::start_group_job(&r).await }, move |j| {
            plan.set(None);
            job.set(Some(j));
        });
    };
    // Live progress: the stream says the job moved; read it again (at most every 400 ms).
    let reading = StoredValue::new(false);
    Effect::new(move |_| {
        let moved = inbox.group_jobs.with(|all| job.with_untracked(|j| j.as_ref().and_then(|j| all.get(&j.id).copied())));
        let Some(id) = job.with_untracked(|j| j.as_ref().map(|j| j.id)) else { return };
        if moved.is_none() || reading.get_value() {
            return;
        }
        reading.set_value(true);
        leptos::task::spawn_local(async move {
            sleep_ms(400).await;
            reading.set_value(false);
            control.load(async move { client::group_job(id).await }, move |j| job.set(Some(j)));
        });
    });
    let label = move |id: &str| labels.with(|m| m.get(id).cloned().unwrap_or_else(|| id.to_owned()));
    view! {
        <details class="card pad" id="bulk">
            <summary><strong>{move || i18n.t(key!("groups.bulk.title"))}</strong></summary>
            <p class="muted small">{move || i18n.t(key!("groups.bulk.help"))}</p>
            <form class="inline" on:submit=search>
                <select id="bulk-kind" on:change=move |ev| { kind.set(event_target_value(&ev)); plan.set(None); }>
                    <option value="remove_member">{move || i18n.t(key!("groups.bulk.remove"))}</option>
                    <option value="approve">{move || i18n.t(key!("groups.bulk.approve"))}</option>
                    <option value="reject">{move || i18n.t(key!("groups.bulk.reject"))}</option>
                    <option value="admins_only_on">{move || i18n.t(key!("groups.bulk.admins_only_on"))}</option>
                    <option value="admins_only_off">{move || i18n.t(key!("groups.bulk.admins_only_off"))}</option>
                    <option value="locked_on">{move || i18n.t(key!("groups.bulk.locked_on"))}</option>
                    <option value="locked_off">{move || i18n.t(key!("groups.bulk.locked_off"))}</option>
                    <option value="announce">{move || i18n.t(key!("groups.bulk.announce"))}</option>
                </select>
                <Show when=needs_person>
                    <input type="search" id="bulk-person" placeholder=move || i18n.t(key!("groups.bulk.person")) prop:value=person
                        on:input=move |ev| { person.set(event_target_value(&ev)); plan.set(None); } />
                    <button class="secondary small" type="submit" id="find-person">{move || i18n.t(key!("groups.bulk.find"))}</button>
                </Show>
                <Show when=move || kind.get() == "announce">
                    <textarea id="bulk-text" rows="2" prop:value=text on:input=move |ev| text.set(event_target_value(&ev))
                        placeholder=move || i18n.t(key!("groups.send.placeholder"))></textarea>
                </Show>
                <label class="check"><input type="checkbox" id="bulk-selected" on:change=move |ev| only_selected.set(event_target_checked(&ev)) />
                    {move || format!("{} ({})", i18n.t(key!("groups.bulk.only_selected")), selected.with(|s| s.len()))}</label>
                <button class="primary" type="button" id="dry-run" on:click=dry_run disabled=move || dry.pending().get()>{move || i18n.t(key!("groups.bulk.dry_run"))}</button>
            </form>
            <ErrorNote error=find.error() />
            <ErrorNote error=dry.error() id="dry-run-error" />
            <ErrorNote error=run.error() />
            <Show when=move || hits.with(|h| !h.is_empty())>
                <ul class="plain small" id="person-hits">
                    {move || hits.get().into_iter().map(|h| {
                        let (name, ids) = who(&h.member);
                        let requested = h.requested;
                        view! { <li>{h.subject.clone()}" — "{name}" "{ids}
                            {requested.then(|| view! { <span class="pill">{move || i18n.t(key!("groups.bulk.asked"))}</span> })}</li> }
                    }).collect_view()}
                </ul>
            </Show>
            {move || plan.get().map(|p| {
                let acts = p.counts.get(&Verdict::Act).copied().unwrap_or(0);
                let counts: Vec<(Verdict, u32)> = p.counts.iter().map(|(v, n)| (*v, *n)).collect();
                view! {
                    <div class="stack" id="plan">
                        <p class="count">{counts.into_iter().map(|(v, n)| view! { <span class="pill" data-verdict=format!("{v:?}")>{move || verdict_text(i18n, v)}": "{n}</span> }).collect_view()}</p>
                        <ul class="plain small plan-items">
                            {p.items.iter().filter(|i| i.verdict != Verdict::NothingToDo).take(200).map(|i| {
                                let v = i.verdict;
                                let number = label(&i.number_id);
                                view! { <li>{i.subject.clone()}" ("{number}"): "{move || verdict_text(i18n, v)}</li> }
                            }).collect_view()}
                        </ul>
                        <button class="primary" id="run-job" disabled=move || acts == 0 || run.pending().get() on:click=start>
                            {move || format!("{} ({acts})", i18n.t(key!("groups.bulk.run")))}</button>
                    </div>
                }
            })}
            {move || job.get().map(|j| {
                let total: u32 = j.counts.values().sum();
                let done: u32 = j.counts.iter().filter(|(s, _)| s.is_final()).map(|(_, n)| *n).sum();
                let pct = (done * 100).checked_div(total).unwrap_or(100);
                let id = j.id;
                let offline = j.count(ItemState::SkippedOffline);
                let running = j.state == switchboard_shared::groups::JobState::Running;
                let counts: Vec<(ItemState, u32)> = j.counts.iter().map(|(s, n)| (*s, *n)).collect();
                view! {
                    <div class="stack" id="job" data-state=format!("{:?}", j.state)>
                        <div class="progress"><span style=format!("width:{pct}%")></span></div>
                        <p class="count">{counts.into_iter().map(|(s, n)| view! { <span class="pill" data-item-state=s.as_str()>{move || state_text(i18n, s)}": "{n}</span> }).collect_view()}</p>
                        <div class="inline">
                            {running.then(|| view! { <button class="danger small" id="cancel-job" on:click=move |_| control.run(client::cancel_group_job(id), move |j| job.set(Some(j)))>{move || i18n.t(key!("groups.bulk.cancel"))}</button> })}
                            {(offline > 0 && !running).then(|| view! { <button class="secondary small" id="rerun-job" on:click=move |_| control.run(client::rerun_group_job(id), move |j| job.set(Some(j)))>{move || format!("{} ({offline})", i18n.t(key!("groups.bulk.rerun")))}</button> })}
                        </div>
                        <ul class="plain small job-items">
                            {j.items.iter().filter(|i| i.state != Some(ItemState::Skipped)).take(200).map(|i| {
                                let s = i.state.unwrap_or(ItemState::Waiting);
                                view! { <li data-item-state=s.as_str()>{i.subject.clone()}": "{move || state_text(i18n, s)}{i.detail.clone().map(|d| format!(" — {d}"))}</li> }
                            }).collect_view()}
                        </ul>
                    </div>
                }
            })}
            <ErrorNote error=control.error() />
        </details>
    }
}
