//! The console at /console in a real browser: `crm serve --demo` with a small data set, driven
//! by headless Chromium (Debian's `chromium` package) over the DevTools protocol, with every
//! host name and address but 127.0.0.1 unresolvable. Headquarters signs in by picking its demo
//! role, the branch manager by pasting its token; each opens the dashboard, the customers and
//! a customer 360, and the figures shown must equal what /graphql answers that token.
//! Headquarters' dashboard is the company's (`orgDashboard`: figures, mix, ranking, the monthly
//! series over 6, 12 and 24 months), then a region's it picks, then a branch's; a region
//! manager's is their region's, and another region's is refused; the branch manager keeps the
//! branch dashboard. The branch manager cannot open a customer of another branch. Headquarters shows a profile in
//! full with a purpose (the access log then holds the view); the auditor is refused and sees
//! the refusal. The operator previews rules with progress over the `jobProgress`
//! subscription; a second operator approves a version on the page, where the proposer's own
//! approval shows the four-eyes refusal. Headquarters picks an earlier month on its dashboard;
//! the auditor replays a staff member and a branch as of an instant before a recorded contact,
//! which a branch manager is refused. Every request the page made must have gone to this
//! server.
//!
//! A screenshot of each page is written under `target/tmp/console/`; with
//! `UPDATE_SCREENSHOTS=1` they are also copied to `docs/console/` (README.md shows them).
//! Without /usr/bin/chromium the test fails (it is never skipped), as tests/graphiql_offline.rs.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

#[path = "console/appraisal.rs"]
mod appraisal;
#[path = "console/cdp.rs"]
mod cdp;
#[path = "console/org.rs"]
mod org;
#[path = "console/replay_org.rs"]
mod replay_org;
#[path = "console/rules.rs"]
mod rules;
#[path = "console/sensitive.rs"]
mod sensitive;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use appraisal::{check_leaderboard, check_sealed_period};
use cdp::{Browser, Killed};
use org::{
    check_org_dashboard, check_org_live, check_series, check_series_switch, check_series_switch_of,
    org_answer,
};
use replay_org::{check_org_replays, check_period_picker};
use rules::{check_four_eyes_buttons, check_rules_hq, check_rules_operator};
use sensitive::{check_show_full, check_show_full_refused};
use serde_json::{json, Value};

/// The demo server and a client for asking /graphql what a token may see.
struct Demo {
    _server: Killed,
    url: String,
    /// The server's data directory (for `crm token`).
    data_dir: PathBuf,
    /// The printed development token per role (`hq`, `branch-manager`, …).
    tokens: HashMap<String, String>,
    runtime: tokio::runtime::Runtime,
    client: reqwest::Client,
}

impl Demo {
    /// `crm serve --demo` on an empty directory with 300 customers and 60 days.
    fn start(dir: &Path) -> Demo {
        let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
            .arg("--data-dir")
            .arg(dir.join("data"))
            .args(["serve", "--demo", "--listen", "127.0.0.1:0"])
            .env("CRM_DEMO_CUSTOMERS", "300")
            .env("CRM_DEMO_DAYS", "60")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let server = Killed(child);
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut url = String::new();
        let mut tokens = HashMap::new();
        let mut role: Option<String> = None;
        let mut listing = false;
        let deadline = Instant::now() + Duration::from_secs(600);
        loop {
            let line = rx
                .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                .expect("the demo server did not print its tokens within 10 minutes");
            if line.contains("serving on") {
                url = line.split_whitespace().last().unwrap().to_string();
            } else if line.starts_with("Development tokens") {
                listing = true;
            } else if line.starts_with("More: crm token") {
                break;
            } else if !listing {
                continue;
            } else if let Some(r) = role.take() {
                tokens.insert(r, line.trim().to_string());
            } else if line.starts_with("  ") && !line.trim_start().starts_with("eyJ") {
                role = line.split_whitespace().next().map(str::to_string);
            }
        }
        assert!(url.starts_with("http://127.0.0.1:"), "{url}");
        for needed in ["hq", "branch-manager", "auditor", "operator"] {
            assert!(tokens.contains_key(needed), "no {needed} token: {tokens:?}");
        }
        Demo {
            _server: server,
            url,
            data_dir: dir.join("data"),
            tokens,
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            client: reqwest::Client::new(),
        }
    }

