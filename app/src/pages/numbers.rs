//! The numbers overview: every business number and its health.

use leptos::prelude::*;
use switchboard_shared::api::Number;

use crate::api;
use crate::components::format_time;
use crate::i18n::use_i18n;
use crate::store::use_inbox;

/// "TIER_2K" → "2,000"; unknown tiers are shown as Meta wrote them.
fn tier_size(tier: &str) -> Option<&'static str> {
    Some(match tier {
        "TIER_250" => "250",
        "TIER_1K" => "1,000",
        "TIER_2K" => "2,000",
        "TIER_10K" => "10,000",
        "TIER_100K" => "100,000",
        _ => return None,
    })
}

#[component]
pub fn NumbersPage() -> impl IntoView {
    let i18n = use_i18n();
    let numbers = LocalResource::new(|| api::get::<Vec<Number>>("/api/v1/numbers"));
    view! {
        <section class="page">
            <h1>{move || i18n.t("numbers.title")}</h1>
            <Suspense fallback=move || view! { <p class="muted">{i18n.t("numbers.loading")}</p> }>
                {move || Suspend::new(async move {
                    match numbers.await {
                        Ok(list) if list.is_empty() => view! { <p class="empty">{i18n.t("numbers.empty")}</p> }.into_any(),
                        Ok(list) => view! {
                            <div class="cards">
                                {list.into_iter().map(|n| view! { <NumberCard number=n/> }).collect_view()}
                            </div>
                        }.into_any(),
                        Err(_) => view! { <p class="error" role="alert">{i18n.t("error.network")}</p> }.into_any(),
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
    let quality = number.quality_rating.clone();
    let quality_key = match quality.as_str() {
        "GREEN" => "quality.GREEN",
        "YELLOW" => "quality.YELLOW",
        "RED" => "quality.RED",
        "NA" => "quality.NA",
        _ => "quality.UNKNOWN",
    };
    let limit = number.messaging_limit.clone();
    let limit_text = move || match tier_size(&limit) {
        Some(n) => format!("{n} {}", i18n.t("numbers.per_day")),
        None if limit == "TIER_UNLIMITED" => i18n.t("numbers.unlimited"),
        None => limit.clone(),
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
                <span class="badge big" title=move || i18n.t("numbers.unread")>{unread}</span>
            </header>
            <dl>
                <dt>{move || i18n.t("numbers.quality")}</dt>
                <dd><span class="quality" data-quality=quality.clone()></span>{move || i18n.t(quality_key)}</dd>
                <dt>{move || i18n.t("numbers.limit")}</dt>
                <dd>{limit_text}</dd>
                <dt>{move || i18n.t("numbers.throughput")}</dt>
                <dd>{throughput} " " {move || i18n.t("numbers.per_second")}</dd>
                <dt>{move || i18n.t("numbers.last_webhook")}</dt>
                <dd>{move || last.map_or_else(|| i18n.t("numbers.never"), |t| format_time(t, i18n.lang.get().tag()))}</dd>
            </dl>
            <p class=if connected { "state ok" } else { "state bad" }>
                {move || if connected { i18n.t("numbers.connected") } else { i18n.t("numbers.disconnected") }}
                {problem.clone().map(|p| format!(" — {p}"))}
            </p>
        </article>
    }
}
