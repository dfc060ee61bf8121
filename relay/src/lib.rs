//! The relay: the only holder of secrets and the only thing Meta talks to.
//!
//! `app(state)` is the whole HTTP surface, so tests drive it with `oneshot` or on a real
//! socket. `Relay::start` connects storage and starts the background work: the webhook
//! writer, the processor, one send lane per business number and the number health checks.

pub mod access;
pub mod assignment;
pub mod automation;
pub mod broadcasts;
pub mod canned;
pub mod clock;
pub mod cloud;
pub mod config;
pub mod contacts;
pub mod conversations;
pub mod db;
pub use db::backup;
#[cfg(feature = "demo")]
pub mod demo;
pub mod error;
pub mod events;
pub mod groups;
pub mod hours;
pub mod inbound;
pub mod media;
pub mod metrics;
pub mod numbers;
pub mod openapi;
pub mod outbox;
pub mod reports;
pub mod routes;
pub mod secrets;
pub mod security;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use tokio::sync::{Notify, RwLock};
use tower_http::services::{ServeDir, ServeFile};

pub use config::{Config, ConfigArgs};
pub use db::{Backend, Db};

/// Everything handlers and background tasks share.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: Config,
    /// What time it is for everything time-based in the support day; tests set it.
    pub clock: clock::Clock,
    pub db: Db,
    pub cloud: cloud::CloudClient,
    pub events: events::Hub,
    pub ingest: inbound::ingest::Ingest,
    /// Rung after bodies are stored, so the processor wakes at once.
    pub processor_bell: Arc<Notify>,
    pub lanes: outbox::Lanes,
    /// App secrets that may sign webhooks: every number's, and the configured one.
    pub app_secrets: RwLock<numbers::AppSecrets>,
    pub metrics: metrics::Metrics,
    pub sign_in_guard: access::auth::SignInGuard,
    pub imports: contacts::Imports,
    /// Rung when a broadcast is created or changed, so the scheduler looks at once.
    pub broadcast_bell: Notify,
    /// Rung when a customer writes or assignment settings change: automatic assignment looks.
    pub assignment_bell: Notify,
    /// Rung when a customer's message brings a file to fetch.
    pub media_bell: Notify,
    /// The features the outbox tells of each send's outcome.
    pub send_listeners: Vec<Arc<dyn outbox::outcomes::OutcomeListener>>,
    /// Linked-device sessions and the bulk jobs' workers.
    pub groups: groups::Groups,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    /// Connects storage and builds the state; background tasks are not started yet.
    pub async fn new(config: Config) -> anyhow::Result<AppState> {
        if !config.database_url.starts_with("postgres") {
            std::fs::create_dir_all(&config.data_dir)?;
        }
        let db = Db::connect(&config.database_url).await?;
        let cloud = cloud::CloudClient::new(&config.graph_base_url, &config.graph_api_version, config.graph_timeout)?;
        let processor_bell = Arc::new(Notify::new());
        let ingest = inbound::ingest::Ingest::spawn(db.clone(), processor_bell.clone());
        let state = AppState(Arc::new(Inner {
            config,
            clock: clock::Clock::default(),
            db,
            cloud,
            events: events::Hub::new(),
            ingest,
            processor_bell,
            lanes: outbox::Lanes::default(),
            app_secrets: RwLock::new(numbers::AppSecrets::default()),
            metrics: metrics::Metrics::default(),
            sign_in_guard: access::auth::SignInGuard::default(),
            imports: contacts::Imports::default(),
            broadcast_bell: Notify::new(),
            assignment_bell: Notify::new(),
            media_bell: Notify::new(),
            send_listeners: vec![
                Arc::new(broadcasts::SendListener),
                Arc::new(conversations::SendListener),
                Arc::new(contacts::SendListener),
                Arc::new(numbers::SendListener),
            ],
            groups: groups::Groups::default(),
        }));
        access::ensure_builtin_roles(&state).await?;
        numbers::reload_app_secrets(&state).await?;
        Ok(state)
    }

    /// A number was connected or its credentials changed: its lane runs (started if new). The
    /// numbers feature says so here rather than reaching into the outbox.
    pub fn number_connected(&self, number_id: &str, throughput_per_sec: i64) {
        outbox::start_lane(self, number_id, throughput_per_sec);
    }

    /// A number's settings changed (enabled again, a new time zone): its lane looks again.
    pub fn number_changed(&self, number_id: &str) {
        self.lanes.wake(number_id);
    }

    /// Starts the processor, the lanes and the health checks.
    pub async fn start_background(&self) -> anyhow::Result<()> {
        tokio::spawn(inbound::process::run(self.clone()));
        tokio::spawn(inbound::backlog::watch(self.clone()));
        outbox::recover_after_restart(self).await?;
        outbox::start_lanes(self).await?;
        broadcasts::recover(self).await?;
        contacts::resume_imports(self).await?;
        tokio::spawn(broadcasts::scheduler(self.clone()));
        tokio::spawn(broadcasts::reporter(self.clone()));
        tokio::spawn(numbers::health_loop(self.clone()));
        tokio::spawn(assignment::run(self.clone()));
        tokio::spawn(media::run(self.clone()));
        groups::start(self).await?;
        Ok(())
    }
}

