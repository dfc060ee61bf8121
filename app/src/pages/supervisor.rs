//! The supervisor's live view: load per number and per agent, fetched again when the event
//! stream says something changed (at most once a second), and every ten seconds only while the
//! stream is down. Waiting times keep counting up between fetches.

use crate::key;
use leptos::prelude::*;
use switchboard_shared::api::{Load, SupervisorQuery, SupervisorView};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::format_time;
use crate::components::scope::format_duration;
use crate::i18n::{use_i18n, Lang};
use crate::store::{use_inbox, Connection};

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
    let fetch = Mutation::new();
    // A fetch asked for while one runs (or within a second of the last) happens once, after.
    let again = RwSignal::new(false);
    let last_fetch = RwSignal::new(0.0_f64);
    let refresh = move || {
        if fetch.pending().get_untracked() || js_sys::Date::now() - last_fetch.get_untracked() < 1_000.0 {
            again.set(true);
            return;
        }
        last_fetch.set(js_sys::Date::now());
        let q = SupervisorQuery { day_start: Some(local_midnight()) };
        fetch.load(async move { client::supervisor(&q).await }, move |v| view_data.set(Some(v)));
    };
    refresh();
    // The clock the waiting times count up with, and the catch-up for a refresh held back.
    let clock = RwSignal::new(js_sys::Date::now() as i64);
    let ticks = RwSignal::new(0u32);
    let timer = set_interval_with_handle(
        move || {
            clock.set(js_sys::Date::now() as i64);
            ticks.update(|t| *t += 1);
            let stream_down = inbox.connection.get_untracked() != Connection::Live;
            if again.get_untracked() || (stream_down && ticks.get_untracked().is_multiple_of(10)) {
                again.set(false);
                refresh();
            }
        },
        std::time::Duration::from_secs(1),
    )
    .ok();
    on_cleanup(move || {
        if let Some(t) = timer {
            t.clear();
        }
    });
    // Something new on the stream (a message, a status, an assignment): fetch again.
    Effect::new(move |previous: Option<()>| {
        inbox.received.track();
        inbox.behind.track();
        if previous.is_some() {
            refresh();
        }
    });
    view! {
        <section class="page">
            <h1>{move || i18n.t(key!("sup.title"))}</h1>
            <ErrorNote error=fetch.error() />
            {move || match view_data.get() {
                None => view! { <p class="muted">{i18n.t(key!("common.loading"))}</p> }.into_any(),
                Some(v) => {
                    let generated = v.generated_at;
                    let elapsed = Signal::derive(move || (clock.get() - generated).max(0));
                    view! {
                        <p class="muted small">{move || i18n.t(key!("sup.updated"))} " " {move || format_time(generated, i18n.lang.get().tag())}</p>
                        <Backlog reading=v.backlog />
                        <h2>{move || i18n.t(key!("sup.numbers"))}</h2>
                        {if v.numbers.is_empty() {
                            view! { <p class="empty">{i18n.t(key!("sup.empty"))}</p> }.into_any()
                        } else {
                            view! { <LoadTable rows=v.numbers.clone() id="by-number" elapsed=elapsed /> }.into_any()
                        }}
                        <h2>{move || i18n.t(key!("sup.agents"))}</h2>
                        <LoadTable rows=v.agents.clone() id="by-agent" elapsed=elapsed />
                    }.into_any()
                }
            }}
        </section>
    }
}

/// How far the relay is behind with WhatsApp's webhooks, as of the figures shown.
#[component]
fn Backlog(reading: switchboard_shared::api::Backlog) -> impl IntoView {
    let i18n = use_i18n();
    let zh = move || i18n.lang.get() == Lang::ZhHant;
    let text = move || {
        if reading.waiting == 0 {
            i18n.t(key!("sup.backlog_none"))
        } else {
            i18n.t(key!("sup.backlog"))
                .replace("{waiting}", &reading.waiting.to_string())
                .replace("{age}", &format_duration(reading.behind_ms, zh()))
        }
    };
    view! { <p id="backlog" class:notice=reading.shown() class:muted=!reading.shown() data-waiting=reading.waiting>{text}</p> }
}

#[component]
/// `elapsed`: how long ago the figures were made, so waiting times keep counting.
fn LoadTable(rows: Vec<Load>, id: &'static str, elapsed: Signal<i64>) -> impl IntoView {
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
                                <td data-label=move || i18n.t(key!("sup.longest")) class:warn=move || longest.is_some_and(|w| w + elapsed.get() > 15 * 60_000)>{move || duration(longest.map(|w| w + elapsed.get()))}</td>
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
