//! Parsing of every webhook message and status type in `reference/cloud-api.md`, including the
//! spots where Meta's own samples disagree.

use serde_json::json;
use switchboard_shared::media::{Attachment, ContactCard, MediaState};
use switchboard_shared::wire::{GraphErrorResponse, MessageContent, OutboundBody, SendRequest, SendResponse, WebhookEnvelope};
use switchboard_shared::MessageStatus;

fn envelope_with(value: serde_json::Value, field: &str) -> WebhookEnvelope {
    serde_json::from_value(json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "102290129340398", "changes": [{"field": field, "value": value}]}]
    }))
    .expect("envelope parses")
}

fn one_message(message: serde_json::Value) -> switchboard_shared::wire::InboundMessage {
    let env = envelope_with(
        json!({
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Sheena Nelson"}, "wa_id": "16505551234"}],
            "messages": [message]
        }),
        "messages",
    );
    let value = env.entry[0].changes[0].messages_value().expect("messages value parses");
    assert_eq!(value.metadata.phone_number_id.as_deref(), Some("106540352242922"));
    value.messages.into_iter().next().expect("one message")
}

fn base(kind: &str) -> serde_json::Value {
    json!({"from": "16505551234", "id": format!("wamid.{kind}"), "timestamp": "1749416383", "type": kind})
}

fn with(kind: &str, body: serde_json::Value) -> serde_json::Value {
    let mut m = base(kind);
    m[kind] = body;
    m
}

#[test]
fn text_message_parses_with_string_timestamp() {
    let m = one_message(with("text", json!({"body": "Does it come in another color?"})));
    assert_eq!(m.timestamp, Some(1749416383));
    assert_eq!(m.sender(), Some("16505551234"));
    assert_eq!(m.content(), MessageContent::Text { body: "Does it come in another color?".into() });
}

#[test]
fn every_media_type_parses_with_caption_and_filename() {
    for kind in ["image", "video", "audio", "document", "sticker"] {
        let m = one_message(with(
            kind,
            json!({
                "mime_type": "image/jpeg", "sha256": "abc", "id": "65463453", "caption": "look", "filename": "a.pdf",
                "url": "https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"
            }),
        ));
        match m.content() {
            MessageContent::Media { kind: k, id, caption, .. } => {
                assert_eq!(k, kind);
                assert_eq!(id.as_deref(), Some("65463453"));
                assert_eq!(caption.as_deref(), Some("look"));
            }
            other => panic!("{kind}: {other:?}"),
        }
        assert!(m.summary().starts_with(&format!("[{kind}]")));
        match m.attachment() {
            Some(Attachment::Media { kind: k, state, caption, .. }) => {
                assert_eq!((k.as_str(), state, caption.as_deref()), (kind, MediaState::Pending, Some("look")))
            }
            other => panic!("{kind}: {other:?}"),
        }
    }
    let voice = one_message(with("audio", json!({"mime_type": "audio/ogg; codecs=opus", "id": "7", "voice": true})));
    assert!(matches!(voice.attachment(), Some(Attachment::Media { voice: true, .. })));
    let text = one_message(with("text", json!({"body": "hi"})));
    assert_eq!(text.attachment(), None);
}

#[test]
fn files_go_out_by_their_uploaded_id_in_metas_shapes() {
    let doc = OutboundBody::media("document", "1037", Some("Price list".into()), Some("prices.pdf".into())).unwrap();
    let json = serde_json::to_value(SendRequest::individual("85291234567", doc.clone())).unwrap();
    assert_eq!(json["type"], "document");
    assert_eq!(json["document"], json!({"id": "1037", "caption": "Price list", "filename": "prices.pdf"}));
    assert_eq!((doc.kind(), doc.media_id(), doc.summary().as_str()), ("document", Some("1037"), "[document] Price list"));
    let audio = OutboundBody::media("audio", "9", Some("dropped".into()), Some("x.ogg".into())).unwrap();
    assert_eq!(serde_json::to_value(&audio).unwrap(), json!({"type": "audio", "audio": {"id": "9"}}));
    let image = OutboundBody::media("image", "5", None, Some("dropped.png".into())).unwrap();
    assert_eq!(serde_json::to_value(&image).unwrap(), json!({"type": "image", "image": {"id": "5"}}));
    assert_eq!(OutboundBody::media("sticker", "5", None, None), None);
}

