//! Broadcasts: compose (numbers, an approved template with a live preview, values per contact,
//! audience, time, frequency cap), follow the live report with a funnel chart, pause, resume,
//! cancel, drill into recipients, export, and send again to those who did not read.

use crate::key;
use leptos::prelude::*;
use switchboard_shared::api::{Broadcast, RecipientQuery};
use switchboard_shared::broadcast::{self as b, Audience, BroadcastSpec, BroadcastState, ControlAction, FrequencyCap, RecipientState};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::scope::number_label;
use crate::components::{format_date_time, format_time, format_time_in};
use crate::i18n::{use_i18n, I18n};
use crate::store::{use_inbox, Connection};

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 / whole as f64 * 1000.0).round() / 10.0
    }
}

fn rate(i18n: I18n, r: Option<f64>) -> String {
    r.map_or_else(|| i18n.t(key!("common.none")), |r| format!("{:.1}%", r * 100.0))
}

fn state_label(i18n: I18n, state: &str) -> String {
    i18n.lookup(&format!("broadcast.state.{state}")).unwrap_or_else(|| state.to_owned())
}

#[component]
pub fn BroadcastsPage() -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let list = RwSignal::new(Vec::<Broadcast>::new());
    let loaded = RwSignal::new(false);
    let fetch = Mutation::new();
    let selected = RwSignal::new(None::<i64>);
    // Bumped after a sync, so the composer lists what was just fetched.
    let templates_synced = RwSignal::new(0u32);
    let refresh = move || {
        fetch.load(client::broadcasts(), move |l| {
            list.set(l);
            loaded.set(true);
        });
    };
    refresh();
    // Live from the event stream: each report the relay sends replaces the one shown; a
    // broadcast the list does not have yet (someone else made it) brings the list again.
    let asked_for = StoredValue::new(std::collections::HashSet::<i64>::new());
    inbox.add_follower(crate::store::details);
    Effect::new(move |_| {
        let latest = inbox.broadcasts.get();
        let mut unknown = false;
        list.update(|l| {
            for (id, progress) in &latest {
                match l.iter_mut().find(|b| b.id == *id) {
                    Some(b) if b.progress() != *progress => b.apply(progress.clone()),
                    Some(_) => {}
                    None => unknown |= asked_for.try_update_value(|a| a.insert(*id)).unwrap_or(false),
                }
            }
        });
        if unknown {
            refresh();
        }
    });
    // Only while the stream is down (and something is live) is the list asked for again.
    let handle = set_interval_with_handle(
        move || {
            // Statuses and replies keep coming after the last send: keep following a broadcast
            // for ten minutes after it finished.
            let now = js_sys::Date::now() as i64;
            let live = |b: &Broadcast| !b.state.is_finished() || b.completed_at.is_some_and(|t| now - t < 600_000);
            if inbox.connection.get_untracked() != Connection::Live && list.with_untracked(|l| l.iter().any(live)) {
                refresh();
            }
        },
        std::time::Duration::from_secs(5),
    )
    .ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
    let on_created = Callback::new(move |id: i64| {
        selected.set(Some(id));
        refresh();
        // Show the new broadcast's report once it is drawn.
        leptos::task::spawn_local(async move {
            crate::components::sleep_ms(600).await;
            if let Some(el) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id("broadcast-report")) {
                el.scroll_into_view();
            }
        });
    });
    view! {
        <section class="page">
            <h1>{move || i18n.t(key!("broadcast.title"))}</h1>
            <Composer on_created=on_created templates_synced=templates_synced />
            <TemplatesCard synced=templates_synced />
            <ErrorNote error=fetch.error() />
            <Show when=move || loaded.get() && list.with(Vec::is_empty)>
                <p class="empty">{move || i18n.t(key!("broadcast.empty"))}</p>
            </Show>
            <div class="broadcast-list" id="broadcasts">
                <For each=move || list.get() key=|b| (b.id, b.state.as_str(), b.counts.accepted, b.counts.delivered, b.counts.read, b.counts.failed) children=move |bc| {
                    let id = bc.id;
                    let done = bc.counts.accepted + bc.counts.failed + bc.counts.skipped_total() + bc.counts.cancelled;
                    let progress = percent(done.min(bc.counts.audience), bc.counts.audience);
                    let state = bc.state.as_str();
                    let shown_state = state;
                    view! {
                        <button type="button" class="card broadcast-row" class:selected=move || selected.get() == Some(id) on:click=move |_| selected.set(Some(id))>
                            <div class="row-top">
                                <strong>{bc.spec.name.clone()}</strong>
                                <span class="pill" data-state=state>{move || state_label(i18n, shown_state)}</span>
                            </div>
                            <div class="progress small"><span style:width=format!("{progress}%")></span></div>
                            <div class="row-bottom muted">
                                <span>{move || i18n.t(key!("broadcast.progress_line")).replace("{done}", &done.to_string()).replace("{total}", &bc.counts.audience.to_string())}</span>
                                // Scheduled: when it starts; otherwise when it was made.
                                {let scheduled = bc.state == BroadcastState::Scheduled;
                                let at = if scheduled { bc.send_at } else { bc.created_at };
                                move || {
                                    if scheduled {
                                        i18n.t(key!("broadcast.starts")).replace("{when}", &format_date_time(at, i18n.lang.get().tag()))
                                    } else {
                                        format_time(at, i18n.lang.get().tag())
                                    }
                                }}
                            </div>
                        </button>
                    }
                } />
            </div>
            {move || selected.get().and_then(|id| list.with(|l| l.iter().find(|b| b.id == id).cloned())).map(|bc| view! { <Report broadcast=bc on_change=Callback::new(move |_| refresh()) on_created=on_created /> })}
        </section>
    }
}

