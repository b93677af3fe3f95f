//! graphql-transport-ws: the handshake, live subscriptions, and every close code.

use std::time::Duration;

use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::StaffId;
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value as Json};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{connect_async, MaybeTlsStream, WebSocketStream};
use uuid::Uuid;

use crate::common::Server;

pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

pub async fn connect(server: &Server, subprotocol: bool, authorization: Option<&str>) -> Ws {
    let mut request = server.ws_url().into_client_request().unwrap();
    if subprotocol {
        request.headers_mut().insert(
            "sec-websocket-protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
    }
    if let Some(value) = authorization {
        request
            .headers_mut()
            .insert("authorization", value.parse().unwrap());
    }
    let (ws, response) = connect_async(request).await.unwrap();
    if subprotocol {
        assert_eq!(
            response.headers().get("sec-websocket-protocol").unwrap(),
            "graphql-transport-ws"
        );
    }
    ws
}

pub async fn send(ws: &mut Ws, message: Json) {
    ws.send(Message::text(message.to_string())).await.unwrap();
}

/// The next protocol message, or the close code as `{"close": code}`.
pub async fn recv(ws: &mut Ws) -> Json {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no message within 10 s");
        match next {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(text.as_str()).unwrap(),
            Some(Ok(Message::Close(frame))) => {
                let code = frame.map_or(1005, |f| u16::from(f.code));
                return json!({ "close": code });
            }
            Some(Ok(_)) => continue,
            Some(Err(e)) => return json!({ "error": e.to_string() }),
            None => return json!({ "close": "eof" }),
        }
    }
}