#[test]
fn reaction_and_its_removal_parse() {
    let m = one_message(with("reaction", json!({"message_id": "wamid.X", "emoji": "😮"})));
    assert_eq!(m.content(), MessageContent::Reaction { message_id: "wamid.X".into(), emoji: Some("😮".into()) });
    let removed = one_message(with("reaction", json!({"message_id": "wamid.X", "emoji": ""})));
    assert_eq!(removed.content(), MessageContent::Reaction { message_id: "wamid.X".into(), emoji: None });
    let no_key = one_message(with("reaction", json!({"message_id": "wamid.X"})));
    assert_eq!(no_key.content(), MessageContent::Reaction { message_id: "wamid.X".into(), emoji: None });
}

#[test]
fn interactive_button_list_and_template_button_replies_parse() {
    let button =
        one_message(with("interactive", json!({"type": "button_reply", "button_reply": {"id": "change-button", "title": "Change"}})));
    assert_eq!(button.content(), MessageContent::InteractiveReply { id: "change-button".into(), title: "Change".into() });
    let list = one_message(with(
        "interactive",
        json!({"type": "list_reply", "list_reply": {"id": "priority_mail", "title": "Priority Mail", "description": "1–3 Days"}}),
    ));
    assert_eq!(list.content(), MessageContent::InteractiveReply { id: "priority_mail".into(), title: "Priority Mail".into() });
    let mut quick = with("button", json!({"payload": "STOP", "text": "Stop promotions"}));
    quick["context"] = json!({"from": "15550783881", "id": "wamid.TEMPLATE"});
    let quick = one_message(quick);
    assert_eq!(quick.content(), MessageContent::Button { payload: Some("STOP".into()), text: "Stop promotions".into() });
    assert_eq!(quick.context.unwrap().id.as_deref(), Some("wamid.TEMPLATE"));
}

#[test]
fn location_contacts_order_system_and_unsupported_parse() {
    let loc =
        one_message(with("location", json!({"latitude": "22.2819", "longitude": 114.1581, "name": "Central", "address": "1 Queen's Rd"})));
    match loc.content() {
        MessageContent::Location { latitude, longitude, name, .. } => {
            assert!((latitude - 22.2819).abs() < 1e-9 && (longitude - 114.1581).abs() < 1e-9);
            assert_eq!(name.as_deref(), Some("Central"));
        }
        other => panic!("{other:?}"),
    }
    let contacts = one_message(with(
        "contacts",
        json!([{"name": {"formatted_name": "Mei Chan"}, "phones": [{"phone": "+852 9123 4567", "type": "CELL", "wa_id": "85291234567"}]}]),
    ));
    let card = ContactCard { name: "Mei Chan".into(), phones: vec!["+852 9123 4567".into()] };
    assert_eq!(contacts.content(), MessageContent::Contacts { cards: vec![card.clone()] });
    assert_eq!(contacts.attachment(), Some(Attachment::Contacts { cards: vec![card] }));
    assert_eq!(contacts.summary(), "[contacts] Mei Chan");
    match loc.attachment() {
        Some(Attachment::Location { name, address, .. }) => {
            assert_eq!((name.as_deref(), address.as_deref()), (Some("Central"), Some("1 Queen's Rd")))
        }
        other => panic!("{other:?}"),
    }
    let order = one_message(with(
        "order",
        json!({"catalog_id": "1", "product_items": [{"product_retailer_id": "a"}, {"product_retailer_id": "b"}]}),
    ));
    assert_eq!(order.content(), MessageContent::Order { items: 2 });
    let system = one_message(with("system", json!({"body": "User changed number", "type": "user_changed_number"})));
    assert_eq!(system.content(), MessageContent::System { body: "User changed number".into() });
    let mut unsupported = base("unsupported");
    unsupported["errors"] = json!([{"code": 131051, "title": "Message type unknown", "message": "Message type unknown", "error_data": {"details": "Message type is currently not supported."}}]);
    let unsupported = one_message(unsupported);
    assert_eq!(unsupported.content(), MessageContent::Unsupported);
    assert_eq!(unsupported.errors[0].code, Some(131051));
    let future = one_message(with("hologram", json!({"x": 1})));
    assert_eq!(future.content(), MessageContent::Unknown { kind: "hologram".into() });
}

