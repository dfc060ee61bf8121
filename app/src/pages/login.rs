//! The sign-in page.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos_router::hooks::use_navigate;
use switchboard_shared::api::LoginRequest;

use crate::api::ApiError;
use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::i18n::use_i18n;
use crate::Session;

#[component]
pub fn LoginPage() -> impl IntoView {
    let i18n = use_i18n();
    let session = expect_context::<Session>();
    let navigate = use_navigate();
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let signing_in = Mutation::new();
    let busy = signing_in.pending();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let navigate = navigate.clone();
        let request = LoginRequest { email: email.get_untracked(), password: password.get_untracked() };
        // Sign-in says only "wrong email or password" or "locked", whatever the relay's detail.
        let call = async move {
            client::sign_in(&request).await.map_err(|e| match e {
                ApiError::Unauthorized => ApiError::Invalid(key!("login.failed")),
                ApiError::Refused { status: 429, .. } => ApiError::Invalid(key!("login.locked")),
                ApiError::Refused { .. } => ApiError::Invalid(key!("error.generic")),
                other => other,
            })
        };
        signing_in.run(call, move |me| {
            session.me.set(Some(me));
            navigate("/inbox", Default::default());
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
                <ErrorNote error=signing_in.error() />
                <button id="sign-in" type="submit" class="primary" disabled=busy>
                    {move || if busy.get() { i18n.t(key!("login.busy")) } else { i18n.t(key!("login.submit")) }}
                </button>
            </form>
        </div>
    }
}
