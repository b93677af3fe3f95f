//! `/graphql` over HTTP, following the GraphQL-over-HTTP spec rather than async-graphql-axum's
//! defaults: the response media type follows `Accept` (406 when nothing acceptable), POST bodies
//! must be `application/json` (415 otherwise, which also closes the CSRF hole of simple
//! `text/plain` and form posts), mutations over GET get 405 and so do queries that record an
//! access (`sensitive`, `customerHistory`), and a request error is answered
//! with 400 and no `data` under `application/graphql-response+json` (200 under the legacy
//! `application/json`, as the spec says). The body is read with an explicit size limit.

use std::time::Instant;

use async_graphql::parser::types::OperationType;
use async_graphql::ServerError;
use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use crm_domain::auth::Actor;
use serde_json::{json, Value as Json};

use crate::error::{ApiError, Code, Limit};
use crate::prepare::{ensure_code, error_code, operation_type_name, prepare, Params};
use crate::schema::Caller;
use crate::server::AppState;

pub(crate) const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json; charset=utf-8";
pub(crate) const JSON: &str = "application/json; charset=utf-8";

/// The media type of the response body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaType {
    GraphqlResponseJson,
    /// The legacy type: request errors are answered with 200.
    Json,
}

impl MediaType {
    fn content_type(self) -> &'static str {
        match self {
            MediaType::GraphqlResponseJson => GRAPHQL_RESPONSE_JSON,
            MediaType::Json => JSON,
        }
    }
}

/// Picks the response media type from `Accept`: `application/graphql-response+json` when it is
/// accepted at least as much as JSON, `application/json` when that (or a wildcard) is what is
/// accepted, none otherwise. No `Accept` means `application/json`.
pub fn negotiate(accept: Option<&str>) -> Option<MediaType> {
    let Some(accept) = accept.filter(|a| !a.trim().is_empty()) else {
        return Some(MediaType::Json);
    };
    let (mut q_graphql, mut q_json) = (0.0f32, 0.0f32);
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let media = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut utf8 = true;
        for param in parts {
            let Some((k, v)) = param.split_once('=') else {
                continue;
            };
            let v = v.trim().trim_matches('"');
            match k.trim().to_ascii_lowercase().as_str() {
                "q" => q = v.parse::<f32>().unwrap_or(0.0).clamp(0.0, 1.0),
                "charset" => {
                    utf8 = v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
                }
                _ => {}
            }
        }
        if !utf8 {
            continue;
        }
        match media.as_str() {
            "application/graphql-response+json" => q_graphql = q_graphql.max(q),
            "application/json" | "application/*" | "*/*" => q_json = q_json.max(q),
            _ => {}
        }
    }
    if q_graphql > 0.0 && q_graphql >= q_json {
        Some(MediaType::GraphqlResponseJson)
    } else if q_json > 0.0 {
        Some(MediaType::Json)
    } else {
        None
    }
}

/// An answer with its status and JSON body.
struct Answer {
    status: StatusCode,
    body: Json,
    operation: Option<OperationType>,
    extra_headers: Vec<(header::HeaderName, HeaderValue)>,
}

impl Answer {
    fn new(status: StatusCode, body: Json) -> Answer {
        Answer {
            status,
            body,
            operation: None,
            extra_headers: Vec::new(),
        }
    }
}

fn errors_body(errors: &[ServerError]) -> Json {
    json!({ "errors": errors })
}

