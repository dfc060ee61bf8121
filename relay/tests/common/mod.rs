//! What the relay integration suites share: a real relay on 127.0.0.1:0 with real storage
//! (SQLite, and PostgreSQL when `DATABASE_URL` points at one) and a real sandbox over HTTP.
#![allow(dead_code)]

use std::time::Duration;

use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::numbers::{self, NewNumber};
use switchboard_relay::{Backend, ConfigArgs, Relay};
use switchboard_sandbox::{Sandbox, SandboxConfig, SandboxNumber};
use switchboard_shared::access::Scope;
use switchboard_shared::signature;

pub const SECRET: &str = "test-app-secret";
pub const PASSWORD: &str = "test-password-123";
pub const NUMBER: &str = "100000000000001";
pub const NUMBER2: &str = "100000000000002";
pub const SECRET2: &str = "second-app-secret";
pub const TEST_KEY: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

pub struct TestApp {
    pub relay: Relay,
    pub sandbox: Sandbox,
    pub http: reqwest::Client,
    pub _dir: tempfile::TempDir,
    /// Dropped last (fields drop in order): the PostgreSQL database, if any.
    pub _database: Option<TestDatabase>,
}

/// A PostgreSQL database made for one test, dropped when the test is done with it (even when
/// it failed), so runs do not pile databases up on the server.
pub struct TestDatabase {
    pub url: String,
    admin_url: String,
    name: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // Drop runs outside async code: a thread with its own runtime. FORCE ends the
        // connections the test's relay still holds.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            runtime.block_on(async {
                let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await.ok()?;
                sqlx::query(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).execute(&mut conn).await.ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

/// A fresh PostgreSQL database per test, created beside the one `DATABASE_URL` names.
pub async fn fresh_postgres_url() -> Option<TestDatabase> {
    let base = std::env::var("DATABASE_URL").ok().filter(|u| u.starts_with("postgres"))?;
    let name = format!("sb_test_{}", rand_suffix());
    let admin_url = base.clone();
    sqlx::any::install_default_drivers();
    let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&admin_url).await.expect("connect to DATABASE_URL");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
    let (prefix, _) = base.rsplit_once('/').expect("DATABASE_URL has a database name");
    Some(TestDatabase { url: format!("{prefix}/{name}"), admin_url, name })
}

