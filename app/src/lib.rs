//! The Switchboard console: Leptos, client-side rendered. Pages live in `pages/`, reusable
//! pieces in `components/`, synced data in `store`, words in `i18n`.

pub mod api;
pub mod components;
pub mod i18n;
pub mod pages;
pub mod store;

use leptos::prelude::*;
use leptos_router::components::{Redirect, Route, Router, Routes};
use leptos_router::hooks::use_navigate;
use leptos_router::path;
use switchboard_shared::api::Me;

use components::shell::Shell;
use i18n::I18n;
use pages::agents::AgentsPage;
use pages::audit::AuditPage;
use pages::broadcasts::BroadcastsPage;
use pages::contacts::ContactsPage;
use pages::export::ExportPage;
use pages::inbox::InboxPage;
use pages::roles::RolesPage;
use pages::set_password::SetPasswordPage;
use pages::supervisor::SupervisorPage;
use pages::login::LoginPage;
use pages::numbers::NumbersPage;
use store::Inbox;

/// Who is signed in; `checked` is false until the relay has been asked.
#[derive(Clone, Copy)]
pub struct Session {
    pub me: RwSignal<Option<Me>>,
    pub checked: RwSignal<bool>,
}

#[component]
pub fn App() -> impl IntoView {
    let i18n = I18n::new();
    let session = Session { me: RwSignal::new(None), checked: RwSignal::new(false) };
    let inbox = Inbox::new();
    provide_context(i18n);
    provide_context(session);
    provide_context(inbox);
    leptos::task::spawn_local(async move {
        if let Ok(me) = api::get::<Me>("/api/v1/me").await {
            session.me.set(Some(me));
        }
        session.checked.set(true);
    });
    // Sync the inbox whenever someone signs in.
    Effect::new(move |_| {
        if let Some(me) = session.me.get() {
            inbox.viewer.set(Some((me.id, me.assigned_only)));
            inbox.signed_out.set(false);
            leptos::task::spawn_local(inbox.start());
        }
    });
    view! {
        <Router>
            <Routes fallback=|| view! { <Redirect path="/inbox"/> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/") view=|| view! { <Redirect path="/inbox"/> } />
                <Route path=path!("/inbox") view=|| view! { <Guarded><InboxPage/></Guarded> } />
                <Route path=path!("/inbox/:id") view=|| view! { <Guarded><InboxPage/></Guarded> } />
                <Route path=path!("/numbers") view=|| view! { <Guarded><NumbersPage/></Guarded> } />
                <Route path=path!("/live") view=|| view! { <Guarded><SupervisorPage/></Guarded> } />
                <Route path=path!("/agents") view=|| view! { <Guarded><AgentsPage/></Guarded> } />
                <Route path=path!("/roles") view=|| view! { <Guarded><RolesPage/></Guarded> } />
                <Route path=path!("/audit") view=|| view! { <Guarded><AuditPage/></Guarded> } />
                <Route path=path!("/export") view=|| view! { <Guarded><ExportPage/></Guarded> } />
                <Route path=path!("/contacts") view=|| view! { <Guarded><ContactsPage/></Guarded> } />
                <Route path=path!("/broadcasts") view=|| view! { <Guarded><BroadcastsPage/></Guarded> } />
                <Route path=path!("/set-password") view=SetPasswordPage />
            </Routes>
        </Router>
    }
}

/// Shows its children inside the shell when signed in; otherwise goes to the login page.
#[component]
fn Guarded(children: ChildrenFn) -> impl IntoView {
    let session = expect_context::<Session>();
    let inbox = expect_context::<Inbox>();
    let navigate = use_navigate();
    Effect::new(move |_| {
        let gone = inbox.signed_out.get();
        let signed_in = session.me.with(Option::is_some);
        if session.checked.get() && (!signed_in || gone) {
            if gone {
                // Each change below re-runs this effect: change only what is not yet so, or it
                // would run forever.
                inbox.signed_out.set(false);
                inbox.stop();
                if signed_in {
                    session.me.set(None);
                }
            }
            navigate("/login", Default::default());
        }
    });
    let children = StoredValue::new(children);
    view! {
        <Show when=move || session.me.with(Option::is_some) fallback=|| view! { <div class="boot"></div> }>
            <Shell>{children.read_value()()}</Shell>
        </Show>
    }
}
