//! The frame around every signed-in page: navigation, live status, language, sign-out.

use leptos::prelude::*;
use leptos_router::components::A;
use leptos_router::hooks::use_navigate;

use switchboard_shared::access::Permission;

use crate::api;
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
        Connection::Live => ("live", i18n.t("conn.live")),
        Connection::Connecting => ("connecting", i18n.t("conn.connecting")),
        Connection::Reconnecting => ("offline", i18n.t("conn.offline")),
    };
    let sign_out = move |_| {
        let navigate = navigate.clone();
        leptos::task::spawn_local(async move {
            let _ = api::send_empty("DELETE", "/api/v1/session").await;
            inbox.stop();
            session.me.set(None);
            navigate("/login", Default::default());
        });
    };
    view! {
        <div class="shell">
            <header class="topbar">
                <span class="brand">{move || i18n.t("app.name")}</span>
                <nav class="nav">
                    <A href="/inbox">
                        {move || i18n.t("nav.inbox")}
                        <Show when=move || { unread() > 0 }>
                            <span class="badge" id="unread-total">{unread}</span>
                        </Show>
                    </A>
                    <A href="/numbers">{move || i18n.t("nav.numbers")}</A>
                    <Show when=move || can(Permission::ManageContacts)>
                        <A href="/contacts">{move || i18n.t("nav.contacts")}</A>
                    </Show>
                    <Show when=move || can(Permission::Broadcast)>
                        <A href="/broadcasts">{move || i18n.t("nav.broadcasts")}</A>
                    </Show>
                    <Show when=move || can(Permission::ViewReports)>
                        <A href="/live">{move || i18n.t("nav.supervisor")}</A>
                    </Show>
                    <Show when=move || can(Permission::ManageAgents)>
                        <A href="/agents">{move || i18n.t("nav.agents")}</A>
                        <A href="/roles">{move || i18n.t("nav.roles")}</A>
                    </Show>
                    <Show when=move || can(Permission::ViewReports)>
                        <A href="/audit">{move || i18n.t("nav.audit")}</A>
                    </Show>
                    <Show when=move || can(Permission::ExportConversations)>
                        <A href="/export">{move || i18n.t("nav.export")}</A>
                    </Show>
                </nav>
                <span class="conn" data-state=move || connection().0 title=move || connection().1>
                    <span class="dot"></span>
                    <span class="conn-label">{move || connection().1}</span>
                </span>
                <button class="link" id="lang-switch" on:click=move |_| i18n.toggle() title=move || i18n.t("lang.switch_label")>
                    {move || i18n.t("lang.switch")}
                </button>
                <button class="link" id="sign-out" on:click=sign_out>{move || i18n.t("nav.sign_out")}</button>
            </header>
            <main class="content">{children()}</main>
        </div>
    }
}
