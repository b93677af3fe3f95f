//! The router and the server: [`app`] builds the axum router over an [`AppState`] (tests call it
//! with `oneshot`), [`serve`] binds it and returns the bound address and a [`ServerHandle`] whose
//! `shutdown` stops accepting, closes WebSockets and drains in-flight requests.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::http::{header, HeaderName, Request, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use crm_eventstore::EventStore;
use tokio::sync::{oneshot, watch};
use tokio::task::JoinHandle;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;

use crate::auth::TokenKeys;
use crate::config::Config;
use crate::error::ApiError;
use crate::ops::{Metrics, ProjectionProbe};
use crate::schema::{schema_builder, CrmSchema};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    config: Config,
    schema: CrmSchema,
    store: EventStore,
    keys: TokenKeys,
    metrics: Metrics,
    probes: Vec<Arc<dyn ProjectionProbe>>,
    /// Flips to true when the server shuts down; WebSocket connections watch it.
    shutdown: watch::Sender<bool>,
    /// WebSockets open per token subject (`ws_sockets_per_subject_max`).
    ws_sockets: Arc<crate::ws::SubjectSockets>,
    /// What tokens are checked against at every request (`Config::directory_check`).
    directory: Option<Arc<dyn crate::auth::StaffDirectory>>,
    /// The read models the builder started (none with a schema built elsewhere).
    projections: Option<crm_projections::Projections>,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("config", &self.inner.config)
            .field("probes", &self.inner.probes.len())
            .finish_non_exhaustive()
    }
}

/// Builds an [`AppState`]; `schema` and `probe` are how later crates plug in.
pub struct AppStateBuilder {
    config: Config,
    store: EventStore,
    schema: Option<CrmSchema>,
    probes: Vec<Arc<dyn ProjectionProbe>>,
    rules: Option<crm_projections::RuleBook>,
    directory: Option<Arc<dyn crate::auth::StaffDirectory>>,
    appender: Option<Arc<dyn crm_eventstore::Appender>>,
}

impl std::fmt::Debug for AppStateBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppStateBuilder")
            .field("config", &self.config)
            .field("probes", &self.probes.len())
            .finish_non_exhaustive()
    }
}

impl AppStateBuilder {
    /// The staff directory tokens are checked against (with a schema built elsewhere: its
    /// read models); by default the read models the builder starts.
    pub fn directory(mut self, directory: Arc<dyn crate::auth::StaffDirectory>) -> Self {
        self.directory = Some(directory);
        self
    }

