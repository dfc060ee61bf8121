//! Property tests for the parsers at the edge: arbitrary bytes and text never make them panic,
//! and valid-shaped values come back out as they went in.

use proptest::prelude::*;
use serde_json::json;
use switchboard_shared::segment::{Cmp, Segment, TagsMode, Value};
use switchboard_shared::wire::{MessageContent, WebhookEnvelope};
use switchboard_shared::MessageStatus;

/// Walks everything a processor would read from a parsed webhook.
fn digest(env: &WebhookEnvelope) {
    for entry in &env.entry {
        for change in &entry.changes {
            if let Ok(value) = change.messages_value() {
                for m in &value.messages {
                    let _ = (m.sender(), m.summary(), m.content());
                }
                for c in &value.contacts {
                    let _ = c.key();
                }
                for s in &value.statuses {
                    let _ = (s.id.len(), MessageStatus::parse(&s.status));
                }
            }
            if let Ok(groups) = change.groups_value() {
                let _ = groups.groups.iter().map(|g| g.normalized_kind().len()).sum::<usize>();
            }
            let _ = (change.quality_value(), change.is_group_field());
        }
    }
}

/// A segment written out with every operator bracketed, so parsing gives back its exact shape.
fn render(s: &Segment) -> String {
    let list = |tags: &[String]| tags.join(", ");
    match s {
        Segment::Everyone => "everyone".into(),
        Segment::Tags(mode, tags) => {
            let mode = match mode {
                TagsMode::Any => "any",
                TagsMode::All => "all",
                TagsMode::None => "none",
            };
            format!("tags {mode} ({})", list(tags))
        }
        Segment::Compare(field, op, value) => {
            let op = match op {
                Cmp::Eq => "=",
                Cmp::Ne => "!=",
                Cmp::Lt => "<",
                Cmp::Le => "<=",
                Cmp::Gt => ">",
                Cmp::Ge => ">=",
                Cmp::Contains => "contains",
            };
            let value = match value {
                Value::Text(t) => format!("\"{t}\""),
                Value::Number(n) => format!("{n}"),
                Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
                Value::Date(_) => unreachable!("not generated"),
            };
            format!("{field} {op} {value}")
        }
        Segment::OptedIn => "opted_in".into(),
        Segment::OptedOut => "opted_out".into(),
        Segment::Replied(id) => format!("replied {id}"),
        Segment::Number(id) => format!("number {id}"),
        Segment::Recent { .. } => unreachable!("not generated"),
        Segment::Not(inner) => format!("not ({})", render(inner)),
        Segment::And(a, b) => format!("({} and {})", render(a), render(b)),
        Segment::Or(a, b) => format!("({} or {})", render(a), render(b)),
    }
}

fn name(prefix: &'static str) -> impl Strategy<Value = String> {
    "[a-z][a-z0-9_]{0,8}".prop_map(move |n| format!("{prefix}{n}"))
}

fn leaf() -> impl Strategy<Value = Segment> {
    let mode = prop_oneof![Just(TagsMode::Any), Just(TagsMode::All), Just(TagsMode::None)];
    let order = prop_oneof![Just(Cmp::Eq), Just(Cmp::Ne), Just(Cmp::Lt), Just(Cmp::Le), Just(Cmp::Gt), Just(Cmp::Ge)];
    prop_oneof![
        (mode, prop::collection::vec(name("t_"), 1..4)).prop_map(|(m, tags)| Segment::Tags(m, tags)),
        (name("f_"), order, 0i32..100_000).prop_map(|(f, op, n)| Segment::Compare(f, op, Value::Number(f64::from(n)))),
        (name("f_"), "[a-z 0-9]{0,12}").prop_map(|(f, t)| Segment::Compare(f, Cmp::Contains, Value::Text(t))),
        (name("f_"), "[A-Za-z 0-9旺角]{0,12}").prop_map(|(f, t)| Segment::Compare(f, Cmp::Eq, Value::Text(t))),
        (name("f_"), any::<bool>()).prop_map(|(f, b)| Segment::Compare(f, Cmp::Ne, Value::Bool(b))),
        Just(Segment::OptedIn),
        Just(Segment::OptedOut),
        (0i64..1_000_000).prop_map(Segment::Replied),
        "[1-9][0-9]{14}".prop_map(Segment::Number),
    ]
}

