//! `cargo xtask bench broadcast`: broadcasts through the real relay binary (its own process, so
//! its CPU time and memory are its own) to the sandbox in this process, which enforces each
//! number's throughput and the pair rate and keeps the ledger that proves what was sent.
//!
//! Each case imports its contacts over the API, starts one broadcast and waits until the ledger
//! holds a send for every recipient (and, for the restart case, until the relay reports the
//! broadcast done). Ideal time is recipients ÷ (numbers × throughput).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use hdrhistogram::Histogram;
use serde_json::{json, Value};
use switchboard_sandbox::{Sandbox, SandboxConfig, SandboxNumber};

use crate::root;

const KEY: &str = "4242424242424242424242424242424242424242424242424242424242424242";
const ADMIN: &str = "bench-admin@example.com";
const PASSWORD: &str = "bench-password-123";

struct Case {
    name: &'static str,
    numbers: usize,
    rate: u32,
    recipients: usize,
    kills: usize,
    /// Most status updates per webhook POST (Meta's full 1,000, or its worst case, 1).
    updates_per_webhook: usize,
    /// Webhook POSTs the sandbox has in flight at once.
    senders: usize,
    /// Customers write in during the broadcast (one message every 20 ms, posted to the relay
    /// and timed to the console's event stream).
    customers_write: bool,
}

const BATCHED: Case = Case {
    name: "",
    numbers: 1,
    rate: 1_000,
    recipients: 10_000,
    kills: 0,
    updates_per_webhook: 1_000,
    senders: 1,
    customers_write: false,
};

const CASES: [Case; 5] = [
    Case { name: "one_number_80", rate: 80, ..BATCHED },
    Case { name: "one_number_1000", ..BATCHED },
    Case { name: "ten_numbers_1000", numbers: 10, recipients: 50_000, customers_write: true, ..BATCHED },
    // Meta's worst case: every status in a POST of its own, many POSTs at once.
    Case {
        name: "ten_numbers_1000_unbatched",
        numbers: 10,
        recipients: 50_000,
        updates_per_webhook: 1,
        senders: 64,
        customers_write: true,
        ..BATCHED
    },
    Case { name: "kill9_restarts", kills: 5, ..BATCHED },
];

/// Runs the cases named in `only` (all when empty); returns the report's `broadcast` object.
pub async fn run(only: &[String]) -> Result<Value> {
    let binary = build_relay()?;
    let mut out = serde_json::Map::new();
    for case in CASES.iter().filter(|c| only.is_empty() || only.iter().any(|o| o == c.name)) {
        eprintln!(
            "bench broadcast: {} ({} recipients, {} × {}/s, {} restarts, ≤ {} updates per webhook)",
            case.name, case.recipients, case.numbers, case.rate, case.kills, case.updates_per_webhook
        );
        let result = run_case(&binary, case).await.with_context(|| format!("case {}", case.name))?;
        crate::bench::print_table(case.name, &result);
        out.insert(case.name.to_owned(), result);
    }
    Ok(Value::Object(out))
}

fn build_relay() -> Result<PathBuf> {
    crate::run(Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())).args([
        "build",
        "--release",
        "--quiet",
        "-p",
        "switchboard-relay",
        "--bin",
        "switchboard",
    ]))?;
    Ok(root().join("target/release/switchboard"))
}

fn number_id(i: usize) -> String {
    format!("1090000000000{i:02}")
}

/// The relay process and how to start it again on the same data and port.
struct RelayProcess {
    binary: PathBuf,
    data: PathBuf,
    port: u16,
    sandbox_url: String,
    child: Option<Child>,
}

