//! The head-office and region dashboards (总部看板 / 区域看板) in the browser: the figures, the
//! tier and asset mix, the branches' ranking (rank change, satisfaction, market share) and the
//! monthly series — as tables and as what Chart.js drew — equal what `orgDashboard` gives the
//! same token (for the latest month or one picked); the 6 / 12 / 24 months switch asks the
//! API for that many months; the figures follow `orgDashboardChanged` without a reload. The
//! branch dashboard's series is the same panel, of the branch's scope (`check_series` with
//! `branch-series`).

use serde_json::{json, Value};

use super::cdp::Browser;
use super::{money, plain, table_rows, Demo};

const ORG: &str = "query ($scope: OrgScopeInput!, $period: BranchPeriodInput, $months: Int) {
    orgDashboard(scope: $scope, period: $period) {
    scope regionId name
    figures { period customers assets netInflow commission newCustomers churned marketShareBp }
    customersByTier { key count } assetsByClass { key amount }
    ranking { rank rankChange name satisfaction marketShareBp }
    series(months: $months) { period customers assets netInflow commission newCustomers churned } } }";

/// What /graphql gives `token` for the org dashboard of `scope` with a series of `months`.
pub fn org_answer(demo: &Demo, token: &str, scope: &Value, months: u32) -> Value {
    org_answer_of(demo, token, scope, months, &Value::Null)
}

/// The same for `period` (a `BranchPeriodInput`; null: the latest month).
fn org_answer_of(demo: &Demo, token: &str, scope: &Value, months: u32, period: &Value) -> Value {
    let variables = json!({ "scope": scope, "period": period, "months": months });
    demo.data(token, ORG, variables)["orgDashboard"].clone()
}

/// The org dashboard on screen is the one of `scope` (`{ "company": true }` or
/// `{ "regionId": … }`) and shows what /graphql gives `token` for it, with the series of
/// `months` months. Returns the API's answer.
pub fn check_org_dashboard(
    browser: &mut Browser,
    demo: &Demo,
    token: &str,
    scope: &Value,
    months: u32,
) -> Value {
    check_org_dashboard_of(browser, demo, token, scope, months, &Value::Null)
}