/// A request refused before execution. GraphQL-level refusals (parse, validation, limits found
/// in the document) follow the media type's rule; HTTP-level ones keep their own status.
fn refusal(state: &AppState, error: &ApiError, media: MediaType) -> Answer {
    let status = match error.code() {
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Forbidden => StatusCode::FORBIDDEN,
        Code::BadRequest => StatusCode::BAD_REQUEST,
        Code::LimitExceeded
            if matches!(
                error,
                ApiError::LimitExceeded {
                    limit: Limit::BodySize,
                    ..
                }
            ) =>
        {
            StatusCode::PAYLOAD_TOO_LARGE
        }
        Code::LimitExceeded
            if matches!(
                error,
                ApiError::LimitExceeded {
                    limit: Limit::Batch,
                    ..
                }
            ) =>
        {
            StatusCode::BAD_REQUEST
        }
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => match media {
            MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        },
    };
    let server_error = error.to_server_error();
    state.metrics().observe_error_code(error.code().as_str());
    let mut answer = Answer::new(status, errors_body(&[server_error]));
    if status == StatusCode::UNAUTHORIZED {
        answer
            .extra_headers
            .push((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
    }
    answer
}

fn finish(state: &AppState, media: MediaType, started: Instant, answer: Answer) -> Response {
    let operation = answer.operation.map_or("none", operation_type_name);
    state
        .metrics()
        .observe_request(operation, answer.status, started.elapsed());
    let body = serde_json::to_vec(&answer.body).unwrap_or_else(|e| {
        tracing::error!(error = %e, "serialising a response");
        br#"{"errors":[{"message":"internal error","extensions":{"code":"INTERNAL"}}]}"#.to_vec()
    });
    let mut response = (answer.status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(media.content_type()),
    );
    headers.insert(header::VARY, HeaderValue::from_static("accept"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in answer.extra_headers {
        headers.insert(name, value);
    }
    response
}

/// The caller from `Authorization`, or why not.
pub(crate) fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Actor, ApiError> {
    let value = headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::Unauthenticated("a bearer token is required".into()))?;
    let value = value
        .to_str()
        .map_err(|_| ApiError::Unauthenticated("the Authorization header is not text".into()))?;
    let claims = state.keys().verify_header_claims(value)?;
    let actor = claims.actor();
    // A valid signature is not enough: the staff member must still be who the token says.
    state
        .check_standing(&actor, claims.iat)
        .map_err(ApiError::Standing)?;
    Ok(actor)
}

/// Runs one GraphQL request for `actor`.
async fn execute(
    state: &AppState,
    params: Params,
    actor: Actor,
    method: &Method,
    media: MediaType,
) -> Answer {
    let prepared = match prepare(params, &state.config().limits, state.config().introspection) {
        Ok(p) => p,
        Err(e) => return refusal(state, &e, media),
    };
    let operation = prepared.operation;
    if operation == OperationType::Subscription {
        let error = ApiError::GraphqlValidation(
            "subscriptions are served over WebSocket at /graphql/ws".into(),
        );
        let mut answer = refusal(state, &error, media);
        answer.operation = Some(operation);
        return answer;
    }
    if *method == Method::GET && operation != OperationType::Query {
        // GET must be safe: a mutation sent by GET (a link, an <img>) is refused, and the
        // spec's answer is 405 naming the method that works.
        let error = ApiError::BadRequest(format!(
            "{} operations must be sent with POST",
            operation_type_name(operation)
        ));
        let mut answer = Answer::new(
            StatusCode::METHOD_NOT_ALLOWED,
            errors_body(&[error.to_server_error()]),
        );
        answer.operation = Some(operation);
        answer
            .extra_headers
            .push((header::ALLOW, HeaderValue::from_static("POST")));
        return answer;
    }
    if let (true, Some(field)) = (*method == Method::GET, prepared.records) {
        // GET must be safe too for queries: `sensitive` and `customerHistory` append the view
        // to the access log, which a prefetch, a crawler or an <img> must not do.
        let error = ApiError::BadRequest(format!(
            "`{field}` records the view in the access log, so this query must be sent with POST"
        ));
        let mut answer = Answer::new(
            StatusCode::METHOD_NOT_ALLOWED,
            errors_body(&[error.to_server_error()]),
        );
        answer.operation = Some(operation);
        answer
            .extra_headers
            .push((header::ALLOW, HeaderValue::from_static("POST")));
        return answer;
    }
    let request = prepared.request.data(Caller(actor));
    let timeout = state.config().limits.execution_timeout;
    let response = match tokio::time::timeout(timeout, state.schema().execute(request)).await {
        Ok(response) => response,
        Err(_) => {
            let error = ApiError::Timeout {
                ms: timeout.as_millis(),
            };
            state.metrics().observe_error_code(error.code().as_str());
            let status = match media {
                MediaType::GraphqlResponseJson => StatusCode::GATEWAY_TIMEOUT,
                MediaType::Json => StatusCode::OK,
            };
            let mut answer = Answer::new(status, errors_body(&[error.to_server_error()]));
            answer.operation = Some(operation);
            return answer;
        }
    };
    let errors: Vec<ServerError> = response.errors.into_iter().map(ensure_code).collect();
    for e in &errors {
        if let Some(code) = error_code(e) {
            state.metrics().observe_error_code(&code);
        }
    }
    let mut answer = if prepared.executed.get() {
        let mut body = json!({ "data": response.data });
        if !errors.is_empty() {
            body["errors"] = json!(errors);
        }
        Answer::new(StatusCode::OK, body)
    } else {
        let status = match media {
            MediaType::GraphqlResponseJson => StatusCode::BAD_REQUEST,
            MediaType::Json => StatusCode::OK,
        };
        Answer::new(status, errors_body(&errors))
    };
    answer.operation = Some(operation);
    answer
}

fn header_str(headers: &HeaderMap, name: header::HeaderName) -> Option<&str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Whether a POST body's declared type is JSON in UTF-8.
fn is_json_body(content_type: Option<&str>) -> bool {
    let Some(content_type) = content_type else {
        return false;
    };
    let mut parts = content_type.split(';');
    let media = parts.next().unwrap_or("").trim();
    if !media.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|p| match p.split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            let v = v.trim().trim_matches('"');
            v.eq_ignore_ascii_case("utf-8") || v.eq_ignore_ascii_case("utf8")
        }
        _ => true,
    })
}