    /// Waits until every current read model has applied the whole log, so the page and the
    /// test's own queries read the same figures.
    fn wait_caught_up(&self) {
        let operator = self.token("operator");
        let deadline = Instant::now() + Duration::from_secs(300);
        loop {
            let status = self.data(
                &operator,
                "{ projectionStatus { name role lagEvents } }",
                json!({}),
            );
            let behind: Vec<&Value> = status["projectionStatus"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|p| p["role"] == "CURRENT" && p["lagEvents"] != json!(0))
                .collect();
            if behind.is_empty() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "read models still behind after 5 minutes: {behind:?}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn token(&self, role: &str) -> String {
        self.tokens[role].clone()
    }

    /// The whole answer of `query` under `token`.
    fn answer(&self, token: &str, query: &str, variables: Value) -> Value {
        let request = self
            .client
            .post(format!("{}/graphql", self.url))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }));
        self.runtime
            .block_on(async { request.send().await.unwrap().json().await.unwrap() })
    }

    /// The `data` of an answer that must have no errors.
    fn data(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.answer(token, query, variables);
        assert!(body.get("errors").is_none(), "{query}: {body}");
        body["data"].clone()
    }
}

/// A decimal string of yuan as the console shows it: grouped, two decimals.
fn money(value: &str) -> String {
    let n: f64 = value.parse().unwrap();
    let fixed = format!("{:.2}", n.abs());
    let (whole, cents) = fixed.split_once('.').unwrap();
    let mut grouped = String::new();
    for (i, digit) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(digit);
    }
    format!("{}{grouped}.{cents}", if n < 0.0 { "-" } else { "" })
}

fn plain(id: &str) -> String {
    id.replace('-', "").to_lowercase()
}

/// Where the screenshots go: target/tmp/console/.
fn screenshots() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("console");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn shoot(browser: &mut Browser, name: &str) {
    let path = screenshots().join(format!("{name}.png"));
    browser.screenshot(&path);
    if std::env::var("UPDATE_SCREENSHOTS").is_ok_and(|v| v == "1") {
        let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/console");
        std::fs::create_dir_all(&docs).unwrap();
        std::fs::copy(&path, docs.join(format!("{name}.png"))).unwrap();
    }
}

/// Follows a link of the app (a hash route) and waits for `selector` to appear.
fn open(browser: &mut Browser, hash: &str, selector: &str) {
    browser.eval(&format!("window.location.hash = {}", json!(hash)));
    browser.wait_for(selector);
}

const DASHBOARD: &str = "query ($branchId: ID!) { branchDashboard(branchId: $branchId) {
    period customers assets netInflow commission rankAmongBranches
    customersByTier { key count } } }";

const RANKING: &str = "{ branchRanking { rank rankChange name } }";

