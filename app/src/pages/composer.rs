//! The box under a conversation: a reply to the customer, or an internal note for colleagues.
//! Typing `/` offers the canned replies (filled with the contact's and the agent's details);
//! typing `@` in a note offers the colleagues who work on the number, who are told live.

use crate::key;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use switchboard_shared::access::Permission;
use switchboard_shared::api::{Colleague, Conversation, NoteRequest, ReplyRequest};
use switchboard_shared::limits::CUSTOMER_SERVICE_WINDOW_MS;
use switchboard_shared::media::{accepted_types, check_outbound, human_size, MediaProblem};
use switchboard_shared::support::{fill, CannedReply};

use super::template_reply::TemplateReply;
use crate::api::ApiError;
use crate::client;
use crate::components::feedback::{ErrorNote, Mutation};
use crate::i18n::use_i18n;
use crate::store::{use_inbox, Inbox};
use crate::Session;

/// What the box writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Reply,
    Note,
}

/// A suggestion under the box: a canned reply, or a colleague to mention.
#[derive(Debug, Clone, PartialEq)]
enum Suggestion {
    Canned(CannedReply),
    Colleague(Colleague),
}

/// The word being typed at the end of the text, if it starts with `sigil` (`/hours`, `@Am`).
fn typing_after(text: &str, sigil: char) -> Option<String> {
    let last = text.rsplit(char::is_whitespace).next()?;
    let rest = last.strip_prefix(sigil)?;
    Some(rest.to_lowercase())
}

/// The colleagues a note names as `@Name`.
fn mentioned(text: &str, colleagues: &[Colleague]) -> Vec<i64> {
    colleagues.iter().filter(|c| text.contains(&format!("@{}", c.name))).map(|c| c.id).collect()
}

