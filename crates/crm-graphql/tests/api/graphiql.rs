//! GraphiQL from the binary: the page names only this server's files, each is served with its
//! content type, cache lifetime and ETag, and neither the page nor any file names another host
//! except where listed below as no request. (That it renders with the network cut off is
//! tests/graphiql_offline.rs at the workspace root, in Chromium.)

use crm_graphql::graphiql::{ASSETS, CONTENT_SECURITY_POLICY, GRAPHIQL_VERSION, REACT_VERSION};
use reqwest::header;
use reqwest::StatusCode;

use crate::common::Server;

/// Every `http://` or `https://` text in the served files outside licence comments (below),
/// as (file, text up to the first quote, bracket, backslash or space, occurrences, why it is
/// not a request to another host). The test fails on any text not listed and on a count that
/// changed, so a new version of a vendored file is read before it is served.
const NOT_REQUESTS: &[(&str, &str, usize, &str)] = &[
    (
        "react-18.3.1/react-dom.production.min.js",
        "http://www.w3.org/1999/xhtml",
        5,
        "XML namespace name",
    ),
    (
        "react-18.3.1/react-dom.production.min.js",
        "http://www.w3.org/2000/svg",
        3,
        "XML namespace name",
    ),
    (
        "react-18.3.1/react-dom.production.min.js",
        "http://www.w3.org/1999/xlink",
        2,
        "XML namespace name",
    ),
    (
        "react-18.3.1/react-dom.production.min.js",
        "http://www.w3.org/1998/Math/MathML",
        1,
        "XML namespace name",
    ),
    (
        "react-18.3.1/react-dom.production.min.js",
        "http://www.w3.org/XML/1998/namespace",
        1,
        "XML namespace name",
    ),
    (
        "react-18.3.1/react-dom.production.min.js",
        "https://reactjs.org/docs/error-decoder.html?invariant=",
        1,
        "text of a minified error message",
    ),
    (
        "graphiql-3.9.0/graphiql.min.js",
        "http://www.w3.org/2000/svg",
        31,
        "XML namespace name of the icons",
    ),
    (
        "graphiql-3.9.0/graphiql.min.js",
        "http://",
        2,
        "markdown-it's linkify adding a scheme to a link in a description",
    ),
    (
        "graphiql-3.9.0/graphiql.min.js",
        "https://en.wikipedia.org/wiki/IEEE_floating_point",
        1,
        "graphql-js: the Float scalar's description",
    ),
    (
        "graphiql-3.9.0/graphiql.min.js",
        "https://commonmark.org/",
        1,
        "graphql-js: the @deprecated directive's description",
    ),
    (
        "graphiql-3.9.0/graphiql.min.js",
        "https://github.com/graphql/graphiql/blob/master/examples/graphiql-cdn/index.html#L49",
        1,
        "text of the error for React 15 or older",
    ),
    (
        "graphiql-3.9.0/graphiql.min.js",
        "https://codemirror.net/5/doc/manual.html#keymaps",
        1,
        "a link the user may click in the keyboard shortcuts dialog",
    ),
    (
        "graphiql-3.9.0/graphiql.min.js",
        "https://github.com/graphql/graphiql",
        1,
        "the logo's link, which the user may click",
    ),
];

/// Licence comments found in each vendored file: `/*! ... */` or a block comment with
/// `@license` in it. Their text is not scanned; their number is checked so that no other code
/// hides in what is taken for one.
const LICENCE_COMMENTS: &[(&str, usize)] = &[
    ("react-18.3.1/react.production.min.js", 1),
    ("react-18.3.1/react-dom.production.min.js", 1),
    ("graphiql-3.9.0/graphiql.min.js", 5),
    ("graphiql-3.9.0/graphiql.min.css", 0),
];

/// Fetches the asset at `url` (its file `path`, its bytes `expected`): served whole, with the
/// content type of its extension and `nosniff`; returns its headers and body.
pub(crate) async fn fetch_asset(
    server: &Server,
    url: &str,
    path: &str,
    expected: &[u8],
) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let response = server.client.get(url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK, "{url}");
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap().to_vec();
    assert_eq!(&body[..], expected, "{url}");
    let kind = match path.rsplit_once('.') {
        Some((_, "js")) => "text/javascript; charset=utf-8",
        Some((_, "css")) => "text/css; charset=utf-8",
        other => panic!("{url}: no content type for {other:?}"),
    };
    assert_eq!(headers[header::CONTENT_TYPE], kind, "{url}");
    assert_eq!(headers[header::X_CONTENT_TYPE_OPTIONS], "nosniff", "{url}");
    (headers, body)
}

/// Checks the licence comments of `text` (the asset at `path`, fetched from `url`) against
/// `licences`, and counts in `seen` each absolute URL it names outside them.
pub(crate) fn tally_named_urls<'a>(
    path: &'a str,
    text: &str,
    licences: &[(&str, usize)],
    seen: &mut Vec<(&'a str, String, usize)>,
    url: &str,
) {
    let (scanned, comments) = without_licence_comments(text);
    let expected = licences
        .iter()
        .find(|(p, _)| *p == path)
        .map_or(0, |(_, count)| *count);
    assert_eq!(comments, expected, "licence comments in {url}");
    for found in absolute_urls(&scanned) {
        match seen.iter_mut().find(|(p, u, _)| *p == path && *u == found) {
            Some((_, _, count)) => *count += 1,
            None => seen.push((path, found, 1)),
        }
    }
}

