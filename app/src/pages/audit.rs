//! The audit log: who did what, when, to what — searchable and filterable.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use serde_json::Value;
use switchboard_shared::api::{AuditEntry, AuditQuery};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::format_time;
use crate::i18n::{use_i18n, I18n};

const KINDS: [&str; 5] = ["agent.", "role.", "number.", "conversation.", "export."];
const PAGE: usize = 100;

/// "role: Agent → Supervisor, disabled: false → true": the fields that changed.
pub fn changes(before: &Option<Value>, after: &Option<Value>) -> String {
    let short = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => "—".into(),
        other => other.to_string(),
    };
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => a
            .iter()
            .filter(|(k, v)| b.get(*k) != Some(*v))
            .map(|(k, v)| format!("{k}: {} → {}", b.get(k).map(short).unwrap_or_else(|| "—".into()), short(v)))
            .collect::<Vec<_>>()
            .join(", "),
        (None, Some(Value::Object(a))) => a
            .iter()
            .filter(|(k, _)| ["email", "name", "role", "disabled", "format", "number", "from", "to"].contains(&k.as_str()))
            .filter(|(_, v)| !v.is_null())
            .map(|(k, v)| format!("{k}: {}", short(v)))
            .collect::<Vec<_>>()
            .join(", "),
        _ => String::new(),
    }
}

fn action_label(i18n: I18n, action: &str) -> String {
    i18n.lookup(&format!("action.{action}")).unwrap_or_else(|| action.to_owned())
}

fn query(q: String, kind: String, before_id: Option<i64>) -> AuditQuery {
    let given = |s: String| (!s.trim().is_empty()).then_some(s);
    AuditQuery { q: given(q), action: given(kind), before_id, limit: Some(PAGE as i64), ..AuditQuery::default() }
}

#[component]
pub fn AuditPage() -> impl IntoView {
    let i18n = use_i18n();
    let search = RwSignal::new(String::new());
    let kind = RwSignal::new(String::new());
    let entries = RwSignal::new(Vec::<AuditEntry>::new());
    let more = RwSignal::new(false);
    let loaded = RwSignal::new(false);
    let fetch = Mutation::new();
    let load = move |append: bool| {
        let before = if append { entries.with_untracked(|e| e.last().map(|x| x.id)) } else { None };
        let q = query(search.get_untracked(), kind.get_untracked(), before);
        fetch.load(async move { client::audit(&q).await }, move |list| {
            more.set(list.len() == PAGE);
            if append {
                entries.update(|e| e.extend(list));
            } else {
                entries.set(list);
            }
            loaded.set(true);
        });
    };
    load(false);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        load(false);
    };
    view! {
        <section class="page">
            <h1>{move || i18n.t(key!("audit.title"))}</h1>
            <form class="filters" on:submit=submit>
                <input id="audit-search" type="search" placeholder=move || i18n.t(key!("audit.search"))
                    prop:value=search on:input=move |ev| search.set(event_target_value(&ev)) />
                <select id="audit-kind" on:change=move |ev| { kind.set(event_target_value(&ev)); load(false); }>
                    <option value="">{move || i18n.t(key!("audit.all"))}</option>
                    {KINDS.into_iter().map(|k| view! { <option value=k>{move || i18n.lookup(&format!("audit.kind.{k}")).unwrap_or_default()}</option> }).collect_view()}
                </select>
            </form>
            <ErrorNote error=fetch.error() />
            <Show when=move || loaded.get() fallback=move || view! { <p class="muted">{i18n.t(key!("common.loading"))}</p> }>
                <Show when=move || entries.with(|e| !e.is_empty()) fallback=move || view! { <p class="empty">{i18n.t(key!("audit.empty"))}</p> }>
                    <div class="table-wrap">
                        <table class="grid" id="audit">
                            <thead><tr>
                                <th>{move || i18n.t(key!("audit.when"))}</th>
                                <th>{move || i18n.t(key!("audit.who"))}</th>
                                <th>{move || i18n.t(key!("audit.what"))}</th>
                                <th>{move || i18n.t(key!("audit.item"))}</th>
                                <th>{move || i18n.t(key!("audit.changes"))}</th>
                            </tr></thead>
                            <tbody>
                                <For each=move || entries.get() key=|e| e.id children=move |e| {
                                    let action = e.action.clone();
                                    let at = e.at;
                                    view! {
                                        <tr data-action=e.action.clone()>
                                            <td data-label=move || i18n.t(key!("audit.when"))>{move || format_time(at, i18n.lang.get().tag())}</td>
                                            <td data-label=move || i18n.t(key!("audit.who"))>{
                                                let actor = e.actor.clone();
                                                move || match actor.as_str() {
                                                    "cli" => i18n.t(key!("audit.cli")),
                                                    "link" => i18n.t(key!("audit.link")),
                                                    other => other.to_owned(),
                                                }
                                            }</td>
                                            <td data-label=move || i18n.t(key!("audit.what"))>{move || action_label(i18n, &action)}</td>
                                            <td data-label=move || i18n.t(key!("audit.item"))><code>{e.target.clone()}</code></td>
                                            <td data-label=move || i18n.t(key!("audit.changes")) class="changes">{changes(&e.before, &e.after)}</td>
                                        </tr>
                                    }
                                } />
                            </tbody>
                        </table>
                    </div>
                    <Show when=move || more.get()>
                        <button type="button" class="secondary" on:click=move |_| load(true)>{move || i18n.t(key!("common.load_more"))}</button>
                    </Show>
                </Show>
            </Show>
        </section>
    }
}