#[test]
fn forwarded_and_referral_context_is_kept() {
    let mut m = with("text", json!({"body": "fwd"}));
    m["context"] = json!({"forwarded": true});
    m["referral"] = json!({"source_url": "https://fb.me/x", "source_type": "ad", "ctwa_clid": "abc"});
    let m = one_message(m);
    assert_eq!(m.context.unwrap().forwarded, Some(true));
    assert!(m.rest.contains_key("referral"));
}

#[test]
fn bsuid_sender_without_wa_id_parses() {
    let env = envelope_with(
        json!({
            "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": "Anon", "username": "anon"}, "user_id": "US.13491208655302741918"}],
            "messages": [{"from_user_id": "US.13491208655302741918", "id": "wamid.B", "timestamp": 1749416383, "type": "text", "text": {"body": "hi"}}]
        }),
        "messages",
    );
    let value = env.entry[0].changes[0].messages_value().unwrap();
    assert_eq!(value.contacts[0].wa_id, None);
    assert_eq!(value.contacts[0].key(), Some("US.13491208655302741918"));
    assert_eq!(value.messages[0].sender(), Some("US.13491208655302741918"));
    assert_eq!(value.messages[0].timestamp, Some(1749416383), "integer timestamps are accepted too");
}

#[test]
fn every_status_type_parses_including_failed_with_errors() {
    for (status, expected) in [
        ("sent", MessageStatus::Sent),
        ("delivered", MessageStatus::Delivered),
        ("read", MessageStatus::Read),
        ("played", MessageStatus::Read),
        ("failed", MessageStatus::Failed),
    ] {
        let env = envelope_with(
            json!({"metadata": {"phone_number_id": "1"}, "statuses": [{
                "id": "wamid.S", "status": status, "timestamp": "1751142888", "recipient_id": "16505551234",
                "biz_opaque_callback_data": "bcast-7-42",
                "pricing": {"billable": true, "pricing_model": "PMP", "type": "regular", "category": "marketing"},
                "errors": if status == "failed" { json!([{"code": 131049, "title": "This message was not delivered to maintain healthy ecosystem engagement.", "message": "…", "error_data": {"details": "…"}, "href": "/documentation/business-messaging/whatsapp/support/error-codes"}]) } else { json!([]) }
            }]}),
            "messages",
        );
        let s = &env.entry[0].changes[0].messages_value().unwrap().statuses[0];
        assert_eq!(MessageStatus::parse(&s.status), Some(expected));
        assert_eq!(s.biz_opaque_callback_data.as_deref(), Some("bcast-7-42"));
        if status == "failed" {
            assert_eq!(s.errors[0].code, Some(131049));
        }
    }
}

#[test]
fn group_status_accepts_both_participant_spellings() {
    for field in ["recipient_participant_id", "participant_recipient_id"] {
        let mut status = json!({"id": "wamid.G", "status": "delivered", "timestamp": "1", "recipient_id": "Y2FwaV9ncm91cDox", "recipient_type": "group"});
        status[field] = json!("16505551234");
        let env = envelope_with(json!({"metadata": {"phone_number_id": "1"}, "statuses": [status]}), "messages");
        let s = &env.entry[0].changes[0].messages_value().unwrap().statuses[0];
        assert_eq!(s.recipient_participant_id.as_deref(), Some("16505551234"), "{field}");
        assert_eq!(s.recipient_type.as_deref(), Some("group"));
    }
}