pub async fn init(ws: &mut Ws, token: &str) {
    send(
        ws,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    assert_eq!(recv(ws).await, json!({"type": "connection_ack"}));
}

async fn closed_with(ws: &mut Ws) -> Json {
    // Skip anything still queued before the close.
    loop {
        let message = recv(ws).await;
        if message.get("close").is_some() {
            return message["close"].clone();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscription_receives_live_appended_events_of_its_stream() {
    let server = Server::start().await;
    server.append("customer-a", "CustomerRegistered", 1).await;
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &server.auditor()).await;
    send(
        &mut ws,
        json!({"id": "s1", "type": "subscribe", "payload": {
            "query": "subscription($s: String) { eventsAppended(stream: $s, after: 1) { position stream eventType } }",
            "variables": {"s": "customer-a"}
        }}),
    )
    .await;
    // Let the subscription go live before the appends (`after: 1` keeps the test correct even
    // if it has not: it would then catch up instead).
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.append("customer-b", "CustomerRegistered", 1).await;
    server.append("customer-a", "CustomerUpdated", 2).await;
    for position in [3, 4] {
        let message = recv(&mut ws).await;
        assert_eq!(message["type"], "next", "{message}");
        assert_eq!(message["id"], "s1");
        let event = &message["payload"]["data"]["eventsAppended"];
        assert_eq!(event["position"], position, "{message}");
        assert_eq!(event["stream"], "customer-a");
        assert_eq!(event["eventType"], "CustomerUpdated");
    }
    // Ping is answered; a query runs alongside the subscription and completes.
    send(&mut ws, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut ws).await, json!({"type": "pong"}));
    send(
        &mut ws,
        json!({"id": "q1", "type": "subscribe", "payload": {"query": "{ logStatus { headPosition } }"}}),
    )
    .await;
    let message = recv(&mut ws).await;
    assert_eq!(
        message["payload"]["data"]["logStatus"]["headPosition"], 4,
        "{message}"
    );
    assert_eq!(recv(&mut ws).await, json!({"id": "q1", "type": "complete"}));
    // After the client completes s1, its id may be used again.
    send(&mut ws, json!({"id": "s1", "type": "complete"})).await;
    send(
        &mut ws,
        json!({"id": "s1", "type": "subscribe", "payload": {"query": "subscription { eventsAppended(after: 0) { position } }"}}),
    )
    .await;
    let message = recv(&mut ws).await;
    assert_eq!(
        message["payload"]["data"]["eventsAppended"]["position"], 1,
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upgrade_header_may_carry_the_token() {
    let server = Server::start().await;
    let mut ws = connect(&server, true, Some(&format!("Bearer {}", server.auditor()))).await;
    send(&mut ws, json!({"type": "connection_init"})).await;
    assert_eq!(recv(&mut ws).await, json!({"type": "connection_ack"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_are_error_messages_and_field_errors_are_coded() {
    let server = Server::start().await;
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &server.customer_manager()).await;
    send(
        &mut ws,
        json!({"id": "bad", "type": "subscribe", "payload": {"query": "subscription { nope }"}}),
    )
    .await;
    let message = recv(&mut ws).await;
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(
        message["payload"][0]["extensions"]["code"],
        "GRAPHQL_VALIDATION_FAILED"
    );
    // A customer manager may not watch the whole log: refused where the data is read.
    send(
        &mut ws,
        json!({"id": "s", "type": "subscribe", "payload": {"query": "subscription { eventsAppended { position } }"}}),
    )
    .await;
    let message = recv(&mut ws).await;
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(
        message["payload"]["errors"][0]["extensions"]["code"],
        "FORBIDDEN"
    );
    assert_eq!(recv(&mut ws).await, json!({"id": "s", "type": "complete"}));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_close_with_their_codes() {
    let server =
        Server::start_with(|c| c.limits.ws_init_timeout = Duration::from_millis(300)).await;
    let token = server.auditor();
    let subscribe = |id: &str| json!({"id": id, "type": "subscribe", "payload": {"query": "subscription { eventsAppended { position } }"}});

    // 4400: not a protocol message.
    let mut ws = connect(&server, true, None).await;
    ws.send(Message::text("not json")).await.unwrap();
    assert_eq!(closed_with(&mut ws).await, 4400);
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &token).await;
    send(&mut ws, json!({"type": "subscribe", "id": "x"})).await;
    assert_eq!(closed_with(&mut ws).await, 4400);
    let mut ws = connect(&server, true, None).await;
    ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
    assert_eq!(closed_with(&mut ws).await, 4400);

    // 4401: subscribe before the connection is acknowledged.
    let mut ws = connect(&server, true, None).await;
    send(&mut ws, subscribe("a")).await;
    assert_eq!(closed_with(&mut ws).await, 4401);

    // 4403: a bad token, or none at all.
    let mut ws = connect(&server, true, None).await;
    send(
        &mut ws,
        json!({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}}),
    )
    .await;
    assert_eq!(closed_with(&mut ws).await, 4403);
    let mut ws = connect(&server, true, None).await;
    send(&mut ws, json!({"type": "connection_init"})).await;
    assert_eq!(closed_with(&mut ws).await, 4403);

    // 4408: no connection_init in time.
    let mut ws = connect(&server, true, None).await;
    assert_eq!(closed_with(&mut ws).await, 4408);

    // 4409: an id that is already running.
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &token).await;
    send(&mut ws, subscribe("dup")).await;
    send(&mut ws, subscribe("dup")).await;
    let mut ws_reason = None;
    loop {
        match ws.next().await {
            Some(Ok(Message::Close(Some(frame)))) => {
                assert_eq!(u16::from(frame.code), 4409);
                ws_reason = Some(frame.reason.to_string());
                break;
            }
            Some(Ok(_)) => continue,
            _ => break,
        }
    }
    assert_eq!(
        ws_reason.as_deref(),
        Some("Subscriber for dup already exists")
    );

    // 4429: a second connection_init.
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &token).await;
    send(&mut ws, json!({"type": "connection_init"})).await;
    assert_eq!(closed_with(&mut ws).await, 4429);

    // 4406: a client that does not speak graphql-transport-ws.
    let mut ws = connect(&server, false, None).await;
    assert_eq!(closed_with(&mut ws).await, 4406);
}

/// A token for a fresh auditor that lapses soon: issued now, `exp` one second later; the server
/// refuses it once `exp` plus its 5 s clock-skew allowance has passed. Returns the token and the
/// first second (since the epoch) at which it is refused.
fn short_lived_token(server: &Server) -> (String, i64) {
    let actor = Actor {
        staff_id: StaffId::from_uuid(Uuid::now_v7()),
        role: Role::Auditor,
        scope: Scope::Company,
    };
    let now = OffsetDateTime::now_utc();
    let token = server
        .keys
        .mint(&actor, now, Duration::from_secs(1))
        .unwrap();
    (token, now.unix_timestamp() + 1 + 5 + 1)
}

async fn sleep_until_unix(secs: i64) {
    let at = std::time::UNIX_EPOCH + Duration::from_secs(u64::try_from(secs).unwrap());
    if let Ok(left) = at.duration_since(std::time::SystemTime::now()) {
        tokio::time::sleep(left + Duration::from_millis(50)).await;
    }
}

/// The close code and reason the socket ends with, skipping messages queued before it.
pub async fn close_frame(ws: &mut Ws) -> (u16, String) {
    loop {
        let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
            .await
            .expect("no close within 10 s");
        match next {
            Some(Ok(Message::Close(Some(frame)))) => {
                return (u16::from(frame.code), frame.reason.to_string())
            }
            Some(Ok(Message::Close(None))) => return (1005, String::new()),
            Some(Ok(_)) => continue,
            other => panic!("the socket ended without a close frame: {other:?}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_token_closes_the_socket_at_the_next_subscribe_with_4401() {
    let server = Server::start().await;
    let (token, refused_from) = short_lived_token(&server);
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &token).await;
    // While the token holds, operations run.
    send(
        &mut ws,
        json!({"id": "q1", "type": "subscribe", "payload": {"query": "{ logStatus { headPosition } }"}}),
    )
    .await;
    assert_eq!(recv(&mut ws).await["type"], "next");
    assert_eq!(recv(&mut ws).await, json!({"id": "q1", "type": "complete"}));
    // The expiry timer fires a second after the token lapses; a subscribe in that second is
    // refused by its own check. (Should the timer win under load, the send may fail and the
    // close is the same.)
    sleep_until_unix(refused_from).await;
    let _ = ws
        .send(Message::text(
            json!({"id": "q2", "type": "subscribe", "payload": {"query": "{ logStatus { headPosition } }"}})
                .to_string(),
        ))
        .await;
    // The operation does not run: the next frame is the close.
    let next = tokio::time::timeout(Duration::from_secs(10), ws.next())
        .await
        .expect("no close within 10 s");
    match next {
        Some(Ok(Message::Close(Some(frame)))) => {
            assert_eq!(u16::from(frame.code), 4401);
            assert_eq!(frame.reason.as_str(), "token expired");
        }
        other => panic!("expected the close, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_running_subscription_is_closed_with_4401_when_its_token_expires() {
    let server = Server::start().await;
    let (token, refused_from) = short_lived_token(&server);
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &token).await;
    send(
        &mut ws,
        json!({"id": "s1", "type": "subscribe", "payload": {"query": "subscription { eventsAppended { position } }"}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    server.append("customer-a", "CustomerRegistered", 1).await;
    let message = recv(&mut ws).await;
    assert_eq!(message["type"], "next", "{message}");
    // No message from the client: the socket closes by itself once the token lapses.
    assert_eq!(close_frame(&mut ws).await, (4401, "token expired".into()));
    let now = OffsetDateTime::now_utc().unix_timestamp();
    assert!(now >= refused_from, "closed before the token lapsed");
    assert!(
        now <= refused_from + 3,
        "closed {} s late",
        now - refused_from
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sockets_per_subject_are_capped_and_a_closed_socket_frees_its_place() {
    let server = Server::start_with(|c| c.limits.ws_sockets_per_subject_max = 2).await;
    let staff = StaffId::from_uuid(Uuid::now_v7());
    let token = server.token_for(staff, Role::Auditor, Scope::Company);
    let mut first = connect(&server, true, None).await;
    init(&mut first, &token).await;
    let mut second = connect(&server, true, None).await;
    // Another token of the same subject counts alike.
    init(
        &mut second,
        &server.token_for(staff, Role::Auditor, Scope::Company),
    )
    .await;
    let mut third = connect(&server, true, None).await;
    send(
        &mut third,
        json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
    )
    .await;
    let (code, reason) = close_frame(&mut third).await;
    assert_eq!(code, 4429);
    assert!(
        reason.contains("ws_sockets_per_subject_max = 2"),
        "{reason}"
    );
    // Another subject still connects.
    let mut other = connect(&server, true, None).await;
    init(&mut other, &server.auditor()).await;
    // The open sockets still work.
    send(&mut second, json!({"type": "ping"})).await;
    assert_eq!(recv(&mut second).await, json!({"type": "pong"}));
    // Closing one frees its place.
    first.close(None).await.unwrap();
    while first.next().await.is_some() {}
    let mut acked = false;
    for _ in 0..40 {
        let mut again = connect(&server, true, None).await;
        send(
            &mut again,
            json!({"type": "connection_init", "payload": {"Authorization": format!("Bearer {token}")}}),
        )
        .await;
        let message = recv(&mut again).await;
        if message == json!({"type": "connection_ack"}) {
            acked = true;
            break;
        }
        assert_eq!(message, json!({"close": 4429}));
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(acked, "the closed socket still counts");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operations_per_socket_are_capped() {
    let server = Server::start_with(|c| c.limits.ws_operations_max = 2).await;
    let mut ws = connect(&server, true, None).await;
    init(&mut ws, &server.auditor()).await;
    let subscribe = |id: &str| json!({"id": id, "type": "subscribe", "payload": {"query": "subscription { eventsAppended { position } }"}});
    send(&mut ws, subscribe("s1")).await;
    send(&mut ws, subscribe("s2")).await;
    send(&mut ws, subscribe("s3")).await;
    let message = recv(&mut ws).await;
    assert_eq!(message["id"], "s3", "{message}");
    assert_eq!(message["type"], "error", "{message}");
    assert_eq!(
        message["payload"][0]["extensions"]["code"],
        "LIMIT_EXCEEDED"
    );
    assert_eq!(message["payload"][0]["extensions"]["limit"], "operations");
    // Completing one makes room for another.
    send(&mut ws, json!({"id": "s1", "type": "complete"})).await;
    send(
        &mut ws,
        json!({"id": "q1", "type": "subscribe", "payload": {"query": "{ logStatus { headPosition } }"}}),
    )
    .await;
    let message = recv(&mut ws).await;
    assert_eq!(message["id"], "q1", "{message}");
    assert_eq!(message["type"], "next", "{message}");
    assert_eq!(recv(&mut ws).await, json!({"id": "q1", "type": "complete"}));
}
