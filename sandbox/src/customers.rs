//! Simulated customers: a roster per number, unprompted chatter and answers to what they get.

use std::sync::Arc;
use std::time::Duration;

use rand::seq::SliceRandom;
use rand::Rng;
use serde::Serialize;
use serde_json::json;

use crate::webhooks::{self, Update};
use crate::{now_ms, SandboxNumber, State};

/// A simulated customer of one business number.
#[derive(Debug, Clone, Serialize)]
pub struct Customer {
    pub phone_number_id: String,
    pub wa_id: String,
    pub name: String,
}

const NAMES: &[&str] = &[
    "陳美玲",
    "林志明",
    "Wong Ka Yan",
    "Chan Tai Man",
    "黃小華",
    "Lee Siu Ming",
    "張雅婷",
    "Ho Wing Sze",
    "王大明",
    "Cheung Ka Ho",
    "劉家豪",
    "Lam Mei Ling",
];

const OPENERS: &[&str] = &[
    "你好，請問今天有營業嗎？",
    "Hi, is my order shipped yet?",
    "請問這款還有貨嗎？",
    "Can I change my delivery address?",
    "我想預約星期六下午",
    "Do you have this in blue?",
    "謝謝！",
    "How much is delivery to Kowloon?",
];

const ANSWERS: &[&str] = &["好的，謝謝！", "OK, thanks!", "明白 👍", "Great, see you then.", "收到"];

/// Twelve customers per number, with stable numbers so demos look the same each run.
pub(crate) fn roster(numbers: &[SandboxNumber]) -> Vec<Customer> {
    numbers
        .iter()
        .enumerate()
        .flat_map(|(i, n)| {
            NAMES.iter().enumerate().map(move |(j, name)| Customer {
                phone_number_id: n.id.clone(),
                wa_id: format!("8529{:03}{:04}", 100 + i, 1000 + j * 7),
                name: (*name).to_owned(),
            })
        })
        .collect()
}

/// A customer writes a text; queues the inbound webhook and opens the service window.
pub(crate) fn write_in(state: &State, phone_number_id: &str, from: &str, name: &str, text: &str) -> String {
    send_message(state, phone_number_id, from, name, json!({"type": "text", "text": {"body": text}}))
}

/// A file a customer sends.
pub(crate) struct File<'a> {
    pub kind: &'a str,
    pub mime_type: &'a str,
    pub bytes: &'a [u8],
    pub filename: Option<&'a str>,
    pub caption: Option<&'a str>,
    pub voice: bool,
}

/// What a simulated customer can send besides text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sample {
    /// A photo of their parcel, with a caption.
    Photo,
    /// A two-second voice note.
    Voice,
    /// A PDF (the shop's own price list, sent back with a question).
    Document,
    /// Where they are.
    Location,
}

