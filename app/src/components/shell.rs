//! The frame around every signed-in page: navigation, live status, language, sign-out.

use crate::key;
use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use switchboard_shared::access::Permission;
use switchboard_shared::api::AwayRequest;

use crate::components::feedback::{ErrorNote, Mutation};

use crate::i18n::use_i18n;
use crate::store::{use_inbox, Connection};
use crate::Session;

#[component]
pub fn Shell(children: Children) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let navigate = use_navigate();
    let can = move |p: Permission| session.me.with(|m| m.as_ref().is_some_and(|m| m.can(p)));
    let unread = move || inbox.conversations.with(|l| l.iter().map(|c| c.unread).sum::<i64>());
    let connection = move || match inbox.connection.get() {
        Connection::Live => ("live", i18n.t(key!("conn.live"))),
        Connection::Connecting => ("connecting", i18n.t(key!("conn.connecting"))),
        Connection::Reconnecting => ("offline", i18n.t(key!("conn.offline"))),
    };
    let sign_out = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let _ = crate::client::sign_out().await;
            inbox.stop();
            session.me.set(None);
            navigate("/login", Default::default());
        });
    };
    // On duty or away (on a break): colleagues take over what waits on someone away too long.
    let away = move || session.me.with(|m| m.as_ref().is_some_and(|m| m.away));
    let duty = Mutation::new();
    let toggle_duty = move |_| {
        let request = AwayRequest { away: !away() };
        duty.run(async move { crate::client::set_away(&request).await }, move |me| session.me.set(Some(me)));
    };
    let latest_mention = move || inbox.mentions.with(|m| m.last().cloned());
    view! {
        <div class="shell">
            <header class="topbar">
                <span class="brand">{move || i18n.t(key!("app.name"))}</span>
                <nav class="nav">
                    <NavLink href="/inbox" label=key!("nav.inbox")>
                        <Show when=move || { unread() > 0 }>
                            <span class="badge" id="unread-total">{unread}</span>
                        </Show>
                    </NavLink>
                    <NavLink href="/numbers" label=key!("nav.numbers") />
                    <Show when=move || can(Permission::ManageNumbers)>
                        <NavLink href="/auto-replies" label=key!("nav.auto_replies") />
                    </Show>
                    <Show when=move || can(Permission::ManageContacts)>
                        <NavLink href="/contacts" label=key!("nav.contacts") />
                    </Show>
                    <Show when=move || can(Permission::Broadcast)>
                        <NavLink href="/broadcasts" label=key!("nav.broadcasts") />
                    </Show>
                    <Show when=move || can(Permission::ManageGroups)>
                        <NavLink href="/groups" label=key!("nav.groups")>
                            <Show when=move || inbox.dropped.with(|d| !d.is_empty())>
                                <span class="badge warn" id="dropped-numbers" title="!">"!"</span>
                            </Show>
                        </NavLink>
                    </Show>
                    <Show when=move || can(Permission::ViewReports)>
                        <NavLink href="/live" label=key!("nav.supervisor") />
                    </Show>
                    <Show when=move || can(Permission::ManageAgents)>
                        <NavLink href="/agents" label=key!("nav.agents") />
                        <NavLink href="/roles" label=key!("nav.roles") />
                    </Show>
                    <Show when=move || can(Permission::ViewReports)>
                        <NavLink href="/audit" label=key!("nav.audit") />
                    </Show>
                    <Show when=move || can(Permission::ExportConversations)>
                        <NavLink href="/export" label=key!("nav.export") />
                    </Show>
                </nav>
                <Show when=move || can(Permission::Reply)>
                    <button type="button" class="duty" id="duty-toggle" class:away=away on:click=toggle_duty
                        title=move || i18n.t(key!("duty.explain"))>
                        <span class="dot"></span>
                        {move || if away() { i18n.t(key!("duty.away")) } else { i18n.t(key!("duty.on")) }}
                    </button>
                </Show>
                <span class="conn" data-state=move || connection().0 title=move || connection().1>
                    <span class="dot"></span>
                    <span class="conn-label">{move || connection().1}</span>
                </span>
                <button class="link" id="lang-switch" on:click=move |_| i18n.toggle() title=move || i18n.t(key!("lang.switch_label"))>
                    {move || i18n.t(key!("lang.switch"))}
                </button>
                <button class="link" id="sign-out" on:click=sign_out>{move || i18n.t(key!("nav.sign_out"))}</button>
            </header>
            {move || latest_mention().map(|note| {
                let who = note.author_name.clone().unwrap_or_default();
                let href = format!("/inbox/{}", note.conversation_id);
                view! {
                    <div class="mention-toast" id="mention-toast" role="status">
                        <span>{i18n.t(key!("mention.says")).replace("{who}", &who)} " "</span>
                        <q>{note.text.clone()}</q>
                        <A href=href attr:class="button small">{i18n.t(key!("mention.open"))}</A>
                        <button type="button" class="text-button" on:click=move |_| inbox.mentions.set(Vec::new())>"×"</button>
                    </div>
                }
            })}
            <CatchingUp />
            <ErrorNote error=duty.error() />
            <main class="content">{children()}</main>
        </div>
    }
}

/// A navigation link, handled by the router (a page not loaded yet downloads its code then).
#[component]
fn NavLink(href: &'static str, label: crate::i18n::Key, #[prop(optional)] children: Option<Children>) -> impl IntoView {
    let i18n = use_i18n();
    view! { <A href=href>{move || i18n.t(label)} {children.map(|c| c())}</A> }
}

/// Said while the relay is reading WhatsApp's updates more slowly than they come, with how far
/// behind, so nobody thinks a message is lost.
#[component]
pub fn CatchingUp() -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    move || {
        let behind = inbox.behind.get();
        behind.shown().then(|| {
            let text = i18n
                .t(key!("lag.banner"))
                .replace("{seconds}", &(behind.behind_ms / 1000).to_string())
                .replace("{waiting}", &behind.waiting.to_string());
            view! { <p class="notice" id="catching-up" role="status">{text}</p> }
        })
    }
}
