//! The console from the binary: the page names only this server's files, each is served with
//! its content type, cache lifetime and ETag, no file names another host except where listed
//! below as no request, and the demo sign-in list exists only when the configuration has one
//! (`serve --demo`). (That the console works in a browser with the network cut off, showing
//! what the API gives each token, is tests/console.rs at the workspace root, in Chromium.)

use crm_graphql::console::{
    DemoSignIn, ASSETS, CHARTJS_VERSION, CONTENT_SECURITY_POLICY, HTM_VERSION, PREACT_VERSION,
};
use reqwest::header;
use reqwest::StatusCode;
use serde_json::{json, Value as Json};

use crate::common::Server;
use crate::graphiql::{
    absolute_urls, assert_only_listed, fetch_asset, references, tally_named_urls,
};

/// Every `http://` or `https://` text in the served files outside licence comments, as
/// (file, text, occurrences, why it is not a request to another host). The test fails on any
/// text not listed and on a count that changed, so a new version of a vendored file is read
/// before it is served.
const NOT_REQUESTS: &[(&str, &str, usize, &str)] = &[
    (
        "preact-10.29.8/preact.min.umd.js",
        "http://www.w3.org/2000/svg",
        1,
        "XML namespace name",
    ),
    (
        "preact-10.29.8/preact.min.umd.js",
        "http://www.w3.org/1999/xhtml",
        1,
        "XML namespace name",
    ),
    (
        "preact-10.29.8/preact.min.umd.js",
        "http://www.w3.org/1998/Math/MathML",
        1,
        "XML namespace name",
    ),
];

/// Licence comments found in each vendored file (`/*! ... */` or with `@license`).
const LICENCE_COMMENTS: &[(&str, usize)] = &[("chart.js-4.6.1/chart.umd.min.js", 2)];

fn vendored(path: &str) -> bool {
    [
        format!("preact-{PREACT_VERSION}/"),
        format!("htm-{HTM_VERSION}/"),
        format!("chart.js-{CHARTJS_VERSION}/"),
    ]
    .iter()
    .any(|prefix| path.starts_with(prefix.as_str()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_names_only_files_of_this_server_under_a_policy_of_this_origin_only() {
    let server = Server::start().await;
    let response = server.client.get(server.url("/console")).send();
    let response = response.await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(headers[header::CACHE_CONTROL], "no-cache");
    assert_eq!(
        headers[header::CONTENT_SECURITY_POLICY],
        CONTENT_SECURITY_POLICY
    );
    for directive in [
        "default-src 'none'",
        "script-src 'self';",
        "connect-src 'self';",
    ] {
        assert!(CONTENT_SECURITY_POLICY.contains(directive), "{directive}");
    }
    let page = response.text().await.unwrap();
    assert_eq!(absolute_urls(&page), Vec::<String>::new(), "{page}");
    assert!(
        !page.contains("<script>") && !page.contains("<style>"),
        "{page}"
    );
    // The page loads the vendored scripts, the stylesheet and the app's entry module; the
    // entry imports the other modules by relative path.
    let mut referenced = references(&page);
    referenced.sort();
    let mut expected: Vec<String> = ASSETS
        .iter()
        .filter(|a| vendored(a.path) || a.path == "console.css" || a.path == "app.js")
        .map(|a| format!("/console/assets/{}", a.path))
        .collect();
    expected.sort();
    assert_eq!(referenced, expected);
    for module in ASSETS
        .iter()
        .filter(|a| a.path.ends_with(".js") && !vendored(a.path))
    {
        let text = std::str::from_utf8(module.body).unwrap();
        for (at, _) in text.match_indices(" from \"") {
            let target = &text[at + 7..];
            let target = &target[..target.find('"').unwrap()];
            let name = target.strip_prefix("./").unwrap_or_else(|| {
                panic!("{} imports {target}, not a file beside it", module.path)
            });
            assert!(
                ASSETS.iter().any(|a| a.path == name),
                "{} imports {target}, which is not served",
                module.path
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_file_has_its_type_cache_lifetime_and_etag_and_names_no_other_host() {
    let server = Server::start().await;
    let mut seen: Vec<(&str, String, usize)> = Vec::new();
    for asset in ASSETS {
        let url = server.url(&format!("/console/assets/{}", asset.path));
        let (headers, body) = fetch_asset(&server, &url, asset.path, asset.body).await;
        let cache = if vendored(asset.path) {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        assert_eq!(headers[header::CACHE_CONTROL], cache, "{url}");
        let etag = headers[header::ETAG].clone();
        let again = server.client.get(&url).header(header::IF_NONE_MATCH, &etag);
        let again = again.send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{url}");
        assert!(again.bytes().await.unwrap().is_empty(), "{url}");

        let text = std::str::from_utf8(&body).unwrap();
        tally_named_urls(asset.path, text, LICENCE_COMMENTS, &mut seen, &url);
    }
    assert_only_listed(&seen, NOT_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_other_console_path_is_not_found() {
    let server = Server::start().await;
    for path in [
        "/console/",
        "/console/assets/",
        "/console/assets/nope.js",
        "/console/assets/chart.js-4.6.1/chart.umd.min.js.map",
        "/console/assets/preact-0.0.0/preact.min.umd.js",
        "/console/assets/vendor/htm.umd.js",
        "/console/assets/APP.JS",
        "/console/assets/..%2findex.html",
        "/console/demo-sign-in",
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_sign_in_list_is_served_only_when_configured_and_never_cached() {
    let sign_in = DemoSignIn {
        role: "hq".into(),
        who: "总部管理员 (company-wide)".into(),
        token: "eyJ.demo.token".into(),
    };
    assert!(
        !format!("{sign_in:?}").contains("eyJ"),
        "Debug shows the token"
    );
    let server = Server::start_with(|c| c.demo_sign_in = vec![sign_in]).await;
    let response = server
        .client
        .get(server.url("/console/demo-sign-in"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
    let body: Json = response.json().await.unwrap();
    assert_eq!(
        body,
        json!([{ "role": "hq", "who": "总部管理员 (company-wide)", "token": "eyJ.demo.token" }])
    );
    // Without demo sign-ins (any server not started with --demo) there is no such path.
    let server = Server::start().await;
    let response = server.client.get(server.url("/console/demo-sign-in"));
    let response = response.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