/// A customer sends a file: it is kept under a fresh media id (as Meta keeps it), and the
/// webhook carries the id, type, hash and download address.
pub(crate) fn send_file(state: &State, phone_number_id: &str, from: &str, name: &str, file: File<'_>) -> String {
    let media_id = format!("{}", 1_038_000_000_000_000u64 + state.next_id.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let stored = crate::media::StoredMedia {
        phone_number_id: phone_number_id.to_owned(),
        mime_type: file.mime_type.to_owned(),
        filename: file.filename.map(str::to_owned),
        bytes: file.bytes.to_vec(),
    };
    let mut body = json!({
        "mime_type": file.mime_type,
        "sha256": stored.sha256(),
        "id": media_id,
        "url": format!("https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid={media_id}"),
    });
    state.media.lock().expect("media lock").add(media_id, stored);
    if let Some(caption) = file.caption {
        body["caption"] = json!(caption);
    }
    if let Some(filename) = file.filename {
        body["filename"] = json!(filename);
    }
    if file.kind == "audio" {
        body["voice"] = json!(file.voice);
    }
    let mut message = json!({"type": file.kind});
    message[file.kind] = body;
    send_message(state, phone_number_id, from, name, message)
}

/// A customer sends one of the samples (`caption` replaces the sample's own).
pub(crate) fn send_sample(state: &State, phone_number_id: &str, from: &str, name: &str, sample: Sample, caption: Option<&str>) -> String {
    use crate::media::{PARCEL_JPG, PRICE_LIST_PDF, VOICE_MP3};
    let file = |kind, mime_type, bytes, filename, own: Option<&'static str>, voice| File {
        kind,
        mime_type,
        bytes,
        filename,
        caption: caption.or(own),
        voice,
    };
    match sample {
        Sample::Photo => send_file(
            state,
            phone_number_id,
            from,
            name,
            file("image", "image/jpeg", PARCEL_JPG, None, Some("包裹到了，但是角落壓壞了 😢"), false),
        ),
        Sample::Voice => send_file(state, phone_number_id, from, name, file("audio", "audio/mpeg", VOICE_MP3, None, None, true)),
        Sample::Document => send_file(
            state,
            phone_number_id,
            from,
            name,
            file(
                "document",
                "application/pdf",
                PRICE_LIST_PDF,
                Some("price-list.pdf"),
                Some("Is this still the latest price list?"),
                false,
            ),
        ),
        Sample::Location => send_message(
            state,
            phone_number_id,
            from,
            name,
            json!({"type": "location", "location": {"latitude": 22.2977, "longitude": 114.1722, "name": "Tsim Sha Tsui Star Ferry Pier", "address": "Star Ferry Pier, Tsim Sha Tsui, Kowloon"}}),
        ),
    }
}

/// Queues an inbound webhook for one message (`message` has its `type` and body; the envelope
/// fields are added) and opens the service window.
fn send_message(state: &State, phone_number_id: &str, from: &str, name: &str, mut message: serde_json::Value) -> String {
    let wamid = state.next_wamid();
    let Some(number) = state.numbers.get(phone_number_id) else {
        return wamid;
    };
    state.last_inbound.lock().expect("inbound lock").insert((phone_number_id.to_owned(), from.to_owned()), now_ms());
    message["from"] = json!(from);
    message["id"] = json!(wamid);
    message["timestamp"] = json!((now_ms() / 1000).to_string());
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": webhooks::metadata(number),
        "contacts": [{"profile": {"name": name}, "wa_id": from}],
        "messages": [message]
    });
    webhooks::push(state, Update::raw(phone_number_id, "messages", value));
    wamid
}

/// Random customers write in every `every`, for the demo's live traffic.
pub(crate) async fn chatter(state: Arc<State>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let (customer, text, sample) = {
            let mut rng = rand::thread_rng();
            let Some(c) = state.customers.choose(&mut rng).cloned() else { return };
            // One message in eight is a photo, a voice note, a document or a location.
            let sample =
                rng.gen_ratio(1, 8).then(|| [Sample::Photo, Sample::Voice, Sample::Document, Sample::Location][rng.gen_range(0..4)]);
            (c, OPENERS[rng.gen_range(0..OPENERS.len())], sample)
        };
        match sample {
            Some(sample) => send_sample(&state, &customer.phone_number_id, &customer.wa_id, &customer.name, sample, None),
            None => write_in(&state, &customer.phone_number_id, &customer.wa_id, &customer.name, text),
        };
    }
}

/// A customer who got a text answers it after a while.
pub(crate) async fn answer(state: Arc<State>, phone_number_id: String, to: String, _received: String, after: Duration) {
    let Some(customer) = state.customers.iter().find(|c| c.phone_number_id == phone_number_id && c.wa_id == to).cloned() else {
        return;
    };
    tokio::time::sleep(after).await;
    let text = ANSWERS[rand::thread_rng().gen_range(0..ANSWERS.len())];
    write_in(&state, &phone_number_id, &customer.wa_id, &customer.name, text);
}