#[component]
fn Composer(on_created: Callback<i64>, templates_synced: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let templates = LocalResource::new(move || {
        templates_synced.track();
        client::templates()
    });
    let segments = LocalResource::new(client::segments);
    let name = RwSignal::new(String::new());
    let numbers = RwSignal::new(Vec::<String>::new());
    let template = RwSignal::new(String::new()); // "name|language"
    let parameters = RwSignal::new(Vec::<String>::new());
    let image = RwSignal::new(String::new());
    let audience_kind = RwSignal::new("segment".to_owned());
    let expression = RwSignal::new(String::new());
    let phones = RwSignal::new(String::new());
    let when = RwSignal::new(String::new());
    let cap_on = RwSignal::new(false);
    let cap_max = RwSignal::new(2u32);
    let cap_days = RwSignal::new(30u32);
    let creating = Mutation::new();
    let busy = creating.pending();
    // Each approved template once, though several accounts may have it.
    let approved = move || {
        let mut seen = std::collections::HashSet::new();
        templates
            .get()
            .and_then(|r| r.ok())
            .unwrap_or_default()
            .into_iter()
            .filter(|t| t.status == "APPROVED" && seen.insert((t.name.clone(), t.language.clone())))
            .collect::<Vec<_>>()
    };
    let chosen = move || {
        let key = template.get();
        approved().into_iter().find(|t| format!("{}|{}", t.name, t.language) == key)
    };
    // Keep one value box per placeholder of the chosen template.
    Effect::new(move |_| {
        let wanted = chosen().map_or(0, |t| b::body_text(&t.components).map_or(0, b::placeholders));
        if parameters.with_untracked(Vec::len) != wanted {
            parameters.set(vec![String::new(); wanted]);
        }
    });
    let param_indices = move || (0..parameters.with(Vec::len)).collect::<Vec<usize>>();
    let needs_image = move || chosen().is_some_and(|t| b::has_image_header(&t.components));
    let preview = move || {
        chosen().map(|t| {
            let values: Vec<String> = parameters
                .get()
                .iter()
                .enumerate()
                .map(|(i, v)| if v.is_empty() { format!("{{{{{}}}}}", i + 1) } else { v.clone() })
                .collect();
            b::render(b::body_text(&t.components).unwrap_or_default(), &values)
        })
    };
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(t) = chosen() else {
            creating.refuse(key!("broadcast.need_template"));
            return;
        };
        let audience = match audience_kind.get_untracked().as_str() {
            "list" => Audience::List {
                phones: phones.get_untracked().split(['\n', ',', ';']).map(|p| p.trim().to_owned()).filter(|p| !p.is_empty()).collect(),
            },
            _ => Audience::Segment { expression: expression.get_untracked() },
        };
        let spec = BroadcastSpec {
            name: name.get_untracked(),
            numbers: numbers.get_untracked(),
            template: t.name.clone(),
            language: t.language.clone(),
            category: t.category.clone(),
            parameters: parameters.get_untracked(),
            header_image_link: needs_image().then(|| image.get_untracked()),
            audience,
            send_at: None,
            send_local: Some(when.get_untracked()).filter(|w| !w.is_empty()),
            starts: Default::default(),
            frequency_cap: cap_on.get_untracked().then(|| FrequencyCap { max: cap_max.get_untracked(), days: cap_days.get_untracked() }),
            creator_numbers: None,
        };
        creating.run(async move { client::create_broadcast(&spec).await }, move |created| on_created.run(created.id));
    };
    view! {
        <details class="card form-card" id="new-broadcast">
            <summary><h2>{move || i18n.t(key!("broadcast.new"))}</h2></summary>
            <form class="stack" on:submit=submit>
                <label class="field">
                    <span>{move || i18n.t(key!("broadcast.name"))}</span>
                    <input id="broadcast-name" required maxlength="120" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
                <fieldset class="field">
                    <legend>{move || i18n.t(key!("broadcast.numbers"))}</legend>
                    <div class="checks">
                        <For each=move || inbox.numbers.get() key=|n| n.id.clone() children=move |n| {
                            let id = n.id.clone();
                            let id2 = id.clone();
                            view! {
                                <label class="check">
                                    <input type="checkbox" value=id.clone() prop:checked=move || numbers.with(|l| l.contains(&id2))
                                        on:change=move |ev| {
                                            let on = event_target_checked(&ev);
                                            let id = id.clone();
                                            numbers.update(|l| { l.retain(|x| *x != id); if on { l.push(id); } });
                                        } />
                                    {number_label(&n)}
                                </label>
                            }
                        } />
                    </div>
                    <span class="muted small">{move || i18n.t(key!("broadcast.numbers_note"))}</span>
                </fieldset>
                <label class="field">
                    <span>{move || i18n.t(key!("broadcast.template"))}</span>
                    <select id="broadcast-template" on:change=move |ev| template.set(event_target_value(&ev))>
                        <option value="">{move || i18n.t(key!("broadcast.choose_template"))}</option>
                        {move || approved().into_iter().map(|t| {
                            let key = format!("{}|{}", t.name, t.language);
                            let label = format!("{} · {} · {}", t.name, t.language, t.category);
                            view! { <option value=key.clone() selected=move || template.get() == key>{label}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <For each=param_indices key=|i| *i children=move |i| view! {
                    <label class="field">
                        <span>{move || i18n.t(key!("broadcast.value")).replace("{n}", &(i + 1).to_string())}</span>
                        <input class="param" data-index=i.to_string() placeholder="{name}"
                            prop:value=move || parameters.with(|p| p.get(i).cloned().unwrap_or_default())
                            on:input=move |ev| { let v = event_target_value(&ev); parameters.update(|p| if let Some(x) = p.get_mut(i) { *x = v }); } />
                    </label>
                } />
                <Show when=move || parameters.with(|p| !p.is_empty())>
                    <p class="muted small">{move || i18n.t(key!("broadcast.values_note"))}</p>
                </Show>
                <Show when=needs_image>
                    <label class="field">
                        <span>{move || i18n.t(key!("broadcast.image"))}</span>
                        <input id="broadcast-image" type="url" placeholder="https://…/today.jpg" prop:value=image on:input=move |ev| image.set(event_target_value(&ev)) />
                    </label>
                </Show>
                {move || preview().map(|text| view! {
                    <div class="preview" id="template-preview">
                        <span class="muted small">{i18n.t(key!("broadcast.preview"))}</span>
                        <Show when=needs_image><div class="preview-image">{move || i18n.t(key!("broadcast.picture"))}</div></Show>
                        <p>{text}</p>
                    </div>
                })}
                <fieldset class="field">
                    <legend>{move || i18n.t(key!("broadcast.audience"))}</legend>
                    <div class="checks">
                        <label class="check"><input type="radio" name="audience" value="segment" prop:checked=move || audience_kind.get() == "segment" on:change=move |_| audience_kind.set("segment".into()) />{move || i18n.t(key!("broadcast.by_segment"))}</label>
                        <label class="check"><input type="radio" name="audience" value="list" prop:checked=move || audience_kind.get() == "list" on:change=move |_| audience_kind.set("list".into()) />{move || i18n.t(key!("broadcast.by_list"))}</label>
                    </div>
                    <Show when=move || audience_kind.get() == "segment" fallback=move || view! {
                        <textarea id="broadcast-phones" rows="4" placeholder="+852 9123 4567" prop:value=phones on:input=move |ev| phones.set(event_target_value(&ev))></textarea>
                    }>
                        <div class="chips">
                            {move || segments.get().and_then(|r| r.ok()).unwrap_or_default().into_iter().map(|s| {
                                let e = s.expression.clone();
                                view! { <button type="button" class="chip" on:click=move |_| expression.set(e.clone())>{s.name.clone()}</button> }
                            }).collect_view()}
                        </div>
                        <input id="broadcast-segment" placeholder="tag vip and opted_in" prop:value=expression on:input=move |ev| expression.set(event_target_value(&ev)) />
                    </Show>
                </fieldset>
                <div class="form-grid">
                    <label class="field">
                        <span>{move || i18n.t(key!("broadcast.when"))}</span>
                        <input id="broadcast-when" type="datetime-local" prop:value=when on:input=move |ev| when.set(event_target_value(&ev)) />
                        <span class="muted small" id="broadcast-when-note">{move || {
                            let ids = numbers.get();
                            let zones: std::collections::BTreeSet<String> =
                                inbox.numbers.with(|l| l.iter().filter(|n| ids.contains(&n.id)).map(|n| n.time_zone.clone()).collect());
                            let zones = zones.into_iter().collect::<Vec<_>>().join(", ");
                            i18n.t(key!("broadcast.when_note")).replace("{zones}", if zones.is_empty() { "—" } else { &zones })
                        }}</span>
                    </label>
                    <div class="field">
                        <label class="check"><input type="checkbox" id="cap-on" prop:checked=cap_on on:change=move |ev| cap_on.set(event_target_checked(&ev)) />{move || i18n.t(key!("broadcast.cap"))}</label>
                        <Show when=move || cap_on.get()>
                            <div class="inline">
                                <input type="number" min="1" max="50" class="short" prop:value=move || cap_max.get().to_string() on:input=move |ev| cap_max.set(event_target_value(&ev).parse().unwrap_or(1)) />
                                <span>{move || i18n.t(key!("broadcast.cap_in"))}</span>
                                <input type="number" min="1" max="365" class="short" prop:value=move || cap_days.get().to_string() on:input=move |ev| cap_days.set(event_target_value(&ev).parse().unwrap_or(30)) />
                                <span>{move || i18n.t(key!("broadcast.cap_days"))}</span>
                            </div>
                        </Show>
                    </div>
                </div>
                <ErrorNote error=creating.error() id="broadcast-error" />
                <button type="submit" class="primary" id="broadcast-submit" disabled=move || busy.get()>
                    {move || if busy.get() { i18n.t(key!("common.saving")) } else if when.get().is_empty() { i18n.t(key!("broadcast.send_now")) } else { i18n.t(key!("broadcast.schedule")) }}
                </button>
            </form>
        </details>
    }
}

/// Every template of the accounts behind the user's numbers, with its review status, and a way
/// to fetch them from WhatsApp again now.
#[component]
fn TemplatesCard(synced: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    // Which numbers send with an account's templates, as people know them.
    let used_by = move |waba: &str| {
        inbox
            .numbers
            .with_untracked(|l| l.iter().filter(|n| n.waba_id == waba).map(|n| n.verified_name.clone()).collect::<Vec<_>>().join(", "))
    };
    let templates = LocalResource::new(move || {
        synced.track();
        client::templates()
    });
    let syncing = Mutation::new();
    let busy = syncing.pending();
    let sync = move |_| syncing.run(client::sync_templates(), move |_| synced.update(|n| *n += 1));
    let status_class = |status: &str| match status {
        "APPROVED" => "pill ok",
        "PENDING" | "IN_APPEAL" => "pill warn",
        "REJECTED" | "DISABLED" | "PAUSED" => "pill bad",
        _ => "pill",
    };
    view! {
        <details class="card form-card" id="templates">
            <summary><h2>{move || i18n.t(key!("templates.title"))}</h2></summary>
            <div class="stack">
                <div class="row-actions">
                    <button type="button" id="sync-templates" class="secondary" disabled=busy on:click=sync>
                        {move || if busy.get() { i18n.t(key!("templates.syncing")) } else { i18n.t(key!("templates.sync")) }}
                    </button>
                    <span class="muted small">{move || i18n.t(key!("templates.note"))}</span>
                </div>
                <ErrorNote error=syncing.error() />
                <Suspense fallback=move || view! { <p class="muted">{i18n.t(key!("common.loading"))}</p> }>
                    {move || Suspend::new(async move {
                        match templates.await {
                            Ok(list) if list.is_empty() => view! { <p class="empty">{i18n.t(key!("templates.empty"))}</p> }.into_any(),
                            Ok(list) => {
                                let synced_at = list.iter().map(|t| t.synced_at).max().unwrap_or(0);
                                view! {
                                    <p class="muted small" id="templates-synced">{i18n.t(key!("templates.synced")).replace("{when}", &format_date_time(synced_at, i18n.lang.get_untracked().tag()))}</p>
                                    <div class="table-wrap">
                                        <table class="grid" id="template-list">
                                            <thead><tr>
                                                <th>{i18n.t(key!("templates.name"))}</th>
                                                <th>{i18n.t(key!("templates.category"))}</th>
                                                <th>{i18n.t(key!("templates.status"))}</th>
                                                <th>{i18n.t(key!("templates.body"))}</th>
                                            </tr></thead>
                                            <tbody>
                                                {list.into_iter().map(|t| {
                                                    let status = i18n.lookup(&format!("templates.status.{}", t.status)).unwrap_or_else(|| t.status.clone());
                                                    let body = b::body_text(&t.components).unwrap_or_default().to_owned();
                                                    let category = i18n.lookup(&format!("templates.category.{}", t.category)).unwrap_or_else(|| t.category.clone());
                                                    view! {
                                                        <tr data-template=format!("{}|{}", t.name, t.language)>
                                                            <td data-label=i18n.t(key!("templates.name"))>
                                                                <strong>{t.name.clone()}</strong>" "<span class="muted small">{t.language.clone()}</span>
                                                                <div class="muted small">{used_by(&t.waba_id)}</div>
                                                            </td>
                                                            <td data-label=i18n.t(key!("templates.category"))>{category}</td>
                                                            <td data-label=i18n.t(key!("templates.status"))><span class=status_class(&t.status) data-status=t.status.clone()>{status}</span></td>
                                                            <td data-label=i18n.t(key!("templates.body")) class="template-body">{body}</td>
                                                        </tr>
                                                    }
                                                }).collect_view()}
                                            </tbody>
                                        </table>
                                    </div>
                                }.into_any()
                            }
                            Err(e) => view! { <ErrorNote error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                        }
                    })}
                </Suspense>
            </div>
        </details>
    }
}

#[component]
fn Report(broadcast: Broadcast, on_change: Callback<()>, on_created: Callback<i64>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let bc = broadcast;
    let id = bc.id;
    let c = bc.counts.clone();
    let filter = RwSignal::new("all".to_owned());
    let recipients = LocalResource::new(move || {
        let f = filter.get();
        let q = RecipientQuery { filter: Some(f), limit: Some(100), offset: None };
        async move { client::recipients(id, &q).await }
    });
    let action = Mutation::new();
    let control = move |what: ControlAction| action.run(client::control_broadcast(id, what), move |_| on_change.run(()));
    let audience = c.audience;
    let bars = [
        (key!("broadcast.accepted"), c.accepted),
        (key!("broadcast.delivered"), c.delivered),
        (key!("broadcast.read"), c.read),
        (key!("broadcast.replied"), c.replied),
        (key!("broadcast.failed"), c.failed),
    ];
    let state = bc.state.as_str().to_owned();
    let running = state == "running" || state == "scheduled";
    let paused = state == "paused";
    let finished = state == "done" || state == "cancelled";
    let again_name = format!("{} (2)", bc.spec.name);
    let spec = bc.spec.clone();
    let send_again = move |_| {
        let mut s = spec.clone();
        s.name = again_name.clone();
        s.audience = Audience::Resend { broadcast_id: id };
        s.send_at = None;
        s.send_local = None;
        s.starts.clear();
        action.run(async move { client::create_broadcast(&s).await }, move |created| on_created.run(created.id));
    };
    let lang = move || i18n.lang.get().tag();
    view! {
        <div class="card stack report" id="broadcast-report" data-id=id.to_string()>
            <div class="page-head">
                <h2>{bc.spec.name.clone()}</h2>
                <span class="pill" data-state=state.clone()>{let s = state.clone(); move || state_label(i18n, &s)}</span>
            </div>
            <p class="muted">
                {let (template, send_at) = (bc.spec.template.clone(), bc.send_at);
                move || i18n.t(key!("broadcast.meta")).replace("{template}", &template).replace("{when}", &format_date_time(send_at, lang()))}
                " · "
                {let spec = bc.spec.clone();
                move || spec.numbers.iter().map(|n| {
                    let number = inbox.numbers.with(|l| l.iter().find(|x| &x.id == n).cloned());
                    let label = number.as_ref().map(number_label).unwrap_or_else(|| n.clone());
                    // Scheduled at a wall-clock time: each number's start where it is.
                    match (&spec.send_local, spec.starts.get(n), number) {
                        (Some(_), Some(at), Some(number)) => format!("{label} {} ({})", format_time_in(*at, lang(), &number.time_zone), number.time_zone),
                        _ => label,
                    }
                }).collect::<Vec<_>>().join(", ")}
            </p>
            {bc.paused_reason.as_deref().and_then(|r| r.strip_prefix("low_quality:")).map(|number| {
                let label = inbox.numbers.with_untracked(|l| l.iter().find(|n| n.id == number).map(number_label)).unwrap_or_else(|| number.to_owned());
                view! { <p class="warn-text" id="paused-reason" role="status">{move || i18n.t(key!("broadcast.paused_low_quality")).replace("{number}", &label)}</p> }
            })}
            <div class="tiles">
                <div class="tile"><span class="muted">{move || i18n.t(key!("broadcast.audience"))}</span><strong id="r-audience">{c.audience}</strong></div>
                <div class="tile"><span class="muted">{move || i18n.t(key!("broadcast.skipped"))}</span><strong id="r-skipped">{c.skipped_total()}</strong></div>
                <div class="tile"><span class="muted">{move || i18n.t(key!("broadcast.waiting"))}</span><strong id="r-waiting">{c.waiting}</strong></div>
                <div class="tile"><span class="muted">{move || i18n.t(key!("broadcast.opted_out"))}</span><strong>{c.opted_out}</strong></div>
            </div>
            <div class="funnel" aria-label=move || i18n.t(key!("broadcast.funnel"))>
                {bars.into_iter().map(|(key, n)| {
                    let p = percent(n, audience);
                    view! {
                        <div class="funnel-row" data-key=key.as_str()>
                            <span class="funnel-label">{move || i18n.t(key)}</span>
                            <span class="funnel-bar"><span style:width=format!("{p}%")></span></span>
                            <span class="funnel-value">{format!("{n} · {p}%")}</span>
                        </div>
                    }
                }).collect_view()}
            </div>
            <p class="muted">
                {let rates = (c.delivery_rate(), c.read_rate(), c.reply_rate(), c.failure_rate());
                move || format!("{} {} · {} {} · {} {} · {} {}",
                    i18n.t(key!("broadcast.delivery_rate")), rate(i18n, rates.0),
                    i18n.t(key!("broadcast.read_rate")), rate(i18n, rates.1),
                    i18n.t(key!("broadcast.reply_rate")), rate(i18n, rates.2),
                    i18n.t(key!("broadcast.failure_rate")), rate(i18n, rates.3))}
            </p>
            {bc.limit_window_opens_at.map(|at| view! {
                <p class="warn-text" id="limit-wait">{move || i18n.t(key!("broadcast.limit_wait")).replace("{n}", &c.waiting_for_limit.to_string()).replace("{when}", &format_time(at, lang()))}</p>
            })}
            {(!c.skipped.is_empty()).then(|| view! {
                <p class="muted">{move || i18n.t(key!("broadcast.skipped"))} ": "
                    {c.skipped.iter().map(|(k, n)| format!("{} {n}", i18n.lookup(&format!("skip.{k}")).unwrap_or_else(|| k.clone()))).collect::<Vec<_>>().join(" · ")}
                </p>
            })}
            {(!c.failed_by_code.is_empty()).then(|| view! {
                <p class="muted">{move || i18n.t(key!("broadcast.failed_by_code"))} ": "
                    {c.failed_by_code.iter().map(|(k, n)| format!("{k}: {n}")).collect::<Vec<_>>().join(" · ")}
                </p>
            })}
            <div class="row-actions">
                {running.then(|| view! { <button type="button" id="pause" class="secondary" on:click=move |_| control(ControlAction::Pause)>{move || i18n.t(key!("broadcast.pause"))}</button> })}
                {paused.then(|| view! { <button type="button" id="resume" on:click=move |_| control(ControlAction::Resume)>{move || i18n.t(key!("broadcast.resume"))}</button> })}
                {(!finished).then(|| view! { <button type="button" id="cancel" class="danger" on:click=move |_| {
                    if web_sys::window().and_then(|w| w.confirm_with_message(&i18n.t(key!("broadcast.confirm_cancel"))).ok()).unwrap_or(false) { control(ControlAction::Cancel) }
                }>{move || i18n.t(key!("broadcast.cancel"))}</button> })}
                {finished.then(|| view! { <button type="button" id="send-again" class="secondary" on:click=send_again.clone()>{move || i18n.t(key!("broadcast.send_again"))}</button> })}
                <a class="button secondary" href=client::broadcast_export_url(id) download=format!("broadcast-{id}.csv")>{move || i18n.t(key!("broadcast.export"))}</a>
            </div>
            <ErrorNote error=action.error() />
            <h3>{move || i18n.t(key!("broadcast.recipients"))}</h3>
            <select id="recipient-filter" on:change=move |ev| filter.set(event_target_value(&ev))>
                {["all", "accepted", "delivered", "read", "replied", "failed", "skipped", "queued", "cancelled"].into_iter().map(|f| view! {
                    <option value=f selected=move || filter.get() == f>{move || i18n.lookup(&format!("broadcast.filter.{f}")).unwrap_or_else(|| f.to_owned())}</option>
                }).collect_view()}
            </select>
            <Suspense fallback=move || view! { <p class="muted">{i18n.t(key!("common.loading"))}</p> }>
                {move || Suspend::new(async move {
                    match recipients.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{i18n.t(key!("broadcast.no_recipients"))}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="grid" id="recipients">
                                    <thead><tr>
                                        <th>{i18n.t(key!("contacts.phone"))}</th>
                                        <th>{i18n.t(key!("contacts.name"))}</th>
                                        <th>{i18n.t(key!("broadcast.outcome"))}</th>
                                        <th>{i18n.t(key!("broadcast.when_sent"))}</th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|r| {
                                            let outcome = match (&r.skipped, &r.status, &r.error_code) {
                                                (Some(s), _, _) => i18n.lookup(&format!("skip.{s}")).unwrap_or_else(|| s.clone()),
                                                (_, Some(s), Some(code)) if s == "failed" => format!("{} ({code})", i18n.t(key!("broadcast.failed"))),
                                                (_, _, Some(code)) if r.state == RecipientState::Failed => format!("{} ({code})", i18n.t(key!("broadcast.failed"))),
                                                (_, Some(s), _) => i18n.lookup(&format!("status.{s}")).unwrap_or_else(|| s.clone()),
                                                _ => state_label(i18n, r.state.as_str()),
                                            };
                                            let title = r.error_title.clone().unwrap_or_default();
                                            view! {
                                                <tr>
                                                    <td data-label=i18n.t(key!("contacts.phone"))>{format!("+{}", r.phone)}</td>
                                                    <td data-label=i18n.t(key!("contacts.name"))>{r.name.clone().unwrap_or_default()}</td>
                                                    <td data-label=i18n.t(key!("broadcast.outcome")) title=title>{outcome}</td>
                                                    <td data-label=i18n.t(key!("broadcast.when_sent"))>{r.accepted_at.map(|t| format_time(t, i18n.lang.get_untracked().tag())).unwrap_or_else(|| "—".into())}</td>
                                                </tr>
                                            }
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(e) => view! { <ErrorNote error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                    }
                })}
            </Suspense>
        </div>
    }
}