pub(crate) async fn graphql_get(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<Query<Vec<(String, String)>>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let started = Instant::now();
    let Some(media) = negotiate(header_str(&headers, header::ACCEPT)) else {
        return not_acceptable(&state, started);
    };
    let actor = match authenticate(&state, &headers) {
        Ok(actor) => actor,
        Err(e) => return finish(&state, media, started, refusal(&state, &e, media)),
    };
    let params = query
        .map_err(|e| ApiError::BadRequest(format!("the URL query is malformed: {e}")))
        .and_then(|Query(pairs)| Params::from_pairs(pairs));
    let answer = match params {
        Ok(params) => execute(&state, params, actor, &Method::GET, media).await,
        Err(e) => refusal(&state, &e, media),
    };
    finish(&state, media, started, answer)
}

pub(crate) async fn graphql_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let started = Instant::now();
    let Some(media) = negotiate(header_str(&headers, header::ACCEPT)) else {
        return not_acceptable(&state, started);
    };
    let actor = match authenticate(&state, &headers) {
        Ok(actor) => actor,
        Err(e) => return finish(&state, media, started, refusal(&state, &e, media)),
    };
    if !is_json_body(header_str(&headers, header::CONTENT_TYPE)) {
        let error = ApiError::BadRequest(
            "POST bodies must be application/json (UTF-8); other types are refused".into(),
        );
        let mut answer = refusal(&state, &error, media);
        answer.status = StatusCode::UNSUPPORTED_MEDIA_TYPE;
        return finish(&state, media, started, answer);
    }
    let bytes = match read_body(&state, &headers, body).await {
        Ok(bytes) => bytes,
        Err(e) => return finish(&state, media, started, refusal(&state, &e, media)),
    };
    let answer = match serde_json::from_slice::<Json>(&bytes) {
        Err(e) => refusal(
            &state,
            &ApiError::BadRequest(format!("the body is not JSON: {e}")),
            media,
        ),
        Ok(Json::Array(items)) => batch(&state, items, actor, media).await,
        Ok(value) => match Params::from_json(value) {
            Ok(params) => execute(&state, params, actor, &Method::POST, media).await,
            Err(e) => refusal(&state, &e, media),
        },
    };
    finish(&state, media, started, answer)
}

