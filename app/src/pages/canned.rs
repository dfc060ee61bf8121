//! The canned replies library on the auto-replies page: shortcuts agents type after `/`.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use switchboard_shared::support::{CannedReply, CannedReplySpec};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::i18n::use_i18n;
use crate::store::use_inbox;

#[component]
pub fn CannedReplies() -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let list = RwSignal::new(Vec::<CannedReply>::new());
    let fetch = Mutation::new();
    let reload = move || fetch.run(client::canned_replies(), move |l| list.set(l));
    reload();
    let change = Mutation::new();
    let shortcut = RwSignal::new(String::new());
    let text = RwSignal::new(String::new());
    let number = RwSignal::new(String::new());
    let saved = RwSignal::new(false);
    let label_of = move |id: &str| {
        inbox.numbers.with(|n| n.iter().find(|n| n.id == id).map_or_else(|| id.to_owned(), |n| n.display_phone_number.clone()))
    };
    let add = move |ev: SubmitEvent| {
        ev.prevent_default();
        saved.set(false);
        let number = number.get_untracked();
        let spec = CannedReplySpec {
            shortcut: shortcut.get_untracked(),
            text: text.get_untracked(),
            number_ids: if number.is_empty() { vec![] } else { vec![number] },
        };
        change.run(async move { client::create_canned_reply(&spec).await }, move |_| {
            shortcut.set(String::new());
            text.set(String::new());
            saved.set(true);
            reload();
        });
    };
    view! {
        <div class="card" id="canned">
            <h2>{move || i18n.t(key!("canned.title"))}</h2>
            <p class="muted">{move || i18n.t(key!("canned.intro"))}</p>
            <ErrorNote error=fetch.error() />
            <Show when=move || list.with(Vec::is_empty) && !fetch.pending().get()>
                <p class="empty">{move || i18n.t(key!("canned.empty"))}</p>
            </Show>
            <ul class="rules" id="canned-list">
                {move || list.get().into_iter().map(|r| {
                    let id = r.id;
                    let numbers = if r.spec.number_ids.is_empty() {
                        None
                    } else {
                        Some(r.spec.number_ids.iter().map(|n| label_of(n)).collect::<Vec<_>>().join(", "))
                    };
                    let remove = move |_| change.run(async move { client::delete_canned_reply(id).await }, move |()| reload());
                    view! {
                        <li class="rule canned" data-shortcut=r.spec.shortcut.clone()>
                            <div><strong class="rule-name">{format!("/{}", r.spec.shortcut)}</strong></div>
                            <p class="rule-answer">{r.spec.text.clone()}</p>
                            <p class="muted small">{move || numbers.clone().unwrap_or_else(|| i18n.t(key!("canned.every_number")))}</p>
                            <div class="row-actions">
                                <button type="button" class="danger small delete-canned" on:click=remove>{move || i18n.t(key!("common.delete"))}</button>
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <form class="stack" id="new-canned" on:submit=add>
                <label>{move || i18n.t(key!("canned.shortcut"))}
                    <input id="canned-shortcut" maxlength="33" placeholder="/hours" prop:value=shortcut
                        on:input=move |ev| shortcut.set(event_target_value(&ev)) />
                </label>
                <label>{move || i18n.t(key!("canned.text"))}
                    <textarea id="canned-text" rows="3" maxlength="4096" prop:value=text on:input=move |ev| text.set(event_target_value(&ev))></textarea>
                </label>
                <label>{move || i18n.t(key!("canned.numbers"))}
                    <select id="canned-number" on:change=move |ev| number.set(event_target_value(&ev))>
                        <option value="">{move || i18n.t(key!("canned.every_number"))}</option>
                        <For each=move || inbox.numbers.get() key=|n| n.id.clone() children=move |n| view! {
                            <option value=n.id.clone()>{n.display_phone_number.clone()}</option>
                        } />
                    </select>
                </label>
                <button type="submit" class="primary" id="save-canned" disabled=move || change.pending().get()>{move || i18n.t(key!("canned.add"))}</button>
                <Show when=move || saved.get()><span class="ok" id="canned-saved">{move || i18n.t(key!("canned.saved"))}</span></Show>
                <ErrorNote error=change.error() id="canned-error" />
            </form>
        </div>
    }
}