#[test]
fn system_errors_and_group_events_with_string_codes_parse() {
    let env = envelope_with(
        json!({"metadata": {"phone_number_id": "1"}, "errors": [{"code": 130429, "title": "Rate limit hit", "message": "Rate limit hit"}]}),
        "messages",
    );
    assert_eq!(env.entry[0].changes[0].messages_value().unwrap().errors[0].code, Some(130429));
    let env = envelope_with(
        json!({"messaging_product": "whatsapp", "metadata": {"phone_number_id": "1"}, "groups": [
            {"timestamp": 1755548877, "group_id": "G1", "type": "group_join_request_created", "join_request_id": "J1", "wa_id": "16505551234"},
            {"timestamp": "1755548877", "group_id": "G1", "type": "group_add_participants", "added_participants": [{"wa_id": "1"}]},
            {"timestamp": "1", "type": "group_create", "request_id": "R", "errors": [{"code": "131211", "title": "Group create limit reached"}]}
        ]}),
        "group_participants_update",
    );
    let change = &env.entry[0].changes[0];
    assert!(change.is_group_field());
    let groups = change.groups_value().unwrap().groups;
    assert_eq!(groups[0].timestamp, Some(1755548877));
    assert_eq!(groups[1].normalized_kind(), "group_participants_add");
    assert_eq!(groups[2].errors[0].code, Some(131211), "string codes are read as numbers");
}

#[test]
fn one_post_with_several_entries_and_changes_keeps_them_all() {
    let change = |id: &str| json!({"field": "messages", "value": {"metadata": {"phone_number_id": "1"}, "messages": [{"from": "1", "id": id, "timestamp": "1", "type": "text", "text": {"body": "x"}}]}});
    let env: WebhookEnvelope = serde_json::from_value(json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "A", "changes": [change("m1"), change("m2")]}, {"id": 42, "changes": [change("m3")]}]
    }))
    .unwrap();
    let ids: Vec<String> =
        env.entry.iter().flat_map(|e| e.changes.iter()).flat_map(|c| c.messages_value().unwrap().messages).map(|m| m.id).collect();
    assert_eq!(ids, ["m1", "m2", "m3"]);
    assert_eq!(env.entry[1].id.as_deref(), Some("42"), "numeric WABA ids are accepted");
}

#[test]
fn send_request_serialises_as_meta_expects_and_round_trips() {
    let mut send = SendRequest::individual("+16505551234", OutboundBody::text("hello"));
    send.biz_opaque_callback_data = Some("reply-1".into());
    let v = serde_json::to_value(&send).unwrap();
    assert_eq!(
        v,
        json!({"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+16505551234",
        "biz_opaque_callback_data": "reply-1", "type": "text", "text": {"body": "hello"}})
    );
    let back: SendRequest = serde_json::from_value(v).unwrap();
    assert_eq!(back, send);
    let template: SendRequest = serde_json::from_value(json!({"messaging_product": "whatsapp", "to": "1", "type": "template",
        "template": {"name": "order_update", "language": {"code": "en_US"}, "components": [{"type": "body", "parameters": []}]}}))
    .unwrap();
    assert!(template.body.is_template());
}

#[test]
fn graph_error_and_send_response_parse() {
    let e: GraphErrorResponse = serde_json::from_value(json!({"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
        "error_data": {"messaging_product": "whatsapp", "details": "Cloud API message throughput has been reached."}, "error_subcode": 2494055, "fbtrace_id": "Az8"}})).unwrap();
    assert_eq!(e.error.code, Some(130429));
    assert_eq!(e.title(), "Rate limit hit");
    let r: SendResponse =
        serde_json::from_value(json!({"messaging_product": "whatsapp", "contacts": [{"input": "+16505551234", "wa_id": "16505551234"}],
        "messages": [{"id": "wamid.HBgL", "message_status": "accepted"}]}))
        .unwrap();
    assert_eq!(r.messages[0].id, "wamid.HBgL");
}