/// The dashboard on screen shows the figures /graphql gives `token` for the branch shown, and
/// the ranking as /graphql gives it (or says it is out of scope where /graphql refuses it).
/// Returns the branch shown.
fn check_dashboard(browser: &mut Browser, demo: &Demo, token: &str) -> String {
    browser.wait_for("[data-test=dashboard] [data-test=figure-customers]");
    let branch = browser.attribute("[data-test=dashboard]", "data-branch");
    let branch = branch.as_str().unwrap().to_string();
    let api = demo.data(token, DASHBOARD, json!({ "branchId": branch }));
    let d = &api["branchDashboard"];
    let shown =
        |b: &mut Browser, test: &str| b.text(&format!("[data-test=figure-{test}] .figure-value"));
    assert_eq!(
        shown(browser, "customers"),
        json!(d["customers"].to_string())
    );
    assert_eq!(
        shown(browser, "assets"),
        json!(money(d["assets"].as_str().unwrap()))
    );
    assert_eq!(
        browser.attribute("[data-test=figure-assets]", "data-value"),
        d["assets"]
    );
    assert_eq!(
        browser.attribute("[data-test=figure-net-inflow]", "data-value"),
        d["netInflow"]
    );
    assert_eq!(
        browser.attribute("[data-test=figure-commission]", "data-value"),
        d["commission"]
    );
    assert_eq!(browser.text("[data-test=period]"), d["period"]);
    assert_eq!(
        browser.attribute("[data-test=figure-rank]", "data-value"),
        json!(d["rankAmongBranches"].to_string())
    );
    for tier in d["customersByTier"].as_array().unwrap() {
        let key = tier["key"].as_str().unwrap();
        assert_eq!(
            browser.text(&format!("[data-test=tier-{key}]")),
            json!(tier["count"].to_string()),
            "customers of tier {key}"
        );
    }
    browser.wait_for("[data-test=chart-tiers] canvas");
    browser.wait_for("[data-test=chart-classes] canvas");
    // The monthly series (每月趋势) is the branch's scope of `orgDashboard`: its figures are
    // this dashboard's, and the panel shows its twelve months as the API gives them.
    let series = org_answer(demo, token, &json!({ "branchId": branch }), 12);
    for key in ["period", "customers", "assets", "netInflow", "commission"] {
        assert_eq!(series["figures"][key], d[key], "the branch scope's {key}");
    }
    check_series(browser, "branch-series", &series, 12);
    let ranking = demo.answer(token, RANKING, json!({}));
    if ranking["errors"][0]["extensions"]["code"] == "FORBIDDEN" {
        browser.wait_for("[data-test=ranking-hidden]");
        return branch;
    }
    assert!(ranking.get("errors").is_none(), "{ranking}");
    browser.wait_for("[data-test=ranking] tbody tr");
    let rows = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=ranking] tbody tr'))
           .map((tr) => Array.from(tr.cells).map((td) => td.textContent.trim()))",
    );
    let rows = rows.as_array().unwrap();
    let api = ranking["data"]["branchRanking"].as_array().unwrap();
    assert_eq!(rows.len(), api.len(), "branches ranked");
    for (row, branch) in rows.iter().zip(api) {
        assert_eq!(row[0], json!(branch["rank"].to_string()), "{row}");
        let change = match branch["rankChange"].as_i64() {
            None => "—".to_string(),
            Some(0) => "0".to_string(),
            Some(n) if n > 0 => format!("▲{n}"),
            Some(n) => format!("▼{}", -n),
        };
        assert_eq!(row[1], json!(change), "{row}");
        assert_eq!(row[3], branch["name"], "{row}");
    }
    branch
}

/// The dashboard on screen is live: a contact recorded through /graphql by `token` for a
/// customer of the branch shown changes the contacts figure to what /graphql then gives,
/// without the page reloading.
fn check_live(browser: &mut Browser, demo: &Demo, token: &str, branch: &str) {
    browser.wait_for("[data-test=live][data-state=live]");
    browser.eval("window.sameDocument = true");
    const CONTACTS: &str = "query ($b: ID!, $at: Long) {
        branchDashboard(branchId: $b, atPosition: $at) { contacts } }";
    let before = demo.data(token, CONTACTS, json!({ "b": branch }));
    let before = before["branchDashboard"]["contacts"].clone();
    assert_eq!(
        browser.text("[data-test=figure-contacts] .figure-value"),
        json!(before.to_string())
    );
    let customers = demo.data(token, CUSTOMERS, json!({ "filter": {} }));
    let customer = &customers["customers"]["edges"][0]["node"];
    assert_eq!(
        plain(customer["branch"]["id"].as_str().unwrap()),
        plain(branch)
    );
    let recorded = demo.data(
        token,
        "mutation ($c: ID!) { recordContact(customerId: $c, channel: PHONE, direction: OUTBOUND,
           topic: \"回访\", outcome: REACHED, notes: \"console live test\") { position } }",
        json!({ "c": customer["customerId"] }),
    );
    let at = &recorded["recordContact"]["position"];
    let after = demo.data(token, CONTACTS, json!({ "b": branch, "at": at }));
    let after = after["branchDashboard"]["contacts"].clone();
    assert_ne!(after, before, "the contact counts on the dashboard");
    assert_eq!(
        browser.text_settled(
            "[data-test=figure-contacts] .figure-value",
            &json!(after.to_string())
        ),
        json!(after.to_string()),
        "the live dashboard's contacts"
    );
    assert_eq!(
        browser.eval("window.sameDocument === true"),
        json!(true),
        "reloaded"
    );
    assert_eq!(browser.attribute("[data-test=live]", "data-state"), "live");
}

