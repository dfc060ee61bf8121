//! Once the customer has not written for 24 hours, WhatsApp only allows an approved template:
//! the composer offers the number's approved templates (those whose header needs no file), a
//! field per `{{n}}` value and the message as the customer will read it.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use switchboard_shared::api::{Conversation, Template, TemplateReplyRequest};
use switchboard_shared::broadcast as b;

use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::i18n::use_i18n;
use crate::store::use_inbox;

/// The templates an agent may send in this conversation: approved, of the number's account, with
/// no photo or document header to supply.
fn offered(templates: Vec<Template>, waba_id: Option<&str>) -> Vec<Template> {
    templates
        .into_iter()
        .filter(|t| t.status.eq_ignore_ascii_case("APPROVED") && !b::needs_header_media(&t.components))
        .filter(|t| waba_id.is_none_or(|w| t.waba_id == w))
        .collect()
}

#[component]
pub fn TemplateReply(id: i64, conversation: Memo<Option<Conversation>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let templates = LocalResource::new(move || async move {
        let number = conversation.with_untracked(|c| c.as_ref().map(|c| c.number_id.clone())).unwrap_or_default();
        let numbers = client::numbers().await.unwrap_or_default();
        let waba = numbers.into_iter().find(|n| n.id == number).map(|n| n.waba_id);
        offered(client::templates().await.unwrap_or_default(), waba.as_deref())
    });
    // The chosen template's index in the list, and its values.
    let chosen = RwSignal::new(None::<usize>);
    let values = RwSignal::new(Vec::<String>::new());
    let template = move || chosen.get().and_then(|i| templates.get().and_then(|l| l.get(i).cloned()));
    let body = move || template().map(|t| b::body_text(&t.components).unwrap_or_default().to_owned());
    let sending = Mutation::new();
    let busy = sending.pending();
    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        let Some(t) = template() else { return };
        let parameters = values.get_untracked();
        if parameters.iter().any(|v| v.trim().is_empty()) {
            sending.refuse(key!("template.fill_all"));
            return;
        }
        let request = TemplateReplyRequest { name: t.name, language: t.language, parameters };
        sending.run(async move { client::send_template(id, &request).await }, move |message| {
            chosen.set(None);
            values.set(Vec::new());
            inbox.add_message(id, message);
        });
    };
    view! {
        <form class="template-reply" id="template-reply" on:submit=send>
            <label class="field">
                <span>{move || i18n.t(key!("template.choose"))}</span>
                <select id="template-pick" on:change=move |ev| {
                    let i = event_target_value(&ev).parse::<usize>().ok();
                    let wanted = i.and_then(|i| templates.get_untracked().and_then(|l| l.get(i).cloned()))
                        .map_or(0, |t| b::body_text(&t.components).map_or(0, b::placeholders));
                    values.set(vec![String::new(); wanted]);
                    chosen.set(i);
                    sending.clear();
                }>
                    <option value="" selected=move || chosen.get().is_none()>{move || i18n.t(key!("template.none"))}</option>
                    {move || templates.get().unwrap_or_default().into_iter().enumerate().map(|(i, t)| view! {
                        <option value=i.to_string()>{format!("{} ({})", t.name, t.language)}</option>
                    }).collect_view()}
                </select>
            </label>
            <Show when=move || templates.get().is_some_and(|l| l.is_empty())>
                <p class="muted small" id="no-templates">{move || i18n.t(key!("template.none_approved"))}</p>
            </Show>
            {move || (0..values.with(Vec::len)).map(|n| view! {
                <label class="field">
                    <span>{move || format!("{} {}", i18n.t(key!("template.value")), n + 1)}</span>
                    <input class="template-param" maxlength="1024" prop:value=move || values.with(|v| v.get(n).cloned().unwrap_or_default())
                        on:input=move |ev| values.update(|v| if let Some(x) = v.get_mut(n) { *x = event_target_value(&ev) }) />
                </label>
            }).collect_view()}
            {move || body().map(|text| view! {
                <p class="template-preview" id="template-preview">{b::render(&text, &values.get())}</p>
            })}
            <button id="send-template" type="submit" class="primary" disabled=move || busy.get() || chosen.get().is_none()>
                {move || if busy.get() { i18n.t(key!("conv.sending")) } else { i18n.t(key!("template.send")) }}
            </button>
            <ErrorNote error=sending.error() />
        </form>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn t(name: &str, waba: &str, status: &str, components: Vec<serde_json::Value>) -> Template {
        Template {
            waba_id: waba.into(),
            name: name.into(),
            language: "en_US".into(),
            category: "UTILITY".into(),
            status: status.into(),
            components,
            synced_at: 0,
        }
    }

    #[test]
    fn only_approved_templates_of_the_numbers_account_without_a_file_header_are_offered() {
        let body = json!({"type": "BODY", "text": "Hi {{1}}"});
        let image = json!({"type": "HEADER", "format": "IMAGE"});
        let all = vec![
            t("ok", "w1", "APPROVED", vec![body.clone()]),
            t("pending", "w1", "PENDING", vec![body.clone()]),
            t("photo", "w1", "APPROVED", vec![image, body.clone()]),
            t("other_account", "w2", "APPROVED", vec![body]),
        ];
        let names = |l: Vec<Template>| l.into_iter().map(|t| t.name).collect::<Vec<_>>();
        assert_eq!(names(offered(all.clone(), Some("w1"))), ["ok"]);
        assert_eq!(names(offered(all, None)), ["ok", "other_account"]);
    }
}