/// An agent was disabled: their conversations go back to the queue (returns the events to
/// publish). Access says so here rather than writing the conversations' table.
pub async fn agent_left(conn: &mut sqlx::AnyConnection, agent: i64) -> error::Result<Vec<switchboard_shared::api::Event>> {
    conversations::requeue_conversations_of(conn, agent).await
}

/// A message was deleted: its file is no longer served (returns the file to remove once the
/// transaction commits, when no other message shows it). Conversations say so here rather
/// than reaching into media, which reads conversations.
pub async fn message_deleted(
    conn: &mut sqlx::AnyConnection,
    data_dir: &std::path::Path,
    message_id: i64,
) -> error::Result<Option<std::path::PathBuf>> {
    media::forget(conn, data_dir, message_id).await
}

/// A number's quality fell to RED: every broadcast through it pauses at once (the quality kill
/// switch). Numbers say so here rather than reaching into broadcasts, which read numbers.
pub async fn quality_fell_to_red(conn: &mut sqlx::AnyConnection, number_id: &str) -> error::Result<()> {
    broadcasts::pause_for_low_quality(conn, number_id).await.map(drop)
}

/// The whole HTTP surface.
pub fn app(state: AppState) -> Router {
    let console = &state.config.console_dir;
    // Every console path is the one page; its router shows the page the path names. `cargo
    // xtask dist` writes each file also brotli- and gzip-compressed (`.br`, `.gz`): a browser
    // that accepts one gets it, so a phone downloads the WebAssembly at a third of its size.
    let static_files = ServeDir::new(console)
        .precompressed_br()
        .precompressed_gzip()
        .fallback(ServeFile::new(console.join("index.html")).precompressed_br().precompressed_gzip());
    let (api, _) = routes::api(&state);
    Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics::render))
        .route("/openapi.json", get(openapi::serve))
        .route("/webhooks/whatsapp", get(inbound::verify).post(inbound::receive))
        .nest("/api/v1", api)
        .fallback_service(static_files)
        .layer(axum::middleware::from_fn(security::csrf))
        .layer(axum::middleware::from_fn(security::headers))
        .layer(security::cors(&state.config.cors_origins))
        .with_state(state)
}

/// A relay bound to a socket and serving.
pub struct Relay {
    pub state: AppState,
    pub addr: std::net::SocketAddr,
}

impl Relay {
    /// Binds `config.listen` (port 0 allowed), starts everything and serves in the background.
    pub async fn start(config: Config) -> anyhow::Result<Relay> {
        if config.secret_key.is_none() {
            anyhow::bail!(
                "no secret key: set SWITCHBOARD_SECRET_KEY to 64 hex characters (e.g. from `openssl rand -hex 32`) \
                 or --secret-key-file; it encrypts the stored access tokens and app secrets"
            );
        }
        let listener = tokio::net::TcpListener::bind(config.listen).await?;
        let addr = listener.local_addr()?;
        let state = AppState::new(config).await?;
        state.start_background().await?;
        let router = app(state.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!("relay server stopped: {e}");
            }
        });
        Ok(Relay { state, addr })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
