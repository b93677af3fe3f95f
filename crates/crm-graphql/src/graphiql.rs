//! GraphiQL at `/graphiql`, served entirely from the binary, so it works on a network with no
//! internet access. The page (`graphiql/index.html`), its layout (`graphiql/page.css`) and its
//! start-up script (`graphiql/start.js`) are ours; React, ReactDOM and GraphiQL are the npm
//! packages' minified UMD builds, vendored under `assets/graphiql/` (versions, checksums,
//! licences and the command that refetches them in the README there).
//!
//! Assets are served under `/graphiql/assets/`. The vendored files carry their package version in
//! their path and are cached for a year (`immutable`); our own files revalidate (`no-cache`).
//! Every asset has an ETag (the blake3 hash of its bytes) and answers `If-None-Match` with 304.
//! The page's Content-Security-Policy allows scripts, styles and connections to this origin only.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The GraphiQL npm package whose UMD build is vendored.
pub const GRAPHIQL_VERSION: &str = "3.9.0";
/// The react and react-dom npm packages whose UMD builds are vendored.
pub const REACT_VERSION: &str = "18.3.1";

/// What the page may load: this origin only (fonts and icons also from `data:` URLs inside the
/// stylesheet). Styles allow `'unsafe-inline'` because GraphiQL's components insert style
/// elements at run time; scripts do not.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
    connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = include_str!("graphiql/index.html");

pub(crate) const JAVASCRIPT: &str = "text/javascript; charset=utf-8";
pub(crate) const CSS: &str = "text/css; charset=utf-8";
pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub(crate) const REVALIDATE: &str = "no-cache";

/// One file under `/graphiql/assets/`.
#[derive(Debug)]
pub struct Asset {
    /// The path below `/graphiql/assets/`.
    pub path: &'static str,
    pub content_type: &'static str,
    /// The `Cache-Control` value.
    pub cache: &'static str,
    pub body: &'static [u8],
}

/// Every file the page loads. The vendored paths name the package version, so a new version is
/// a new URL and the year-long cache cannot serve a stale file.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "react-18.3.1/react.production.min.js",
        content_type: JAVASCRIPT,
        cache: IMMUTABLE,
        body: include_bytes!("../assets/graphiql/react.production.min.js"),
    },
    Asset {
        path: "react-18.3.1/react-dom.production.min.js",
        content_type: JAVASCRIPT,
        cache: IMMUTABLE,
        body: include_bytes!("../assets/graphiql/react-dom.production.min.js"),
    },
    Asset {
        path: "graphiql-3.9.0/graphiql.min.js",
        content_type: JAVASCRIPT,
        cache: IMMUTABLE,
        body: include_bytes!("../assets/graphiql/graphiql.min.js"),
    },
    Asset {
        path: "graphiql-3.9.0/graphiql.min.css",
        content_type: CSS,
        cache: IMMUTABLE,
        body: include_bytes!("../assets/graphiql/graphiql.min.css"),
    },
    Asset {
        path: "page.css",
        content_type: CSS,
        cache: REVALIDATE,
        body: include_bytes!("graphiql/page.css"),
    },
    Asset {
        path: "start.js",
        content_type: JAVASCRIPT,
        cache: REVALIDATE,
        body: include_bytes!("graphiql/start.js"),
    },
];

/// The ETag of each of [`ASSETS`], in the same order, computed once.
fn etags() -> &'static [HeaderValue] {
    static ETAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    ETAGS.get_or_init(|| etags_of(ASSETS))
}

/// The ETag of each of `assets` (the blake3 hash of its bytes), in the same order.
pub(crate) fn etags_of(assets: &[Asset]) -> Vec<HeaderValue> {
    assets
        .iter()
        .map(|asset| {
            let hash = blake3::hash(asset.body).to_hex();
            // A quoted hex string is always a valid header value.
            HeaderValue::from_str(&format!("\"{}\"", &hash[..32]))
                .unwrap_or_else(|_| HeaderValue::from_static("\"\""))
        })
        .collect()
}

/// `GET /graphiql`: the page, which names only this server's assets and endpoints.
pub(crate) async fn page() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, REVALIDATE),
            (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::REFERRER_POLICY, "no-referrer"),
        ],
        PAGE,
    )
        .into_response()
}

/// `GET /graphiql/assets/{*path}`: one of [`ASSETS`], 304 when `If-None-Match` names its ETag,
/// 404 for any other path.
pub(crate) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    respond(ASSETS, etags(), &path, &headers).await
}

/// One of `assets` (whose ETags are `etags`, in the same order) by its path: 304 when
/// `If-None-Match` names its ETag, 404 for any other path.
pub(crate) async fn respond(
    assets: &'static [Asset],
    etags: &[HeaderValue],
    path: &str,
    headers: &HeaderMap,
) -> Response {
    let Some(index) = assets.iter().position(|asset| asset.path == path) else {
        return crate::server::not_found().await;
    };
    let asset = &assets[index];
    let Some(etag) = etags.get(index).cloned() else {
        return crate::server::not_found().await;
    };
    let fresh = headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .any(|tag| {
            let tag = tag.trim();
            tag == "*" || tag.trim_start_matches("W/").as_bytes() == etag.as_bytes()
        });
    let cache = [
        (header::ETAG, etag),
        (header::CACHE_CONTROL, HeaderValue::from_static(asset.cache)),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, cache).into_response();
    }
    (
        cache,
        [
            (header::CONTENT_TYPE, asset.content_type),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        asset.body,
    )
        .into_response()
}
