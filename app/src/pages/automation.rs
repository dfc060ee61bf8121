//! Auto-replies and business hours: each number's opening hours, holidays and how it assigns
//! conversations; the rules that answer customers while nobody is at the console.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use switchboard_shared::support::{
    AssignmentMode, AutoAnswer, AutoRule, AutoRuleSpec, BusinessHours, Span, SupportSettings, TimeOfDay, Trigger, WEEKDAYS,
};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::i18n::{use_i18n, I18n};
use crate::store::use_inbox;

#[component]
pub fn AutomationPage() -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <section class="page" id="automation">
            <h1>{move || i18n.t(key!("auto.title"))}</h1>
            <p class="muted">{move || i18n.t(key!("auto.intro"))}</p>
            <HoursEditor />
            <Rules />
            <super::canned::CannedReplies />
        </section>
    }
}

/// One day's row in the editor: open or not, from, until.
#[derive(Clone, Copy)]
struct DayRow {
    open: RwSignal<bool>,
    from: RwSignal<String>,
    until: RwSignal<String>,
}

fn day_name(i18n: I18n, day: usize) -> String {
    let keys = [key!("day.mon"), key!("day.tue"), key!("day.wed"), key!("day.thu"), key!("day.fri"), key!("day.sat"), key!("day.sun")];
    i18n.t(keys[day])
}

