//! `cargo xtask bench auto_reply`: customers write to three numbers at 200 messages a second,
//! each message a first question that a keyword rule answers. The sandbox sends each message as
//! Meta would (a signed webhook); the time runs from the moment the customer writes to the
//! moment the relay's answer reaches the sandbox's Graph API. Reports p50 and p99 against the
//! 50 ms target, and that every message got exactly one answer (none missed, none twice).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{bail, Result};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use switchboard_relay::numbers::{self, NewNumber};
use switchboard_relay::{ConfigArgs, Relay};
use switchboard_sandbox::{Sandbox, SandboxConfig, SandboxNumber};
use switchboard_shared::support::{AutoAnswer, AutoRuleSpec, Trigger};

const NUMBERS: [&str; 3] = ["100000000000001", "100000000000002", "100000000000003"];
const RATE_PER_SEC: u64 = 200;
const MESSAGES: usize = 3_000;
const TARGET_P99_MS: f64 = 50.0;

pub async fn run() -> Result<Value> {
    let numbers =
        NUMBERS.iter().enumerate().map(|(i, id)| SandboxNumber::new(id, "200000000000001", &format!("+1 555-010{i}"), "Shop")).collect();
    let sandbox = Sandbox::spawn(SandboxConfig {
        numbers,
        webhook_batch_window: Duration::from_millis(1),
        // Statuses well after the answers, so they do not crowd the measured path.
        sent_after: Duration::from_millis(500),
        delivered_after: Duration::from_millis(1_000),
        read_after: Duration::from_millis(2_000),
        ..SandboxConfig::default()
    })
    .await?;
    let dir = tempfile::tempdir()?;
    let config = ConfigArgs {
        listen: Some("127.0.0.1:0".parse()?),
        data_dir: Some(dir.path().to_owned()),
        console_dir: Some(dir.path().join("dist")),
        graph_base_url: Some(sandbox.url.clone()),
        secret_key: Some("42".repeat(32)),
        ..Default::default()
    }
    .resolve()?;
    let relay = Relay::start(config).await?;
    for id in NUMBERS {
        let number = NewNumber {
            id: id.into(),
            waba_id: "200000000000001".into(),
            access_token: "sandbox-token".into(),
            app_secret: "sandbox-app-secret".into(),
            verify_token: String::new(),
            time_zone: None,
        };
        numbers::upsert(&relay.state, &number).await?;
    }
    sandbox.set_webhook_url(format!("{}/webhooks/whatsapp", relay.url()));
    let rule = AutoRuleSpec {
        name: "Price list".into(),
        trigger: Trigger::Keyword { words: vec!["price".into(), "價錢".into()] },
        answer: AutoAnswer::Text { text: "Hello {contact.name}, our price list is on its way.".into() },
        number_ids: vec![],
        period_minutes: 60,
        enabled: true,
        lang: "en".into(),
    };
    let mut tx = relay.state.db.pool.begin().await?;
    switchboard_relay::automation::add_rule(&mut tx, &rule, relay.state.clock.now_ms()).await?;
    tx.commit().await?;

    // Each message from a new customer, round the three numbers, on a steady clock.
    let mut written: HashMap<String, i64> = HashMap::new();
    let interval = Duration::from_micros(1_000_000 / RATE_PER_SEC);
    let started = Instant::now();
    for i in 0..MESSAGES {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let from = format!("8526{i:07}");
        let text = if i % 2 == 0 { "What is the PRICE?" } else { "請問價錢？" };
        written.insert(from.clone(), switchboard_sandbox::now_ms());
        sandbox.customer_writes(NUMBERS[i % NUMBERS.len()], &from, &format!("Customer {i}"), text);
    }
    let sending_secs = started.elapsed().as_secs_f64();
    // Every answer, or give up after a while.
    let deadline = Instant::now() + Duration::from_secs(60);
    while sandbox.ledger_len() < MESSAGES && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mut answers: HashMap<String, Vec<i64>> = HashMap::new();
    for e in sandbox.ledger() {
        answers.entry(e.to.clone()).or_default().push(e.at_ms);
    }
    let mut hist = Histogram::<u64>::new(3)?;
    let (mut missed, mut twice) = (0, 0);
    for (from, at) in &written {
        match answers.get(from).map(Vec::as_slice) {
            None | Some([]) => missed += 1,
            Some([reached]) => hist.record((reached - at).max(0) as u64)?,
            Some(many) => {
                twice += 1;
                hist.record((many[0] - at).max(0) as u64)?;
            }
        }
    }
    let unexpected = answers.keys().filter(|to| !written.contains_key(*to)).count();
    if hist.is_empty() {
        bail!("no message was answered");
    }
    let p50 = hist.value_at_quantile(0.5) as f64;
    let p99 = hist.value_at_quantile(0.99) as f64;
    let stages = stages(&relay, &written, &answers).await?;
    Ok(json!({
        "messages": MESSAGES,
        "rate_per_sec": RATE_PER_SEC,
        "achieved_rate_per_sec": (MESSAGES as f64 / sending_secs * 10.0).round() / 10.0,
        "numbers": NUMBERS.len(),
        "latency_p50_ms": p50,
        "latency_p99_ms": p99,
        "latency_max_ms": hist.max(),
        "ratio_p99_to_target_50ms": (p99 / TARGET_P99_MS * 100.0).round() / 100.0,
        "missed": missed,
        "answered_twice": twice,
        "answers_to_nobody": unexpected,
        "stages_p50_p99_ms": stages,
    }))
}

