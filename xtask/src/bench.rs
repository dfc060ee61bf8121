//! `cargo xtask bench`: measured on this machine, reported as ratios against targets, written
//! to `target/bench/report.json` (each benchmark owns one key).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use futures::StreamExt;
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::{ConfigArgs, Relay};
use switchboard_shared::signature;

use crate::root;

const SECRET: &str = "bench-app-secret";
/// Webhooks in the flood when this process generates the load itself.
const FLOOD: usize = 20_000;
/// Requests in flight at once.
const CONCURRENCY: usize = 64;

pub fn run(args: &[String]) -> Result<()> {
    let which = args.first().map(String::as_str).unwrap_or("all");
    let known = ["all", "webhook_ingest", "broadcast", "segment", "groups", "auto_reply"];
    if !known.contains(&which) {
        bail!("unknown benchmark {which:?}; known: {}", known[1..].join(", "));
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let path = root().join("target/bench/report.json");
    let mut report: Value = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice(&b).ok()).unwrap_or_else(|| json!({}));
    if which == "all" || which == "webhook_ingest" {
        let result = runtime.block_on(webhook_ingest(None))?;
        print_table("webhook_ingest", &result);
        report["webhook_ingest"] = result;
        // The same on PostgreSQL, in a fresh database beside the one DATABASE_URL names.
        match std::env::var("DATABASE_URL").ok().filter(|u| u.starts_with("postgres")) {
            Some(base) => {
                let result = runtime.block_on(on_fresh_postgres(&base, |url| webhook_ingest(Some(url))))?;
                print_table("webhook_ingest_postgres", &result);
                report["webhook_ingest_postgres"] = result;
            }
            None => eprintln!("bench: webhook_ingest on PostgreSQL skipped: DATABASE_URL does not name a PostgreSQL database"),
        }
    }
    if which == "all" || which == "broadcast" {
        // `cargo xtask bench broadcast one_number_80 …` runs only the named cases.
        let only: Vec<String> = if which == "broadcast" { args[1..].to_vec() } else { Vec::new() };
        let result = runtime.block_on(crate::broadcast::run(&only))?;
        let mut merged = report.get("broadcast").cloned().unwrap_or_else(|| json!({}));
        for (k, v) in result.as_object().into_iter().flatten() {
            merged[k] = v.clone();
        }
        report["broadcast"] = merged;
    }
    if which == "all" || which == "segment" {
        let result = runtime.block_on(crate::segment::run())?;
        print_table("segment", &result);
        report["segment_100k_ms"] = result["segment_100k_ms"].clone();
        report["segment"] = result;
    }
    if which == "all" || which == "groups" {
        let result = runtime.block_on(crate::groups::run())?;
        print_table("groups", &result);
        report["groups"] = result;
    }
    if which == "all" || which == "auto_reply" {
        let result = runtime.block_on(crate::auto_reply::run())?;
        print_table("auto_reply", &result);
        report["auto_reply"] = result;
    }
    if let Some(bundle) = console_bundle()? {
        print_table("console_bundle", &bundle);
        report["console_bundle"] = bundle;
    }
    std::fs::create_dir_all(path.parent().context("report dir")?)?;
    std::fs::write(&path, serde_json::to_vec_pretty(&report)?)?;
    println!("\nwrote {}", path.display());
    Ok(())
}

pub(crate) fn print_table(name: &str, v: &Value) {
    println!("\n{name}");
    println!("{:-<60}", "");
    if let Some(map) = v.as_object() {
        for (k, val) in map {
            println!("  {k:<34} {val}");
        }
    }
}

fn body_for(i: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": "100000000000001"},
            "contacts": [{"profile": {"name": format!("Customer {}", i % 5000)}, "wa_id": format!("8529{:07}", i % 5000)}],
            "messages": [{"from": format!("8529{:07}", i % 5000), "id": format!("wamid.BENCH{i:08}"), "timestamp": "1767225600", "type": "text", "text": {"body": format!("message {i}")}}]
        }}]}]
    }))
    .expect("serialises")
}

/// When each message event (by wamid, those starting with `prefix`) arrived on an event stream.
pub(crate) type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// Reads a signed-in event stream, noting when each message's event arrives; abort the task
/// to stop.
pub(crate) fn message_arrivals(stream: reqwest::Response, prefix: &'static str) -> (Arrivals, tokio::task::JoinHandle<()>) {
    let arrivals: Arrivals = Arc::default();
    let seen = arrivals.clone();
    let reader = tokio::spawn(for_each_event(stream, move |v| {
        if let Some(w) = v.pointer("/message/wamid").and_then(Value::as_str).filter(|w| w.starts_with(prefix)) {
            seen.lock().expect("arrivals").insert(w.to_owned(), Instant::now());
        }
    }));
    (arrivals, reader)
}

