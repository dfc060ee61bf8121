//! The supervisor's live view: load per number and per agent, refreshed every ten seconds
//! and whenever something arrives.

use crate::key;
use leptos::prelude::*;
use switchboard_shared::api::{Load, SupervisorView};

use crate::api;
use crate::components::format_time;
use crate::components::scope::format_duration;
use crate::i18n::{use_i18n, Lang};
use crate::store::use_inbox;

/// Midnight today in the viewer's time zone, for "first response today".
fn local_midnight() -> i64 {
    let now = js_sys::Date::new_0();
    now.set_hours(0);
    now.set_minutes(0);
    now.set_seconds(0);
    now.set_milliseconds(0);
    now.get_time() as i64
}

#[component]
pub fn SupervisorPage() -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let view_data = RwSignal::new(None::<SupervisorView>);
    let error = RwSignal::new(None::<String>);
    let refresh = move || {
        leptos::task::spawn_local(async move {
            match api::get::<SupervisorView>(&format!("/api/v1/supervisor?day_start={}", local_midnight())).await {
                Ok(v) => {
                    view_data.set(Some(v));
                    error.set(None);
                }
                Err(e) => error.set(Some(e.text(i18n))),
            }
        });
    };
    refresh();
    let timer = set_interval_with_handle(refresh, std::time::Duration::from_secs(10)).ok();
    on_cleanup(move || {
        if let Some(t) = timer {
            t.clear();
        }
    });
    // Something new on the stream: refresh (at most once a second would be plenty; the stream is calm).
    Effect::new(move |previous: Option<()>| {
        inbox.conversations.track();
        if previous.is_some() {
            refresh();
        }
    });
    view! {
        <section class="page">
            <h1>{move || i18n.t(key!("sup.title"))}</h1>
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
            {move || match view_data.get() {
                None => view! { <p class="muted">{i18n.t(key!("common.loading"))}</p> }.into_any(),
                Some(v) => {
                    let generated = v.generated_at;
                    view! {
                        <p class="muted small">{move || i18n.t(key!("sup.updated"))} " " {move || format_time(generated, i18n.lang.get().tag())}</p>
                        <h2>{move || i18n.t(key!("sup.numbers"))}</h2>
                        {if v.numbers.is_empty() {
                            view! { <p class="empty">{i18n.t(key!("sup.empty"))}</p> }.into_any()
                        } else {
                            view! { <LoadTable rows=v.numbers.clone() id="by-number" /> }.into_any()
                        }}
                        <h2>{move || i18n.t(key!("sup.agents"))}</h2>
                        <LoadTable rows=v.agents.clone() id="by-agent" />
                    }.into_any()
                }
            }}
        </section>
    }
}

#[component]
fn LoadTable(rows: Vec<Load>, id: &'static str) -> impl IntoView {
    let i18n = use_i18n();
    let zh = move || i18n.lang.get() == Lang::ZhHant;
    let most_waiting = rows.iter().map(|r| r.waiting).max().unwrap_or(0).max(1);
    let duration = move |ms: Option<i64>| ms.map_or_else(|| "—".to_owned(), |ms| format_duration(ms, zh()));
    view! {
        <div class="table-wrap">
            <table class="grid load" id=id>
                <thead><tr>
                    <th></th>
                    <th>{move || i18n.t(key!("sup.open"))}</th>
                    <th>{move || i18n.t(key!("sup.waiting"))}</th>
                    <th>{move || i18n.t(key!("sup.longest"))}</th>
                    <th>{move || i18n.t(key!("sup.handled"))}</th>
                    <th>{move || i18n.t(key!("sup.first_response"))}</th>
                </tr></thead>
                <tbody>
                    {rows.into_iter().map(|r| {
                        // Set through the CSSOM (`style:`), which the Content-Security-Policy allows; a style
                        // attribute would be blocked.
                        let width = format!("{}%", r.waiting * 100 / most_waiting);
                        let online = r.online;
                        let (longest, median) = (r.longest_wait_ms, r.median_first_response_ms);
                        view! {
                            <tr data-id=r.id.clone()>
                                <td>
                                    <span class="presence" class:on=online title=move || if online { i18n.t(key!("sup.online")) } else { i18n.t(key!("sup.offline")) }></span>
                                    <strong>{r.name.clone()}</strong>
                                </td>
                                <td data-label=move || i18n.t(key!("sup.open"))>{r.open}</td>
                                <td data-label=move || i18n.t(key!("sup.waiting")) class="waiting">
                                    <span class="bar" aria-hidden="true"><span style:width=width></span></span>
                                    <span class="num">{r.waiting}</span>
                                </td>
                                <td data-label=move || i18n.t(key!("sup.longest")) class:warn={longest.is_some_and(|w| w > 15 * 60_000)}>{move || duration(longest)}</td>
                                <td data-label=move || i18n.t(key!("sup.handled"))>{r.handled_last_hour}</td>
                                <td data-label=move || i18n.t(key!("sup.first_response"))>{move || duration(median)}</td>
                            </tr>
                        }
                    }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}
