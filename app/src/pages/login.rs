//! The sign-in page.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use switchboard_shared::api::{LoginRequest, Me};

use crate::api::{self, ApiError};
use crate::i18n::use_i18n;
use crate::Session;

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = expect_context::<Session>();
    let navigate = use_navigate();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<crate::i18n::Key>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        if busy.get_untracked() {
            return;
        }
        busy.set(true);
        error.set(None);
        let navigate = navigate.clone();
        let request = LoginRequest { email: email.get_untracked(), password: password.get_untracked() };
        leptos::task::spawn_local(async move {
            match api::post::<_, Me>("/api/v1/session", &request).await {
                Ok(me) => {
                    session.me.set(Some(me));
                    navigate("/inbox", Default::default());
                }
                Err(ApiError::Unauthorized) => error.set(Some(key!("login.failed"))),
                Err(ApiError::Network) => error.set(Some(key!("error.network"))),
                Err(ApiError::Refused { status: 429, .. }) => error.set(Some(key!("login.locked"))),
                Err(_) => error.set(Some(key!("error.generic"))),
            }
            busy.set(false);
        });
    };
    view! {
        <div class="login">
            <form class="card login-card" on:submit=submit>
                <div class="login-head">
                    <h1>{move || i18n.t(key!("app.name"))}</h1>
                    <button type="button" class="link" id="lang-switch" on:click=move |_| i18n.toggle()>
                        {move || i18n.t(key!("lang.switch"))}
                    </button>
                </div>
                <h2>{move || i18n.t(key!("login.title"))}</h2>
                <label>
                    <span>{move || i18n.t(key!("login.email"))}</span>
                    <input id="email" type="email" autocomplete="username" required
                        prop:value=email on:input=move |ev| email.set(event_target_value(&ev)) />
                </label>
                <label>
                    <span>{move || i18n.t(key!("login.password"))}</span>
                    <input id="password" type="password" autocomplete="current-password" required
                        prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) />
                </label>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get().map(|k| i18n.t(k))}</p>
                </Show>
                <button id="sign-in" type="submit" class="primary" disabled=busy>
                    {move || if busy.get() { i18n.t(key!("login.busy")) } else { i18n.t(key!("login.submit")) }}
                </button>
            </form>
        </div>
    }
}
