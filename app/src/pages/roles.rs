//! Roles: what each built-in role allows, and custom roles made here.

use crate::key;
use std::collections::BTreeSet;

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{Role, RoleRequest};

use crate::api;
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
        api::get::<Vec<Role>>("/api/v1/roles")
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
                        Err(e) => view! { <p class="error" role="alert">{e.text(i18n)}</p> }.into_any(),
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
    let error = RwSignal::new(None::<String>);
    let id = role.id;
    let builtin = role.builtin;
    let save = move |_| {
        let request = RoleRequest { name: name.get_untracked(), permissions: chosen.get_untracked().into_iter().collect() };
        leptos::task::spawn_local(async move {
            match api::send::<_, Role>("PUT", &format!("/api/v1/roles/{id}"), &request).await {
                Ok(_) => reload.update(|n| *n += 1),
                Err(e) => error.set(Some(e.text(i18n))),
            }
        });
    };
    let delete = move |_| {
        let ok = web_sys::window().and_then(|w| w.confirm_with_message(&i18n.t(key!("roles.confirm_delete"))).ok()).unwrap_or(false);
        if !ok {
            return;
        }
        leptos::task::spawn_local(async move {
            match api::send_empty("DELETE", &format!("/api/v1/roles/{id}")).await {
                Ok(()) => reload.update(|n| *n += 1),
                Err(e) => error.set(Some(e.text(i18n))),
            }
        });
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
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
        </article>
    }
}

#[component]
fn NewRole(reload: RwSignal<u32>) -> impl IntoView {
    let i18n = use_i18n();
    let chosen = RwSignal::new(BTreeSet::new());
    let name = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let request = RoleRequest { name: name.get_untracked(), permissions: chosen.get_untracked().into_iter().collect() };
        leptos::task::spawn_local(async move {
            match api::send::<_, Role>("POST", "/api/v1/roles", &request).await {
                Ok(_) => reload.update(|n| *n += 1),
                Err(e) => error.set(Some(e.text(i18n))),
            }
        });
    };
    view! {
        <form class="card role new-role stack" on:submit=submit>
            <h2>{move || i18n.t(key!("roles.new"))}</h2>
            <label class="field">
                <span>{move || i18n.t(key!("roles.name"))}</span>
                <input id="new-role-name" required maxlength="60" prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <PermissionBoxes chosen=chosen />
            <Show when=move || error.get().is_some()>
                <p class="error" role="alert">{move || error.get()}</p>
            </Show>
            <button type="submit" class="primary" id="create-role">{move || i18n.t(key!("roles.create"))}</button>
        </form>
    }
}
