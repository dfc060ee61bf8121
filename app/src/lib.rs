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
use leptos_router::hooks::{use_navigate, use_params_map};
use leptos_router::path;
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

/// The console: every page, one router. Sign-in and the inbox are in the first download; every
/// other page is one route (`/:page`, see `OtherPage`). Paths not listed go to the inbox.
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
                <Route path=path!("/:page") view=OtherPage />
            </Routes>
        </Router>
    }
}

/// A page whose code is downloaded when it is first opened: its own WebAssembly chunk, split out
/// by `cargo xtask dist`. One route serves them all, so the router's code is compiled once, not
/// once per page. Pages for signed-in people are shown inside the shell, which stays in place
/// from one page to the next; setting a password (from a one-time link) needs no shell and no
/// session.
#[component]
fn OtherPage() -> impl IntoView {
    let i18n = expect_context::<I18n>();
    let params = use_params_map();
    let name = Memo::new(move |_| params.with(|p| p.get("page").unwrap_or_default()));
    let page = move || {
        let name = name.get();
        let loading = move || view! { <p class="muted page">{i18n.t(key!("common.loading"))}</p> };
        view! { <Suspense fallback=loading>{Suspend::new(async move { lazy_page(name).await })}</Suspense> }
    };
    view! {
        <Show when=move || name.with(|n| n == "set-password") fallback=move || view! { <Guarded>{page}</Guarded> }>
            {page}
        </Show>
    }
}

/// The page at `/<name>`, its code loaded on first use; an unknown name goes to the inbox.
async fn lazy_page(name: String) -> AnyView {
    macro_rules! pages {
        ($($path:literal => $load:ident($page:ident)),* $(,)?) => {
            $(
                #[cfg_attr(not(feature = "whole"), leptos::lazy)]
                async fn $load() -> AnyView {
                    view! { <$page/> }.into_any()
                }
            )*
            match name.as_str() {
                $($path => $load().await,)*
                _ => view! { <Redirect path="/inbox"/> }.into_any(),
            }
        };
    }
    pages! {
        "numbers" => numbers_page(NumbersPage),
        "live" => live_page(SupervisorPage),
        "agents" => agents_page(AgentsPage),
        "roles" => roles_page(RolesPage),
        "audit" => audit_page(AuditPage),
        "export" => export_page(ExportPage),
        "contacts" => contacts_page(ContactsPage),
        "broadcasts" => broadcasts_page(BroadcastsPage),
        "groups" => groups_page(GroupsPage),
        "auto-replies" => automation_page(AutomationPage),
        "set-password" => set_password_page(SetPasswordPage),
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
