//! The appraisal page (绩效考核) in the browser: the leaderboard of the token's own scope
//! with each KPI term, and a period sealed by two headquarters staff members.

use super::*;

const LEADERBOARD: &str = "query ($scope: LeaderboardScopeInput!) {
    leaderboard(scope: $scope, first: 100) { staffId branchId period kpiComposite
      kpi { terms { name points } } } }";

/// The token's own scope as a leaderboard's: the company, its region, its team or its branch.
pub(crate) fn own_scope(demo: &Demo, token: &str) -> Value {
    let me = demo.data(
        token,
        "{ me { scope { kind regionId branchId teamId } } }",
        json!({}),
    );
    let s = &me["me"]["scope"];
    match s["kind"].as_str().unwrap() {
        "COMPANY" => json!({ "company": true }),
        "REGION" => json!({ "regionId": s["regionId"] }),
        "BOOK" if !s["teamId"].is_null() => json!({ "teamId": s["teamId"] }),
        _ => json!({ "branchId": s["branchId"] }),
    }
}

fn number(value: &Value) -> f64 {
    match value {
        Value::String(s) => s.parse().unwrap(),
        other => other.as_f64().unwrap(),
    }
}

/// A leaderboard row as the page shows it: the staff id, the composite, and each term's
/// name and points (the page's attribute values).
type ShownRank = (String, String, Vec<(String, String)>);

/// The appraisal page shows `token` the leaderboard /graphql gives it for its own scope: the
/// same people in the same order, each KPI term's points and the composite, and the first
/// person's terms explained. Returns the API's leaderboard.
pub(crate) fn check_leaderboard(browser: &mut Browser, demo: &Demo, token: &str) -> Vec<Value> {
    open(browser, "#/appraisal", "[data-test=appraisal]");
    browser.wait_for(
        "[data-test=leaderboard], [data-test=leaderboard-empty], [data-test=appraisal] .failure",
    );
    let api = demo.data(
        token,
        LEADERBOARD,
        json!({ "scope": own_scope(demo, token) }),
    );
    let api = api["leaderboard"].as_array().unwrap().clone();
    assert!(!api.is_empty(), "the demo has people to rank");
    let shown = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=leaderboard] tbody tr')).map((tr) => [
           tr.querySelector('[data-test=lb-name]').dataset.staff,
           tr.querySelector('[data-test=lb-composite]').dataset.value,
           Array.from(tr.querySelectorAll('[data-test=lb-points]')).map((p) => [p.dataset.term, p.dataset.value])])",
    );
    let shown: Vec<ShownRank> = serde_json::from_value(shown).unwrap();
    assert_eq!(shown.len(), api.len(), "people ranked");
    for ((staff, composite, points), row) in shown.iter().zip(&api) {
        assert_eq!(staff, row["staffId"].as_str().unwrap());
        assert_eq!(
            number(&json!(composite)),
            number(&row["kpiComposite"]),
            "{staff}"
        );
        let terms = row["kpi"]["terms"].as_array().unwrap();
        assert_eq!(points.len(), terms.len(), "{staff}'s terms");
        for ((name, value), term) in points.iter().zip(terms) {
            assert_eq!(name, term["name"].as_str().unwrap());
            assert_eq!(
                number(&json!(value)),
                number(&term["points"]),
                "{staff} {name}"
            );
        }
    }
    assert_eq!(
        browser.text("[data-test=appraisal-period]"),
        api[0]["period"]
    );
    assert_eq!(
        browser.attribute("[data-test=kpi-explanation]", "data-staff"),
        api[0]["staffId"]
    );
    assert_eq!(
        browser.text("[data-test=kpi-composite]"),
        json!(format!("{:.2}", number(&api[0]["kpiComposite"])))
    );
    browser.wait_for("[data-test=chart-leaderboard] canvas");
    api
}

/// The month before `period` (`YYYY-MM`).
fn month_before(period: &str) -> String {
    let (year, month) = period.split_once('-').unwrap();
    let (year, month): (i32, u32) = (year.parse().unwrap(), month.parse().unwrap());
    if month == 1 {
        format!("{}-12", year - 1)
    } else {
        format!("{year}-{:02}", month - 1)
    }
}

