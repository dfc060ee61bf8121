//! `GET /metrics` in Prometheus text format.
use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use std::fmt::Write as _;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::AppState;

/// A closed set of label values, each written as its fixed text.
macro_rules! label_values {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }

        impl EncodeLabelValue for $name {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                encoder.write_str(self.as_str())
            }
        }
    };
}

label_values! {
    /// What became of a webhook POST.
    WebhookResult {
        Stored => "stored",
        BadSignature => "bad_signature",
        Unsigned => "unsigned",
        TooLarge => "too_large",
        Unreadable => "unreadable",
        StoreFailed => "store_failed",
    }
}

label_values! {
    /// What became of a send's request.
    SendResult {
        Accepted => "accepted",
        Retry => "retry",
        Failed => "failed",
        Unknown => "unknown",
        SettledByStatus => "settled_by_status",
    }
}

label_values! {
    /// What became of a sign-in.
    LoginResult {
        Accepted => "accepted",
        Rejected => "rejected",
        Locked => "locked",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    result: WebhookResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SendLabels {
    outcome: SendResult,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LoginLabels {
    result: LoginResult,
}

/// The relay's counters and gauges.
pub struct Metrics {
    registry: Registry,
    /// Webhook POSTs by result (stored, bad_signature, unsigned, too_large, store_failed).
    pub webhooks: Family<WebhookLabels, Counter>,
    /// Domain events written to the log.
    pub events: Counter,
    /// Sends by outcome (accepted, retry, failed, unknown).
    pub sends: Family<SendLabels, Counter>,
    /// Sign-ins by result.
    pub logins: Family<LoginLabels, Counter>,
    /// Open event streams.
    pub sse_clients: Gauge,
    /// Webhook bodies stored and not yet processed.
    webhook_backlog: Gauge,
    /// How long the oldest of them has waited.
    webhook_backlog_age: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let webhooks = Family::<WebhookLabels, Counter>::default();
        let events = Counter::default();
        let sends = Family::<SendLabels, Counter>::default();
        let logins = Family::<LoginLabels, Counter>::default();
        let sse_clients = Gauge::default();
        let webhook_backlog = Gauge::default();
        let webhook_backlog_age = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register("webhooks", "Webhook POSTs received, by result", webhooks.clone());
        registry.register("events", "Domain events appended to the event log", events.clone());
        registry.register("sends", "Cloud API sends, by outcome", sends.clone());
        registry.register("logins", "Sign-in attempts, by result", logins.clone());
        registry.register("sse_clients", "Open event streams", sse_clients.clone());
        registry.register("webhook_backlog", "Webhook bodies stored and not yet processed", webhook_backlog.clone());
        registry.register_with_unit(
            "webhook_backlog_age",
            "How long the oldest unprocessed webhook body has waited",
            prometheus_client::registry::Unit::Seconds,
            webhook_backlog_age.clone(),
        );
        Metrics { registry, webhooks, events, sends, logins, sse_clients, webhook_backlog, webhook_backlog_age }
    }
}

impl Metrics {
    pub fn webhook(&self, result: WebhookResult) {
        self.webhooks.get_or_create(&WebhookLabels { result }).inc();
    }

    pub fn sends(&self, outcome: SendResult, n: u64) {
        self.sends.get_or_create(&SendLabels { outcome }).inc_by(n);
    }

    pub fn backlog(&self, now: switchboard_shared::api::Backlog) {
        self.webhook_backlog.set(now.waiting);
        self.webhook_backlog_age.set(now.behind_ms as f64 / 1000.0);
    }

    pub fn login(&self, result: LoginResult) {
        self.logins.get_or_create(&LoginLabels { result }).inc();
    }
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = String::new();
    if let Err(e) = encode(&mut body, &state.metrics.registry) {
        tracing::error!("encoding metrics: {e}");
    }
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
