//! The numbers overview: every business number and its health.

use crate::key;
use leptos::prelude::*;
use switchboard_shared::api::Number;
use switchboard_shared::numbers::{MessagingTier, QualityRating};

use leptos::ev::SubmitEvent;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{ConnectNumberRequest, NumberChange};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::components::{browser_time_zone, format_time, time_zones};
use crate::i18n::use_i18n;
use crate::store::use_inbox;
use crate::Session;

/// A tier as people read it: "2,000 a day", "unlimited", or "not known yet".
fn tier_text(i18n: crate::i18n::I18n, tier: MessagingTier) -> String {
    let size = match tier {
        MessagingTier::Tier250 => "250",
        MessagingTier::Tier1k => "1,000",
        MessagingTier::Tier2k => "2,000",
        MessagingTier::Tier10k => "10,000",
        MessagingTier::Tier100k => "100,000",
        MessagingTier::Unlimited => return i18n.t(key!("numbers.unlimited")),
        MessagingTier::Unknown => return i18n.t(key!("quality.UNKNOWN")),
    };
    format!("{size} {}", i18n.t(key!("numbers.per_day")))
}

#[component]
pub fn NumbersPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = expect_context::<Session>();
    let inbox = use_inbox();
    let reload = RwSignal::new(0u32);
    let numbers = LocalResource::new(move || {
        reload.track();
        client::numbers()
    });
    // Keep the inbox's copy (names on conversation rows, number pickers) in step.
    Effect::new(move |_| {
        if let Some(Ok(list)) = numbers.get() {
            inbox.numbers.set(list);
        }
    });
    let manage = session.me.get_untracked().is_some_and(|m| m.can(Permission::ManageNumbers));
    provide_context(NumbersReload(reload));
    view! {
        <section class="page">
            <h1>{move || i18n.t(key!("numbers.title"))}</h1>
            {manage.then(|| view! { <ConnectNumber reload=reload /> })}
            <Suspense fallback=move || view! { <p class="muted">{i18n.t(key!("numbers.loading"))}</p> }>
                {move || Suspend::new(async move {
                    match numbers.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{i18n.t(key!("numbers.empty"))}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="cards">
                                {list.into_iter().map(|n| view! { <NumberCard number=n/> }).collect_view()}
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
fn NumberCard(number: Number) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let id = number.id.clone();
    let api_unread = number.unread;
    // Live once the inbox is synced; the relay's count until then.
    let unread = move || {
        if inbox.loaded.get() {
            inbox.conversations.with(|l| l.iter().filter(|c| c.number_id == id).map(|c| c.unread).sum::<i64>())
        } else {
            api_unread
        }
    };
    let quality = number.quality_rating;
    let quality_key = match quality {
        QualityRating::Green => key!("quality.GREEN"),
        QualityRating::Yellow => key!("quality.YELLOW"),
        QualityRating::Red => key!("quality.RED"),
        QualityRating::NotRated => key!("quality.NA"),
        QualityRating::Unknown => key!("quality.UNKNOWN"),
    };
    let limit = number.messaging_limit;
    let limit_text = move || tier_text(i18n, limit);
    let session = expect_context::<Session>();
    let manage = session.me.get_untracked().is_some_and(|m| m.can(Permission::ManageNumbers));
    let NumbersReload(reload) = expect_context::<NumbersReload>();
    let action = Mutation::new();
    let disabled = number.disabled;
    let number_id = number.id.clone();
    let set_disabled = {
        let number_id = number_id.clone();
        move |disabled: bool| {
            let (id, change) = (number_id.clone(), NumberChange { disabled: Some(disabled), time_zone: None });
            action.run(async move { client::change_number(&id, &change).await }, move |_| reload.update(|n| *n += 1));
        }
    };
    let set_zone = {
        let number_id = number_id.clone();
        move |zone: String| {
            let (id, change) = (number_id.clone(), NumberChange { disabled: None, time_zone: Some(zone) });
            action.run(async move { client::change_number(&id, &change).await }, move |_| reload.update(|n| *n += 1));
        }
    };
    let zone = number.time_zone.clone();
    let zone_view = if manage {
        let current = zone.clone();
        let mut zones = time_zones();
        if !zones.contains(&current) {
            zones.insert(0, current.clone());
        }
        view! {
            <select class="time-zone" aria-label=move || i18n.t(key!("numbers.time_zone"))
                on:change=move |ev| set_zone(event_target_value(&ev))>
                {zones.into_iter().map(|z| { let selected = z == current; view! { <option value=z.clone() selected=selected>{z.clone()}</option> } }).collect_view()}
            </select>
        }.into_any()
    } else {
        view! { <span>{zone.clone()}</span> }.into_any()
    };
    let remove = move |_| {
        let ok = web_sys::window().and_then(|w| w.confirm_with_message(&i18n.t(key!("numbers.confirm_remove"))).ok()).unwrap_or(false);
        if !ok {
            return;
        }
        let id = number_id.clone();
        action.run(async move { client::remove_number(&id).await }, move |()| reload.update(|n| *n += 1));
    };
    let throughput = number.throughput_per_sec;
    let connected = number.connected;
    let problem = number.problem.clone();
    let last = number.last_webhook_at;
    view! {
        <article class="card number" data-number=number.id.clone()>
            <header>
                <div>
                    <h2>{number.verified_name.clone()}</h2>
                    <p class="muted">{number.display_phone_number.clone()}</p>
                </div>
                <span class="badge big" title=move || i18n.t(key!("numbers.unread"))>{unread}</span>
            </header>
            <dl>
                <dt>{move || i18n.t(key!("numbers.quality"))}</dt>
                <dd><span class="quality" data-quality=quality.as_str()></span>{move || i18n.t(quality_key)}</dd>
                <dt>{move || i18n.t(key!("numbers.limit"))}</dt>
                <dd>{limit_text}</dd>
                <dt>{move || i18n.t(key!("numbers.throughput"))}</dt>
                <dd>{throughput} " " {move || i18n.t(key!("numbers.per_second"))}</dd>
                <dt>{move || i18n.t(key!("numbers.last_webhook"))}</dt>
                <dd>{move || last.map_or_else(|| i18n.t(key!("numbers.never")), |t| format_time(t, i18n.lang.get().tag()))}</dd>
                <dt title=move || i18n.t(key!("numbers.time_zone_help"))>{move || i18n.t(key!("numbers.time_zone"))}</dt>
                <dd>{zone_view}</dd>
            </dl>
            <p class=if connected { "state ok" } else { "state bad" }>
                {move || if connected { i18n.t(key!("numbers.connected")) } else { i18n.t(key!("numbers.disconnected")) }}
                {problem.clone().map(|p| format!(" — {p}"))}
            </p>
            {disabled.then(|| view! { <p class="state warn">{move || i18n.t(key!("numbers.paused"))}</p> })}
            {manage.then(|| {
                let toggle = set_disabled.clone();
                view! {
                    <div class="row-actions">
                        <button type="button" class="secondary small" on:click=move |_| toggle(!disabled)>
                            {move || if disabled { i18n.t(key!("numbers.enable")) } else { i18n.t(key!("numbers.disable")) }}
                        </button>
                        <button type="button" class="danger small" on:click=remove>{move || i18n.t(key!("numbers.remove"))}</button>
                    </div>
                }
            })}
            <ErrorNote error=action.error() />
        </article>
    }
}

/// Lets a card ask the page to reload the list after a change.
#[derive(Clone, Copy)]
struct NumbersReload(RwSignal<u32>);

#[component]
fn ConnectNumber(reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let fields = [
        ("waba_id", key!("numbers.waba_id"), "text"),
        ("phone_number_id", key!("numbers.phone_number_id"), "text"),
        ("access_token", key!("numbers.access_token"), "password"),
        ("app_secret", key!("numbers.app_secret"), "password"),
        ("verify_token", key!("numbers.verify_token"), "text"),
    ];
    let values: Vec<RwSignal<String>> = fields.iter().map(|_| RwSignal::new(String::new())).collect();
    let zones = time_zones();
    let own_zone = browser_time_zone().unwrap_or_else(|| "UTC".to_owned());
    let zone = RwSignal::new(own_zone.clone());
    let connecting = Mutation::new();
    let busy = connecting.pending();
    let done = RwSignal::new(false);
    let v = values.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        done.set(false);
        let request = ConnectNumberRequest {
            waba_id: v[0].get_untracked(),
            phone_number_id: v[1].get_untracked(),
            access_token: v[2].get_untracked(),
            app_secret: v[3].get_untracked(),
            verify_token: v[4].get_untracked(),
            time_zone: Some(zone.get_untracked()),
        };
        let v = v.clone();
        connecting.run(async move { client::connect_number(&request).await }, move |_| {
            // Secrets leave the page as soon as they are saved.
            v.iter().for_each(|s| s.set(String::new()));
            done.set(true);
            reload.update(|n| *n += 1);
        });
    };
    view! {
        <details class="card form-card" id="connect-number">
            <summary><h2>{move || i18n.t(key!("numbers.connect"))}</h2></summary>
            <form class="stack" on:submit=submit autocomplete="off">
                <p class="muted small">{move || i18n.t(key!("numbers.connect_help"))}</p>
                {fields.into_iter().zip(values).map(|((id, label, kind), value)| view! {
                    <label class="field">
                        <span>{move || i18n.t(label)}</span>
                        <input id=format!("number-{id}") type=kind required={id != "verify_token"}
                            inputmode=if id.ends_with("_id") { "numeric" } else { "text" }
                            prop:value=value on:input=move |ev| value.set(event_target_value(&ev)) />
                    </label>
                }).collect_view()}
                <label class="field">
                    <span>{move || i18n.t(key!("numbers.time_zone"))}</span>
                    <select id="number-time_zone" on:change=move |ev| zone.set(event_target_value(&ev))>
                        {zones.into_iter().map(|z| { let selected = z == own_zone; view! { <option value=z.clone() selected=selected>{z.clone()}</option> } }).collect_view()}
                    </select>
                    <span class="muted small">{move || i18n.t(key!("numbers.time_zone_help"))}</span>
                </label>
                <ErrorNote error=connecting.error() id="connect-error" />
                <Show when=move || done.get()>
                    <p class="state ok">{move || i18n.t(key!("numbers.connected_ok"))}</p>
                </Show>
                <button id="connect" type="submit" class="primary" disabled=busy>
                    {move || if busy.get() { i18n.t(key!("numbers.connecting")) } else { i18n.t(key!("numbers.connect")) }}
                </button>
            </form>
        </details>
    }
}