/// Headquarters proposes sealing the month before `latest`, a second headquarters staff
/// member seals it, and the appraisal page shows the sealed results /graphql gives.
pub(crate) fn check_sealed_period(browser: &mut Browser, demo: &Demo, latest: &str) {
    let hq = demo.token("hq");
    let period = month_before(latest);
    demo.data(
        &hq,
        "mutation ($p: String!) { proposeAppraisalSeal(period: $p) { position } }",
        json!({ "p": period }),
    );
    // Four eyes: a second headquarters staff member, with a token of their own.
    let second = uuid::Uuid::now_v7().to_string();
    demo.data(
        &hq,
        "mutation ($s: ID!) { joinStaff(staffId: $s, name: \"复核人\", role: HEADQUARTERS,
           scope: { company: true }) { position } }",
        json!({ "s": second }),
    );
    let minted = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(&demo.data_dir)
        .args(["token", "--role", "hq", "--staff", &second])
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    let second_hq = String::from_utf8(minted.stdout).unwrap().trim().to_string();
    const PERIOD: &str = "query ($p: String!) { appraisalPeriod(period: $p) { status
        resultsHash teamsHash approvedBy results { staffId composite rankInCompany }
        teams { teamId composite rank } } }";
    let proposed = demo.data(&hq, PERIOD, json!({ "p": period }));
    // The approver names the results and the team figures (the demo's teams have leads).
    demo.data(
        &second_hq,
        "mutation ($p: String!, $h: String!, $t: String) { approveAppraisalSeal(period: $p,
           resultsHash: $h, teamsHash: $t) { position } }",
        json!({ "p": period, "h": proposed["appraisalPeriod"]["resultsHash"],
                "t": proposed["appraisalPeriod"]["teamsHash"] }),
    );
    let sealed = demo.data(&hq, PERIOD, json!({ "p": period }))["appraisalPeriod"].clone();
    assert_eq!(sealed["status"], "SEALED");

    // The page read the periods before the seal: open it afresh.
    open(browser, "#/dashboard", "[data-test=page-dashboard]");
    open(
        browser,
        "#/appraisal",
        "[data-test=periods] [data-test=period-link]",
    );
    browser.click("[data-test=period-link]");
    browser.wait_for(&format!(
        "[data-test=period-results][data-period=\"{period}\"][data-status=SEALED]"
    ));
    assert_eq!(
        browser.attribute("[data-test=period-approved-by]", "data-value"),
        sealed["approvedBy"]
    );
    let shown = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=results] tbody tr')).map((tr) => [
           tr.cells[0].textContent.trim(),
           tr.querySelector('[data-test=result-staff]').dataset.staff,
           tr.querySelector('[data-test=result-composite]').dataset.value])",
    );
    let shown: Vec<(String, String, String)> = serde_json::from_value(shown).unwrap();
    let results = sealed["results"].as_array().unwrap();
    assert!(!results.is_empty(), "{sealed}");
    assert_eq!(shown.len(), results.len(), "people sealed");
    for ((rank, staff, composite), r) in shown.iter().zip(results) {
        assert_eq!(rank, &r["rankInCompany"].to_string());
        assert_eq!(staff, r["staffId"].as_str().unwrap());
        assert_eq!(
            number(&json!(composite)),
            number(&r["composite"]),
            "{staff}"
        );
    }
    // The team figures sealed with them, in rank order.
    let shown = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=team-results] tbody tr')).map((tr) => [
           tr.querySelector('[data-test=team-result]').dataset.team,
           tr.querySelector('[data-test=team-composite]').dataset.value])",
    );
    let shown: Vec<(String, String)> = serde_json::from_value(shown).unwrap();
    let teams = sealed["teams"].as_array().unwrap();
    assert!(!teams.is_empty(), "the demo's teams have leads: {sealed}");
    assert_eq!(shown.len(), teams.len(), "teams sealed");
    for ((team, composite), t) in shown.iter().zip(teams) {
        assert_eq!(team, t["teamId"].as_str().unwrap());
        assert_eq!(number(&json!(composite)), number(&t["composite"]), "{team}");
    }
}
