//! Operations endpoints: `/healthz` (the process answers), `/readyz` (the store is open and every
//! projection is caught up within a bound) and `/metrics` (Prometheus text).
//!
//! Projections are not built here: they report through [`ProjectionProbe`], which the binary
//! passes in once `crm-projections` exists. Without probes, readiness is the store's alone.

use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use crm_eventstore::{EventStore, Position};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::json;

use crate::server::AppState;

/// One projection's progress through the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProjectionProgress {
    pub name: String,
    /// The last position the projection has applied.
    pub checkpoint: Position,
}

/// How projections tell the edge where they are. Called on every `/readyz` and `/metrics`
/// request, so it must be cheap (read a checkpoint, not fold anything).
pub trait ProjectionProbe: Send + Sync + 'static {
    fn progress(&self) -> Vec<ProjectionProgress>;

    /// How many times resolvers have read the read models, when the probe counts them.
    fn model_reads(&self) -> Option<u64> {
        None
    }

    /// Why the node should not take traffic, if it should not (`/readyz` answers 503 with
    /// it): e.g. a local copy of the log that stopped or fell behind its log of record.
    fn problem(&self) -> Option<String> {
        None
    }
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct RequestLabels {
    /// query, mutation, subscription, or none when the request never got that far.
    pub operation_type: String,
    /// The HTTP status answered.
    pub status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct OperationLabels {
    pub operation_type: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CodeLabels {
    pub code: String,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ProjectionLabels {
    pub projection: String,
}

fn latency_histogram() -> Histogram {
    // 1 ms to about 16 s.
    Histogram::new(exponential_buckets(0.001, 2.0, 15))
}

/// The process's metrics. Request metrics are updated as requests finish; store and projection
/// gauges are sampled when `/metrics` is scraped.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    pub(crate) requests: Family<RequestLabels, Counter>,
    pub(crate) latency: Family<OperationLabels, Histogram, fn() -> Histogram>,
    pub(crate) errors: Family<CodeLabels, Counter>,
    pub(crate) ws_connections: Gauge,
    head_position: Gauge<u64, AtomicU64>,
    events_appended: Counter,
    /// The head seen at the last scrape, to count appends between scrapes.
    head_seen: Mutex<Option<u64>>,
    projection_lag: Family<ProjectionLabels, Gauge<u64, AtomicU64>>,
    read_model_reads: Gauge<u64, AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<OperationLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        let errors = Family::<CodeLabels, Counter>::default();
        let ws_connections = Gauge::default();
        let head_position = Gauge::<u64, AtomicU64>::default();
        let events_appended = Counter::default();
        let projection_lag = Family::<ProjectionLabels, Gauge<u64, AtomicU64>>::default();
        registry.register(
            "graphql_requests",
            "GraphQL HTTP requests by operation type and HTTP status",
            requests.clone(),
        );
        registry.register(
            "graphql_request_duration_seconds",
            "Time to answer a GraphQL HTTP request",
            latency.clone(),
        );
        registry.register(
            "graphql_errors",
            "GraphQL errors returned, by extensions.code",
            errors.clone(),
        );
        registry.register(
            "graphql_ws_connections",
            "Open graphql-transport-ws connections",
            ws_connections.clone(),
        );
        registry.register(
            "eventstore_head_position",
            "The last committed position of the event log",
            head_position.clone(),
        );
        registry.register(
            "eventstore_events_appended",
            "Events appended to the log since this process started serving",
            events_appended.clone(),
        );
        registry.register(
            "projection_lag_events",
            "How many positions each projection is behind the log's head",
            projection_lag.clone(),
        );
        let read_model_reads = Gauge::<u64, AtomicU64>::default();
        registry.register(
            "read_model_reads",
            "Read-model reads taken by resolvers since start (one per list page, not per row)",
            read_model_reads.clone(),
        );
        Metrics {
            registry,
            requests,
            latency,
            errors,
            ws_connections,
            head_position,
            events_appended,
            head_seen: Mutex::new(None),
            projection_lag,
            read_model_reads,
        }
    }

    pub(crate) fn observe_request(
        &self,
        operation_type: &str,
        status: StatusCode,
        elapsed: Duration,
    ) {
        self.requests
            .get_or_create(&RequestLabels {
                operation_type: operation_type.to_string(),
                status: status.as_u16(),
            })
            .inc();
        self.latency
            .get_or_create(&OperationLabels {
                operation_type: operation_type.to_string(),
            })
            .observe(elapsed.as_secs_f64());
    }

    pub(crate) fn observe_error_code(&self, code: &str) {
        self.errors
            .get_or_create(&CodeLabels {
                code: code.to_string(),
            })
            .inc();
    }

    fn sample(&self, store: &EventStore, probes: &[Arc<dyn ProjectionProbe>]) {
        let head = store.head().0;
        self.head_position.set(head);
        // A poisoned mutex only means a scrape panicked mid-update; the value is still a u64.
        let mut seen = self.head_seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(previous) = *seen {
            self.events_appended.inc_by(head.saturating_sub(previous));
        }
        *seen = Some(head);
        for probe in probes {
            if let Some(reads) = probe.model_reads() {
                self.read_model_reads.set(reads);
            }
            for p in probe.progress() {
                self.projection_lag
                    .get_or_create(&ProjectionLabels { projection: p.name })
                    .set(head.saturating_sub(p.checkpoint.0));
            }
        }
    }

    fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

pub(crate) async fn healthz() -> Response {
    (StatusCode::OK, axum::Json(json!({ "status": "ok" }))).into_response()
}

pub(crate) async fn readyz(State(state): State<AppState>) -> Response {
    let store = state.store();
    let head = store.head();
    let mut problems = Vec::new();
    if store.is_poisoned() {
        problems.push("the event store stopped accepting writes".to_string());
    }
    let lag_max = state.config().readiness.projection_lag_events_max;
    let mut projections = Vec::new();
    for probe in state.probes() {
        problems.extend(probe.problem());
        for p in probe.progress() {
            let lag = head.0.saturating_sub(p.checkpoint.0);
            if lag > lag_max {
                problems.push(format!(
                    "projection {} is {lag} events behind (at most {lag_max})",
                    p.name
                ));
            }
            projections.push(json!({ "name": p.name, "checkpoint": p.checkpoint.0, "lag": lag }));
        }
    }
    let status = if problems.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let body = json!({
        "ready": problems.is_empty(),
        "head": head.0,
        "projections": projections,
        "problems": problems,
    });
    (status, axum::Json(body)).into_response()
}

pub(crate) async fn metrics(State(state): State<AppState>) -> Response {
    let metrics = state.metrics();
    metrics.sample(state.store(), state.probes());
    match metrics.encode() {
        Ok(text) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(e) => {
            tracing::error!(error = %e, "encoding metrics");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}