fn segment() -> impl Strategy<Value = Segment> {
    leaf().prop_recursive(4, 24, 2, |inner| {
        prop_oneof![
            inner.clone().prop_map(|s| Segment::Not(Box::new(s))),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Segment::And(Box::new(a), Box::new(b))),
            (inner.clone(), inner).prop_map(|(a, b)| Segment::Or(Box::new(a), Box::new(b))),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn any_bytes_posted_as_a_webhook_parse_or_are_refused_without_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(env) = serde_json::from_slice::<WebhookEnvelope>(&bytes) {
            digest(&env);
        }
    }

    #[test]
    fn any_json_shaped_like_a_webhook_is_digested_without_a_panic(
        field in prop_oneof![Just("messages".to_owned()), Just("group_lifecycle_update".to_owned()), Just("phone_number_quality_update".to_owned()), "[a-z_]{1,20}"],
        kind in prop_oneof![Just("text".to_owned()), Just("image".to_owned()), Just("reaction".to_owned()), Just("interactive".to_owned()), Just("system".to_owned()), "[a-z]{1,10}"],
        body in any::<String>(),
        number in any::<i64>(),
    ) {
        let raw = json!({"object": "whatsapp_business_account", "entry": [{"id": number, "changes": [{"field": field, "value": {
            "metadata": {"phone_number_id": number},
            "messages": [{"from": number, "id": body, "type": kind, kind.as_str(): {"body": body, "caption": number}}],
            "statuses": [{"id": body, "status": kind, "errors": [{"code": number}]}],
            "groups": [{"group_id": body, "type": kind}]
        }}]}]});
        if let Ok(env) = serde_json::from_value::<WebhookEnvelope>(raw) {
            digest(&env);
        }
    }

    #[test]
    fn a_valid_text_message_comes_out_as_it_went_in(
        wamid in "wamid\\.[A-Za-z0-9=_-]{1,40}",
        from in "[1-9][0-9]{6,14}",
        name in any::<String>(),
        body in any::<String>(),
        timestamp in 0i64..4_000_000_000,
    ) {
        let raw = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": "106540352242922"},
            "contacts": [{"profile": {"name": name}, "wa_id": from}],
            "messages": [{"from": from, "id": wamid, "timestamp": timestamp.to_string(), "type": "text", "text": {"body": body}}]
        }}]}]})).unwrap();
        let env: WebhookEnvelope = serde_json::from_slice(&raw).unwrap();
        let value = env.entry[0].changes[0].messages_value().unwrap();
        let m = &value.messages[0];
        prop_assert_eq!(&m.id, &wamid);
        prop_assert_eq!(m.sender(), Some(from.as_str()));
        prop_assert_eq!(m.timestamp, Some(timestamp));
        prop_assert_eq!(m.content(), MessageContent::Text { body: body.clone() });
        prop_assert_eq!(value.contacts[0].profile.name.as_deref(), Some(name.as_str()));
    }

    #[test]
    fn any_text_as_a_segment_parses_or_points_inside_it(text in any::<String>()) {
        if let Err(e) = Segment::parse(&text) {
            prop_assert!(e.at <= text.chars().count(), "error at {} beyond {:?}", e.at, text);
        }
    }

    #[test]
    fn a_valid_segment_parses_back_to_itself(s in segment()) {
        let text = render(&s);
        match Segment::parse(&text) {
            Ok(parsed) => prop_assert_eq!(parsed, s),
            Err(e) => prop_assert!(false, "{} in {}", e, text),
        }
    }
}