/// Reads a signed-in event stream until it ends, handing each event's JSON data to `on`.
pub(crate) async fn for_each_event(stream: reqwest::Response, mut on: impl FnMut(Value)) {
    let mut stream = stream.bytes_stream();
    let mut buffer = String::new();
    while let Some(Ok(chunk)) = stream.next().await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buffer.find("\n\n") {
            let frame: String = buffer.drain(..end + 2).collect();
            let Some(data) = frame.lines().find_map(|l| l.strip_prefix("data:")) else { continue };
            if let Ok(v) = serde_json::from_str::<Value>(data.trim()) {
                on(v);
            }
        }
    }
}

fn ms(us: u64) -> f64 {
    (us as f64 / 10.0).round() / 100.0
}

/// Signed webhooks posted concurrently on loopback to a relay with SQLite; then single
/// messages timed from POST to their arrival on a connected event stream.
/// Runs `bench` against a PostgreSQL database created for it beside `base` (a URL naming a
/// database). The database stays until the next run replaces it: the relay under test runs on
/// in this process, connected to it, until the bench ends.
async fn on_fresh_postgres<F, Fut>(base: &str, bench: F) -> Result<Value>
where
    F: FnOnce(String) -> Fut,
    Fut: std::future::Future<Output = Result<Value>>,
{
    sqlx::any::install_default_drivers();
    let name = "switchboard_bench";
    let mut admin = <sqlx::AnyConnection as sqlx::Connection>::connect(base).await.context("connect to DATABASE_URL")?;
    // The name is ours, not outside input.
    sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut admin).await?;
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut admin).await?;
    let (prefix, _) = base.rsplit_once('/').context("DATABASE_URL names no database")?;
    bench(format!("{prefix}/{name}")).await
}

