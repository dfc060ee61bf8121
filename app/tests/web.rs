//! Component tests in headless Chromium (wasm-bindgen-test).

use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use switchboard_app::components::ticks::Ticks;
use switchboard_app::i18n::{I18n, Lang};
use switchboard_app::store::{self, Inbox};
use switchboard_shared::api::{Conversation, Direction, Event, EventKind, Message};
use switchboard_shared::MessageStatus;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn host() -> web_sys::HtmlElement {
    let doc = document();
    let host = doc.create_element("div").unwrap();
    doc.body().unwrap().append_child(&host).unwrap();
    host.unchecked_into()
}

#[wasm_bindgen_test]
async fn ticks_follow_the_status_live_and_speak_the_chosen_language() {
    let host = host();
    let i18n = I18n::new();
    i18n.set(Lang::En);
    let status = RwSignal::new(Some(MessageStatus::Pending));
    let _mounted = mount_to(host.clone(), move || {
        provide_context(i18n);
        view! { <Ticks status=status /> }
    });
    let ticks = || host.query_selector(".ticks").unwrap().unwrap();
    assert_eq!(ticks().get_attribute("data-status").as_deref(), Some("pending"));
    assert_eq!(ticks().get_attribute("title").as_deref(), Some("Waiting to send"));
    status.set(Some(MessageStatus::Delivered));
    tick().await;
    assert_eq!(ticks().text_content().as_deref(), Some("✓✓"));
    assert_eq!(ticks().get_attribute("data-status").as_deref(), Some("delivered"));
    i18n.set(Lang::ZhHant);
    status.set(Some(MessageStatus::Read));
    tick().await;
    assert_eq!(ticks().get_attribute("title").as_deref(), Some("已讀"));
    assert_eq!(document().document_element().unwrap().get_attribute("lang").as_deref(), Some("zh-Hant"));
    i18n.set(Lang::En);
}

fn conversation(id: i64, at: i64) -> Conversation {
    Conversation {
        id,
        number_id: "1".into(),
        contact: format!("85290000{id:03}"),
        contact_name: None,
        last_message_at: at,
        last_preview: format!("hello {id}"),
        last_direction: Direction::Inbound,
        unread: 1,
        last_inbound_at: Some(at),
        assigned_to: None,
        labels: Vec::new(),
        is_group: false,
        status: Default::default(),
        snoozed_until: None,
    }
}

fn message(id: i64, conversation_id: i64, status: Option<MessageStatus>) -> Message {
    Message {
        id,
        conversation_id,
        wamid: None,
        direction: if status.is_some() { Direction::Outbound } else { Direction::Inbound },
        kind: "text".into(),
        body: "x".into(),
        status,
        error: None,
        created_at: 0,
        auto_rule: None,
        attachment: None,
    }
}

#[wasm_bindgen_test]
fn inbox_store_puts_the_newest_conversation_first_and_statuses_only_move_forward() {
    let inbox = Inbox::new();
    // Each event as the stream brings it: its name and its text.
    let receive = |seq, kind: EventKind| {
        let event = Event { seq, number_id: "1".into(), at: 0, assigned_to: None, kind };
        inbox.receive(event.kind.name(), &serde_json::to_string(&event).unwrap());
    };
    receive(1, EventKind::Message { conversation: conversation(1, 100), message: message(1, 1, None) });
    receive(2, EventKind::Message { conversation: conversation(2, 200), message: message(2, 2, None) });
    let order: Vec<i64> = inbox.conversations.get_untracked().iter().map(|c| c.id).collect();
    assert_eq!(order, vec![2, 1]);
    // A newer message in conversation 1 moves it to the top, once.
    receive(3, EventKind::Message { conversation: conversation(1, 300), message: message(3, 1, None) });
    let order: Vec<i64> = inbox.conversations.get_untracked().iter().map(|c| c.id).collect();
    assert_eq!(order, vec![1, 2]);
    assert_eq!(inbox.received.get_untracked(), 3);

    inbox.messages.update(|m| {
        m.insert(2, vec![message(10, 2, Some(MessageStatus::Accepted))]);
    });
    let status_of = || inbox.messages.with_untracked(|m| m[&2][0].status);
    let status = |s| EventKind::Status { conversation_id: 2, message_id: 10, wamid: Some("wamid.X".into()), status: s, error: None };
    // Until a page that shows messages follows the stream, the store reads only the list's part.
    receive(4, status(MessageStatus::Delivered));
    assert_eq!(status_of(), Some(MessageStatus::Accepted));
    inbox.add_follower(store::details);
    inbox.add_follower(store::details);
    receive(5, status(MessageStatus::Read));
    assert_eq!(status_of(), Some(MessageStatus::Read));
    receive(6, status(MessageStatus::Delivered));
    assert_eq!(status_of(), Some(MessageStatus::Read), "a late 'delivered' does not undo 'read'");
    receive(7, EventKind::Message { conversation: conversation(2, 400), message: message(11, 2, None) });
    let ids: Vec<i64> = inbox.messages.with_untracked(|m| m[&2].iter().map(|m| m.id).collect());
    assert_eq!(ids, vec![10, 11], "the new message is added once, though the follower was added twice");
}

#[wasm_bindgen_test]
fn a_relay_refusal_is_shown_in_the_readers_language_by_its_code() {
    use switchboard_app::api::ApiError;
    let i18n = I18n::new();
    let refused = |code: &str| ApiError::Refused { status: 400, code: code.into(), message: "the template is PAUSED".into() };
    i18n.set(Lang::ZhHant);
    assert_eq!(refused("template_not_approved").text(i18n), "只能傳送已核准的範本。");
    assert_eq!(refused("forbidden").text(i18n), "您的角色無權執行此操作。");
    // A code the console does not know yet still says something.
    assert_eq!(refused("brand_new_code").text(i18n), "the template is PAUSED");
    i18n.set(Lang::En);
    assert_eq!(refused("template_not_approved").text(i18n), "the template is PAUSED", "English readers get the relay's detail");
}

#[wasm_bindgen_test]
async fn the_shell_says_it_is_catching_up_while_the_relay_is_behind_and_stops_when_it_has() {
    use switchboard_app::components::shell::CatchingUp;
    use switchboard_shared::api::Backlog;
    let host = host();
    let i18n = I18n::new();
    i18n.set(Lang::En);
    let inbox = Inbox::new();
    let _mounted = mount_to(host.clone(), move || {
        provide_context(i18n);
        provide_context(inbox);
        view! { <CatchingUp /> }
    });
    let banner = || host.query_selector("#catching-up").unwrap().and_then(|e| e.text_content());
    assert_eq!(banner(), None, "nothing while the relay keeps up");
    inbox.receive(Backlog::EVENT, r#"{"waiting":1200,"behind_ms":7400}"#);
    tick().await;
    let said = banner().expect("the banner");
    assert!(said.contains("7 s behind") && said.contains("1200 updates waiting"), "{said}");
    i18n.set(Lang::ZhHant);
    tick().await;
    assert!(banner().expect("the banner").contains("落後 7 秒"));
    i18n.set(Lang::En);
    // Under a few seconds is a burst being read, not a lag.
    inbox.receive(Backlog::EVENT, r#"{"waiting":3,"behind_ms":200}"#);
    tick().await;
    assert_eq!(banner(), None);
}
