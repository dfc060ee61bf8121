//! Agents: add many at once (each gets a one-time set-password link), change role and numbers,
//! disable and re-enable, send a new password link.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use std::collections::BTreeSet;
use switchboard_shared::access::Scope;
use switchboard_shared::api::{Agent, AgentChange, BulkAgentChange, CreatedAgent, NewAgentsRequest};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::scope::{describe_scope, ScopePicker};
use crate::i18n::{use_i18n, I18n};
use crate::store::use_inbox;
use crate::Session;

/// A role's name in the user's language (custom roles as they were named).
pub fn role_label(i18n: I18n, role: &str) -> String {
    i18n.lookup(&format!("role.{role}")).unwrap_or_else(|| role.to_owned())
}

/// The full link for a path the relay returned.
fn absolute(link: &str) -> String {
    let origin = web_sys::window().and_then(|w| w.location().origin().ok()).unwrap_or_default();
    format!("{origin}{link}")
}

fn copy(text: String) {
    if let Some(w) = web_sys::window() {
        let _ = w.navigator().clipboard().write_text(&text);
    }
}

#[component]
pub fn AgentsPage() -> impl IntoView {
    let i18n = use_i18n();
    let reload = RwSignal::new(0u32);
    let agents = LocalResource::new(move || {
        reload.track();
        client::agents()
    });
    let roles = LocalResource::new(client::roles);
    let role_names = Signal::derive(move || {
        roles.get().and_then(|r| r.ok()).map(|list| list.into_iter().map(|r| r.name).collect::<Vec<_>>()).unwrap_or_default()
    });
    let links = RwSignal::new(Vec::<CreatedAgent>::new());
    let on_links = Callback::new(move |created: Vec<CreatedAgent>| {
        links.set(created);
        reload.update(|n| *n += 1);
    });
    let selected = RwSignal::new(BTreeSet::<i64>::new());
    view! {
        <section class="page">
            <h1>{move || i18n.t(key!("agents.title"))}</h1>
            <NewAgents role_names=role_names on_links=on_links />
            <Show when=move || links.with(|l| !l.is_empty())>
                <div class="card links" id="new-links">
                    <p>{move || i18n.t(key!("agents.links"))}</p>
                    <ul>
                        <For each=move || links.get() key=|c| c.id children=move |c| {
                            let link = absolute(&c.set_password_link);
                            let shown = link.clone();
                            view! {
                                <li>
                                    <strong>{c.email.clone()}</strong>
                                    <code class="link-text">{shown}</code>
                                    <button type="button" class="secondary" on:click=move |_| copy(link.clone())>{move || i18n.t(key!("common.copy"))}</button>
                                </li>
                            }
                        } />
                    </ul>
                </div>
            </Show>
            <BulkAgents selected=selected role_names=role_names reload=reload />
            <Suspense fallback=move || view! { <p class="muted">{i18n.t(key!("common.loading"))}</p> }>
                {move || Suspend::new(async move {
                    match agents.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{i18n.t(key!("agents.empty"))}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="table-wrap">
                                <table class="grid" id="agents">
                                    <thead><tr>
                                        <th class="agent-pick-cell"><span class="sr-only">{i18n.t(key!("agents.bulk.pick"))}</span></th>
                                        <th>{i18n.t(key!("agents.name"))}</th>
                                        <th>{i18n.t(key!("agents.role"))}</th>
                                        <th>{i18n.t(key!("agents.numbers"))}</th>
                                        <th title=i18n.t(key!("agents.duty_help"))>{i18n.t(key!("agents.duty"))}</th>
                                        <th>{i18n.t(key!("agents.status"))}</th>
                                        <th></th>
                                    </tr></thead>
                                    <tbody>
                                        {list.into_iter().map(|a| view! { <AgentRow agent=a role_names=role_names on_links=on_links reload=reload selected=selected /> }).collect_view()}
                                    </tbody>
                                </table>
                            </div>
                        }.into_any(),
                        Err(e) => view! { <ErrorNote error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn NewAgents(role_names: Signal<Vec<String>>, on_links: Callback<Vec<CreatedAgent>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let emails = RwSignal::new(String::new());
    let role = RwSignal::new("Agent".to_owned());
    let scope = RwSignal::new(Scope::All);
    let assigned_only = RwSignal::new(false);
    let creating = Mutation::new();
    let busy = creating.pending();
    let numbers = Signal::derive(move || inbox.numbers.get());
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = NewAgentsRequest {
            emails: emails.get_untracked(),
            role: role.get_untracked(),
            scope: scope.get_untracked(),
            assigned_only: assigned_only.get_untracked(),
        };
        creating.run(async move { client::create_agents(&request).await }, move |created| {
            emails.set(String::new());
            on_links.run(created);
        });
    };
    view! {
        <details class="card form-card" id="add-agents">
            <summary><h2>{move || i18n.t(key!("agents.add"))}</h2></summary>
            <form on:submit=submit class="stack">
                <label class="field">
                    <span>{move || i18n.t(key!("agents.emails"))}</span>
                    <textarea id="agent-emails" rows="4" required placeholder={"mei@example.com\nken@example.com"}
                        prop:value=emails on:input=move |ev| emails.set(event_target_value(&ev))></textarea>
                </label>
                <label class="field">
                    <span>{move || i18n.t(key!("agents.role"))}</span>
                    <select id="agent-role" on:change=move |ev| role.set(event_target_value(&ev))>
                        <For each=move || role_names.get() key=|r| r.clone() children=move |r| {
                            let value = r.clone();
                            let label = r.clone();
                            view! { <option value=value.clone() selected=move || role.get() == value>{move || role_label(i18n, &label)}</option> }
                        } />
                    </select>
                </label>
                <fieldset class="field">
                    <legend>{move || i18n.t(key!("agents.numbers"))}</legend>
                    <ScopePicker scope=scope numbers=numbers name="new-agent-scope" />
                </fieldset>
                <label class="check">
                    <input type="checkbox" prop:checked=assigned_only on:change=move |ev| assigned_only.set(event_target_checked(&ev)) />
                    <span>{move || i18n.t(key!("agents.assigned_only"))}</span>
                </label>
                <ErrorNote error=creating.error() />
                <button id="create-agents" type="submit" class="primary" disabled=busy>
                    {move || if busy.get() { i18n.t(key!("agents.creating")) } else { i18n.t(key!("agents.create")) }}
                </button>
            </form>
        </details>
    }
}

#[component]
fn AgentRow(
    agent: Agent,
    role_names: Signal<Vec<String>>,
    on_links: Callback<Vec<CreatedAgent>>,
    reload: RwSignal<u32>,
    selected: RwSignal<BTreeSet<i64>>,
) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let me = session.me.get_untracked().map(|m| m.id);
    let is_me = me == Some(agent.id);
    let id = agent.id;
    let action = Mutation::new();
    let editing = RwSignal::new(false);
    let scope = RwSignal::new(agent.scope.clone());
    let numbers = Signal::derive(move || inbox.numbers.get());
    let change = move |c: AgentChange| {
        action.run(async move { client::change_agent(id, &c).await }, move |_| reload.update(|n| *n += 1));
    };
    let disable = move |_| {
        let ok = web_sys::window().and_then(|w| w.confirm_with_message(&i18n.t(key!("agents.confirm_disable"))).ok()).unwrap_or(false);
        if ok {
            change(AgentChange { disabled: Some(true), ..Default::default() });
        }
    };
    let reset = move |_| {
        action.run(client::password_link(id), move |link| on_links.run(vec![link]));
    };
    let role_now = agent.role.clone();
    let scope_text = {
        let s = agent.scope.clone();
        move || describe_scope(&s, &inbox.numbers.get(), i18n.t(key!("common.all_numbers")))
    };
    let (status_key, status_class) = match (agent.disabled, agent.password_set) {
        (true, _) => (key!("agents.disabled"), "pill bad"),
        (false, false) => (key!("agents.invited"), "pill warn"),
        (false, true) => (key!("agents.active"), "pill ok"),
    };
    let disabled = agent.disabled;
    let code = RwSignal::new(agent.code.clone().unwrap_or_default());
    let capacity = RwSignal::new(agent.capacity.map(|c| c.to_string()).unwrap_or_default());
    let save_duty = move |_| {
        // An unreadable capacity goes as -1, so the relay's message says what a capacity is.
        let cap = capacity.get_untracked().trim().to_owned();
        let cap = if cap.is_empty() { 0 } else { cap.parse().unwrap_or(-1) };
        change(AgentChange { code: Some(code.get_untracked()), capacity: Some(cap), ..Default::default() });
    };
    view! {
        <tr data-agent=id class:dim=disabled>
            <td class="agent-pick-cell">
                <input type="checkbox" class="agent-pick" aria-label=move || i18n.t(key!("agents.bulk.pick"))
                    prop:checked=move || selected.with(|s| s.contains(&id))
                    on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        selected.update(|s| { if on { s.insert(id); } else { s.remove(&id); } });
                    } />
            </td>
            <td data-label=move || i18n.t(key!("agents.name"))>
                <strong>{agent.name.clone()}</strong>
                {is_me.then(|| view! { <span class="muted">" (" {move || i18n.t(key!("agents.you"))} ")"</span> })}
                <br/><span class="muted small">{agent.email.clone()}</span>
            </td>
            <td data-label=move || i18n.t(key!("agents.role"))>
                <select class="role-select" disabled=is_me on:change=move |ev| change(AgentChange { role: Some(event_target_value(&ev)), ..Default::default() })>
                    <For each=move || role_names.get() key=|r| r.clone() children=move |r| {
                        let selected = r == role_now;
                        let label = r.clone();
                        view! { <option value=r.clone() selected=selected>{move || role_label(i18n, &label)}</option> }
                    } />
                </select>
                {agent.assigned_only.then(|| view! { <br/><span class="muted small">{move || i18n.t(key!("agents.assigned_only"))}</span> })}
            </td>
            <td data-label=move || i18n.t(key!("agents.numbers"))>
                <Show when=move || editing.get() fallback=move || view! {
                    <span>{scope_text.clone()}</span>
                    " "
                    <button type="button" class="text-button" on:click=move |_| editing.set(true)>{move || i18n.t(key!("agents.edit_numbers"))}</button>
                }>
                    <ScopePicker scope=scope numbers=numbers name=format!("scope-{id}") />
                    <div class="row-actions">
                        <button type="button" class="primary small" on:click=move |_| {
                            editing.set(false);
                            change(AgentChange { scope: Some(scope.get_untracked()), ..Default::default() });
                        }>{move || i18n.t(key!("common.save"))}</button>
                        <button type="button" class="secondary small" on:click=move |_| editing.set(false)>{move || i18n.t(key!("common.cancel"))}</button>
                    </div>
                </Show>
            </td>
            <td data-label=move || i18n.t(key!("agents.duty"))>
                <div class="duty-fields">
                    <input class="agent-code" size="6" placeholder="103" aria-label=move || i18n.t(key!("agents.code"))
                        prop:value=code on:input=move |ev| code.set(event_target_value(&ev)) />
                    <input class="agent-capacity" type="number" min="0" inputmode="numeric" placeholder="∞"
                        aria-label=move || i18n.t(key!("agents.capacity")) title=move || i18n.t(key!("agents.capacity"))
                        prop:value=capacity on:input=move |ev| capacity.set(event_target_value(&ev)) />
                    <button type="button" class="secondary small save-duty" on:click=save_duty>{move || i18n.t(key!("common.save"))}</button>
                </div>
                {
                    let (presence, class, key) = match (agent.away, agent.online) {
                        (true, _) => ("away", "pill warn agent-presence", key!("agents.away")),
                        (false, true) => ("online", "pill ok agent-presence", key!("agents.online")),
                        (false, false) => ("offline", "pill agent-presence", key!("agents.offline")),
                    };
                    view! { <span class=class data-presence=presence>{move || i18n.t(key)}</span> }
                }
            </td>
            <td data-label=move || i18n.t(key!("agents.status"))><span class=status_class>{move || i18n.t(status_key)}</span></td>
            <td class="row-actions">
                {(!is_me).then(|| if disabled {
                    view! { <button type="button" class="secondary small enable" on:click=move |_| change(AgentChange { disabled: Some(false), ..Default::default() })>{move || i18n.t(key!("agents.enable"))}</button> }.into_any()
                } else {
                    view! { <button type="button" class="danger small disable" on:click=disable>{move || i18n.t(key!("agents.disable"))}</button> }.into_any()
                })}
                <button type="button" class="secondary small reset" on:click=reset>{move || i18n.t(key!("agents.reset"))}</button>
                <ErrorNote error=action.error() />
            </td>
        </tr>
    }
}

/// One change for the selected agents: a role, a capacity, disabled or enabled. The relay
/// applies it to all of them or, if one cannot take it, to none and says why.
#[component]
fn BulkAgents(selected: RwSignal<BTreeSet<i64>>, role_names: Signal<Vec<String>>, reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = crate::store::use_inbox();
    let numbers = Signal::derive(move || inbox.numbers.get());
    let role = RwSignal::new(String::new());
    let capacity = RwSignal::new(String::new());
    // Numbers for all of them, chosen in a panel of their own.
    let choosing_numbers = RwSignal::new(false);
    let scope = RwSignal::new(Scope::All);
    let applying = Mutation::new();
    let done = RwSignal::new(None::<usize>);
    let apply = move |change: AgentChange| {
        let request = BulkAgentChange { agent_ids: selected.get_untracked().into_iter().collect(), change };
        done.set(None);
        applying.run(async move { client::change_agents(&request).await }, move |changed| {
            done.set(Some(changed.len()));
            selected.set(BTreeSet::new());
            role.set(String::new());
            capacity.set(String::new());
            choosing_numbers.set(false);
            reload.update(|n| *n += 1);
        });
    };
    let apply_fields = move |_| {
        let role = Some(role.get_untracked()).filter(|r| !r.is_empty());
        // An unreadable capacity goes as -1, so the relay's message says what a capacity is.
        let cap = capacity.get_untracked().trim().to_owned();
        let cap = if cap.is_empty() { None } else { Some(cap.parse().unwrap_or(-1)) };
        apply(AgentChange { role, capacity: cap, ..Default::default() });
    };
    view! {
        <Show when=move || done.get().is_some() && selected.with(BTreeSet::is_empty)>
            <p class="notice ok" id="agents-bulk-done">
                {move || i18n.t(key!("agents.bulk.done")).replace("{n}", &done.get().unwrap_or(0).to_string())}
            </p>
        </Show>
        <Show when=move || !selected.with(BTreeSet::is_empty)>
            <div class="bulk-bar card" id="agents-bulk">
                <span id="agents-bulk-count">
                    {move || i18n.t(key!("inbox.bulk.selected")).replace("{n}", &selected.with(BTreeSet::len).to_string())}
                </span>
                <select id="agents-bulk-role" prop:value=role on:change=move |ev| role.set(event_target_value(&ev))>
                    <option value="">{move || i18n.t(key!("agents.bulk.keep_role"))}</option>
                    <For each=move || role_names.get() key=|r| r.clone() children=move |r| {
                        let label = r.clone();
                        view! { <option value=r.clone()>{move || role_label(i18n, &label)}</option> }
                    } />
                </select>
                <input id="agents-bulk-capacity" class="agent-capacity" type="number" min="0" inputmode="numeric"
                    placeholder=move || i18n.t(key!("agents.bulk.keep_capacity")) title=move || i18n.t(key!("agents.capacity"))
                    prop:value=capacity on:input=move |ev| capacity.set(event_target_value(&ev)) />
                <button type="button" class="primary small" id="agents-bulk-apply" disabled=move || applying.pending().get()
                    on:click=apply_fields>{move || i18n.t(key!("agents.bulk.apply"))}</button>
                <button type="button" class="secondary small" id="agents-bulk-numbers"
                    on:click=move |_| choosing_numbers.update(|c| *c = !*c)>{move || i18n.t(key!("agents.edit_numbers"))}</button>
                <button type="button" class="secondary small" id="agents-bulk-enable"
                    on:click=move |_| apply(AgentChange { disabled: Some(false), ..Default::default() })>{move || i18n.t(key!("agents.enable"))}</button>
                <button type="button" class="danger small" id="agents-bulk-disable"
                    on:click=move |_| apply(AgentChange { disabled: Some(true), ..Default::default() })>{move || i18n.t(key!("agents.disable"))}</button>
                <button type="button" class="text-button" id="agents-bulk-clear"
                    on:click=move |_| selected.set(BTreeSet::new())>{move || i18n.t(key!("common.cancel"))}</button>
                <Show when=move || choosing_numbers.get()>
                    <div class="bulk-scope" id="agents-bulk-scope">
                        <ScopePicker scope=scope numbers=numbers name="bulk-scope" />
                        <button type="button" class="primary small" id="agents-bulk-scope-apply" disabled=move || applying.pending().get()
                            on:click=move |_| apply(AgentChange { scope: Some(scope.get_untracked()), ..Default::default() })>
                            {move || i18n.t(key!("agents.bulk.apply_numbers"))}
                        </button>
                    </div>
                </Show>
                <ErrorNote error=applying.error() />
            </div>
        </Show>
    }
}