const CUSTOMERS: &str = "query ($filter: CustomerFilterInput) {
    customers(filter: $filter, orderBy: ASSETS_DESC, first: 50) {
      totalCount edges { node { customerId name branch { id } } } } }";

/// The customers page for `text` shows the count and the first customer /graphql gives.
fn check_customers(browser: &mut Browser, demo: &Demo, token: &str, text: &str) {
    let hash = if text.is_empty() {
        "#/customers".to_string()
    } else {
        format!("#/customers?q={}", urlencode(text))
    };
    open(
        browser,
        &hash,
        "[data-test=page-customers] [data-test=total]",
    );
    browser.wait_for("[data-test=customers], [data-test=customers-empty]");
    let filter = if text.is_empty() {
        json!({})
    } else {
        json!({ "text": text })
    };
    let api = demo.data(token, CUSTOMERS, json!({ "filter": filter }));
    let total = &api["customers"]["totalCount"];
    // Going from one customers page to another, the previous page's figures are on screen
    // until the new query answers: read them once they settle.
    let total = json!(total.to_string());
    assert_eq!(browser.text_settled("[data-test=total]", &total), total);
    let first = &api["customers"]["edges"][0]["node"];
    assert_eq!(
        browser.attribute_settled("[data-test=customer-link]", "data-id", &first["customerId"]),
        first["customerId"]
    );
    assert_eq!(
        browser.text_settled("[data-test=customer-link]", &first["name"]),
        first["name"]
    );
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

const CUSTOMER: &str = "query ($id: ID!) { customer(id: $id) { name assets contributionScore
    tier profile { idDocument phone } accounts { number } timeline(first: 20) { at }
    contributionExplanation { terms { name } } } }";

/// The 360 of `id` shows the name, figures, masked profile and lists /graphql gives.
fn check_customer(browser: &mut Browser, demo: &Demo, token: &str, id: &str) {
    let selector = format!("[data-test=customer][data-id=\"{id}\"]");
    open(browser, &format!("#/customer/{id}"), &selector);
    let c = demo.data(token, CUSTOMER, json!({ "id": id }))["customer"].clone();
    assert_eq!(browser.text("[data-test=customer-name]"), c["name"]);
    assert_eq!(
        browser.attribute("[data-test=figure-assets]", "data-value"),
        c["assets"]
    );
    let score = browser.attribute("[data-test=figure-score]", "data-value");
    let score: f64 = score.as_str().unwrap().parse().unwrap();
    assert_eq!(Some(score), c["contributionScore"].as_f64());
    let document = browser.text("[data-test=id-document]");
    let masked = c["profile"]["idDocument"].as_str().unwrap();
    assert!(
        document.as_str().unwrap().ends_with(masked),
        "{document} shows not {masked}"
    );
    let count = |b: &mut Browser, table: &str| {
        b.eval(&format!(
            "document.querySelectorAll('[data-test={table}] tbody tr').length"
        ))
    };
    for (table, field) in [
        ("accounts", &c["accounts"]),
        ("timeline", &c["timeline"]),
        ("terms", &c["contributionExplanation"]["terms"]),
    ] {
        let expected = field.as_array().map_or(0, Vec::len);
        assert_eq!(count(browser, table), json!(expected), "{table} rows");
    }
    browser.wait_for("[data-test=chart-holdings] canvas");
}

