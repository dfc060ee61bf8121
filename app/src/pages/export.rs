//! Export conversations as CSV or JSON: the browser downloads the relay's stream directly.

use crate::key;
use leptos::prelude::*;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{ExportQuery, SupervisorQuery};

use crate::components::scope::number_label;
use crate::i18n::use_i18n;
use crate::store::use_inbox;
use crate::Session;

/// A `YYYY-MM-DD` from a date field as local midnight (UTC ms); `days` moves it forward.
fn local_day(value: &str, days: i64) -> Option<i64> {
    let mut parts = value.split('-').map(|p| p.parse::<i32>().ok());
    let (y, m, d) = (parts.next()??, parts.next()??, parts.next()??);
    let date = js_sys::Date::new_with_year_month_day(y as u32, m - 1, d);
    Some(date.get_time() as i64 + days * 86_400_000)
}

#[component]
pub fn ExportPage() -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let number = RwSignal::new(String::new());
    let agent = RwSignal::new(String::new());
    let from = RwSignal::new(String::new());
    let to = RwSignal::new(String::new());
    let format = RwSignal::new("csv".to_owned());
    let label = RwSignal::new(String::new());
    let can_see_agents = session.me.get_untracked().is_some_and(|m| m.can(Permission::ViewReports));
    let agents = LocalResource::new(move || async move {
        if can_see_agents {
            crate::client::supervisor(&SupervisorQuery::default()).await.map(|v| v.agents).unwrap_or_default()
        } else {
            Vec::new()
        }
    });
    let href = move || {
        let given = |s: String| (!s.trim().is_empty()).then(|| s.trim().to_owned());
        crate::client::export_url(&ExportQuery {
            format: Some(format.get()),
            number: given(number.get()),
            agent: agent.get().parse().ok(),
            from: local_day(&from.get(), 0),
            to: local_day(&to.get(), 1),
            label: given(label.get()),
        })
    };
    view! {
        <section class="page narrow">
            <h1>{move || i18n.t(key!("export.title"))}</h1>
            <div class="card stack">
                <label class="field">
                    <span>{move || i18n.t(key!("export.number"))}</span>
                    <select id="export-number" on:change=move |ev| number.set(event_target_value(&ev))>
                        <option value="">{move || i18n.t(key!("common.all_numbers"))}</option>
                        <For each=move || inbox.numbers.get() key=|n| n.id.clone() children=move |n| view! {
                            <option value=n.id.clone()>{number_label(&n)}</option>
                        } />
                    </select>
                </label>
                {can_see_agents.then(|| view! {
                    <label class="field">
                        <span>{move || i18n.t(key!("export.agent"))}</span>
                        <select id="export-agent" on:change=move |ev| agent.set(event_target_value(&ev))>
                            <option value="">{move || i18n.t(key!("export.anyone"))}</option>
                            {move || agents.get().unwrap_or_default().into_iter().map(|a| view! { <option value=a.id.clone()>{a.name.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                })}
                <label class="field">
                    <span>{move || i18n.t(key!("export.label"))}</span>
                    <input id="export-label" placeholder=move || i18n.t(key!("export.any_label")) prop:value=label
                        on:input=move |ev| label.set(event_target_value(&ev)) />
                </label>
                <div class="two">
                    <label class="field">
                        <span>{move || i18n.t(key!("export.from"))}</span>
                        <input id="export-from" type="date" prop:value=from on:input=move |ev| from.set(event_target_value(&ev)) />
                    </label>
                    <label class="field">
                        <span>{move || i18n.t(key!("export.to"))}</span>
                        <input id="export-to" type="date" prop:value=to on:input=move |ev| to.set(event_target_value(&ev)) />
                    </label>
                </div>
                <fieldset class="field">
                    <legend>{move || i18n.t(key!("export.format"))}</legend>
                    <label class="check"><input type="radio" name="format" prop:checked=move || format.get() == "csv" on:change=move |_| format.set("csv".into()) /><span>{move || i18n.t(key!("export.csv"))}</span></label>
                    <label class="check"><input type="radio" name="format" prop:checked=move || format.get() == "json" on:change=move |_| format.set("json".into()) /><span>{move || i18n.t(key!("export.json"))}</span></label>
                </fieldset>
                <a id="export-download" class="primary button" href=href download="">{move || i18n.t(key!("export.download"))}</a>
                <p class="muted small">{move || i18n.t(key!("export.note"))}</p>
            </div>
        </section>
    }
}
