//! The page a one-time link opens: the new agent (or one whose password was reset) chooses a
//! password. The token travels in the fragment, so it never reaches a server log.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::components::A;
use switchboard_shared::api::SetPasswordRequest;

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::i18n::use_i18n;

/// Shortest password the relay accepts.
const MIN_CHARS: usize = 10;

fn token_from_hash() -> Option<String> {
    let hash = web_sys::window()?.location().hash().ok()?;
    hash.trim_start_matches('#').split('&').find_map(|kv| kv.strip_prefix("token=")).filter(|t| !t.is_empty()).map(str::to_owned)
}

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let i18n = use_i18n();
    let token = token_from_hash();
    let password = RwSignal::new(String::new());
    let again = RwSignal::new(String::new());
    let setting = Mutation::new();
    let busy = setting.pending();
    let done = RwSignal::new(false);
    let has_token = token.is_some();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(token) = token.clone() else { return };
        if password.with_untracked(|p| p.chars().count()) < MIN_CHARS {
            setting.refuse(key!("setpw.short"));
            return;
        }
        if password.get_untracked() != again.get_untracked() {
            setting.refuse(key!("setpw.mismatch"));
            return;
        }
        let request = SetPasswordRequest { token, password: password.get_untracked() };
        setting.run(async move { client::set_password(&request).await }, move |()| done.set(true));
    };
    view! {
        <div class="login">
            <form class="card login-card" on:submit=submit>
                <div class="login-head">
                    <h1>{move || i18n.t(key!("app.name"))}</h1>
                    <button type="button" class="link" on:click=move |_| i18n.toggle()>{move || i18n.t(key!("lang.switch"))}</button>
                </div>
                <h2>{move || i18n.t(key!("setpw.title"))}</h2>
                {if !has_token {
                    view! { <p class="error" role="alert">{move || i18n.t(key!("setpw.no_token"))}</p> }.into_any()
                } else {
                    view! {
                        <Show when=move || !done.get() fallback=move || view! {
                            <p class="state ok" id="password-set">{i18n.t(key!("setpw.done"))}</p>
                            <A href="/login" attr:class="primary button">{i18n.t(key!("setpw.go_sign_in"))}</A>
                        }>
                            <label>
                                <span>{move || i18n.t(key!("setpw.password"))}</span>
                                <input id="new-password" type="password" autocomplete="new-password" required
                                    prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) />
                            </label>
                            <label>
                                <span>{move || i18n.t(key!("setpw.confirm"))}</span>
                                <input id="new-password-again" type="password" autocomplete="new-password" required
                                    prop:value=again on:input=move |ev| again.set(event_target_value(&ev)) />
                            </label>
                            <ErrorNote error=setting.error() />
                            <button id="set-password" type="submit" class="primary" disabled=busy>{move || i18n.t(key!("setpw.submit"))}</button>
                        </Show>
                    }.into_any()
                }}
            </form>
        </div>
    }
}