/// Every URL counted in `seen` is listed (with its count) in `listed`, and every listed one
/// was seen: no asset names an address that is not accounted for as never requested.
pub(crate) fn assert_only_listed(
    seen: &[(&str, String, usize)],
    listed: &[(&str, &str, usize, &str)],
) {
    for (path, url, count) in seen {
        assert!(
            listed
                .iter()
                .any(|(p, u, c, _)| p == path && u == url && c == count),
            "{path} names {url} {count} times, not listed in NOT_REQUESTS"
        );
    }
    assert_eq!(seen.len(), listed.len(), "a listed text is gone: {seen:?}");
}

/// `text` without its licence comments, and how many there were.
pub(crate) fn without_licence_comments(text: &str) -> (String, usize) {
    let mut kept = String::with_capacity(text.len());
    let mut comments = 0;
    let mut rest = text;
    while let Some(open) = rest.find("/*") {
        let Some(close) = rest[open + 2..].find("*/") else {
            break;
        };
        let end = open + 2 + close + 2;
        let comment = &rest[open..end];
        kept.push_str(&rest[..open]);
        if comment.starts_with("/*!") || comment.contains("@license") {
            comments += 1;
        } else {
            kept.push_str(comment);
        }
        rest = &rest[end..];
    }
    kept.push_str(rest);
    (kept, comments)
}

/// Every `http://` or `https://` text in `text` (case-insensitive), up to the first quote,
/// bracket, backslash or white space.
pub(crate) fn absolute_urls(text: &str) -> Vec<String> {
    let lower = text.to_ascii_lowercase();
    let mut urls = Vec::new();
    let mut from = 0;
    while let Some(at) = lower[from..].find("http").map(|at| from + at) {
        from = at + 4;
        let rest = &lower[at..];
        if !(rest.starts_with("http://") || rest.starts_with("https://")) {
            continue;
        }
        let end = rest
            .find(|c: char| c.is_whitespace() || "\"'`()<>[]\\".contains(c))
            .unwrap_or(rest.len());
        urls.push(text[at..at + end].to_string());
    }
    urls
}

/// The `src` and `href` values of the page.
pub(crate) fn references(page: &str) -> Vec<String> {
    let mut found = Vec::new();
    for attribute in ["src=\"", "href=\""] {
        for (at, _) in page.match_indices(attribute) {
            let value = &page[at + attribute.len()..];
            found.push(value[..value.find('"').unwrap()].to_string());
        }
    }
    found.sort();
    found
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graphiql_is_served_only_when_switched_on() {
    let server = Server::start().await;
    for path in ["/graphiql", "/graphiql/assets/start.js"] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    let script = server
        .client
        .get(server.url("/graphiql/assets/start.js"))
        .send();
    let script = script.await.unwrap().text().await.unwrap();
    assert!(
        script.contains("\"/graphql\"") && script.contains("\"/graphql/ws\""),
        "{script}"
    );
    let server = Server::start_with(|c| c.graphiql = false).await;
    for path in ["/graphiql", "/graphiql/assets/start.js"] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_page_names_only_files_of_this_server_under_a_policy_of_this_origin_only() {
    let server = Server::start().await;
    let response = server
        .client
        .get(server.url("/graphiql"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let headers = response.headers().clone();
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
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
    let mut served: Vec<String> = ASSETS
        .iter()
        .map(|asset| format!("/graphiql/assets/{}", asset.path))
        .collect();
    served.sort();
    assert_eq!(references(&page), served);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_file_has_its_type_cache_lifetime_and_etag_and_names_no_other_host() {
    let server = Server::start().await;
    let mut seen: Vec<(&str, String, usize)> = Vec::new();
    for asset in ASSETS {
        let url = server.url(&format!("/graphiql/assets/{}", asset.path));
        let (headers, body) = fetch_asset(&server, &url, asset.path, asset.body).await;
        let vendored = asset
            .path
            .starts_with(&format!("graphiql-{GRAPHIQL_VERSION}/"))
            || asset.path.starts_with(&format!("react-{REACT_VERSION}/"));
        let cache = if vendored {
            "public, max-age=31536000, immutable"
        } else {
            "no-cache"
        };
        assert_eq!(headers[header::CACHE_CONTROL], cache, "{url}");
        let etag = headers[header::ETAG].clone();
        let again = server.client.get(&url).header(header::IF_NONE_MATCH, &etag);
        let again = again.send().await.unwrap();
        assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{url}");
        assert_eq!(again.headers()[header::ETAG], etag, "{url}");
        assert!(again.bytes().await.unwrap().is_empty(), "{url}");
        let other = server
            .client
            .get(&url)
            .header(header::IF_NONE_MATCH, "\"other\"");
        assert_eq!(
            other.send().await.unwrap().status(),
            StatusCode::OK,
            "{url}"
        );

        let text = std::str::from_utf8(&body).unwrap();
        tally_named_urls(asset.path, text, LICENCE_COMMENTS, &mut seen, &url);
    }
    assert_only_listed(&seen, NOT_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn any_other_asset_path_is_not_found() {
    let server = Server::start().await;
    for path in [
        "/graphiql/assets/",
        "/graphiql/assets/nope.js",
        "/graphiql/assets/graphiql-3.9.0/graphiql.min.js.map",
        "/graphiql/assets/graphiql-0.0.0/graphiql.min.js",
        "/graphiql/assets/START.JS",
        "/graphiql/assets/start.js/",
        "/graphiql/assets/..%2fCargo.toml",
    ] {
        let response = server.client.get(server.url(path)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
    }
}
