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
use leptos_router::{lazy_route, Lazy, LazyRoute};
use switchboard_shared::api::Me;

use components::shell::Shell;
use i18n::I18n;
use pages::agents::AgentsPage;
use pages::audit::AuditPage;
use pages::automation::AutomationPage;
use pages::broadcasts::BroadcastsPage;
use pages::contacts::ContactsPage;
use pages::export::ExportPage;
use pages::groups::GroupsPage;
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

/// What every page needs: language, session and the live inbox (the shell shows its unread
/// count and connection).
fn provide_contexts() {
    let i18n = I18n::new();
    let session = Session { me: RwSignal::new(None), checked: RwSignal::new(false) };
    let inbox = Inbox::new();
    provide_context(i18n);
    provide_context(session);
    provide_context(inbox);
    provide_context(pages::inbox::Filters::default());
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

/// A console page whose code is downloaded when it is first opened (its own WebAssembly
/// chunk, split out by `cargo xtask dist`); sign-in and the inbox are in the first download.
/// Pages for signed-in people are shown inside the shell (`Guarded`); `open` pages are not.
macro_rules! lazy_page {
    ($route:ident, $page:ident) => {
        lazy_page!($route, view! { <Guarded><$page/></Guarded> });
    };
    ($route:ident, $page:ident, open) => {
        lazy_page!($route, view! { <$page/> });
    };
    ($route:ident, $view:expr) => {
        #[derive(Debug)]
        struct $route;

        #[lazy_route]
        impl LazyRoute for $route {
            fn data() -> Self {
                $route
            }

            fn view(_this: Self) -> AnyView {
                $view.into_any()
            }
        }
    };
}

lazy_page!(NumbersRoute, NumbersPage);
lazy_page!(LiveRoute, SupervisorPage);
lazy_page!(AgentsRoute, AgentsPage);
lazy_page!(RolesRoute, RolesPage);
lazy_page!(AuditRoute, AuditPage);
lazy_page!(ExportRoute, ExportPage);
lazy_page!(ContactsRoute, ContactsPage);
lazy_page!(BroadcastsRoute, BroadcastsPage);
lazy_page!(GroupsRoute, GroupsPage);
lazy_page!(AutomationRoute, AutomationPage);

// Setting a password (from a one-time link) needs no shell and no session.
lazy_page!(SetPasswordRoute, SetPasswordPage, open);

/// The console: every page, one router. Paths not listed go to the inbox.
#[component]
pub fn App() -> impl IntoView {
    provide_contexts();
    view! {
        <Router>
            <Routes fallback=|| view! { <Redirect path="/inbox"/> }>
                <Route path=path!("/login") view=LoginPage />
                <Route path=path!("/") view=|| view! { <Redirect path="/inbox"/> } />
                <Route path=path!("/inbox") view=|| view! { <Guarded><InboxPage/></Guarded> } />
                <Route path=path!("/inbox/:id") view=|| view! { <Guarded><InboxPage/></Guarded> } />
                <Route path=path!("/numbers") view={Lazy::<NumbersRoute>::new()} />
                <Route path=path!("/live") view={Lazy::<LiveRoute>::new()} />
                <Route path=path!("/agents") view={Lazy::<AgentsRoute>::new()} />
                <Route path=path!("/roles") view={Lazy::<RolesRoute>::new()} />
                <Route path=path!("/audit") view={Lazy::<AuditRoute>::new()} />
                <Route path=path!("/export") view={Lazy::<ExportRoute>::new()} />
                <Route path=path!("/contacts") view={Lazy::<ContactsRoute>::new()} />
                <Route path=path!("/broadcasts") view={Lazy::<BroadcastsRoute>::new()} />
                <Route path=path!("/groups") view={Lazy::<GroupsRoute>::new()} />
                <Route path=path!("/auto-replies") view={Lazy::<AutomationRoute>::new()} />
                <Route path=path!("/set-password") view={Lazy::<SetPasswordRoute>::new()} />
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
