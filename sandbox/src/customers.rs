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
    let wamid = state.next_wamid();
    let Some(number) = state.numbers.get(phone_number_id) else {
        return wamid;
    };
    state.last_inbound.lock().expect("inbound lock").insert((phone_number_id.to_owned(), from.to_owned()), now_ms());
    let value = json!({
        "messaging_product": "whatsapp",
        "metadata": webhooks::metadata(number),
        "contacts": [{"profile": {"name": name}, "wa_id": from}],
        "messages": [{
            "from": from,
            "id": wamid,
            "timestamp": (now_ms() / 1000).to_string(),
            "type": "text",
            "text": {"body": text}
        }]
    });
    webhooks::push(state, Update::raw(phone_number_id, "messages", value));
    wamid
}

/// Random customers write in every `every`, for the demo's live traffic.
pub(crate) async fn chatter(state: Arc<State>, every: Duration) {
    loop {
        tokio::time::sleep(every).await;
        let (customer, text) = {
            let mut rng = rand::thread_rng();
            let Some(c) = state.customers.choose(&mut rng).cloned() else { return };
            (c, OPENERS[rng.gen_range(0..OPENERS.len())])
        };
        write_in(&state, &customer.phone_number_id, &customer.wa_id, &customer.name, text);
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