/// [`check_org_dashboard`] for `period` (a `BranchPeriodInput`; null: the latest month).
pub fn check_org_dashboard_of(
    browser: &mut Browser,
    demo: &Demo,
    token: &str,
    scope: &Value,
    months: u32,
    period: &Value,
) -> Value {
    let kind = if scope.get("company").is_some() {
        "COMPANY"
    } else {
        "REGION"
    };
    browser.wait_for(&format!(
        "[data-test=org-dashboard][data-scope={kind}] [data-test=figure-customers]"
    ));
    let d = org_answer_of(demo, token, scope, months, period);
    if let Some(region) = scope["regionId"].as_str() {
        let shown = browser.attribute("[data-test=org-dashboard]", "data-region");
        assert_eq!(
            plain(shown.as_str().unwrap()),
            plain(region),
            "the region shown"
        );
        assert_eq!(browser.text("[data-test=org-name]"), d["name"]);
    }
    let f = &d["figures"];
    let figure =
        |b: &mut Browser, test: &str| b.text(&format!("[data-test=figure-{test}] .figure-value"));
    let raw = |b: &mut Browser, test: &str| {
        b.attribute(&format!("[data-test=figure-{test}]"), "data-value")
    };
    assert_eq!(
        figure(browser, "customers"),
        json!(f["customers"].to_string())
    );
    assert_eq!(
        figure(browser, "assets"),
        json!(money(f["assets"].as_str().unwrap()))
    );
    assert_eq!(raw(browser, "assets"), f["assets"]);
    assert_eq!(raw(browser, "net-inflow"), f["netInflow"]);
    assert_eq!(raw(browser, "commission"), f["commission"]);
    assert_eq!(
        figure(browser, "new-customers"),
        json!(f["newCustomers"].to_string())
    );
    assert_eq!(figure(browser, "churned"), json!(f["churned"].to_string()));
    assert_eq!(browser.text("[data-test=period]"), f["period"]);
    for tier in d["customersByTier"].as_array().unwrap() {
        let key = tier["key"].as_str().unwrap();
        assert_eq!(
            browser.text(&format!("[data-test=tier-{key}]")),
            json!(tier["count"].to_string()),
            "customers of tier {key}"
        );
    }
    for class in d["assetsByClass"].as_array().unwrap() {
        let key = class["key"].as_str().unwrap();
        assert_eq!(
            browser.attribute(&format!("[data-test=class-{key}]"), "data-value"),
            class["amount"],
            "assets of class {key}"
        );
    }
    browser.wait_for("[data-test=chart-tiers] canvas");
    browser.wait_for("[data-test=chart-classes] canvas");

    // The ranking: the scope's branches, with rank change, satisfaction and market share.
    let rows = table_rows(browser, "org-ranking");
    let ranked = d["ranking"].as_array().unwrap();
    assert_eq!(rows.len(), ranked.len(), "branches ranked");
    assert!(!ranked.is_empty(), "the scope ranks no branch: {d}");
    let satisfaction = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=org-ranking] [data-test=satisfaction]'))
           .map((e) => e.dataset.value)",
    );
    let share = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=org-ranking] [data-test=market-share]'))
           .map((e) => e.dataset.value)",
    );
    for (i, (row, branch)) in rows.iter().zip(ranked).enumerate() {
        assert_eq!(row[0], branch["rank"].to_string(), "{row:?}");
        let change = match branch["rankChange"].as_i64() {
            None => "—".to_string(),
            Some(0) => "0".to_string(),
            Some(n) if n > 0 => format!("▲{n}"),
            Some(n) => format!("▼{}", -n),
        };
        assert_eq!(row[1], change, "{row:?}");
        assert_eq!(json!(row[3]), branch["name"], "{row:?}");
        let expected = branch["satisfaction"]
            .as_f64()
            .map_or(String::new(), |s| s.to_string());
        let shown: Option<f64> = satisfaction[i].as_str().unwrap().parse().ok();
        assert_eq!(
            shown.map_or(String::new(), |s| s.to_string()),
            expected,
            "satisfaction of {row:?}"
        );
        assert_eq!(
            share[i],
            json!(branch["marketShareBp"]
                .as_i64()
                .map_or(String::new(), |s| s.to_string())),
            "market share of {row:?}"
        );
    }
    check_series(browser, "org-series", &d, months);
    d
}

/// The series panel `panel` (`org-series`, `branch-series`) shows the `months` points of the
/// API's answer `d`: the table row by row (the last point too), and what Chart.js drew for
/// customers, assets, net inflow, commission, and new and lost customers.
pub fn check_series(browser: &mut Browser, panel: &str, d: &Value, months: u32) {
    browser.wait_for(&format!(
        "[data-test={panel}][data-months=\"{months}\"] [data-test=series]"
    ));
    let series = d["series"].as_array().unwrap();
    assert_eq!(series.len(), months as usize, "the API's series");
    let rows = table_rows(browser, "series");
    assert_eq!(rows.len(), series.len(), "months shown");
    for (row, point) in rows.iter().zip(series) {
        let expected = vec![
            point["period"].as_str().unwrap().to_string(),
            point["customers"].to_string(),
            money(point["assets"].as_str().unwrap()),
            money(point["netInflow"].as_str().unwrap()),
            money(point["commission"].as_str().unwrap()),
            point["newCustomers"].to_string(),
            point["churned"].to_string(),
        ];
        assert_eq!(row, &expected, "the month {}", point["period"]);
    }
    // The last point is the dashboard's own month.
    let last = series.last().unwrap();
    assert_eq!(
        last["period"].as_str().unwrap(),
        &d["figures"]["period"].as_str().unwrap()[..7]
    );
    assert_eq!(
        rows.last().unwrap()[1],
        d["figures"]["customers"].to_string()
    );
    let periods: Vec<&Value> = series.iter().map(|p| &p["period"]).collect();
    for (chart, dataset, field) in [
        ("series-customers", 0, "customers"),
        ("series-assets", 0, "assets"),
        ("series-net-inflow", 0, "netInflow"),
        ("series-commission", 0, "commission"),
        ("series-customers-flow", 0, "newCustomers"),
        ("series-customers-flow", 1, "churned"),
    ] {
        let drawn = browser.eval(&format!(
            "(() => {{ const c = window.Chart.getChart(document.querySelector(
               '[data-test=chart-{chart}] canvas'));
               return c ? {{ labels: c.data.labels, data: c.data.datasets[{dataset}].data }} : null; }})()"
        ));
        assert_eq!(drawn["labels"], json!(periods), "the months of {chart}");
        let drawn: Vec<f64> = drawn["data"]
            .as_array()
            .unwrap_or_else(|| panic!("no chart {chart}"))
            .iter()
            .map(|v| v.as_f64().unwrap())
            .collect();
        let expected: Vec<f64> = series
            .iter()
            .map(|p| match &p[field] {
                Value::String(s) => s.parse().unwrap(),
                v => v.as_f64().unwrap(),
            })
            .collect();
        assert_eq!(drawn, expected, "{field} as {chart} drew it");
    }
}