pub fn rand_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
    format!("{}_{}_{}", std::process::id(), t % 1_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// [`spawn_app`] with settings changed first.
pub async fn spawn_app_with(backend: Backend, change: impl FnOnce(&mut ConfigArgs)) -> TestApp {
    spawn_app_with_sandbox(backend, |_| {}, change).await
}

/// [`spawn_app`] with the sandbox's settings (Meta's behaviour) and the relay's changed first.
pub async fn spawn_app_with_sandbox(
    backend: Backend,
    meta: impl FnOnce(&mut SandboxConfig),
    change: impl FnOnce(&mut ConfigArgs),
) -> TestApp {
    // `TEST_LOG=warn cargo test …` shows the relay's log.
    let _ = tracing_subscriber::fmt().with_env_filter(tracing_subscriber::EnvFilter::from_env("TEST_LOG")).try_init();
    let dir = tempfile::tempdir().unwrap();
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_url().await.expect("DATABASE_URL must point at PostgreSQL")),
    };
    let database_url = database.as_ref().map(|d| d.url.clone());
    let mut sandbox = SandboxConfig {
        numbers: vec![
            SandboxNumber::new(NUMBER, "200000000000001", "+1 555-0100", "Test Shop"),
            SandboxNumber {
                app_secret: Some(SECRET2.into()),
                ..SandboxNumber::new(NUMBER2, "200000000000001", "+1 555-0200", "Second Shop")
            },
        ],
        app_secret: SECRET.into(),
        sent_after: Duration::from_millis(20),
        delivered_after: Duration::from_millis(40),
        read_after: Duration::from_millis(60),
        webhook_batch_window: Duration::from_millis(2),
        ..SandboxConfig::default()
    };
    meta(&mut sandbox);
    let sandbox = Sandbox::spawn(sandbox).await.unwrap();
    let mut config = ConfigArgs {
        listen: Some("127.0.0.1:0".parse().unwrap()),
        data_dir: Some(dir.path().to_owned()),
        database_url,
        graph_base_url: Some(sandbox.url.clone()),
        verify_token: Some("verify-me".into()),
        app_secret: Some(SECRET.into()),
        console_dir: Some(dir.path().join("dist")),
        secret_key: Some(TEST_KEY.into()),
        ..Default::default()
    };
    change(&mut config);
    let config = config.resolve().unwrap();
    let relay = Relay::start(config).await.unwrap();
    numbers::upsert(
        &relay.state,
        &NewNumber {
            id: NUMBER.into(),
            waba_id: "200000000000001".into(),
            access_token: "sandbox-token".into(),
            app_secret: SECRET.into(),
            verify_token: String::new(),
            time_zone: None,
        },
    )
    .await
    .unwrap();
    // A second number of another app: its webhooks must carry its own app secret.
    numbers::upsert(
        &relay.state,
        &NewNumber {
            id: NUMBER2.into(),
            waba_id: "200000000000001".into(),
            access_token: "sandbox-token".into(),
            app_secret: SECRET2.into(),
            verify_token: String::new(),
            time_zone: None,
        },
    )
    .await
    .unwrap();
    sandbox.set_webhook_url(format!("{}/webhooks/whatsapp", relay.url()));
    auth::upsert_user(&relay.state, "agent@example.com", "Agent", PASSWORD, "Agent", &Scope::All).await.unwrap();
    TestApp { relay, sandbox, http: reqwest::Client::new(), _dir: dir, _database: database }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.relay.url())
    }

    pub async fn post_webhook(&self, body: &[u8]) -> reqwest::Response {
        self.http
            .post(self.url("/webhooks/whatsapp"))
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature::sign(SECRET.as_bytes(), body))
            .body(body.to_vec())
            .send()
            .await
            .unwrap()
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        let (n,): (i64,) = sqlx::query_as(sql).fetch_one(&self.relay.state.db.pool).await.unwrap();
        n
    }

    /// Adds `admin@example.com`, an administrator of every number, and signs in as them.
    pub async fn admin(&self) -> String {
        add_admin(&self.relay.state).await;
        self.login_as("admin@example.com", PASSWORD).await
    }

    /// Signs in as the test agent and returns the cookie header value.
    pub async fn login(&self) -> String {
        self.login_as("agent@example.com", PASSWORD).await
    }

    /// Signs in and returns the cookie header value.
    pub async fn login_as(&self, email: &str, password: &str) -> String {
        let r = self.sign_in(email, password).await;
        assert_eq!(r.status(), 200);
        let set_cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
        assert!(set_cookie.contains("HttpOnly") && set_cookie.contains("SameSite=Strict"), "{set_cookie}");
        set_cookie.split(';').next().unwrap().to_owned()
    }

    /// One sign-in attempt, whatever its outcome.
    pub async fn sign_in(&self, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(self.url("/api/v1/session"))
            .header("x-requested-with", "switchboard")
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap()
    }

    /// A signed-in, state-changing API call with the CSRF header.
    pub async fn post_api(&self, cookie: &str, path: &str, body: &Value) -> reqwest::Response {
        self.http.post(self.url(path)).header("cookie", cookie).header("x-requested-with", "switchboard").json(body).send().await.unwrap()
    }

    /// Any signed-in call with the CSRF header.
    pub async fn call(&self, method: reqwest::Method, cookie: &str, path: &str, body: Option<&Value>) -> reqwest::Response {
        let mut r = self.http.request(method, self.url(path)).header("cookie", cookie).header("x-requested-with", "switchboard");
        if let Some(body) = body {
            r = r.json(body);
        }
        r.send().await.unwrap()
    }

    pub async fn get_json(&self, cookie: &str, path: &str) -> Value {
        let r = self.http.get(self.url(path)).header("cookie", cookie).send().await.unwrap();
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.unwrap()
    }
}

/// An administrator of every number, `admin@example.com`.
pub async fn add_admin(state: &switchboard_relay::AppState) {
    auth::upsert_user(state, "admin@example.com", "Admin", PASSWORD, "Administrator", &Scope::All).await.unwrap();
}

