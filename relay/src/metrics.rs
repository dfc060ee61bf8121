//! `GET /metrics` in Prometheus text format.

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::AppState;

type Labels = Vec<(String, String)>;

/// The relay's counters and gauges.
pub struct Metrics {
    registry: Registry,
    /// Webhook POSTs by result (stored, bad_signature, unsigned, too_large, store_failed).
    pub webhooks: Family<Labels, Counter>,
    /// Domain events written to the log.
    pub events: Counter,
    /// Sends by outcome (accepted, retry, failed, unknown).
    pub sends: Family<Labels, Counter>,
    /// Sign-ins by result.
    pub logins: Family<Labels, Counter>,
    /// Open event streams.
    pub sse_clients: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("switchboard");
        let webhooks = Family::<Labels, Counter>::default();
        let events = Counter::default();
        let sends = Family::<Labels, Counter>::default();
        let logins = Family::<Labels, Counter>::default();
        let sse_clients = Gauge::default();
        registry.register("webhooks", "Webhook POSTs received, by result", webhooks.clone());
        registry.register("events", "Domain events appended to the event log", events.clone());
        registry.register("sends", "Cloud API sends, by outcome", sends.clone());
        registry.register("logins", "Sign-in attempts, by result", logins.clone());
        registry.register("sse_clients", "Open event streams", sse_clients.clone());
        Metrics { registry, webhooks, events, sends, logins, sse_clients }
    }
}

pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    let mut body = String::new();
    if let Err(e) = encode(&mut body, &state.metrics.registry) {
        tracing::error!("encoding metrics: {e}");
    }
    ([(CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], body)
}