/// Signed single-message webhooks flooded at the relay (SQLite in a temporary directory, or the
/// PostgreSQL database `database_url` names): how fast they are accepted, how fast digested,
/// exactly once, and how long a live message takes to reach an open console.
async fn webhook_ingest(database_url: Option<String>) -> Result<Value> {
    const LIVE: usize = 500;
    let dir = tempfile::tempdir()?;
    let backend = if database_url.is_some() { "postgres" } else { "sqlite" };
    let config = ConfigArgs {
        listen: Some("127.0.0.1:0".parse()?),
        data_dir: Some(dir.path().to_owned()),
        database_url,
        app_secret: Some(SECRET.into()),
        console_dir: Some(dir.path().join("dist")),
        secret_key: Some("42".repeat(32)),
        ..Default::default()
    }
    .resolve()?;
    let relay = Relay::start(config).await?;
    let url = format!("{}/webhooks/whatsapp", relay.url());
    let client = reqwest::Client::builder().pool_max_idle_per_host(CONCURRENCY).build()?;

    // The flood: from wrk in its own process when available, else from this process.
    let (flood, per_sec, p50_us, p99_us, accepted, generator) = match crate::tools::ensure_wrk() {
        Some(wrk) => {
            let r = flood_with_wrk(&wrk, &url).await?;
            (r.requests, r.per_sec, r.p50_us, r.p99_us, r.requests - r.non_200, "wrk (separate process, 1 thread)")
        }
        None => {
            let (per_sec, hist, accepted) = flood_in_process(&client, &url).await?;
            (FLOOD, per_sec, hist.value_at_quantile(0.5), hist.value_at_quantile(0.99), accepted, "reqwest (same process)")
        }
    };
    let elapsed = Duration::from_secs_f64(flood as f64 / per_sec.max(1.0));

    // Live latency: one message at a time, POST → event on a signed-in stream.
    auth::upsert_user(
        &relay.state,
        "bench@example.com",
        "Bench",
        "bench-password",
        "Administrator",
        &switchboard_shared::access::Scope::All,
    )
    .await?;
    let login = client
        .post(format!("{}/api/v1/session", relay.url()))
        .header("x-requested-with", "switchboard")
        .json(&json!({"email": "bench@example.com", "password": "bench-password"}))
        .send()
        .await?;
    let cookie = login.headers().get("set-cookie").context("login cookie")?.to_str()?.split(';').next().unwrap_or_default().to_owned();
    // Wait for the flood to be processed so the live messages do not queue behind it.
    let pool = relay.state.db.pool.clone();
    let processing_started = Instant::now();
    loop {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM webhook_inbox WHERE processed = FALSE").fetch_one(&pool).await?;
        if n == 0 {
            break;
        }
        if processing_started.elapsed().as_millis() % 5000 < 20 {
            eprintln!("bench: {n} webhooks still to process after {:.0?}", processing_started.elapsed());
        }
        if processing_started.elapsed() > Duration::from_secs(300) {
            bail!("processing did not catch up within 5 minutes");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let processing = processing_started.elapsed();
    let stream = client.get(format!("{}/api/v1/events", relay.url())).header("cookie", &cookie).send().await?;
    let (arrivals, reader) = message_arrivals(stream, "wamid.BENCH");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut sent_at = HashMap::new();
    // Beyond any body the flood can have sent (wrk does not count requests still in flight when
    // it stops, but the relay stores them).
    let first_live = WRK_BODIES.max(FLOOD);
    for i in first_live..first_live + LIVE {
        let body = body_for(i);
        let sig = signature::sign(SECRET.as_bytes(), &body);
        sent_at.insert(format!("wamid.BENCH{i:08}"), Instant::now());
        client.post(&url).header("x-hub-signature-256", sig).body(body).send().await?;
        tokio::time::sleep(Duration::from_millis(4)).await;
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    reader.abort();
    let mut live = Histogram::<u64>::new(3)?;
    let arrivals = arrivals.lock().expect("arrivals").clone();
    let mut missing = 0;
    for (wamid, t0) in &sent_at {
        match arrivals.get(wamid) {
            Some(t1) => live.record(t1.duration_since(*t0).as_micros() as u64)?,
            None => missing += 1,
        }
    }

    let acknowledged = (accepted + LIVE) as i64;
    let count = |sql: &'static str| {
        let pool = pool.clone();
        async move { sqlx::query_as::<_, (i64,)>(sql).fetch_one(&pool).await.map(|r| r.0) }
    };
    let messages = count("SELECT COUNT(*) FROM messages").await?;
    let distinct = count("SELECT COUNT(DISTINCT wamid) FROM messages").await?;
    let stored = count("SELECT COUNT(*) FROM webhook_inbox").await?;
    let events = count("SELECT COUNT(*) FROM events WHERE kind = 'message'").await?;
    let unprocessed = count("SELECT COUNT(*) FROM webhook_inbox WHERE processed = FALSE").await?;
    // Every body carried a distinct message: each stored body became exactly one message and one
    // event, no message id twice, and everything acknowledged with 200 is among them.
    let exactly_once = accepted == flood
        && unprocessed == 0
        && messages == stored
        && distinct == messages
        && events == messages
        && messages >= acknowledged
        && missing == 0;
    Ok(json!({
        "backend": backend,
        "load_generator": generator,
        "webhooks": flood,
        "concurrency": CONCURRENCY,
        "webhooks_per_sec": per_sec.round(),
        "p50_ms": ms(p50_us),
        "p99_ms": ms(p99_us),
        "stored_exactly_once": exactly_once,
        "processed_per_sec": (flood as f64 / (elapsed + processing).as_secs_f64()).round(),
        "event_stream_p50_ms": ms(live.value_at_quantile(0.50)),
        "event_stream_p99_ms": ms(live.value_at_quantile(0.99)),
        "event_stream_missing": missing,
        "ratio_to_target_10k_per_sec": (per_sec / 10_000.0 * 100.0).round() / 100.0,
    }))
}

/// Distinct pre-signed bodies wrk cycles through (more than it sends in the run).
const WRK_BODIES: usize = 150_000;

struct WrkResult {
    requests: usize,
    non_200: usize,
    per_sec: f64,
    p50_us: u64,
    p99_us: u64,
}

/// wrk's Lua: cycles through pre-signed bodies, one thread so each is sent once, and prints its
/// result as JSON.
const WRK_SCRIPT: &str = r#"
local bodies, i = {}, 0
init = function(args)
  for line in io.lines(args[1]) do
    local tab = line:find("\t")
    bodies[#bodies + 1] = { line:sub(1, tab - 1), line:sub(tab + 1) }
  end
end
request = function()
  i = i + 1
  local b = bodies[((i - 1) % #bodies) + 1]
  return wrk.format("POST", nil, { ["Content-Type"] = "application/json", ["X-Hub-Signature-256"] = b[1] }, b[2])
end
done = function(summary, latency, requests)
  io.write(string.format('WRK_JSON {"requests":%d,"non_200":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests, summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    summary.duration, latency:percentile(50), latency:percentile(99)))
end
"#;

async fn flood_with_wrk(wrk: &std::path::Path, url: &str) -> Result<WrkResult> {
    let dir = root().join("target/bench");
    std::fs::create_dir_all(&dir)?;
    let bodies = dir.join("webhooks.tsv");
    let mut text = String::with_capacity(WRK_BODIES * 700);
    for i in 0..WRK_BODIES {
        let body = String::from_utf8(body_for(i))?;
        text.push_str(&signature::sign(SECRET.as_bytes(), body.as_bytes()));
        text.push('\t');
        text.push_str(&body);
        text.push('\n');
    }
    std::fs::write(&bodies, text)?;
    let script = dir.join("webhooks.lua");
    std::fs::write(&script, WRK_SCRIPT)?;
    let output = tokio::process::Command::new(wrk)
        .args(["-t1", &format!("-c{CONCURRENCY}"), "-d5s", "--latency", "-s"])
        .arg(&script)
        .arg(url)
        .arg("--")
        .arg(&bodies)
        .output()
        .await
        .context("running wrk")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().find_map(|l| l.strip_prefix("WRK_JSON ")).with_context(|| format!("wrk printed no result: {stdout}"))?;
    let v: Value = serde_json::from_str(line)?;
    let n = |k: &str| v[k].as_u64().unwrap_or_default();
    let requests = n("requests") as usize;
    if requests >= WRK_BODIES {
        bail!("wrk sent {requests} requests, more than the {WRK_BODIES} distinct bodies");
    }
    Ok(WrkResult {
        requests,
        non_200: n("non_200") as usize,
        per_sec: requests as f64 / (n("duration_us") as f64 / 1e6),
        p50_us: n("p50_us"),
        p99_us: n("p99_us"),
    })
}

async fn flood_in_process(client: &reqwest::Client, url: &str) -> Result<(f64, Histogram<u64>, usize)> {
    let bodies: Vec<(Vec<u8>, String)> = (0..FLOOD)
        .map(|i| {
            let b = body_for(i);
            let s = signature::sign(SECRET.as_bytes(), &b);
            (b, s)
        })
        .collect();
    let started = Instant::now();
    let results: Vec<(Duration, u16)> = futures::stream::iter(bodies)
        .map(|(body, sig)| {
            let client = client.clone();
            let url = url.to_owned();
            async move {
                let t = Instant::now();
                let status =
                    client.post(&url).header("x-hub-signature-256", sig).body(body).send().await.map_or(0, |r| r.status().as_u16());
                (t.elapsed(), status)
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let elapsed = started.elapsed();
    let accepted = results.iter().filter(|(_, s)| *s == 200).count();
    let mut hist = Histogram::<u64>::new(3)?;
    for (d, _) in &results {
        hist.record(d.as_micros() as u64)?;
    }
    Ok((accepted as f64 / elapsed.as_secs_f64(), hist, accepted))
}

/// The console's download sizes, if `dist/` was built: the first load (sign-in and the inbox)
/// against its 250 KB budget, and each page's chunk against 150 KB.
fn console_bundle() -> Result<Option<Value>> {
    let dist = root().join("dist");
    if !dist.join("app_bg.wasm").exists() {
        return Ok(None);
    }
    let sizes = crate::console_sizes(&dist)?;
    let largest_chunk = sizes.pages.first().map_or(0, |c| c.1);
    Ok(Some(json!({
        "first_load_wasm_kb": sizes.first_kb,
        "first_load_wasm_gzip_kb": sizes.first_gzip_kb,
        "first_load_wasm_brotli_kb": sizes.first_br_kb,
        "ratio_to_first_load_target_250kb": ((sizes.first_gzip_kb as f64) / 250.0 * 100.0).round() / 100.0,
        "pages_gzip_kb": sizes.pages.iter().map(|(page, own, total)| json!({"page": page, "own_gzip_kb": own, "fetched_gzip_kb": total})).collect::<Vec<_>>(),
        "all_chunks_gzip_kb": sizes.all_chunks_gzip_kb,
        "largest_chunk_gzip_kb": largest_chunk,
        "ratio_to_chunk_target_150kb": ((largest_chunk as f64) / 150.0 * 100.0).round() / 100.0,
    })))
}