/// Polls until `check` holds, for at most ten seconds.
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    for _ in 0..200 {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

/// Polls until `check` gives a value, for at most ten seconds.
pub async fn eventually_some<T, F, Fut>(what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = check().await {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for: {what}");
}

pub fn text_message(wamid: &str, from: &str, body: &str) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": NUMBER},
            "contacts": [{"profile": {"name": "Mei"}, "wa_id": from}],
            "messages": [{"from": from, "id": wamid, "timestamp": "1767225600", "type": "text", "text": {"body": body}}]
        }}]}]
    })
}

pub fn status_update(wamid: &str, status: &str) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "200000000000001", "changes": [{"field": "messages", "value": {
            "messaging_product": "whatsapp",
            "metadata": {"display_phone_number": "15550100", "phone_number_id": NUMBER},
            "statuses": [{"id": wamid, "status": status, "timestamp": "1767225601", "recipient_id": "85290000001"}]
        }}]}]
    })
}

/// Runs a test body against SQLite, and against PostgreSQL when `DATABASE_URL` names one at
/// build time (the relay's build script sets `has_postgres`; in CI it must). Without it the
/// PostgreSQL case is reported as ignored, with the reason, instead of passing unseen.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name(switchboard_relay::Backend::Sqlite).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            #[cfg_attr(not(has_postgres), ignore = "skipped: PostgreSQL, DATABASE_URL is not set")]
            async fn postgres() {
                super::$name(switchboard_relay::Backend::Postgres).await;
            }
        }
    )*};
}

/// Moves every complete server-sent event in `buffer` (its `data:` JSON) into `out`.
#[allow(dead_code)]
pub fn take_events(buffer: &mut String, out: &mut Vec<Value>) {
    while let Some(end) = buffer.find("\n\n") {
        let block: String = buffer.drain(..end + 2).collect();
        out.extend(block.lines().filter_map(|l| l.strip_prefix("data:")).map(|d| serde_json::from_str::<Value>(d.trim()).unwrap()));
    }
}

/// The first `n` events an open `/api/v1/events` response delivers (each within 10 s).
#[allow(dead_code)]
pub async fn read_events(response: &mut reqwest::Response, n: usize) -> Vec<Value> {
    let (mut buffer, mut out) = (String::new(), Vec::new());
    while out.len() < n {
        let chunk = tokio::time::timeout(Duration::from_secs(10), response.chunk()).await.expect("event in time").unwrap().unwrap();
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        take_events(&mut buffer, &mut out);
    }
    out
}

/// The events an open `/api/v1/events` response delivers within `wait`.
#[allow(dead_code)]
pub async fn events_within(response: &mut reqwest::Response, wait: Duration) -> Vec<Value> {
    let deadline = tokio::time::Instant::now() + wait;
    let (mut buffer, mut out) = (String::new(), Vec::new());
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout_at(deadline, response.chunk()).await {
        buffer.push_str(&String::from_utf8_lossy(&chunk));
        take_events(&mut buffer, &mut out);
    }
    out
}

/// The support day's time zone in tests.
#[allow(dead_code)]
pub const TAIPEI: &str = "Asia/Taipei";

/// The next time the wall clock in Taipei reads `hh:mm`, as ms (within the next 24 hours).
#[allow(dead_code)]
pub fn next_taipei(hh: i8, mm: i8) -> i64 {
    use jiff::civil::Time;
    use jiff::tz::TimeZone;
    let now = jiff::Timestamp::now().to_zoned(TimeZone::get(TAIPEI).unwrap());
    let mut at = now.date().to_datetime(Time::new(hh, mm, 0, 0).unwrap()).to_zoned(TimeZone::get(TAIPEI).unwrap()).unwrap();
    if at <= now {
        at = at.tomorrow().unwrap();
    }
    at.timestamp().as_millisecond()
}

/// What the sandbox received for `to`, oldest first.
#[allow(dead_code)]
pub fn sent_to(app: &TestApp, to: &str) -> Vec<String> {
    app.sandbox.ledger().into_iter().filter(|e| e.to == to).map(|e| e.summary).collect()
}
