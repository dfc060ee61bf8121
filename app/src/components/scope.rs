//! Choosing which business numbers someone works on: all, or a chosen few.

use crate::key;
use std::collections::BTreeSet;

use leptos::prelude::*;
use switchboard_shared::access::Scope;
use switchboard_shared::api::Number;

use crate::i18n::use_i18n;

/// A number's name as people know it.
pub fn number_label(n: &Number) -> String {
    match (n.verified_name.is_empty(), n.display_phone_number.is_empty()) {
        (false, false) => format!("{} · {}", n.verified_name, n.display_phone_number),
        (false, true) => n.verified_name.clone(),
        (true, false) => n.display_phone_number.clone(),
        (true, true) => n.id.clone(),
    }
}

/// A scope in words, using the numbers' names.
pub fn describe_scope(scope: &Scope, numbers: &[Number], all_label: String) -> String {
    match scope {
        Scope::All => all_label,
        Scope::Numbers(ids) => ids
            .iter()
            .map(|id| numbers.iter().find(|n| &n.id == id).map(number_label).unwrap_or_else(|| id.clone()))
            .collect::<Vec<_>>()
            .join(", "),
    }
}

#[component]
pub fn ScopePicker(scope: RwSignal<Scope>, numbers: Signal<Vec<Number>>, #[prop(into)] name: String) -> impl IntoView {
    let i18n = use_i18n();
    let all = move || matches!(scope.get(), Scope::All);
    let chosen = move |id: &str| matches!(scope.get(), Scope::Numbers(ids) if ids.contains(id));
    let toggle = move |id: String, on: bool| {
        scope.update(|s| {
            let mut ids = match s {
                Scope::Numbers(ids) => ids.clone(),
                Scope::All => BTreeSet::new(),
            };
            if on {
                ids.insert(id);
            } else {
                ids.remove(&id);
            }
            *s = Scope::Numbers(ids);
        })
    };
    let radio = name.clone();
    view! {
        <div class="scope-picker">
            <label class="check">
                <input type="radio" name=radio.clone() prop:checked=all on:change=move |_| scope.set(Scope::All) />
                <span>{move || i18n.t(key!("common.all_numbers"))}</span>
            </label>
            <label class="check">
                <input type="radio" name=radio prop:checked=move || !all()
                    on:change=move |_| if all() { scope.set(Scope::Numbers(BTreeSet::new())) } />
                <span>{move || i18n.t(key!("common.only_these"))}</span>
            </label>
            <div class="scope-numbers" class:dim=all>
                <For each=move || numbers.get() key=|n| n.id.clone() children=move |n| {
                    let id = n.id.clone();
                    let id2 = n.id.clone();
                    view! {
                        <label class="check">
                            <input type="checkbox" data-number=n.id.clone() prop:checked=move || chosen(&id)
                                on:change=move |ev| toggle(id2.clone(), event_target_checked(&ev)) />
                            <span>{number_label(&n)}</span>
                        </label>
                    }
                } />
            </div>
        </div>
    }
}

/// A duration people read at a glance: "45 s", "12 min", "3 h 5 min".
pub fn format_duration(ms: i64, lang_zh: bool) -> String {
    let s = (ms / 1000).max(0);
    let (sec, min, hour) = if lang_zh { ("秒", "分鐘", "小時") } else { ("s", "min", "h") };
    let sep = if lang_zh { "" } else { " " };
    if s < 60 {
        format!("{s}{sep}{sec}")
    } else if s < 3600 {
        let (m, r) = (s / 60, s % 60);
        if m < 10 && r > 0 {
            format!("{m}{sep}{min} {r}{sep}{sec}")
        } else {
            format!("{m}{sep}{min}")
        }
    } else {
        format!("{}{sep}{hour} {}{sep}{min}", s / 3600, s % 3600 / 60)
    }
}
