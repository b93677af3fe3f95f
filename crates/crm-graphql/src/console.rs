//! The console at `/console`: a small single-page app (sign in, the head-office and region
//! dashboards with their period and monthly series, the branch dashboard with live updates,
//! customers, the customer 360 and its full view through `sensitive(purpose)`, the auditor's
//! replay of a customer, a staff member or a branch as of an instant, the operator's rules
//! with their four-eyes steps and a preview's progress over the `jobProgress` subscription,
//! appraisal) that
//! reads only the public GraphQL API at `/graphql` (and its subscriptions at `/graphql/ws`)
//! with the bearer token the user signs in with, so it sees exactly what that token may see.
//! Served entirely from the binary, so it works on a network with no internet access.
//!
//! Our files (the page, its layout and its ES modules) are in `assets/console/`; Preact, its
//! hooks, htm and Chart.js are the npm packages' UMD builds, vendored unchanged under
//! `assets/console/vendor/` (versions, checksums, licences and the command that refetches them
//! in the README there). Assets are served under `/console/assets/` with the cache rules of
//! `/graphiql` (vendored files carry their version in the path and are `immutable`; ours are
//! `no-cache`; every file has an ETag).
//!
//! With `serve --demo` the server also answers `/console/demo-sign-in` with the demo's
//! tokens per role (the ones it prints at start), so the sign-in page can offer them; any
//! other server has no such path (404).

use std::fmt;
use std::sync::OnceLock;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::graphiql::{Asset, CSS, IMMUTABLE, JAVASCRIPT, REVALIDATE};
use crate::server::AppState;

/// The preact npm package whose UMD builds (`preact`, `preact/hooks`) are vendored.
pub const PREACT_VERSION: &str = "10.29.8";
/// The htm npm package whose UMD build is vendored.
pub const HTM_VERSION: &str = "3.1.1";
/// The chart.js npm package whose UMD build is vendored.
pub const CHARTJS_VERSION: &str = "4.6.1";

/// What the page may load and where it may connect: this origin only. Styles allow
/// `'unsafe-inline'` because Chart.js and Preact set element styles at run time; scripts do not.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
    style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; \
    base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = include_str!("../assets/console/index.html");

/// A demo sign-in the console offers (`serve --demo` only): a role, who the token stands for,
/// and the token. `Debug` never prints the token.
#[derive(Clone, Serialize)]
pub struct DemoSignIn {
    /// The role as `crm token --role` names it (`hq`, `branch-manager`, …).
    pub role: String,
    /// The staff member and their scope, as `serve` prints them.
    pub who: String,
    pub token: String,
}

impl fmt::Debug for DemoSignIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DemoSignIn")
            .field("role", &self.role)
            .field("who", &self.who)
            .field("token", &"<redacted>")
            .finish()
    }
}

macro_rules! ours {
    ($path:literal, $type:expr) => {
        Asset {
            path: $path,
            content_type: $type,
            cache: REVALIDATE,
            body: include_bytes!(concat!("../assets/console/", $path)),
        }
    };
}

/// Every file the page loads. The vendored paths name the package version, so a new version is
/// a new URL and the year-long cache cannot serve a stale file.
pub const ASSETS: &[Asset] = &[
    Asset {
        path: "preact-10.29.8/preact.min.umd.js",
        content_type: JAVASCRIPT,
        cache: IMMUTABLE,
        body: include_bytes!("../assets/console/vendor/preact.min.umd.js"),
    },
    Asset {
        path: "preact-10.29.8/hooks.umd.js",
        content_type: JAVASCRIPT,
        cache: IMMUTABLE,
        body: include_bytes!("../assets/console/vendor/hooks.umd.js"),
    },
    Asset {
        path: "htm-3.1.1/htm.umd.js",
        content_type: JAVASCRIPT,
        cache: IMMUTABLE,
        body: include_bytes!("../assets/console/vendor/htm.umd.js"),
    },
    Asset {
        path: "chart.js-4.6.1/chart.umd.min.js",
        content_type: JAVASCRIPT,
        cache: IMMUTABLE,
        body: include_bytes!("../assets/console/vendor/chart.umd.min.js"),
    },
    ours!("console.css", CSS),
    ours!("app.js", JAVASCRIPT),
    ours!("api.js", JAVASCRIPT),
    ours!("i18n.js", JAVASCRIPT),
    ours!("ui.js", JAVASCRIPT),
    ours!("signin.js", JAVASCRIPT),
    ours!("dashboard.js", JAVASCRIPT),
    ours!("customers.js", JAVASCRIPT),
    ours!("customer.js", JAVASCRIPT),
    ours!("replay.js", JAVASCRIPT),
    ours!("replay_org.js", JAVASCRIPT),
    ours!("rules.js", JAVASCRIPT),
    ours!("appraisal.js", JAVASCRIPT),
    ours!("live.js", JAVASCRIPT),
    ours!("org.js", JAVASCRIPT),
    ours!("series.js", JAVASCRIPT),
];

/// The ETag of each of [`ASSETS`], in the same order, computed once.
fn etags() -> &'static [HeaderValue] {
    static ETAGS: OnceLock<Vec<HeaderValue>> = OnceLock::new();
    ETAGS.get_or_init(|| crate::graphiql::etags_of(ASSETS))
}

/// `GET /console`: the page, which names only this server's assets.
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

/// `GET /console/assets/{*path}`: one of [`ASSETS`], 304 when `If-None-Match` names its ETag,
/// 404 for any other path.
pub(crate) async fn asset(Path(path): Path<String>, headers: HeaderMap) -> Response {
    crate::graphiql::respond(ASSETS, etags(), &path, &headers).await
}

/// `GET /console/demo-sign-in` (routed only when the configuration has demo sign-ins, that
/// is with `serve --demo`): the roles, who they stand for and their tokens, never cached.
pub(crate) async fn demo_sign_in(State(state): State<AppState>) -> Response {
    (
        [
            (header::CACHE_CONTROL, "no-store"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        axum::Json(state.config().demo_sign_in.clone()),
    )
        .into_response()
}