/// Where the time goes, from the relay's own records: written → stored (the sandbox's POST and
/// the durable accept), stored → answer queued (waiting for the digest and the digest itself),
/// queued → reached the sandbox (the lane's claim, its pacing and the request).
async fn stages(relay: &Relay, written: &HashMap<String, i64>, answers: &HashMap<String, Vec<i64>>) -> Result<Value> {
    let pool = &relay.state.db.pool;
    let mut stored: HashMap<String, i64> = HashMap::new();
    let inbox: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT received_at, body FROM webhook_inbox").fetch_all(pool).await?;
    for (at, body) in inbox {
        let body: Value = serde_json::from_slice(&body)?;
        for entry in body["entry"].as_array().into_iter().flatten() {
            for change in entry["changes"].as_array().into_iter().flatten() {
                for m in change["value"]["messages"].as_array().into_iter().flatten() {
                    if let Some(from) = m["from"].as_str() {
                        stored.insert(from.to_owned(), at);
                    }
                }
            }
        }
    }
    let mut queued: HashMap<String, i64> = HashMap::new();
    let outbox: Vec<(i64, String)> = sqlx::query_as("SELECT created_at, payload FROM outbox").fetch_all(pool).await?;
    for (at, payload) in outbox {
        let payload: Value = serde_json::from_str(&payload)?;
        if let Some(to) = payload["body"]["to"].as_str() {
            queued.insert(to.to_owned(), at);
        }
    }
    let mut hists = [Histogram::<u64>::new(3)?, Histogram::<u64>::new(3)?, Histogram::<u64>::new(3)?];
    for (from, at) in written {
        let (Some(s), Some(q), Some(r)) = (stored.get(from), queued.get(from), answers.get(from).and_then(|a| a.first())) else {
            continue;
        };
        for (h, d) in hists.iter_mut().zip([s - at, q - s, r - q]) {
            h.record(d.max(0) as u64)?;
        }
    }
    let pair = |h: &Histogram<u64>| json!([h.value_at_quantile(0.5), h.value_at_quantile(0.99)]);
    Ok(json!({
        "written_to_stored": pair(&hists[0]),
        "stored_to_queued": pair(&hists[1]),
        "queued_to_reached": pair(&hists[2]),
    }))
}