impl RelayProcess {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.binary);
        c.args(args)
            .env("SWITCHBOARD_LISTEN", format!("127.0.0.1:{}", self.port))
            .env("SWITCHBOARD_DATA_DIR", &self.data)
            .env("SWITCHBOARD_GRAPH_BASE_URL", &self.sandbox_url)
            .env("SWITCHBOARD_SECRET_KEY", KEY)
            .env("SWITCHBOARD_APP_SECRET", "sandbox-app-secret")
            .env("SWITCHBOARD_CONSOLE_DIR", self.data.join("dist"))
            // BENCH_RELAY_LOG=…,sqlx::query=trace logs every statement with its time, for a
            // profile by statement (the log is kept as target/bench/<case>.relay.log).
            .env(
                "SWITCHBOARD_LOG",
                std::env::var("BENCH_RELAY_LOG").unwrap_or_else(|_| "warn,sqlx=error,switchboard_relay::broadcasts=info".into()),
            )
            .stdin(Stdio::null());
        c
    }

    fn admin(&self, args: &[&str]) -> Result<()> {
        let output = self.command(args).stdout(Stdio::null()).output()?;
        if !output.status.success() {
            bail!("switchboard {args:?}: {}", String::from_utf8_lossy(&output.stderr));
        }
        Ok(())
    }

    async fn start(&mut self) -> Result<()> {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.data.join("relay.log"))?;
        // The relay logs to standard output.
        self.child = Some(self.command(&["serve"]).stdout(log.try_clone()?).stderr(log).spawn()?);
        let url = format!("http://127.0.0.1:{}/healthz", self.port);
        for _ in 0..200 {
            if reqwest::get(&url).await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        bail!("the relay did not start; see {}", self.data.join("relay.log").display())
    }

    fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// `kill -9`: no chance to finish anything.
    fn kill9(&mut self) -> Result<()> {
        if let Some(mut child) = self.child.take() {
            child.kill()?;
            child.wait()?;
        }
        Ok(())
    }
}

impl Drop for RelayProcess {
    fn drop(&mut self) {
        let _ = self.kill9();
    }
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0.0 };
    let after = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0)
        + fields.get(12).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    ticks / 100.0
}

/// Peak resident memory of a process, MB.
fn peak_rss_mb(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok()))
        .map_or(0.0, |kb| (kb / 1024.0 * 10.0).round() / 10.0)
}

async fn sign_in(http: &reqwest::Client, base: &str) -> Result<String> {
    let r = http
        .post(format!("{base}/api/v1/session"))
        .header("x-requested-with", "switchboard")
        .json(&json!({"email": ADMIN, "password": PASSWORD}))
        .send()
        .await?;
    if !r.status().is_success() {
        bail!("sign-in: {}", r.status());
    }
    Ok(r.headers().get("set-cookie").context("cookie")?.to_str()?.split(';').next().unwrap_or_default().to_owned())
}