const HISTORY: &str = "query ($id: ID!, $asOf: DateTime) {
    customerHistory(id: $id, asOf: $asOf, first: 100) {
      snapshot { name accounts { number } } timeline { position recordedAt } } }";

/// The replay of `id` offers the instants of its timeline; at the earliest, the state and
/// the events shown are those /graphql gives for that instant.
fn check_replay(browser: &mut Browser, demo: &Demo, token: &str, id: &str) {
    open(browser, &format!("#/replay/{id}"), "[data-test=instant]");
    browser.wait_for("[data-test=replay] [data-test=event-count]");
    let everything = demo.data(
        token,
        HISTORY,
        json!({ "id": id, "asOf": "2100-01-01T00:00:00Z" }),
    );
    let timeline = everything["customerHistory"]["timeline"]
        .as_array()
        .unwrap();
    assert_eq!(
        browser.text("[data-test=event-count]"),
        json!(timeline.len().to_string())
    );
    let mut instants: Vec<&str> = timeline
        .iter()
        .map(|e| e["recordedAt"].as_str().unwrap())
        .collect();
    instants.dedup();
    let shown = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=instant]')).map((b) => b.dataset.at)",
    );
    assert_eq!(shown, json!(instants), "the instants offered");
    let earliest = instants[0];
    browser.click("[data-test=instant]");
    browser.wait_for(&format!(
        "[data-test=replay][data-as-of=\"{earliest}\"] [data-test=event-count]"
    ));
    let then = demo.data(token, HISTORY, json!({ "id": id, "asOf": earliest }));
    let then = &then["customerHistory"];
    // The page may render the replay twice (the instant's answer replacing the last one's):
    // the count is read once it has settled on a value, and must be the API's.
    let count = json!(then["timeline"].as_array().unwrap().len().to_string());
    assert_eq!(
        browser.text_settled("[data-test=event-count]", &count),
        count
    );
    assert_eq!(
        browser.text("[data-test=snapshot-name]"),
        then["snapshot"]["name"]
    );
    assert_eq!(
        browser.text("[data-test=snapshot-accounts]"),
        json!(then["snapshot"]["accounts"]
            .as_array()
            .unwrap()
            .len()
            .to_string())
    );
    let positions = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=events] tbody tr')).map((tr) => Number(tr.cells[0].textContent))",
    );
    let expected: Vec<i64> = then["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["position"].as_i64().unwrap())
        .collect();
    assert_eq!(positions, json!(expected), "the events up to the instant");
}

/// The cells' trimmed texts of each row of the table `test`.
fn table_rows(browser: &mut Browser, test: &str) -> Vec<Vec<String>> {
    let rows = browser.eval(&format!(
        "Array.from(document.querySelectorAll('[data-test={test}] tbody tr'))
           .map((tr) => Array.from(tr.cells).map((td) => td.textContent.trim()))"
    ));
    serde_json::from_value(rows).unwrap()
}

