//! Subscriptions over WebSocket at `/graphql/ws`, speaking graphql-transport-ws
//! (<https://github.com/enisdenjo/graphql-ws/blob/master/PROTOCOL.md>) with every close code
//! the protocol defines: 4400 invalid message, 4401 subscribe before acknowledgement, 4403 bad
//! credentials, 4406 wrong subprotocol, 4408 no `connection_init` in time, 4409 duplicate
//! operation id, 4429 a second `connection_init`.
//!
//! The token the socket was opened with is checked again at every `subscribe` and when its `exp`
//! passes (a timer armed at `connection_init`): an expired token closes the socket with 4401
//! "token expired" (a revoked one, once revocation exists, with 4403). At most
//! `ws_sockets_per_subject_max` sockets are open at once per token subject across the server;
//! one more is closed at `connection_init` with 4429.
//!
//! One task per connection reads client messages and writes server messages; each operation
//! runs in its own task and hands its messages to the connection task through a bounded
//! channel, so a slow client slows its own operations and nothing else.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use async_graphql::parser::types::OperationType;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::Response;
use crm_domain::auth::Actor;
use crm_domain::ids::StaffId;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

use crate::auth::{expires_at, Claims, Lapse};
use crate::error::{ApiError, Limit};
use crate::prepare::{ensure_code, prepare, Params};
use crate::schema::Caller;
use crate::server::AppState;

pub const PROTOCOL: &str = "graphql-transport-ws";

/// Messages an operation may have queued for the client before it waits.
const OPERATION_QUEUE: usize = 64;

pub mod close {
    pub const NORMAL: u16 = 1000;
    pub const GOING_AWAY: u16 = 1001;
    pub const BAD_MESSAGE: u16 = 4400;
    pub const UNAUTHORIZED: u16 = 4401;
    pub const FORBIDDEN: u16 = 4403;
    pub const SUBPROTOCOL: u16 = 4406;
    pub const INIT_TIMEOUT: u16 = 4408;
    pub const DUPLICATE_ID: u16 = 4409;
    pub const TOO_MANY_INITS: u16 = 4429;
    /// The token subject has `ws_sockets_per_subject_max` sockets open already.
    pub const TOO_MANY_SOCKETS: u16 = 4429;
}

/// WebSockets open at once per token subject (staff id), across the server.
#[derive(Debug, Default)]
pub(crate) struct SubjectSockets(Mutex<HashMap<StaffId, usize>>);

impl SubjectSockets {
    /// Counts one more socket of `subject`, or `None` when it has `max` open already. The count
    /// goes down when the returned guard is dropped, on whatever path the socket ends.
    fn acquire(self: &Arc<Self>, subject: StaffId, max: usize) -> Option<SubjectSocket> {
        let mut counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let count = counts.get(&subject).copied().unwrap_or(0);
        if count >= max {
            return None;
        }
        counts.insert(subject, count + 1);
        Some(SubjectSocket {
            sockets: Arc::clone(self),
            subject,
        })
    }

    #[cfg(test)]
    fn open(&self, subject: StaffId) -> usize {
        let counts = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        counts.get(&subject).copied().unwrap_or(0)
    }
}

/// One counted socket of a subject; dropping it uncounts it.
struct SubjectSocket {
    sockets: Arc<SubjectSockets>,
    subject: StaffId,
}

impl Drop for SubjectSocket {
    fn drop(&mut self) {
        let mut counts = self
            .sockets
            .0
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(count) = counts.get_mut(&self.subject) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                counts.remove(&self.subject);
            }
        }
    }
}

/// When the expiry timer of a socket opened with `claims` fires: a second after the first whole
/// second at which [`crate::auth::TokenKeys::still_valid`] refuses them, so that clocks which
/// disagree by a hair seldom need a second look (a `subscribe` in that second is refused by its
/// own check).
fn lapse_instant(claims: &Claims) -> Instant {
    let now = Instant::now();
    let lapse_secs = u64::try_from(expires_at(claims).saturating_add(2)).unwrap_or(0);
    let left = UNIX_EPOCH
        .checked_add(Duration::from_secs(lapse_secs))
        .map_or(Duration::from_secs(TIMER_FAR_SECS), |at| {
            at.duration_since(SystemTime::now())
                .unwrap_or(Duration::ZERO)
        });
    now.checked_add(left)
        .unwrap_or_else(|| now + Duration::from_secs(TIMER_FAR_SECS))
}

/// A timer that is not meant to fire (a day; the token lifetime bound is far shorter).
const TIMER_FAR_SECS: u64 = 24 * 3600;