async fn import_contacts(http: &reqwest::Client, base: &str, cookie: &str, n: usize) -> Result<()> {
    let mut csv = String::with_capacity(n * 40);
    csv.push_str("phone,name,ok\n");
    for i in 0..n {
        csv.push_str(&format!("+8525{:07},Customer {i},yes\n", 1_000_000 + i));
    }
    let mapping = json!({"phone": "phone", "name": "name", "opted_in": "ok", "add_tags": ["bench"], "default_country": "HK"}).to_string();
    let r = http
        .post(format!("{base}/api/v1/contacts/import"))
        .query(&[("mapping", mapping)])
        .header("cookie", cookie)
        .header("x-requested-with", "switchboard")
        .body(csv)
        .send()
        .await?;
    let status: Value = r.json().await?;
    let id = status["id"].as_i64().with_context(|| format!("import: {status}"))?;
    loop {
        let s: Value = http.get(format!("{base}/api/v1/contacts/import/{id}")).header("cookie", cookie).send().await?.json().await?;
        if s["finished"] == true {
            if s["created"].as_u64() != Some(n as u64) {
                bail!("import: {s}");
            }
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run_case(binary: &Path, case: &Case) -> Result<Value> {
    let dir = tempfile::tempdir()?;
    let numbers: Vec<String> = (0..case.numbers).map(number_id).collect();
    let sandbox = Sandbox::spawn(SandboxConfig {
        numbers: numbers
            .iter()
            .map(|id| SandboxNumber {
                throughput_per_sec: case.rate,
                messaging_limit: "TIER_UNLIMITED".into(),
                ..SandboxNumber::new(id, "209000000000001", "+1 555-0190", "Bench Shop")
            })
            .collect(),
        undeliverable_suffix: None,
        updates_per_webhook: case.updates_per_webhook,
        webhook_senders: case.senders,
        keep_status_departures: true,
        ..SandboxConfig::default()
    })
    .await?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut relay =
        RelayProcess { binary: binary.to_owned(), data: dir.path().to_owned(), port, sandbox_url: sandbox.url.clone(), child: None };
    for id in &numbers {
        relay.admin(&[
            "number",
            "add",
            "--id",
            id,
            "--waba-id",
            "209000000000001",
            "--access-token",
            "sandbox-token",
            "--app-secret",
            "sandbox-app-secret",
        ])?;
    }
    relay.admin(&["user", "add", "--email", ADMIN, "--password", PASSWORD, "--role", "Administrator", "--numbers", "all"])?;
    relay.start().await?;
    let base = format!("http://127.0.0.1:{port}");
    sandbox.set_webhook_url(format!("{base}/webhooks/whatsapp"));
    let http = reqwest::Client::new();
    let cookie = sign_in(&http, &base).await?;
    import_contacts(&http, &base, &cookie, case.recipients).await?;

    let spec = json!({"name": case.name, "numbers": numbers, "template": "daily_pick", "language": "zh_TW",
        "parameters": ["{name}", "今日精選"], "header_image_link": "https://example.com/pick.jpg",
        "audience": {"kind": "segment", "expression": "tag bench"}});
    let cpu_before = cpu_seconds(relay.pid());
    let own_cpu_before = cpu_seconds(std::process::id());
    let mut cpu_used = 0.0;
    let mut peak = 0.0_f64;
    let started = Instant::now();
    let started_ms = switchboard_sandbox::now_ms();
    let r = http
        .post(format!("{base}/api/v1/broadcasts"))
        .header("cookie", &cookie)
        .header("x-requested-with", "switchboard")
        .json(&spec)
        .send()
        .await?;
    let created: Value = r.json().await?;
    let id = created["id"].as_i64().with_context(|| format!("broadcast: {created}"))?;
    let prefix = format!("bc:{id}:");
    let report = ReportFollower::start(&http, &base, &cookie, id).await?;
    let customers = if case.customers_write { Some(CustomersWriting::start(&http, &base, &cookie, &numbers[0]).await?) } else { None };
    // Polled every 20 ms: the ledger's length, not a copy of it (only this broadcast sends here;
    // the ledger is read whole, by key, once at the end).
    let count = |sandbox: &Sandbox| sandbox.ledger_len();

    // The restarts: kill -9 each time another sixth of the recipients has been sent.
    let mut kills_done = 0;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let sent = count(&sandbox);
        if kills_done < case.kills && sent >= case.recipients * (kills_done + 1) / (case.kills + 1) {
            peak = peak.max(peak_rss_mb(relay.pid()));
            cpu_used += cpu_seconds(relay.pid()) - cpu_before.min(cpu_seconds(relay.pid()));
            relay.kill9()?;
            kills_done += 1;
            relay.start().await?;
            continue;
        }
        if sent >= case.recipients && kills_done == case.kills {
            break;
        }
        if Instant::now() > deadline {
            bail!("only {sent} of {} sent after 10 minutes", case.recipients);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // With restarts, wait until the relay has settled every send (unknown outcomes are
    // reconciled from status webhooks first), so a late duplicate would show.
    if case.kills > 0 {
        loop {
            let b: Value = http
                .get(format!("{base}/api/v1/broadcasts/{id}"))
                .header("cookie", sign_in(&http, &base).await?)
                .send()
                .await?
                .json()
                .await?;
            if b["state"] == "done" {
                break;
            }
            if Instant::now() > deadline {
                bail!("the broadcast did not finish: {b}");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let writes = match customers {
        Some(c) => Some(c.stop().await?),
        None => None,
    };
    // Every status processed: the report counts each recipient read.
    let last_send = Instant::now();
    while report.last().is_none_or(|r| r.read < case.recipients as u64) {
        if last_send.elapsed() > Duration::from_secs(300) {
            bail!("the report counted {:?} of {} recipients read 5 minutes after the last send", report.last(), case.recipients);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let settled_s = last_send.elapsed().as_secs_f64();
    let polls = report.stop().await;
    let own_cpu = cpu_seconds(std::process::id()) - own_cpu_before;
    let ledger: Vec<_> =
        sandbox.ledger().into_iter().filter(|e| e.biz_opaque_callback_data.as_deref().is_some_and(|k| k.starts_with(&prefix))).collect();
    let run_cpu = if case.kills > 0 { cpu_used + cpu_seconds(relay.pid()) } else { cpu_seconds(relay.pid()) - cpu_before };
    peak = peak.max(peak_rss_mb(relay.pid()));
    // Nothing left to do: what the relay spends doing nothing.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_from = cpu_seconds(relay.pid());
    tokio::time::sleep(IDLE_WATCH).await;
    let idle_share = (cpu_seconds(relay.pid()) - idle_from) / IDLE_WATCH.as_secs_f64();
    let departures: Vec<_> =
        sandbox.status_departures().into_iter().filter(|d| d.callback_data.as_deref().is_some_and(|k| k.starts_with(&prefix))).collect();
    let lag = status_lag_ms(&departures, &polls);
    let mut per_key: HashMap<&str, usize> = HashMap::new();
    for e in &ledger {
        *per_key.entry(e.biz_opaque_callback_data.as_deref().unwrap_or_default()).or_default() += 1;
    }
    let duplicates: usize = per_key.values().map(|n| n - 1).sum();
    let lost = case.recipients.saturating_sub(per_key.len());
    let first = ledger.iter().map(|e| e.at_ms).min().unwrap_or(started_ms);
    let last = ledger.iter().map(|e| e.at_ms).max().unwrap_or(started_ms);
    let measured_s = (last - started_ms) as f64 / 1000.0;
    let ideal_s = case.recipients as f64 / (case.numbers as f64 * f64::from(case.rate));
    let sending_s = ((last - first) as f64 / 1000.0).max(0.001);
    let round = |x: f64, p: f64| (x * p).round() / p;
    // How the freeze spent its time, from the relay's log.
    let log = std::fs::read_to_string(dir.path().join("relay.log")).unwrap_or_default();
    if std::env::var_os("BENCH_RELAY_LOG").is_some() {
        std::fs::write(root().join(format!("target/bench/{}.relay.log", case.name)), &log)?;
    }
    let freeze =
        log.lines().find(|l| l.contains("recipients frozen")).and_then(|l| l.split("frozen — ").nth(1)).unwrap_or_default().to_owned();
    let _ = started;
    Ok(json!({
        "recipients": case.recipients,
        "numbers": case.numbers,
        "throughput_per_number": case.rate,
        "restarts": case.kills,
        "ideal_s": round(ideal_s, 100.0),
        "measured_s": round(measured_s, 100.0),
        "ratio": round(measured_s / ideal_s, 1000.0),
        "sends_per_sec": round(ledger.len() as f64 / sending_s, 1.0),
        "freeze_to_first_send_s": round((first - started_ms) as f64 / 1000.0, 100.0),
        "freeze": freeze,
        "throughput_errors": sandbox.refusals().get(&130429).copied().unwrap_or(0),
        "duplicates": duplicates,
        "lost": lost,
        "updates_per_webhook": case.updates_per_webhook,
        "webhooks_received": sandbox.delivered_webhooks(),
        "statuses_settled_after_last_send_s": round(settled_s, 100.0),
        "status_to_report_p50_ms": lag.value_at_quantile(0.5),
        "status_to_report_p99_ms": lag.value_at_quantile(0.99),
        "status_to_report_max_ms": lag.max(),
        "customer_message_to_console_p50_ms": writes.as_ref().map(|w| w.value_at_quantile(0.5) as f64 / 1000.0),
        "customer_message_to_console_p99_ms": writes.as_ref().map(|w| w.value_at_quantile(0.99) as f64 / 1000.0),
        "customer_messages": writes.as_ref().map(Histogram::len),
        "relay_cpu_s_per_1000": round(run_cpu / (case.recipients as f64 / 1000.0), 1000.0),
        "sandbox_cpu_s_per_1000": round(own_cpu / (case.recipients as f64 / 1000.0), 1000.0),
        "relay_idle_cpu_share": round(idle_share, 1000.0),
        "peak_rss_mb": peak,
    }))
}

/// How long the relay is watched doing nothing after a case.
const IDLE_WATCH: Duration = Duration::from_secs(3);

/// One reading of the broadcast's report.
#[derive(Debug, Clone, Copy)]
struct Reading {
    at_ms: i64,
    delivered: u64,
    read: u64,
}

/// Follows the broadcast's report as an open console does: from the progress events on a
/// signed-in event stream (the console asks for the report itself only while its stream is
/// down).
struct ReportFollower {
    readings: std::sync::Arc<std::sync::Mutex<Vec<Reading>>>,
    task: tokio::task::JoinHandle<()>,
}

impl ReportFollower {
    async fn start(http: &reqwest::Client, base: &str, cookie: &str, id: i64) -> Result<ReportFollower> {
        let readings: std::sync::Arc<std::sync::Mutex<Vec<Reading>>> = std::sync::Arc::default();
        let (http, url, cookie, into) = (http.clone(), format!("{base}/api/v1/events"), cookie.to_owned(), readings.clone());
        let mut first = Some(http.get(&url).header("cookie", &cookie).send().await?);
        let task = tokio::spawn(async move {
            // Connected again when the stream ends (the restart case kills the relay), as the
            // console does.
            loop {
                let stream = match first.take() {
                    Some(s) => s,
                    None => match http.get(&url).header("cookie", &cookie).send().await {
                        Ok(s) if s.status().is_success() => s,
                        _ => {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                            continue;
                        }
                    },
                };
                crate::bench::for_each_event(stream, |v| {
                    if v["type"] != "broadcast" || v["progress"]["id"].as_i64() != Some(id) {
                        return;
                    }
                    let count = |k: &str| v["progress"]["counts"][k].as_u64().unwrap_or(0);
                    let reading = Reading { at_ms: switchboard_sandbox::now_ms(), delivered: count("delivered"), read: count("read") };
                    into.lock().expect("readings").push(reading);
                })
                .await;
            }
        });
        Ok(ReportFollower { readings, task })
    }

    fn last(&self) -> Option<Reading> {
        self.readings.lock().expect("readings").last().copied()
    }

    async fn stop(self) -> Vec<Reading> {
        self.task.abort();
        let _ = self.task.await;
        self.readings.lock().expect("readings").clone()
    }
}

/// From each delivered or read status leaving the sandbox to the first reading of the report
/// that counts it: the k-th status of a kind to leave is counted once the report's count of
/// that kind reaches k (ms).
fn status_lag_ms(departures: &[switchboard_sandbox::StatusDeparture], readings: &[Reading]) -> Histogram<u64> {
    let mut lag = Histogram::<u64>::new(3).expect("histogram");
    for (status, count) in [("delivered", (|r: &Reading| r.delivered) as fn(&Reading) -> u64), ("read", |r: &Reading| r.read)] {
        let mut left: Vec<i64> = departures.iter().filter(|d| d.status == status).map(|d| d.at_ms).collect();
        left.sort_unstable();
        let mut next = 0;
        for (k, at) in left.iter().enumerate() {
            while next < readings.len() && count(&readings[next]) < k as u64 + 1 {
                next += 1;
            }
            let Some(seen) = readings.get(next) else { break };
            let _ = lag.record((seen.at_ms - at).max(0) as u64);
        }
    }
    lag
}

/// Customers writing in while the broadcast runs: signed message webhooks posted to the relay
/// every 20 ms, each timed from its POST to its event on a signed-in event stream.
struct CustomersWriting {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<Histogram<u64>>>,
}

impl CustomersWriting {
    async fn start(http: &reqwest::Client, base: &str, cookie: &str, number: &str) -> Result<CustomersWriting> {
        let stream = http.get(format!("{base}/api/v1/events")).header("cookie", cookie).send().await?;
        let (arrivals, reader) = crate::bench::message_arrivals(stream, "wamid.MIX");
        let (stop, mut stopped) = tokio::sync::oneshot::channel();
        let (http, url, number) = (http.clone(), format!("{base}/webhooks/whatsapp"), number.to_owned());
        let task = tokio::spawn(async move {
            let mut sent_at = HashMap::new();
            let mut i = 0;
            while stopped.try_recv().is_err() {
                let wamid = format!("wamid.MIX{i:08}");
                let body = serde_json::to_vec(&json!({
                    "object": "whatsapp_business_account",
                    "entry": [{"id": "209000000000001", "changes": [{"field": "messages", "value": {
                        "messaging_product": "whatsapp",
                        "metadata": {"display_phone_number": "15550190", "phone_number_id": number},
                        "contacts": [{"profile": {"name": format!("Walk-in {i}")}, "wa_id": format!("8526{i:07}")}],
                        "messages": [{"from": format!("8526{i:07}"), "id": wamid, "timestamp": (switchboard_sandbox::now_ms() / 1000).to_string(),
                            "type": "text", "text": {"body": "Is the sale still on?"}}]
                    }}]}]
                }))?;
                let sig = switchboard_shared::signature::sign(b"sandbox-app-secret", &body);
                sent_at.insert(wamid, Instant::now());
                let r = http.post(&url).header("x-hub-signature-256", sig).body(body).send().await?;
                if !r.status().is_success() {
                    bail!("a customer's message was refused: {}", r.status());
                }
                i += 1;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            tokio::time::sleep(Duration::from_millis(1000)).await;
            reader.abort();
            let arrivals = arrivals.lock().expect("arrivals").clone();
            let mut took = Histogram::<u64>::new(3)?;
            for (wamid, t0) in &sent_at {
                let t1 = arrivals.get(wamid).with_context(|| format!("{wamid} never reached the event stream"))?;
                took.record(t1.duration_since(*t0).as_micros() as u64)?;
            }
            Ok(took)
        });
        Ok(CustomersWriting { stop, task })
    }

    async fn stop(self) -> Result<Histogram<u64>> {
        let _ = self.stop.send(());
        self.task.await?
    }
}