#[test]
fn the_console_shows_each_role_what_the_api_gives_it_and_nothing_out_of_scope() {
    let dir = tempfile::tempdir().unwrap();
    let demo = Demo::start(dir.path());
    let hq = demo.token("hq");
    let manager = demo.token("branch-manager");
    demo.wait_caught_up();
    let mut browser = Browser::launch(&dir.path().join("chromium"));

    // Sign in: the demo offers its roles; headquarters picks its own.
    browser.goto(&format!("{}/console", demo.url));
    browser.wait_for("[data-test=demo-roles] [data-test=demo-hq]");
    shoot(&mut browser, "sign-in");
    browser.click("[data-test=demo-hq]");
    browser.wait_for("[data-test=page-dashboard]");
    assert_eq!(
        browser.text("[data-test=signed-in-role]"),
        json!("当前身份: 总部")
    );
    // The manager's branch and its region.
    let me = demo.data(&manager, "{ me { scope { branchId } } }", json!({}));
    let own_branch = plain(me["me"]["scope"]["branchId"].as_str().unwrap());
    let branches = demo.data(&hq, "{ branches { branchId regionId } }", json!({}));
    let region = branches["branches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| plain(b["branchId"].as_str().unwrap()) == own_branch)
        .unwrap()["regionId"]
        .as_str()
        .unwrap()
        .to_string();
    // Headquarters' dashboard is the company's (总部看板), with its monthly series; then, picked,
    // a region's; then, from the ranking, a branch's.
    let company = json!({ "company": true });
    check_org_dashboard(&mut browser, &demo, &hq, &company, 12);
    assert_eq!(browser.text("[data-test=dashboard]"), Value::Null);
    check_org_live(&mut browser, &demo, &hq, &company);
    shoot(&mut browser, "dashboard-hq");
    // In English: the head office's dashboard and its monthly trend.
    browser.click("[data-test=lang]");
    browser.wait_for("[data-test=org-dashboard]");
    assert_eq!(browser.text("h1"), json!("Head-office dashboard"));
    assert_eq!(
        browser.text("[data-test=org-series] h3"),
        json!("Monthly trend (12 months)")
    );
    browser.click("[data-test=lang]");
    assert_eq!(browser.text("h1"), json!("总部看板"));
    check_series_switch(&mut browser, &demo, &hq, &company, 24);
    check_series_switch(&mut browser, &demo, &hq, &company, 6);
    browser.wait_for(&format!("[data-test=org-scope] option[value=\"{region}\"]"));
    browser.choose("[data-test=org-scope]", &region);
    let in_region = json!({ "regionId": region });
    check_org_dashboard(&mut browser, &demo, &hq, &in_region, 6);
    check_series_switch(&mut browser, &demo, &hq, &in_region, 12);
    let link = browser.attribute("[data-test=org-branch-link]", "data-id");
    browser.click("[data-test=org-branch-link]");
    browser.wait_for(&format!(
        "[data-test=dashboard][data-branch=\"{}\"]",
        link.as_str().unwrap()
    ));
    check_dashboard(&mut browser, &demo, &hq);
    browser.wait_for("[data-test=to-org]");
    // English labels with the switch, and back to Chinese.
    browser.click("[data-test=lang]");
    browser.wait_for("[data-test=signed-in-role]");
    assert_eq!(
        browser.text("[data-test=nav-dashboard]"),
        json!("Dashboard")
    );
    assert_eq!(
        browser.text("[data-test=figure-customers] .figure-label"),
        json!("Customers")
    );
    browser.click("[data-test=lang]");
    assert_eq!(browser.text("[data-test=nav-dashboard]"), json!("经营看板"));
    browser.click("[data-test=to-org]");
    browser.wait_for("[data-test=org-dashboard][data-scope=COMPANY]");
    // The month picker: the month before the latest, then the latest again.
    check_period_picker(&mut browser, &demo, &hq);

    // The largest customer of another branch than the manager's.
    let all = demo.data(&hq, CUSTOMERS, json!({ "filter": {} }));
    let elsewhere = all["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .find(|c| plain(c["branch"]["id"].as_str().unwrap_or("")) != own_branch)
        .unwrap()
        .clone();
    let elsewhere_id = elsewhere["customerId"].as_str().unwrap().to_string();

    // Customers: everyone, then a search by the first character of that customer's name.
    check_customers(&mut browser, &demo, &hq, "");
    let initial: String = elsewhere["name"]
        .as_str()
        .unwrap()
        .chars()
        .take(1)
        .collect();
    check_customers(&mut browser, &demo, &hq, &initial);
    shoot(&mut browser, "customers");
    check_customer(&mut browser, &demo, &hq, &elsewhere_id);
    shoot(&mut browser, "customer-360");
    // Headquarters sees the profile in full, saying why; the view is in the access log.
    check_show_full(&mut browser, &demo, &hq, &elsewhere_id, "客户来电核实身份");

    // A token that is no token is refused at sign-in.
    browser.click("[data-test=sign-out]");
    browser.wait_for("[data-test=page-sign-in] [data-test=token]");
    browser.type_into("[data-test=token]", "not-a-token");
    browser.click("[data-test=sign-in]");
    browser.wait_for("[data-test=refused]");

    // The branch manager pastes a token: their own branch, no company ranking.
    browser.type_into("[data-test=token]", &manager);
    browser.click("[data-test=sign-in]");
    browser.wait_for("[data-test=page-dashboard]");
    let shown = check_dashboard(&mut browser, &demo, &manager);
    assert_eq!(
        plain(&shown),
        own_branch,
        "the manager's dashboard is their branch"
    );
    // A branch keeps the branch dashboard: no org dashboard, no way back to one.
    assert_eq!(browser.text("[data-test=org-dashboard]"), Value::Null);
    assert_eq!(browser.text("[data-test=to-org]"), Value::Null);
    check_live(&mut browser, &demo, &manager, &shown);
    shoot(&mut browser, "dashboard-branch-manager");
    // The branch's series switch asks the API for that many months of the branch.
    let own_scope = json!({ "branchId": shown });
    check_series_switch_of(
        &mut browser,
        &demo,
        &manager,
        "branch-series",
        &own_scope,
        6,
    );
    check_customers(&mut browser, &demo, &manager, "");
    let first = browser.attribute("[data-test=customer-link]", "data-id");
    check_customer(&mut browser, &demo, &manager, first.as_str().unwrap());

    // A customer of another branch cannot be opened: /graphql says NOT_FOUND, and so does
    // the console, showing nothing of the customer.
    let refused = demo.answer(&manager, CUSTOMER, json!({ "id": elsewhere_id }));
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "NOT_FOUND",
        "{refused}"
    );
    open(
        &mut browser,
        &format!("#/customer/{elsewhere_id}"),
        "[data-test=customer-failure] [data-test=not-found]",
    );
    assert_eq!(browser.text("[data-test=customer]"), Value::Null);
    assert_eq!(browser.text("[data-test=customer-name]"), Value::Null);
    let body = browser.eval("document.body.innerText");
    assert!(
        !body
            .as_str()
            .unwrap()
            .contains(elsewhere["name"].as_str().unwrap()),
        "the out-of-scope customer's name is on the page"
    );
    shoot(&mut browser, "customer-out-of-scope");
    // The rules are not the branch manager's: no link, and the page shows the API's refusal.
    let refused = demo.answer(&manager, "{ rules { version } }", json!({}));
    assert_eq!(refused["errors"][0]["extensions"]["code"], "FORBIDDEN");
    assert_eq!(
        browser.eval("document.querySelector('[data-test=nav-rules]') === null"),
        json!(true)
    );
    open(
        &mut browser,
        "#/rules",
        "[data-test=page-rules] [data-test=forbidden]",
    );
    assert_eq!(browser.text("[data-test=rule-versions]"), Value::Null);
    // Appraisal: the leaderboard of the manager's own branch, and no sealed results.
    for row in check_leaderboard(&mut browser, &demo, &manager) {
        assert_eq!(plain(row["branchId"].as_str().unwrap()), own_branch);
    }
    browser.wait_for("[data-test=periods-hidden]");

    the_region_manager(&mut browser, &demo);
    the_oversight_pages(&mut browser, &demo, &elsewhere_id);
}

/// A region manager of the staff directory (a token from `crm token --role region`) pastes
/// their token: the dashboard is their region's (区域看板) as /graphql gives it, with no region
/// to pick; another region's, asked for by its address, is the API's refusal.
fn the_region_manager(browser: &mut Browser, demo: &Demo) {
    let hq = demo.token("hq");
    let managers = demo.data(
        &hq,
        "{ staffDirectory(filter: { role: REGION_MANAGER }, first: 1) {
            edges { node { staffId region { id } } } } }",
        json!({}),
    );
    let manager = &managers["staffDirectory"]["edges"][0]["node"];
    let staff = manager["staffId"].as_str().unwrap();
    let region = manager["region"]["id"].as_str().unwrap();
    let minted = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(&demo.data_dir)
        .args([
            "token", "--role", "region", "--scope", region, "--staff", staff,
        ])
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    let token = String::from_utf8(minted.stdout).unwrap().trim().to_string();
    browser.click("[data-test=sign-out]");
    browser.wait_for("[data-test=page-sign-in] [data-test=token]");
    browser.type_into("[data-test=token]", &token);
    browser.click("[data-test=sign-in]");
    browser.wait_for("[data-test=page-dashboard]");
    assert_eq!(
        browser.text("[data-test=signed-in-role]"),
        json!("当前身份: 分公司管理者")
    );
    let scope = json!({ "regionId": region });
    let d = check_org_dashboard(browser, demo, &token, &scope, 12);
    assert_eq!(d["scope"], "REGION");
    assert_eq!(browser.text("[data-test=org-scope]"), Value::Null);
    assert_eq!(browser.text("[data-test=dashboard]"), Value::Null);
    shoot(browser, "dashboard-region");
    // The company's figures are not the region's: the API refuses them.
    let refused = demo.answer(
        &token,
        "{ orgDashboard(scope: { company: true }) { scope } }",
        json!({}),
    );
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{refused}"
    );
    let hq = demo.token("hq");
    let branches = demo.data(&hq, "{ branches { regionId } }", json!({}));
    let other = branches["branches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["regionId"].as_str().unwrap())
        .find(|r| plain(r) != plain(region))
        .expect("the demo has a second region");
    open(
        browser,
        &format!("#/dashboard?region={other}"),
        "[data-test=page-dashboard] [data-test=forbidden]",
    );
    assert_eq!(browser.text("[data-test=org-dashboard]"), Value::Null);
}