pub(crate) async fn graphql_ws(
    State(state): State<AppState>,
    headers: HeaderMap,
    ws: WebSocketUpgrade,
) -> Response {
    let offered = ws
        .requested_protocols()
        .any(|p| p.to_str().is_ok_and(|p| p.trim() == PROTOCOL));
    let header_auth = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let max = state.config().limits.ws_message_bytes_max;
    ws.protocols([PROTOCOL])
        .max_message_size(max)
        .max_frame_size(max)
        .on_upgrade(move |socket| async move {
            let metrics = state.metrics();
            metrics.ws_connections.inc();
            Connection::new(state.clone(), header_auth)
                .run(socket, offered)
                .await;
            state.metrics().ws_connections.dec();
        })
}

/// What operation tasks tell the connection task.
enum Out {
    Send(Json),
    /// The operation ended by itself; `generation` tells it from a later one with the same id.
    Done {
        id: String,
        generation: u64,
    },
}

struct Operation {
    generation: u64,
    task: JoinHandle<()>,
}

struct Connection {
    state: AppState,
    header_auth: Option<String>,
    init_received: bool,
    /// The claims of the token `connection_init` was accepted with.
    claims: Option<Claims>,
    /// Counts this socket against its subject's cap while the connection lives.
    _subject_socket: Option<SubjectSocket>,
    operations: HashMap<String, Operation>,
    generation: u64,
    out_tx: mpsc::Sender<Out>,
    out_rx: mpsc::Receiver<Out>,
}

/// Why the connection ends.
struct Close(u16, String);

impl Close {
    fn new(code: u16, reason: impl Into<String>) -> Close {
        Close(code, reason.into())
    }
}

impl Connection {
    fn new(state: AppState, header_auth: Option<String>) -> Connection {
        let (out_tx, out_rx) = mpsc::channel(OPERATION_QUEUE);
        Connection {
            state,
            header_auth,
            init_received: false,
            claims: None,
            _subject_socket: None,
            operations: HashMap::new(),
            generation: 0,
            out_tx,
            out_rx,
        }
    }

    async fn run(mut self, socket: WebSocket, offered: bool) {
        let (mut sink, mut stream) = socket.split();
        let close = if offered {
            self.serve(&mut sink, &mut stream).await
        } else {
            Close::new(close::SUBPROTOCOL, "Subprotocol not acceptable")
        };
        for (_, op) in self.operations.drain() {
            op.task.abort();
        }
        let frame = CloseFrame {
            code: close.0,
            reason: close.1.into(),
        };
        // The peer may already be gone; there is nobody left to tell.
        let _ = sink.send(Message::Close(Some(frame))).await;
        let _ = sink.close().await;
    }

    async fn serve(
        &mut self,
        sink: &mut futures_util::stream::SplitSink<WebSocket, Message>,
        stream: &mut futures_util::stream::SplitStream<WebSocket>,
    ) -> Close {
        let init_deadline = tokio::time::sleep(self.state.config().limits.ws_init_timeout);
        tokio::pin!(init_deadline);
        // Armed to the token's lapse once `connection_init` is accepted.
        let expiry = tokio::time::sleep(Duration::from_secs(TIMER_FAR_SECS));
        tokio::pin!(expiry);
        let mut expiry_armed = false;
        let mut shutdown = self.state.shutdown_signal();
        loop {
            tokio::select! {
                incoming = stream.next() => {
                    let message = match incoming {
                        None | Some(Err(_)) => return Close::new(close::NORMAL, ""),
                        Some(Ok(m)) => m,
                    };
                    let text = match message {
                        Message::Text(t) => t,
                        Message::Close(_) => return Close::new(close::NORMAL, ""),
                        // Control frames are answered by the WebSocket layer itself.
                        Message::Ping(_) | Message::Pong(_) => continue,
                        Message::Binary(_) => {
                            return Close::new(close::BAD_MESSAGE, "Invalid message received")
                        }
                    };
                    // Replies to the client's own messages go straight to the socket: queueing
                    // them behind operations' messages on the channel this task drains could
                    // wait forever once the channel is full.
                    match self.on_message(text.as_str()) {
                        Ok(replies) => {
                            for reply in replies {
                                if sink.send(Message::Text(reply.to_string().into())).await.is_err() {
                                    return Close::new(close::NORMAL, "");
                                }
                            }
                        }
                        Err(close) => return close,
                    }
                    if !expiry_armed {
                        if let Some(claims) = &self.claims {
                            expiry.as_mut().reset(lapse_instant(claims));
                            expiry_armed = true;
                        }
                    }
                }
                out = self.out_rx.recv() => {
                    // The connection holds a sender itself, so the channel never closes here.
                    let Some(out) = out else { continue };
                    match out {
                        Out::Send(json) => {
                            if sink.send(Message::Text(json.to_string().into())).await.is_err() {
                                return Close::new(close::NORMAL, "");
                            }
                        }
                        Out::Done { id, generation } => {
                            if self.operations.get(&id).is_some_and(|op| op.generation == generation) {
                                self.operations.remove(&id);
                            }
                        }
                    }
                }
                () = &mut init_deadline, if !self.init_received => {
                    return Close::new(close::INIT_TIMEOUT, "Connection initialisation timeout");
                }
                () = &mut expiry, if expiry_armed => {
                    if let Err(close) = self.check_token() {
                        return close;
                    }
                    // Clocks disagreeing by a hair: look again shortly.
                    expiry.as_mut().reset(Instant::now() + Duration::from_secs(1));
                }
                _ = shutdown.changed() => {
                    return Close::new(close::GOING_AWAY, "server shutting down");
                }
            }
        }
    }

