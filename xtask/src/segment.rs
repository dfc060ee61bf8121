//! `segment_100k_ms`: a segment evaluated by the console, in headless Chromium, over 100,000
//! contacts. The contacts page times each count with `performance.now()` and shows it (the
//! `data-ms` of `#segment-count`); this reads it for several edits and reports the median.

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use fantoccini::Locator;
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::{demo, ConfigArgs, Relay};
use switchboard_shared::access::Scope;

use crate::root;

const CONTACTS: usize = 100_000;
/// Edits a person might make, each counted over every contact.
const EXPRESSIONS: [&str; 5] = [
    "tag vip",
    "tags any (vip, gold) and spend >= 500",
    "tags any (vip, gold) and spend >= 500 and last_purchase within 30 days",
    "tags any (vip, gold) and spend >= 500 and last_purchase within 30 days and opted_in",
    "(district contains \"Mong Kok\" or member = yes) and not tag wholesale and last_inbound before 10 days",
];

pub async fn run() -> Result<Value> {
    let dist = root().join("dist");
    if !dist.join("index.html").exists() {
        bail!("the console is not built: run `cargo xtask dist` first");
    }
    crate::tools::ensure_chromium()?;
    let dir = tempfile::tempdir()?;
    let config = ConfigArgs {
        listen: Some("127.0.0.1:0".parse()?),
        data_dir: Some(dir.path().to_owned()),
        console_dir: Some(dist),
        secret_key: Some("42".repeat(32)),
        ..Default::default()
    }
    .resolve()?;
    let relay = Relay::start(config).await?;
    demo::seed_contacts(&relay, CONTACTS).await?;
    auth::upsert_user(&relay.state, "bench@example.com", "Bench", "bench-password", "Administrator", &Scope::All).await?;

    let driver = switchboard_tests::Driver::start().await?;
    let c = driver.browser(1280, 900).await?;
    let loading = Instant::now();
    switchboard_tests::open_signed_in(&c, &relay.url(), "bench@example.com", "bench-password", "/contacts").await?;
    // Everything loaded: the count with nothing typed is the whole list.
    switchboard_tests::wait_for_attribute(&c, "#segment-count", "data-count", &CONTACTS.to_string(), Duration::from_secs(120)).await?;
    let load_s = loading.elapsed().as_secs_f64();
    let mut times = Vec::new();
    let mut counts = Vec::new();
    for expression in EXPRESSIONS {
        // Set the whole expression at once, as a paste would, and wait for its count.
        c.execute(
            "const t = document.getElementById('segment-expression'); t.value = arguments[0]; t.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(expression)],
        )
        .await?;
        let started = Instant::now();
        let (ms, count) = loop {
            let el = c.find(Locator::Css("#segment-count")).await?;
            if let (Some(ms), Some(count)) = (el.attr("data-ms").await?, el.attr("data-count").await?) {
                if count != CONTACTS.to_string() || expression == EXPRESSIONS[0] {
                    break (ms.parse::<f64>().context("data-ms")?, count.parse::<u64>().context("data-count")?);
                }
            }
            if started.elapsed() > Duration::from_secs(20) {
                bail!("no count for {expression:?}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        times.push(ms);
        counts.push(count);
    }
    let _ = c.close().await;
    let mut sorted = times.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    let worst = sorted[sorted.len() - 1];
    Ok(json!({
        "contacts": CONTACTS,
        "segment_100k_ms": (median * 100.0).round() / 100.0,
        "worst_ms": (worst * 100.0).round() / 100.0,
        "each_ms": times,
        "matches": counts,
        "contacts_load_s": (load_s * 100.0).round() / 100.0,
        "ratio_to_target_50ms": (worst / 50.0 * 100.0).round() / 100.0,
    }))
}