/// A number's hours, holidays and assignment mode.
#[component]
fn HoursEditor() -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let number = RwSignal::new(String::new());
    // The first number once they are known.
    Effect::new(move |_| {
        if number.with_untracked(String::is_empty) {
            if let Some(first) = inbox.numbers.with(|n| n.first().map(|n| n.id.clone())) {
                number.set(first);
            }
        }
    });
    let days: Vec<DayRow> = (0..7)
        .map(|_| DayRow { open: RwSignal::new(false), from: RwSignal::new("09:00".into()), until: RwSignal::new("18:00".into()) })
        .collect();
    let always_open = RwSignal::new(true);
    let holidays = RwSignal::new(String::new());
    let assignment = RwSignal::new(AssignmentMode::Manual);
    let load = Mutation::new();
    let save = Mutation::new();
    let saved = RwSignal::new(false);
    let rows = days.clone();
    Effect::new(move |_| {
        let id = number.get();
        if id.is_empty() {
            return;
        }
        saved.set(false);
        let rows = rows.clone();
        load.run(async move { client::support_settings(&id).await }, move |s: SupportSettings| {
            assignment.set(s.assignment);
            always_open.set(s.hours.is_none());
            let hours = s.hours.unwrap_or_else(|| BusinessHours::weekdays("09:00", "18:00"));
            for (row, spans) in rows.iter().zip(&hours.week) {
                row.open.set(!spans.is_empty());
                if let (Some(first), Some(last)) = (spans.first(), spans.last()) {
                    row.from.set(first.open.to_string());
                    row.until.set(last.close.to_string());
                }
            }
            holidays.set(hours.closed_days.join(", "));
        });
    });
    let rows = days.clone();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let id = number.get_untracked();
        let hours = if always_open.get_untracked() {
            None
        } else {
            let mut week = Vec::new();
            for row in &rows {
                if !row.open.get_untracked() {
                    week.push(vec![]);
                    continue;
                }
                // An unreadable time is sent as written, so the relay's message names it.
                let (from, until) = (row.from.get_untracked(), row.until.get_untracked());
                match (TimeOfDay::parse(&from), TimeOfDay::parse(&until)) {
                    (Ok(open), Ok(close)) => week.push(vec![Span { open, close }]),
                    _ => week.push(vec![Span { open: TimeOfDay(0), close: TimeOfDay(0) }]),
                }
            }
            let closed_days =
                holidays.get_untracked().split([',', ' ', '\n']).map(str::trim).filter(|d| !d.is_empty()).map(str::to_owned).collect();
            Some(BusinessHours { week, closed_days })
        };
        let settings = SupportSettings { hours, assignment: assignment.get_untracked() };
        save.run(async move { client::save_support_settings(&id, &settings).await }, move |_| saved.set(true));
    };
    let modes = [
        (AssignmentMode::Manual, key!("auto.assign.manual")),
        (AssignmentMode::RoundRobin, key!("auto.assign.round_robin")),
        (AssignmentMode::LeastOpen, key!("auto.assign.least_open")),
    ];
    view! {
        <form class="card form-card stack" id="hours" on:submit=submit>
            <h2>{move || i18n.t(key!("auto.hours"))}</h2>
            <label class="field">
                <span>{move || i18n.t(key!("auto.number"))}</span>
                <select id="hours-number" on:change=move |ev| number.set(event_target_value(&ev))>
                    {move || inbox.numbers.get().into_iter().map(|n| {
                        let selected = n.id == number.get_untracked();
                        let label = if n.verified_name.is_empty() { n.display_phone_number.clone() } else { format!("{} · {}", n.verified_name, n.display_phone_number) };
                        view! { <option value=n.id.clone() selected=selected>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            <label class="check">
                <input type="checkbox" id="always-open" prop:checked=always_open on:change=move |ev| always_open.set(event_target_checked(&ev)) />
                {move || i18n.t(key!("auto.always_open"))}
            </label>
            <Show when=move || !always_open.get()>
                <table class="week">
                    <tbody>
                        {days.iter().enumerate().map(|(i, row)| {
                            let row = *row;
                            view! {
                                <tr data-day=WEEKDAYS[i]>
                                    <th>{move || day_name(i18n, i)}</th>
                                    <td>
                                        <label class="check">
                                            <input type="checkbox" class="day-open" prop:checked=row.open on:change=move |ev| row.open.set(event_target_checked(&ev)) />
                                            {move || if row.open.get() { i18n.t(key!("auto.open")) } else { i18n.t(key!("auto.closed")) }}
                                        </label>
                                    </td>
                                    <td>
                                        <input type="time" class="day-from" prop:value=row.from disabled=move || !row.open.get()
                                            aria-label=move || i18n.t(key!("auto.from")) on:input=move |ev| row.from.set(event_target_value(&ev)) />
                                        " – "
                                        <input type="time" class="day-until" prop:value=row.until disabled=move || !row.open.get()
                                            aria-label=move || i18n.t(key!("auto.until")) on:input=move |ev| row.until.set(event_target_value(&ev)) />
                                    </td>
                                </tr>
                            }
                        }).collect_view()}
                    </tbody>
                </table>
                <label class="field">
                    <span>{move || i18n.t(key!("auto.holidays"))}</span>
                    <input id="holidays" placeholder="2026-12-25, 2027-01-01" prop:value=holidays on:input=move |ev| holidays.set(event_target_value(&ev)) />
                </label>
            </Show>
            <label class="field">
                <span>{move || i18n.t(key!("auto.assignment"))}</span>
                <select id="assignment" on:change=move |ev| {
                    if let Some(m) = AssignmentMode::parse(&event_target_value(&ev)) { assignment.set(m) }
                }>
                    {modes.into_iter().map(|(m, label)| view! {
                        <option value=m.as_str() selected=move || assignment.get() == m>{move || i18n.t(label)}</option>
                    }).collect_view()}
                </select>
            </label>
            <ErrorNote error=load.error() />
            <ErrorNote error=save.error() id="hours-error" />
            <Show when=move || saved.get()>
                <p class="state ok" id="hours-saved">{move || i18n.t(key!("common.saved"))}</p>
            </Show>
            <button type="submit" class="primary" id="save-hours" disabled=save.pending()>
                {move || if save.pending().get() { i18n.t(key!("common.saving")) } else { i18n.t(key!("common.save")) }}
            </button>
        </form>
    }
}

fn trigger_text(i18n: I18n, t: &Trigger) -> String {
    match t {
        Trigger::Welcome => i18n.t(key!("auto.trigger.welcome")),
        Trigger::Away => i18n.t(key!("auto.trigger.away")),
        Trigger::Keyword { words } => format!("{} {}", i18n.t(key!("auto.trigger.keyword")), words.join(", ")),
    }
}

/// The rules, and a form for a new one.
#[component]
fn Rules() -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let rules = RwSignal::new(Vec::<AutoRule>::new());
    let fetch = Mutation::new();
    let reload = move || fetch.run(client::auto_replies(), move |list| rules.set(list));
    reload();
    let change = Mutation::new();
    let label_of = move |id: &str| {
        inbox.numbers.with(|n| n.iter().find(|n| n.id == id).map_or_else(|| id.to_owned(), |n| n.display_phone_number.clone()))
    };
    view! {
        <div class="card" id="rules">
            <h2>{move || i18n.t(key!("auto.rules"))}</h2>
            <ErrorNote error=fetch.error() />
            <ErrorNote error=change.error() />
            <Show when=move || rules.with(Vec::is_empty) && !fetch.pending().get()>
                <p class="empty">{move || i18n.t(key!("auto.empty"))}</p>
            </Show>
            <ul class="rules">
                {move || rules.get().into_iter().map(|r| {
                    let (id, spec) = (r.id, r.spec.clone());
                    let toggle = {
                        let mut spec = spec.clone();
                        move |_| {
                            spec.enabled = !spec.enabled;
                            let spec = spec.clone();
                            change.run(async move { client::change_auto_reply(id, &spec).await }, move |_| reload());
                        }
                    };
                    let remove = move |_| {
                        let ok = web_sys::window().and_then(|w| w.confirm_with_message(&i18n.t(key!("auto.confirm_delete"))).ok()).unwrap_or(false);
                        if ok {
                            change.run(async move { client::delete_auto_reply(id).await }, move |()| reload());
                        }
                    };
                    let answer = match &spec.answer {
                        AutoAnswer::Text { text } => text.clone(),
                        AutoAnswer::Template { name, language, .. } => format!("[template] {name} ({language})"),
                    };
                    let trigger = spec.trigger.clone();
                    let numbers = if spec.number_ids.is_empty() { None } else { Some(spec.number_ids.iter().map(|n| label_of(n)).collect::<Vec<_>>().join(", ")) };
                    let enabled = spec.enabled;
                    view! {
                        <li class="rule" data-enabled=enabled.to_string()>
                            <div>
                                <strong class="rule-name">{spec.name.clone()}</strong>
                                <span class="pill">{move || trigger_text(i18n, &trigger)}</span>
                                {(!enabled).then(|| view! { <span class="pill warn">{move || i18n.t(key!("auto.off"))}</span> })}
                            </div>
                            <p class="rule-answer">{answer}</p>
                            <p class="muted small">
                                {move || numbers.clone().unwrap_or_else(|| i18n.t(key!("common.all_numbers")))}
                                " · " {move || i18n.t(key!("auto.answered")).replace("{n}", &r.answered.to_string())}
                            </p>
                            <div class="row-actions">
                                <button type="button" class="secondary small toggle-rule" on:click=toggle.clone()>
                                    {move || if enabled { i18n.t(key!("auto.turn_off")) } else { i18n.t(key!("auto.turn_on")) }}
                                </button>
                                <button type="button" class="danger small delete-rule" on:click=remove>{move || i18n.t(key!("common.delete"))}</button>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <NewRule done=Callback::new(move |_| reload()) />
        </div>
    }
}

#[component]
fn NewRule(done: Callback<()>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let name = RwSignal::new(String::new());
    let kind = RwSignal::new("keyword".to_owned());
    let words = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let period = RwSignal::new("60".to_owned());
    let lang = RwSignal::new(if i18n.lang.get_untracked() == crate::i18n::Lang::ZhHant { "zh-Hant" } else { "en" }.to_owned());
    let number = RwSignal::new(String::new());
    let save = Mutation::new();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let trigger = match kind.get_untracked().as_str() {
            "welcome" => Trigger::Welcome,
            "away" => Trigger::Away,
            _ => Trigger::Keyword {
                words: words.get_untracked().split([',', '，', '\n']).map(str::trim).filter(|w| !w.is_empty()).map(str::to_owned).collect(),
            },
        };
        let spec = AutoRuleSpec {
            name: name.get_untracked().trim().to_owned(),
            trigger,
            answer: AutoAnswer::Text { text: text.get_untracked() },
            number_ids: Some(number.get_untracked()).filter(|n| !n.is_empty()).into_iter().collect(),
            period_minutes: period.get_untracked().trim().parse().unwrap_or(0),
            enabled: true,
            lang: lang.get_untracked(),
        };
        save.run(async move { client::create_auto_reply(&spec).await }, move |_| {
            name.set(String::new());
            words.set(String::new());
            text.set(String::new());
            done.run(());
        });
    };
    let placeholder_help = move || i18n.t(key!("auto.placeholders"));
    view! {
        <details class="form-card" id="new-rule">
            <summary><h3>{move || i18n.t(key!("auto.new"))}</h3></summary>
            <form class="stack" on:submit=submit>
                <label class="field">
                    <span>{move || i18n.t(key!("auto.name"))}</span>
                    <input id="rule-name" required prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
                </label>
                <label class="field">
                    <span>{move || i18n.t(key!("auto.when"))}</span>
                    <select id="rule-trigger" on:change=move |ev| kind.set(event_target_value(&ev))>
                        <option value="keyword" selected>{move || i18n.t(key!("auto.trigger.keyword_choice"))}</option>
                        <option value="welcome">{move || i18n.t(key!("auto.trigger.welcome"))}</option>
                        <option value="away">{move || i18n.t(key!("auto.trigger.away"))}</option>
                    </select>
                </label>
                <Show when=move || kind.get() == "keyword">
                    <label class="field">
                        <span>{move || i18n.t(key!("auto.words"))}</span>
                        <input id="rule-words" placeholder=move || i18n.t(key!("auto.words_example")) prop:value=words
                            on:input=move |ev| words.set(event_target_value(&ev)) />
                        <span class="muted small">{move || i18n.t(key!("auto.words_help"))}</span>
                    </label>
                </Show>
                <label class="field">
                    <span>{move || i18n.t(key!("auto.reply"))}</span>
                    <textarea id="rule-text" rows="3" prop:value=text on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                    <span class="muted small">{placeholder_help}</span>
                </label>
                <div class="row">
                    <label class="field">
                        <span>{move || i18n.t(key!("auto.period"))}</span>
                        <input id="rule-period" type="number" min="1" inputmode="numeric" prop:value=period on:input=move |ev| period.set(event_target_value(&ev)) />
                    </label>
                    <label class="field">
                        <span>{move || i18n.t(key!("auto.lang"))}</span>
                        <select id="rule-lang" on:change=move |ev| lang.set(event_target_value(&ev))>
                            <option value="en" selected=move || lang.get() == "en">"English"</option>
                            <option value="zh-Hant" selected=move || lang.get() == "zh-Hant">"繁體中文"</option>
                        </select>
                    </label>
                    <label class="field">
                        <span>{move || i18n.t(key!("auto.number"))}</span>
                        <select id="rule-number" on:change=move |ev| number.set(event_target_value(&ev))>
                            <option value="">{move || i18n.t(key!("common.all_numbers"))}</option>
                            {move || inbox.numbers.get().into_iter().map(|n| view! { <option value=n.id.clone()>{n.display_phone_number.clone()}</option> }).collect_view()}
                        </select>
                    </label>
                </div>
                <ErrorNote error=save.error() id="rule-error" />
                <button type="submit" class="primary" id="save-rule" disabled=save.pending()>{move || i18n.t(key!("auto.add"))}</button>
            </form>
        </details>
    }
}