    /// Handles one client message; returns the replies to send, or why to close.
    fn on_message(&mut self, text: &str) -> Result<Vec<Json>, Close> {
        let invalid = || Close::new(close::BAD_MESSAGE, "Invalid message received");
        let Ok(Json::Object(mut message)) = serde_json::from_str::<Json>(text) else {
            return Err(invalid());
        };
        let Some(Json::String(kind)) = message.remove("type") else {
            return Err(invalid());
        };
        match kind.as_str() {
            "connection_init" => {
                if self.init_received {
                    return Err(Close::new(
                        close::TOO_MANY_INITS,
                        "Too many initialisation requests",
                    ));
                }
                self.init_received = true;
                let payload = match message.remove("payload") {
                    None | Some(Json::Null) => serde_json::Map::new(),
                    Some(Json::Object(p)) => p,
                    Some(_) => return Err(invalid()),
                };
                let from_payload = payload
                    .get("Authorization")
                    .or_else(|| payload.get("authorization"))
                    .and_then(Json::as_str)
                    .map(str::to_string);
                let Some(credentials) = from_payload.or_else(|| self.header_auth.clone()) else {
                    return Err(Close::new(close::FORBIDDEN, "Forbidden"));
                };
                let Ok(claims) = self.state.keys().verify_header_claims(&credentials) else {
                    return Err(Close::new(close::FORBIDDEN, "Forbidden"));
                };
                if let Err(problem) = self.state.check_standing(&claims.actor(), claims.iat) {
                    return Err(Close::new(close::FORBIDDEN, problem.code()));
                }
                let max = self.state.config().limits.ws_sockets_per_subject_max;
                let Some(counted) = self.state.ws_sockets().acquire(claims.sub, max) else {
                    return Err(Close::new(
                        close::TOO_MANY_SOCKETS,
                        format!(
                            "Too many WebSockets for this subject (ws_sockets_per_subject_max = {max})"
                        ),
                    ));
                };
                self._subject_socket = Some(counted);
                self.claims = Some(claims);
                Ok(vec![json!({ "type": "connection_ack" })])
            }
            "ping" => {
                let mut pong = json!({ "type": "pong" });
                if let Some(payload) = message.remove("payload").filter(Json::is_object) {
                    pong["payload"] = payload;
                }
                Ok(vec![pong])
            }
            "pong" => Ok(Vec::new()),
            "subscribe" => {
                let Some(actor) = self.claims.as_ref().map(Claims::actor) else {
                    return Err(Close::new(close::UNAUTHORIZED, "Unauthorized"));
                };
                self.check_token()?;
                let id = match message.remove("id") {
                    Some(Json::String(id)) if !id.is_empty() => id,
                    _ => return Err(invalid()),
                };
                let Some(payload) = message.remove("payload") else {
                    return Err(invalid());
                };
                let params = Params::from_json(payload).map_err(|_| invalid())?;
                if self.operations.contains_key(&id) {
                    return Err(Close::new(
                        close::DUPLICATE_ID,
                        format!("Subscriber for {id} already exists"),
                    ));
                }
                Ok(self.subscribe(id, params, actor).into_iter().collect())
            }
            "complete" => {
                let Some(Json::String(id)) = message.remove("id") else {
                    return Err(invalid());
                };
                if let Some(op) = self.operations.remove(&id) {
                    op.task.abort();
                }
                Ok(Vec::new())
            }
            _ => Err(invalid()),
        }
    }