    /// A schema built elsewhere (from [`schema_builder`] with more data); by default the schema
    /// is built from the config and the store alone.
    pub fn schema(mut self, schema: CrmSchema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// The rules the read models start under when no generation exists yet (and for replay
    /// before the log activated any); the built-in defaults otherwise.
    pub fn rules(mut self, rules: crm_projections::RuleBook) -> Self {
        self.rules = Some(rules);
        self
    }

    /// Where the command side appends when the store is a local copy of a log of record
    /// elsewhere (`crm_eventstore::Appender`); by default the store itself.
    pub fn appender(mut self, appender: Arc<dyn crm_eventstore::Appender>) -> Self {
        self.appender = Some(appender);
        self
    }

    /// A projection whose lag `/readyz` and `/metrics` report.
    pub fn probe(mut self, probe: Arc<dyn ProjectionProbe>) -> Self {
        self.probes.push(probe);
        self
    }

    pub fn build(mut self) -> Result<AppState, ApiError> {
        self.config.validate()?;
        let mut started = None;
        let schema = match self.schema {
            Some(_) if self.appender.is_some() => {
                return Err(ApiError::Config(
                    "an appender goes to the command side the builder starts; a schema built \
                     elsewhere carries its own"
                        .into(),
                ))
            }
            Some(schema) => schema,
            None => {
                let rules = match self.rules.take() {
                    Some(rules) => rules,
                    None => crm_projections::RuleBook::default_rules().map_err(|e| {
                        ApiError::Internal(format!("loading the default rules: {e}"))
                    })?,
                };
                // The command side's directory folds its part of the log while the read
                // models load theirs: a start takes the longer of the two, not their sum.
                let store = &self.store;
                let command_side = |e: crm_app::AppError| {
                    ApiError::Internal(format!("starting the command side: {e}"))
                };
                let appender = self.appender.take();
                let new_app = || {
                    let app = crm_app::App::new(store.clone())?;
                    Ok(match appender.clone() {
                        Some(appender) => app.with_appender(appender),
                        None => app,
                    })
                };
                let (app, projections) = std::thread::scope(|scope| {
                    let app = std::thread::Builder::new()
                        .name("crm-directory".into())
                        .spawn_scoped(scope, new_app);
                    let projections = crm_projections::Projections::start(store, rules)
                        .map_err(|e| ApiError::Internal(format!("starting the read models: {e}")));
                    let app = match app {
                        Ok(handle) => handle
                            .join()
                            .map_err(|_| {
                                ApiError::Internal("the command side's start panicked".into())
                            })?
                            .map_err(command_side),
                        // No thread to be had: the same work on this one.
                        Err(_) => new_app().map_err(command_side),
                    };
                    Ok::<_, ApiError>((app?, projections?))
                })?;
                projections
                    .set_job_limits(self.config.jobs)
                    .map_err(|e| ApiError::Config(e.to_string()))?;
                started = Some(projections.clone());
                let models = crate::schema::ReadModels::new(projections);
                self.probes.push(Arc::new(models.clone()));
                if self.directory.is_none() {
                    self.directory = Some(Arc::new(models.clone()));
                }
                schema_builder(&self.config, self.store.clone())
                    .data(app)
                    .data(models)
                    .finish()
            }
        };
        let (shutdown, _) = watch::channel(false);
        Ok(AppState {
            inner: Arc::new(Inner {
                keys: TokenKeys::new(&self.config.jwt_secret)
                    .with_previous(self.config.jwt_secret_previous.as_ref())
                    .with_lifetime_max(self.config.token_lifetime_max),
                config: self.config,
                schema,
                store: self.store,
                metrics: Metrics::new(),
                probes: self.probes,
                shutdown,
                ws_sockets: Arc::default(),
                directory: self.directory,
                projections: started,
            }),
        })
    }
}

impl AppState {
    pub fn builder(config: Config, store: EventStore) -> AppStateBuilder {
        AppStateBuilder {
            config,
            store,
            schema: None,
            probes: Vec::new(),
            rules: None,
            directory: None,
            appender: None,
        }
    }