/// The switch asks for `months` months: the series shown is then the API's of that length.
pub fn check_series_switch(
    browser: &mut Browser,
    demo: &Demo,
    token: &str,
    scope: &Value,
    months: u32,
) {
    check_series_switch_of(browser, demo, token, "org-series", scope, months);
}

/// [`check_series_switch`] on the series panel `panel` (`org-series`, `branch-series`).
pub fn check_series_switch_of(
    browser: &mut Browser,
    demo: &Demo,
    token: &str,
    panel: &str,
    scope: &Value,
    months: u32,
) {
    browser.click(&format!("[data-test=months-{months}]"));
    browser.wait_for(&format!("[data-test={panel}][data-months=\"{months}\"]"));
    let hash = browser.eval("window.location.hash");
    let hash = hash.as_str().unwrap();
    if months == 12 {
        assert!(!hash.contains("months="), "{hash}");
    } else {
        assert!(hash.contains(&format!("months={months}")), "{hash}");
    }
    let d = org_answer(demo, token, scope, months);
    check_series(browser, panel, &d, months);
}

/// The org dashboard on screen is live: a contact recorded through /graphql by `token`
/// changes its contacts figure to what `orgDashboard` then gives, without the page reloading.
pub fn check_org_live(browser: &mut Browser, demo: &Demo, token: &str, scope: &Value) {
    browser.wait_for("[data-test=org-dashboard] [data-test=live][data-state=live]");
    browser.eval("window.sameDocument = true");
    const CONTACTS: &str = "query ($s: OrgScopeInput!, $at: Long) {
        orgDashboard(scope: $s, atPosition: $at) { figures { contacts } } }";
    let contacts = |at: &Value| {
        demo.data(token, CONTACTS, json!({ "s": scope, "at": at }))["orgDashboard"]["figures"]
            ["contacts"]
            .clone()
    };
    let before = contacts(&Value::Null);
    assert_eq!(
        browser.text("[data-test=org-figures] [data-test=figure-contacts] .figure-value"),
        json!(before.to_string())
    );
    let customers = demo.data(token, super::CUSTOMERS, json!({ "filter": {} }));
    let customer = &customers["customers"]["edges"][0]["node"];
    let recorded = demo.data(
        token,
        "mutation ($c: ID!) { recordContact(customerId: $c, channel: PHONE, direction: OUTBOUND,
           topic: \"回访\", outcome: REACHED, notes: \"console org live test\") { position } }",
        json!({ "c": customer["customerId"] }),
    );
    let after = contacts(&recorded["recordContact"]["position"]);
    assert_ne!(after, before, "the contact counts on the org dashboard");
    assert_eq!(
        browser.text_settled(
            "[data-test=org-figures] [data-test=figure-contacts] .figure-value",
            &json!(after.to_string())
        ),
        json!(after.to_string()),
        "the live org dashboard's contacts"
    );
    assert_eq!(
        browser.eval("window.sameDocument === true"),
        json!(true),
        "reloaded"
    );
}
