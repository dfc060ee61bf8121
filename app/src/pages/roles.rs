//! Roles: what each built-in role allows, and custom roles made here.

use crate::key;
use std::collections::BTreeSet;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{Role, RoleRequest};

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::i18n::use_i18n;
use crate::pages::agents::role_label;

fn permission_label(i18n: crate::i18n::I18n, p: Permission) -> String {
    i18n.lookup(&format!("perm.{}", p.as_str())).unwrap_or_else(|| p.as_str().to_owned())
}

/// Checkboxes for every permission.
#[component]
fn PermissionBoxes(chosen: RwSignal<BTreeSet<Permission>>, #[prop(optional)] read_only: bool) -> impl IntoView {
    let i18n = use_i18n();
    view! {
        <ul class="permissions">
            {Permission::ALL.into_iter().map(|p| view! {
                <li>
                    <label class="check">
                        <input type="checkbox" data-permission=p.as_str() disabled=read_only
                            prop:checked=move || chosen.with(|c| c.contains(&p))
                            on:change=move |ev| {
                                let on = event_target_checked(&ev);
                                chosen.update(|c| { if on { c.insert(p); } else { c.remove(&p); } });
                            } />
                        <span>{move || permission_label(i18n, p)}</span>
                    </label>
                </li>
            }).collect_view()}
        </ul>
    }
}

#[component]
pub fn RolesPage() -> impl IntoView {
    let i18n = use_i18n();
    let reload = RwSignal::new(0u32);
    let roles = LocalResource::new(move || {
        reload.track();
        client::roles()
    });
    view! {
        <section class="page">
            <h1>{move || i18n.t(key!("roles.title"))}</h1>
            <Suspense fallback=move || view! { <p class="muted">{i18n.t(key!("common.loading"))}</p> }>
                {move || Suspend::new(async move {
                    match roles.await {
                        Ok(list) => view! {
                            <div class="cards roles">
                                {list.into_iter().map(|r| view! { <RoleCard role=r reload=reload /> }).collect_view()}
                                <NewRole reload=reload />
                            </div>
                        }.into_any(),
                        Err(e) => view! { <ErrorNote error=Signal::derive(move || Some(e.clone())) /> }.into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

#[component]
fn RoleCard(role: Role, reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let chosen = RwSignal::new(role.permissions.iter().copied().collect::<BTreeSet<_>>());
    let name = RwSignal::new(role.name.clone());
    let action = Mutation::new();
    let id = role.id;
    let builtin = role.builtin;
    let save = move |_| {
        let request = RoleRequest { name: name.get_untracked(), permissions: chosen.get_untracked().into_iter().collect() };
        action.run(async move { client::change_role(id, &request).await }, move |_| reload.update(|n| *n += 1));
    };
    let delete = move |_| {
        let ok = web_sys::window().and_then(|w| w.confirm_with_message(&i18n.t(key!("roles.confirm_delete"))).ok()).unwrap_or(false);
        if !ok {
            return;
        }
        action.run(client::delete_role(id), move |()| reload.update(|n| *n += 1));
    };
    let title = role.name.clone();
    view! {
        <article class="card role" data-role=role.name.clone()>
            <header>
                <div>
                    {if builtin {
                        view! { <h2>{move || role_label(i18n, &title)}</h2> }.into_any()
                    } else {
                        view! { <input class="role-name" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) /> }.into_any()
                    }}
                    <p class="muted small">
                        {move || if builtin { i18n.t(key!("roles.builtin")) } else { i18n.t(key!("roles.custom")) }}
                        " · " {role.members} " " {move || i18n.t(key!("roles.members"))}
                    </p>
                </div>
            </header>
            <PermissionBoxes chosen=chosen read_only=builtin />
            {(!builtin).then(|| view! {
                <div class="row-actions">
                    <button type="button" class="primary small save-role" on:click=save>{move || i18n.t(key!("common.save"))}</button>
                    <button type="button" class="danger small" on:click=delete>{move || i18n.t(key!("common.delete"))}</button>
                </div>
            })}
            <ErrorNote error=action.error() />
        </article>
    }
}

#[component]
fn NewRole(reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let chosen = RwSignal::new(BTreeSet::new());
    let name = RwSignal::new(String::new());
    let create = Mutation::new();
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = RoleRequest { name: name.get_untracked(), permissions: chosen.get_untracked().into_iter().collect() };
        create.run(async move { client::create_role(&request).await }, move |_| reload.update(|n| *n += 1));
    };
    view! {
        <form class="card role new-role stack" on:submit=submit>
            <h2>{move || i18n.t(key!("roles.new"))}</h2>
            <label class="field">
                <span>{move || i18n.t(key!("roles.name"))}</span>
                <input id="new-role-name" required maxlength="60" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <PermissionBoxes chosen=chosen />
            <ErrorNote error=create.error() />
            <button type="submit" class="primary" id="create-role" disabled=create.pending()>{move || i18n.t(key!("roles.create"))}</button>
        </form>
    }
}