/// The auditor's replay, the operator's and headquarters' rules page; then that every request
/// the page made went to this server.
fn the_oversight_pages(browser: &mut Browser, demo: &Demo, elsewhere_id: &str) {
    // The auditor replays that customer as of an instant picked on their timeline.
    browser.click("[data-test=sign-out]");
    browser.wait_for("[data-test=page-sign-in] [data-test=demo-auditor]");
    browser.click("[data-test=demo-auditor]");
    browser.wait_for("[data-test=page-dashboard] [data-test=nav-replay]");
    check_replay(browser, demo, &demo.token("auditor"), elsewhere_id);
    shoot(browser, "replay-auditor");
    // Auditors read profiles masked: the API refuses them the full view, and the page says so.
    check_show_full_refused(browser, demo, &demo.token("auditor"), elsewhere_id);
    // The auditor replays a staff member and a branch as of an instant before a contact; a
    // branch manager is refused both replays.
    check_org_replays(browser, demo);

    check_rules_operator(browser, demo);
    check_rules_hq(browser, demo);

    // Headquarters' appraisal: the company's leaderboard, and a period sealed by two people.
    let leaderboard = check_leaderboard(browser, demo, &demo.token("hq"));
    check_sealed_period(browser, demo, leaderboard[0]["period"].as_str().unwrap());
    shoot(browser, "appraisal");

    // Four eyes on the rules page: the proposer is refused, a second operator approves.
    check_four_eyes_buttons(browser, demo);

    // Nothing left the machine: every request went to this server.
    let base = format!("{}/", demo.url);
    let elsewhere_requests: Vec<&String> = browser
        .requests
        .iter()
        .filter(|url| !url.starts_with(&base) && !url.starts_with("data:"))
        .collect();
    assert!(
        elsewhere_requests.is_empty(),
        "requests to other hosts: {elsewhere_requests:?}"
    );
    assert!(
        browser
            .requests
            .iter()
            .any(|url| url.ends_with("/console/assets/chart.js-4.6.1/chart.umd.min.js")),
        "{:?}",
        browser.requests
    );
    assert!(browser.problems.is_empty(), "{:?}", browser.problems);
}
