//! The Switchboard console: Leptos, client-side rendered. Pages live in `pages/`, reusable
//! pieces in `components/`, synced data in `store`, words in `i18n`.

pub mod api;
pub mod client;
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
use pages::login::LoginPage;
use pages::numbers::NumbersPage;
use pages::roles::RolesPage;
use pages::set_password::SetPasswordPage;
use pages::supervisor::SupervisorPage;
use store::Inbox;

/// Who is signed in; `checked` is false until the relay has been asked.
#[derive(Clone, Copy)]
pub struct Session {
    pub me: RwSignal<Option<Me>>,
    pub checked: RwSignal<bool>,
}

/// Which of the console's two bundles is running. The inbox and administration pages are one
/// bundle; contacts and broadcasts are another, loaded when opened, so neither download grows
/// with the other's pages. Links between them are full page loads.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Bundle {
    Main,
    Lists,
}

impl Bundle {
    /// The bundle that serves a path.
    pub fn of(path: &str) -> Bundle {
        if path.starts_with("/contacts") || path.starts_with("/broadcasts") {
            Bundle::Lists
        } else {
            Bundle::Main
        }
    }
}

/// What both bundles set up: language, session and the live inbox (the shell shows its unread
/// count and connection).
fn provide_contexts(bundle: Bundle) {
    let i18n = I18n::new();
    let session = Session { me: RwSignal::new(None), checked: RwSignal::new(false) };
    let inbox = Inbox::new();
    provide_context(i18n);
    provide_context(session);
    provide_context(inbox);
    provide_context(bundle);
    leptos::task::spawn_local(async move {
        if let Ok(me) = client::me().await {
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
}

/// Sends the browser to a page of the other bundle.
fn load_page(path: &str) {
    if let Some(w) = web_sys::window() {
        let _ = w.location().set_href(path);
    }
}

/// The main bundle: sign-in, inbox, numbers, live view and administration.
#[component]
pub fn App() -> impl IntoView {
    provide_contexts(Bundle::Main);
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
                <Route path=path!("/set-password") view=SetPasswordPage />
                <Route path=path!("/contacts") view=|| { load_page("/contacts"); } />
                <Route path=path!("/broadcasts") view=|| { load_page("/broadcasts"); } />
            </Routes>
        </Router>
    }
}

/// The contacts and broadcasts bundle.
#[component]
pub fn ListsApp() -> impl IntoView {
    provide_contexts(Bundle::Lists);
    view! {
        <Router>
            <Routes fallback=|| { load_page("/inbox"); }>
                <Route path=path!("/contacts") view=|| view! { <Guarded><ContactsPage/></Guarded> } />
                <Route path=path!("/broadcasts") view=|| view! { <Guarded><BroadcastsPage/></Guarded> } />
                <Route path=path!("/login") view=|| { load_page("/login"); } />
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