    pub fn new(config: Config, store: EventStore) -> Result<AppState, ApiError> {
        AppState::builder(config, store).build()
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn schema(&self) -> &CrmSchema {
        &self.inner.schema
    }

    pub fn store(&self) -> &EventStore {
        &self.inner.store
    }

    pub fn keys(&self) -> &TokenKeys {
        &self.inner.keys
    }

    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The read models the builder started, which the API serves (`None` when the schema
    /// was built elsewhere): for work beside the API, such as scheduled reports.
    pub fn projections(&self) -> Option<&crm_projections::Projections> {
        self.inner.projections.as_ref()
    }

    pub(crate) fn probes(&self) -> &[Arc<dyn ProjectionProbe>] {
        &self.inner.probes
    }

    pub(crate) fn ws_sockets(&self) -> &Arc<crate::ws::SubjectSockets> {
        &self.inner.ws_sockets
    }

    /// Whether the staff directory still backs a token verified for `actor`, issued at
    /// `issued_at` (`Config::directory_check`; with no directory, as with the check off, it
    /// does).
    pub(crate) fn check_standing(
        &self,
        actor: &crm_domain::auth::Actor,
        issued_at: i64,
    ) -> Result<(), crm_domain::auth::StandingProblem> {
        match &self.inner.directory {
            Some(directory) if self.inner.config.directory_check => {
                directory.check(actor, issued_at)
            }
            _ => Ok(()),
        }
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.inner.shutdown.subscribe()
    }

    /// Tells every WebSocket connection to close (1001) and stops new ones from staying open.
    pub fn begin_shutdown(&self) {
        self.inner.shutdown.send_replace(true);
    }
}

pub(crate) async fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        "not found",
    )
        .into_response()
}

/// The whole HTTP surface, independent of what the schema contains.
pub fn app(state: AppState) -> Router {
    let mut router = Router::new()
        .route(
            "/graphql",
            get(crate::http::graphql_get).post(crate::http::graphql_post),
        )
        .route("/graphql/ws", get(crate::ws::graphql_ws))
        .route("/healthz", get(crate::ops::healthz))
        .route("/readyz", get(crate::ops::readyz))
        .route("/metrics", get(crate::ops::metrics))
        .route("/console", get(crate::console::page))
        .route("/console/assets/{*path}", get(crate::console::asset));
    if !state.config().demo_sign_in.is_empty() {
        router = router.route("/console/demo-sign-in", get(crate::console::demo_sign_in));
    }
    if state.config().graphiql {
        router = router
            .route("/graphiql", get(crate::graphiql::page))
            .route("/graphiql/assets/{*path}", get(crate::graphiql::asset));
    }
    let trace = TraceLayer::new_for_http()
        .make_span_with(|request: &Request<_>| {
            let id = request
                .headers()
                .get(&REQUEST_ID)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("-");
            tracing::info_span!(
                "request",
                method = %request.method(),
                path = %request.uri().path(),
                request_id = %id,
            )
        })
        // A 503 from /readyz while the read models catch up is an answer, not a failure; real
        // internal errors are logged with their cause where they happen (see `ApiError`).
        .on_failure(());
    router
        .fallback(not_found)
        .with_state(state)
        // Outermost first: give the request an id, trace it with that id, echo the id back.
        .layer(PropagateRequestIdLayer::new(REQUEST_ID))
        .layer(trace)
        .layer(SetRequestIdLayer::new(REQUEST_ID, MakeRequestUuid))
}

/// A running server.
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    state: AppState,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl ServerHandle {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting connections, closes WebSockets with 1001, and waits for in-flight
    /// requests to finish, at most `shutdown_grace`. Returns whether everything drained.
    pub async fn shutdown(mut self) -> Result<bool, ApiError> {
        self.state.begin_shutdown();
        if let Some(stop) = self.stop.take() {
            // The server may have stopped on its own already; then there is nothing to signal.
            let _ = stop.send(());
        }
        let grace = self.state.config().shutdown_grace;
        drain(self.task, grace).await
    }

    /// Waits until the server stops (after `shutdown` from elsewhere, or an accept error).
    pub async fn wait(self) -> Result<(), ApiError> {
        match self.task.await {
            Ok(result) => result.map_err(ApiError::from),
            Err(e) => Err(ApiError::Internal(format!("the server task failed: {e}"))),
        }
    }
}

async fn drain(task: JoinHandle<std::io::Result<()>>, grace: Duration) -> Result<bool, ApiError> {
    let abort = task.abort_handle();
    match tokio::time::timeout(grace, task).await {
        Ok(Ok(result)) => result.map(|()| true).map_err(ApiError::from),
        Ok(Err(e)) => Err(ApiError::Internal(format!("the server task failed: {e}"))),
        Err(_) => {
            tracing::warn!(
                grace_ms = grace.as_millis(),
                "requests still running at the end of the shutdown grace"
            );
            abort.abort();
            Ok(false)
        }
    }
}

/// Binds `state.config().listen` and serves [`app`] until [`ServerHandle::shutdown`].
pub async fn serve(state: AppState) -> Result<ServerHandle, ApiError> {
    let listener = tokio::net::TcpListener::bind(state.config().listen).await?;
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let router = app(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                // A dropped handle also stops the server: nobody could stop it otherwise.
                let _ = stopped.await;
            })
            .await
    });
    tracing::info!(%addr, "serving GraphQL");
    Ok(ServerHandle {
        addr,
        state,
        stop: Some(stop),
        task,
    })
}