async fn read_body(state: &AppState, headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let max = state.config().limits.body_bytes_max;
    let too_large = || {
        ApiError::limit(
            Limit::BodySize,
            format!("the request body exceeds {max} bytes"),
        )
    };
    // Refuse a declared oversize body without reading any of it.
    let declared = header_str(headers, header::CONTENT_LENGTH).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Err(too_large());
    }
    to_bytes(body, max).await.map_err(|e| {
        // to_bytes reports the limit as http-body-util's LengthLimitError, somewhere in the
        // source chain; its type is not re-exported by axum, its message is stable.
        let mut limited = false;
        let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
        while let Some(s) = source {
            limited |= s.to_string().contains("length limit exceeded");
            source = s.source();
        }
        if limited {
            too_large()
        } else {
            ApiError::BadRequest(format!("reading the request body failed: {e}"))
        }
    })
}

/// A batch: refused when batching is off, capped at `batch_size_max` otherwise. Each item is
/// answered as if sent alone; the HTTP status is 200 and the items carry their own errors.
async fn batch(state: &AppState, items: Vec<Json>, actor: Actor, media: MediaType) -> Answer {
    let max = state.config().limits.batch_size_max;
    if items.is_empty() || items.len() > max {
        let message = if max == 0 {
            "batched requests are not accepted; send one operation per request".to_string()
        } else {
            format!("a batch holds 1 to {max} operations; got {}", items.len())
        };
        return refusal(state, &ApiError::limit(Limit::Batch, message), media);
    }
    let mut bodies = Vec::with_capacity(items.len());
    for item in items {
        let answer = match Params::from_json(item) {
            Ok(params) => execute(state, params, actor, &Method::POST, media).await,
            Err(e) => refusal(state, &e, media),
        };
        bodies.push(answer.body);
    }
    Answer::new(StatusCode::OK, Json::Array(bodies))
}

fn not_acceptable(state: &AppState, started: Instant) -> Response {
    let error = ApiError::BadRequest(
        "Accept must allow application/graphql-response+json or application/json".into(),
    );
    let mut answer = refusal(state, &error, MediaType::Json);
    answer.status = StatusCode::NOT_ACCEPTABLE;
    finish(state, MediaType::Json, started, answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_picks_the_media_type() {
        use MediaType::*;
        let cases = [
            (None, Some(Json)),
            (Some(""), Some(Json)),
            (Some("*/*"), Some(Json)),
            (Some("application/json"), Some(Json)),
            (
                Some("application/graphql-response+json"),
                Some(GraphqlResponseJson),
            ),
            (
                Some("application/graphql-response+json, application/json;q=0.9"),
                Some(GraphqlResponseJson),
            ),
            (
                Some("application/graphql-response+json;q=0.5, application/json"),
                Some(Json),
            ),
            (Some("application/json; charset=utf-8"), Some(Json)),
            (Some("application/json; charset=latin1"), None),
            (Some("text/html"), None),
            (Some("application/json;q=0"), None),
        ];
        for (accept, expected) in cases {
            assert_eq!(negotiate(accept), expected, "{accept:?}");
        }
    }

    #[test]
    fn only_utf8_json_bodies_are_accepted() {
        assert!(is_json_body(Some("application/json")));
        assert!(is_json_body(Some("application/json; charset=utf-8")));
        assert!(!is_json_body(Some("application/json; charset=utf-16")));
        assert!(!is_json_body(Some("text/plain")));
        assert!(!is_json_body(Some("application/x-www-form-urlencoded")));
        assert!(!is_json_body(None));
    }
}