    /// Checks the socket's token again (expiry, and revocation once it exists): why to close,
    /// if it no longer holds.
    fn check_token(&self) -> Result<(), Close> {
        let Some(claims) = &self.claims else {
            return Ok(());
        };
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        match self.state.keys().still_valid(claims, now) {
            Ok(()) => {}
            Err(Lapse::Expired) => return Err(Close::new(close::UNAUTHORIZED, "token expired")),
            Err(Lapse::Revoked) => return Err(Close::new(close::FORBIDDEN, "token revoked")),
        }
        // Revoked, left, moved: the directory no longer backs the token (the reason code).
        self.state
            .check_standing(&claims.actor(), claims.iat)
            .map_err(|problem| Close::new(close::FORBIDDEN, problem.code()))
    }

    /// Starts an operation; returns an `error` message when it is refused before it starts.
    fn subscribe(&mut self, id: String, params: Params, actor: Actor) -> Option<Json> {
        let limits = &self.state.config().limits;
        if self.operations.len() >= limits.ws_operations_max {
            let error = ApiError::limit(
                Limit::Operations,
                format!(
                    "at most {} operations may run on one connection",
                    limits.ws_operations_max
                ),
            );
            return Some(
                json!({ "id": id, "type": "error", "payload": [error.to_server_error()] }),
            );
        }
        let prepared = match prepare(params, limits, self.state.config().introspection) {
            Ok(p) => p,
            Err(e) => {
                self.state.metrics().observe_error_code(e.code().as_str());
                return Some(
                    json!({ "id": id, "type": "error", "payload": [e.to_server_error()] }),
                );
            }
        };
        self.generation += 1;
        let generation = self.generation;
        let timeout =
            (prepared.operation != OperationType::Subscription).then_some(limits.execution_timeout);
        let executed = prepared.executed.clone();
        let request = prepared.request.data(Caller(actor));
        let mut responses = self.state.schema().execute_stream(request);
        let out = self.out_tx.clone();
        let key = id.clone();
        let op_id = id.clone();
        let run = async move {
            let mut first = true;
            while let Some(response) = responses.next().await {
                let errors: Vec<_> = response.errors.into_iter().map(ensure_code).collect();
                if first && !executed.get() {
                    // Refused before execution: `error`, and no `complete` after it.
                    let _ = out
                        .send(Out::Send(
                            json!({ "id": op_id, "type": "error", "payload": errors }),
                        ))
                        .await;
                    return false;
                }
                first = false;
                let mut payload = json!({ "data": response.data });
                if !errors.is_empty() {
                    payload["errors"] = json!(errors);
                }
                let next = json!({ "id": op_id, "type": "next", "payload": payload });
                if out.send(Out::Send(next)).await.is_err() {
                    return false;
                }
            }
            true
        };
        let out = self.out_tx.clone();
        let task = tokio::spawn(async move {
            let completed = match timeout {
                Some(limit) => match tokio::time::timeout(limit, run).await {
                    Ok(completed) => completed,
                    Err(_) => {
                        let error = ApiError::Timeout {
                            ms: limit.as_millis(),
                        };
                        let _ = out
                            .send(Out::Send(json!({
                                "id": id, "type": "error", "payload": [error.to_server_error()]
                            })))
                            .await;
                        false
                    }
                },
                None => run.await,
            };
            if completed {
                let _ = out
                    .send(Out::Send(json!({ "id": id, "type": "complete" })))
                    .await;
            }
            let _ = out.send(Out::Done { id, generation }).await;
        });
        self.operations.insert(key, Operation { generation, task });
        None
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use uuid::Uuid;

    #[test]
    fn a_subject_socket_is_uncounted_when_dropped() {
        let sockets = Arc::new(SubjectSockets::default());
        let a = StaffId::from_uuid(Uuid::from_u128(1));
        let b = StaffId::from_uuid(Uuid::from_u128(2));
        let first = sockets.acquire(a, 2).unwrap();
        let second = sockets.acquire(a, 2).unwrap();
        assert!(sockets.acquire(a, 2).is_none());
        let other = sockets.acquire(b, 2).unwrap();
        drop(first);
        assert_eq!(sockets.open(a), 1);
        let third = sockets.acquire(a, 2).unwrap();
        drop((second, third, other));
        assert_eq!(sockets.open(a), 0);
        assert!(sockets.0.lock().unwrap().is_empty());
    }
}