#[component]
pub fn Composer(id: i64, conversation: Memo<Option<Conversation>>) -> impl IntoView {
    let i18n = use_i18n();
    let inbox = use_inbox();
    let session = expect_context::<Session>();
    let me = session.me.get_untracked();
    let can_reply = me.as_ref().is_some_and(|m| m.can(Permission::Reply));
    let can_template = can_reply && me.as_ref().is_some_and(|m| m.can(Permission::SendTemplates));
    let (my_name, my_code) = me.as_ref().map(|m| (m.name.clone(), m.code.clone().unwrap_or_default())).unwrap_or_default();
    let mode = RwSignal::new(Mode::Reply);
    let text = RwSignal::new(String::new());
    // A photo or document to send, with the text as its caption.
    let file = RwSignal::new_local(None::<web_sys::File>);
    let file_input = NodeRef::<leptos::html::Input>::new();
    let sending = Mutation::new();
    let busy = sending.pending();
    let canned = LocalResource::new(move || async move { client::canned_replies().await.unwrap_or_default() });
    let colleagues = LocalResource::new(move || async move { client::colleagues(id).await.unwrap_or_default() });
    let window_open = move || {
        conversation.get().and_then(|c| c.last_inbound_at).is_some_and(|t| js_sys::Date::now() as i64 - t < CUSTOMER_SERVICE_WINDOW_MS)
    };
    let suggestions = Memo::new(move |_| {
        let typed = text.get();
        match mode.get() {
            Mode::Reply => {
                let Some(prefix) = typed.trim_start().strip_prefix('/').map(str::to_lowercase) else { return Vec::new() };
                if prefix.contains(char::is_whitespace) {
                    return Vec::new();
                }
                let number = conversation.with(|c| c.as_ref().map(|c| c.number_id.clone())).unwrap_or_default();
                canned
                    .get()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|r| r.spec.shortcut.starts_with(&prefix))
                    .filter(|r| r.spec.number_ids.is_empty() || r.spec.number_ids.contains(&number))
                    .take(8)
                    .map(Suggestion::Canned)
                    .collect()
            }
            Mode::Note => {
                let Some(prefix) = typing_after(&typed, '@') else { return Vec::new() };
                colleagues
                    .get()
                    .unwrap_or_default()
                    .into_iter()
                    .filter(|c| c.name.to_lowercase().starts_with(&prefix) || c.code.as_deref().is_some_and(|k| k.starts_with(&prefix)))
                    .take(8)
                    .map(Suggestion::Colleague)
                    .collect()
            }
        }
    });
    let (name_for_fill, code_for_fill) = (StoredValue::new(my_name), StoredValue::new(my_code));
    let choose = move |s: Suggestion| match s {
        Suggestion::Canned(r) => {
            let c = conversation.get_untracked();
            let contact_name = c.as_ref().and_then(|c| c.contact_name.clone()).unwrap_or_default();
            let phone = c.as_ref().map(|c| format!("+{}", c.contact)).unwrap_or_default();
            let agent_code = code_for_fill.get_value();
            let agent_code = if agent_code.is_empty() { String::new() } else { format!("#{agent_code}") };
            let values = [
                ("contact.name", contact_name.as_str()),
                ("contact.phone", phone.as_str()),
                ("agent.name", &name_for_fill.get_value()),
                ("agent.code", agent_code.as_str()),
            ];
            text.set(fill(&r.spec.text, &values));
        }
        Suggestion::Colleague(c) => {
            let typed = text.get_untracked();
            let cut = typed.rfind('@').unwrap_or(typed.len());
            text.set(format!("{}@{} ", &typed[..cut], c.name));
        }
    };
    let send = move |ev: SubmitEvent| {
        ev.prevent_default();
        // Enter on an open list of suggestions takes the first.
        if let Some(first) = suggestions.get_untracked().into_iter().next() {
            choose(first);
            return;
        }
        let body = text.get_untracked();
        let attached = file.get_untracked().filter(|_| mode.get_untracked() == Mode::Reply);
        if let Some(f) = attached {
            let call = async move { until_signed_out(inbox, client::send_file(id, &f, &body)).await };
            sending.run(call, move |message| {
                text.set(String::new());
                file.set(None);
                inbox.add_message(id, message);
            });
            return;
        }
        if body.trim().is_empty() {
            return;
        }
        match mode.get_untracked() {
            Mode::Reply => {
                let call = async move { until_signed_out(inbox, client::reply(id, &ReplyRequest { text: body })).await };
                sending.run(call, move |message| {
                    text.set(String::new());
                    inbox.add_message(id, message);
                });
            }
            Mode::Note => {
                let mentions = mentioned(&body, &colleagues.get_untracked().unwrap_or_default());
                let call = async move { until_signed_out(inbox, client::add_note(id, &NoteRequest { text: body, mentions })).await };
                sending.run(call, move |note| {
                    text.set(String::new());
                    inbox.add_activity(note);
                });
            }
        }
    };
    if !can_reply {
        return view! { <p class="notice" id="read-only">{move || i18n.t(key!("conv.read_only"))}</p> }.into_any();
    }
    // A file chosen: checked against WhatsApp's types and sizes before anything is sent.
    let chosen = move |_| {
        let Some(f) = file_input.get().and_then(|input| input.files()).and_then(|list| list.get(0)) else { return };
        if let Some(input) = file_input.get() {
            // Choosing the same file again fires again.
            input.set_value("");
        }
        match check_outbound(&f.type_(), f.size() as u64) {
            Ok(_) => {
                sending.clear();
                file.set(Some(f));
            }
            Err(problem) => sending.refuse(match problem {
                MediaProblem::TooLarge { .. } => key!("media.too_large"),
                MediaProblem::Empty => key!("media.empty"),
                _ => key!("media.unsupported"),
            }),
        }
    };
    let tab = move |m: Mode, label: crate::i18n::Key, id: &'static str| {
        view! {
            <button type="button" role="tab" id=id class="tab" class:active=move || mode.get() == m
                on:click=move |_| { mode.set(m); sending.clear(); }>{move || i18n.t(label)}</button>
        }
    };
    view! {
        <div class="composer" class:note-mode=move || mode.get() == Mode::Note>
            <div class="tabs small" role="tablist">
                {tab(Mode::Reply, key!("conv.mode.reply"), "mode-reply")}
                {tab(Mode::Note, key!("conv.mode.note"), "mode-note")}
            </div>
            <Show
                when=move || mode.get() == Mode::Note || window_open()
                fallback=move || view! {
                    <p class="notice" id="window-closed">{i18n.t(key!("conv.window_closed"))}</p>
                    {can_template.then(|| view! { <TemplateReply id=id conversation=conversation /> })}
                }
            >
                <Show when=move || !suggestions.with(Vec::is_empty)>
                    <ul class="suggestions" id="suggestions" role="listbox">
                        {move || suggestions.get().into_iter().map(|s| {
                            let (head, rest) = match &s {
                                Suggestion::Canned(r) => (format!("/{}", r.spec.shortcut), r.spec.text.clone()),
                                Suggestion::Colleague(c) => (format!("@{}", c.name), c.code.as_ref().map(|k| format!("#{k}")).unwrap_or_default()),
                            };
                            let picked = s.clone();
                            view! {
                                <li role="option" class="suggestion" on:mousedown=move |ev| { ev.prevent_default(); choose(picked.clone()); }>
                                    <strong>{head}</strong> " " <span class="muted">{rest}</span>
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                </Show>
                <Show when=move || mode.get() == Mode::Reply && file.with(Option::is_some)>
                    <p class="attachment-chip" id="attached">
                        <span class="attachment-icon">{move || file.with(|f| if f.as_ref().is_some_and(|f| f.type_().starts_with("image/")) { "🖼" } else { "📄" })}</span>
                        <strong class="filename">{move || file.with(|f| f.as_ref().map(|f| f.name()))}</strong>
                        <span class="muted">{move || file.with(|f| f.as_ref().map(|f| human_size(f.size() as i64)))}</span>
                        <button type="button" class="icon" id="remove-file" title=move || i18n.t(key!("media.remove"))
                            on:click=move |_| file.set(None)>"✕"</button>
                    </p>
                </Show>
                <form class="reply" on:submit=send>
                    <Show when=move || mode.get() == Mode::Reply>
                        <label class="attach" title=move || i18n.t(key!("media.attach"))>
                            <span aria-hidden="true">"📎"</span>
                            <span class="sr-only">{move || i18n.t(key!("media.attach"))}</span>
                            <input type="file" id="attach-file" class="sr-only" accept=accepted_types() node_ref=file_input on:change=chosen />
                        </label>
                    </Show>
                    <textarea id="reply-text" rows="2" maxlength="4096"
                        placeholder=move || match (mode.get(), file.with(Option::is_some)) {
                            (Mode::Reply, true) => i18n.t(key!("media.caption_placeholder")),
                            (Mode::Reply, false) => i18n.t(key!("conv.reply_placeholder")),
                            (Mode::Note, _) => i18n.t(key!("conv.note_placeholder")),
                        }
                        prop:value=text
                        on:input=move |ev| text.set(event_target_value(&ev))
                    ></textarea>
                    <button id="send" type="submit" class="primary" disabled=move || busy.get() || (text.with(|t| t.trim().is_empty()) && !(mode.get() == Mode::Reply && file.with(Option::is_some)))>
                        {move || match (busy.get(), mode.get()) {
                            (true, _) => i18n.t(key!("conv.sending")),
                            (false, Mode::Reply) => i18n.t(key!("conv.send")),
                            (false, Mode::Note) => i18n.t(key!("conv.add_note")),
                        }}
                    </button>
                </form>
                <ErrorNote error=sending.error() />
            </Show>
        </div>
    }
    .into_any()
}

/// A send's answer; a 401 means the session ended, and the console goes to the sign-in page.
async fn until_signed_out<T>(inbox: Inbox, answer: impl std::future::Future<Output = Result<T, ApiError>>) -> Result<T, ApiError> {
    let answer = answer.await;
    if matches!(answer, Err(ApiError::Unauthorized)) {
        inbox.signed_out.set(true);
    }
    answer
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_being_typed_is_found_after_its_sigil() {
        assert_eq!(typing_after("please ask @am", '@').as_deref(), Some("am"));
        assert_eq!(typing_after("@", '@').as_deref(), Some(""));
        assert_eq!(typing_after("no mention here", '@'), None);
        assert_eq!(typing_after("mail@example.com done", '@'), None);
    }

    #[test]
    fn a_note_mentions_the_colleagues_it_names() {
        let c = |id, name: &str| Colleague { id, name: name.into(), code: None, online: true };
        let team = [c(1, "Amy Chan"), c(2, "Ben"), c(3, "陳小明")];
        assert_eq!(mentioned("@Amy Chan can you check? cc @陳小明", &team), [1, 3]);
        assert!(mentioned("Amy Chan without the at sign", &team).is_empty());
    }
}
