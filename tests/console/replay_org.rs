//! The auditor's replay of a staff member (`staffPerformance` with `asOf`) and of a branch
//! (`branchDashboard` with `asOf`) in the browser, and the org dashboards' period picker.
//! A contact is recorded between an instant and now: the figures the page shows as of that
//! instant are the API's for it, those it shows now are the API's now, and the changed ones
//! are marked. A branch manager, whom the API refuses the log's past, sees that refusal. The
//! period picker shows the month picked, with figures, ranking, series and live answers the
//! API gives for that month.

use std::time::Duration;

use time::macros::format_description;
use time::OffsetDateTime;

use super::cdp::Browser;
use super::org::check_org_dashboard_of;
use super::*;

/// The staff member's figures the page compares, as the API names them.
const STAFF_FIELDS: &[&str] = &[
    "customersServed",
    "customersAtStart",
    "newCustomers",
    "churned",
    "churnRatePercent",
    "retentionPercent",
    "upgraded",
    "downgraded",
    "assets",
    "netInflow",
    "commission",
    "turnover",
    "contacts",
    "wonAmount",
    "averageContribution",
    "kpiComposite",
    "rankInBranch",
    "rankInCompany",
];

/// The branch's figures the page compares.
const BRANCH_FIELDS: &[&str] = &[
    "customers",
    "assets",
    "netInflow",
    "deposits",
    "withdrawals",
    "turnover",
    "commission",
    "newCustomers",
    "churned",
    "upgraded",
    "downgraded",
    "contacts",
    "inProfitPercent",
    "marketShareBp",
    "rankAmongBranches",
    "branchesRanked",
];

/// A staff member's (`staffPerformance`) or a branch's (`branchDashboard`) replay, and how
/// the page and the API name its parts.
struct Subject {
    field: &'static str,
    query: String,
    fields: &'static [&'static str],
    /// The replay's page (`replay-staff`, `replay-branch`).
    page: &'static str,
}

impl Subject {
    fn staff() -> Subject {
        Subject {
            field: "staffPerformance",
            query: format!(
                "query ($id: ID!, $period: PeriodInput, $asOf: DateTime, $at: Long) {{
                   staffPerformance(staffId: $id, period: $period, asOf: $asOf, atPosition: $at)
                   {{ name period {} }} }}",
                STAFF_FIELDS.join(" ")
            ),
            fields: STAFF_FIELDS,
            page: "replay-staff",
        }
    }

    fn branch() -> Subject {
        Subject {
            field: "branchDashboard",
            query: format!(
                "query ($id: ID!, $period: BranchPeriodInput, $asOf: DateTime, $at: Long) {{
                   branchDashboard(branchId: $id, period: $period, asOf: $asOf, atPosition: $at)
                   {{ name period {} }} }}",
                BRANCH_FIELDS.join(" ")
            ),
            fields: BRANCH_FIELDS,
            page: "replay-branch",
        }
    }

    /// The whole answer for `id` in `month`, as of `as_of` (null: now, at `at`).
    fn answer(&self, demo: &Demo, token: &str, id: &str, month: &str, as_of: &Value) -> Value {
        self.answer_at(demo, token, id, month, as_of, &Value::Null)
    }

    fn answer_at(
        &self,
        demo: &Demo,
        token: &str,
        id: &str,
        month: &str,
        as_of: &Value,
        at: &Value,
    ) -> Value {
        demo.answer(
            token,
            &self.query,
            json!({ "id": id, "period": { "month": month }, "asOf": as_of, "at": at }),
        )
    }

    /// The figures for `id` in `month` as of the instant `as_of`.
    fn then(&self, demo: &Demo, token: &str, id: &str, month: &str, as_of: &str) -> Value {
        self.figures(demo, token, id, month, &json!(as_of), &Value::Null)
    }

    /// The figures for `id` in `month` now, once the read side has reached `at`.
    fn now(&self, demo: &Demo, token: &str, id: &str, month: &str, at: &Value) -> Value {
        self.figures(demo, token, id, month, &Value::Null, at)
    }

    /// The figures for `id` in `month` as of `as_of` (null: now, at `at`); none is an error.
    fn figures(
        &self,
        demo: &Demo,
        token: &str,
        id: &str,
        month: &str,
        as_of: &Value,
        at: &Value,
    ) -> Value {
        let body = self.answer_at(demo, token, id, month, as_of, at);
        assert!(body.get("errors").is_none(), "{body}");
        let figures = body["data"][self.field].clone();
        assert!(figures.is_object(), "no {} for {id}: {body}", self.field);
        figures
    }
}

/// An instant to the second that every event recorded so far precedes (the clock has passed
/// it when this returns), as the datetime input takes it (UTC) and as the API does.
fn instant_after_the_log() -> (String, String) {
    let at = OffsetDateTime::now_utc().replace_nanosecond(0).unwrap() + time::Duration::SECOND;
    while OffsetDateTime::now_utc() < at + time::Duration::milliseconds(100) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let input = at
        .format(format_description!(
            "[year]-[month]-[day]T[hour]:[minute]:[second]"
        ))
        .unwrap();
    let rfc3339 = format!("{input}Z");
    (input, rfc3339)
}

/// The values the API gives for the page's `data-value`: a number or a string as written, ""
/// for null; numbers compare as numbers (JavaScript writes 5.0 as "5").
fn same_value(shown: &Value, api: &Value) -> bool {
    let shown = shown.as_str().unwrap_or_default();
    match api {
        Value::Null => shown.is_empty(),
        Value::String(s) => shown == s,
        Value::Number(n) => shown.parse::<f64>().ok() == n.as_f64(),
        Value::Bool(b) => shown.parse::<bool>().ok() == Some(*b),
        other => panic!("no figure the page compares is {other}"),
    }
}

/// The comparison on screen shows `then` beside `now`, field by field, a field marked changed
/// exactly when the two differ. Returns the fields marked changed.
fn check_comparison(
    browser: &mut Browser,
    subject: &Subject,
    then: &Value,
    now: &Value,
) -> Vec<String> {
    let mut changed = Vec::new();
    for field in subject.fields {
        let row = format!("[data-test=replay-figures] [data-test=row-{field}]");
        let then_shown = browser.attribute(&format!("{row} [data-test=then]"), "data-value");
        assert!(
            same_value(&then_shown, &then[field]),
            "{field} as of the instant: {then_shown} shown, the API's {}",
            then[field]
        );
        let now_shown = browser.attribute(&format!("{row} [data-test=now]"), "data-value");
        assert!(
            same_value(&now_shown, &now[field]),
            "{field} now: {now_shown} shown, the API's {}",
            now[field]
        );
        let marked = browser.attribute(&row, "data-changed") == json!("true");
        assert_eq!(marked, then[field] != now[field], "{field} marked changed");
        if marked {
            changed.push(field.to_string());
        }
    }
    assert_eq!(
        browser.text("[data-test=changed-count]"),
        json!(changed.len().to_string())
    );
    changed
}

/// On the replay page of `subject` (the form open), picks `month` and the instant `input`,
/// submits, and waits for the comparison as of `as_of`.
fn replay_on_the_page(browser: &mut Browser, month: &str, input: &str, as_of: &str) {
    browser.choose("[data-test=replay-period]", month);
    browser.type_into("[data-test=replay-as-of]", input);
    browser.wait_for("[data-test=replay-go]:not([disabled])");
    browser.click("[data-test=replay-go]");
    browser.wait_for(&format!(
        "[data-test=replay-figures][data-as-of=\"{as_of}\"][data-period=\"{month}\"] [data-test=compare]"
    ));
}

/// What the replays are of: a customer with a manager, their manager and branch.
struct Replayed {
    customer: String,
    staff: String,
    branch: String,
}

fn a_managed_customer(demo: &Demo, token: &str) -> Replayed {
    let customers = demo.data(
        token,
        "{ customers(orderBy: ASSETS_DESC, first: 50) {
            edges { node { customerId manager { id } branch { id } } } } }",
        json!({}),
    );
    let node = customers["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| &edge["node"])
        .find(|c| c["manager"]["id"].is_string() && c["branch"]["id"].is_string())
        .expect("the demo has a customer with a manager");
    Replayed {
        customer: node["customerId"].as_str().unwrap().to_string(),
        staff: node["manager"]["id"].as_str().unwrap().to_string(),
        branch: node["branch"]["id"].as_str().unwrap().to_string(),
    }
}

/// The auditor (signed in) replays the manager of a customer and their branch as of an
/// instant before a contact headquarters then records for that customer: the page shows the
/// API's figures as of the instant and now, the contacts marked changed. Then a branch
/// manager opening the same replays sees the API's refusal.
pub(crate) fn check_org_replays(browser: &mut Browser, demo: &Demo) {
    let auditor = demo.token("auditor");
    let hq = demo.token("hq");
    let who = a_managed_customer(demo, &hq);
    demo.wait_caught_up();
    let (input, as_of) = instant_after_the_log();
    let recorded = demo.data(
        &hq,
        "mutation ($c: ID!) { recordContact(customerId: $c, channel: PHONE, direction: OUTBOUND,
           topic: \"回访\", outcome: REACHED, notes: \"console replay test\") { position } }",
        json!({ "c": who.customer }),
    );
    let at = recorded["recordContact"]["position"].clone();
    // The page asks for no position: it reads once the read models have the contact.
    demo.wait_caught_up();

    let staff = Subject::staff();
    let branch = Subject::branch();
    // The month the contact falls in: the latest, the API's default.
    let latest = demo.data(
        &auditor,
        "query ($b: ID!) { branchDashboard(branchId: $b) { period } }",
        json!({ "b": who.branch }),
    );
    let month = latest["branchDashboard"]["period"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(month.len(), 7, "a month: {month}");

    // The staff member: reached from the replay page's tabs, picked by branch and name.
    open(browser, "#/replay", "[data-test=replay-tabs]");
    browser.click("[data-test=replay-tab-replay-staff]");
    browser.wait_for("[data-test=page-replay-staff] [data-test=replay-staff-branch] option");
    browser.wait_for(&format!(
        "[data-test=replay-staff-branch] option[value=\"{}\"]",
        who.branch
    ));
    browser.choose("[data-test=replay-staff-branch]", &who.branch);
    browser.wait_for(&format!(
        "[data-test=replay-staff] option[value=\"{}\"]",
        who.staff
    ));
    browser.choose("[data-test=replay-staff]", &who.staff);
    replay_on_the_page(browser, &month, &input, &as_of);
    let then = staff.then(demo, &auditor, &who.staff, &month, &as_of);
    let now = staff.now(demo, &auditor, &who.staff, &month, &at);
    assert_eq!(
        now["contacts"].as_i64(),
        then["contacts"].as_i64().map(|n| n + 1),
        "the contact counts for the manager: {then} / {now}"
    );
    assert_eq!(browser.text("[data-test=replay-name]"), now["name"]);
    assert_eq!(
        browser.text("[data-test=then-instant]"),
        json!(as_of.replace('T', " ").replace('Z', " UTC"))
    );
    let changed = check_comparison(browser, &staff, &then, &now);
    assert!(changed.contains(&"contacts".to_string()), "{changed:?}");
    assert_eq!(
        browser.attribute("[data-test=nav-replay]", "class"),
        json!("active")
    );
    shoot(browser, "replay-staff");

    // The branch: the same instant and month.
    browser.click("[data-test=replay-tab-replay-branch]");
    browser.wait_for(&format!(
        "[data-test=page-replay-branch] [data-test=replay-branch] option[value=\"{}\"]",
        who.branch
    ));
    browser.choose("[data-test=replay-branch]", &who.branch);
    replay_on_the_page(browser, &month, &input, &as_of);
    let then = branch.then(demo, &auditor, &who.branch, &month, &as_of);
    let now = branch.now(demo, &auditor, &who.branch, &month, &at);
    assert_eq!(
        now["contacts"].as_i64(),
        then["contacts"].as_i64().map(|n| n + 1),
        "the contact counts for the branch: {then} / {now}"
    );
    let changed = check_comparison(browser, &branch, &then, &now);
    assert!(changed.contains(&"contacts".to_string()), "{changed:?}");
    shoot(browser, "replay-branch");

    the_replays_refused(browser, demo, &who, &month, &as_of);
}

/// A branch manager may not read the log's past: opening either replay shows the API's
/// refusal (FORBIDDEN, with its reason) and no figures.
fn the_replays_refused(
    browser: &mut Browser,
    demo: &Demo,
    who: &Replayed,
    month: &str,
    as_of: &str,
) {
    let manager = demo.token("branch-manager");
    browser.click("[data-test=sign-out]");
    browser.wait_for("[data-test=page-sign-in] [data-test=token]");
    browser.type_into("[data-test=token]", &manager);
    browser.click("[data-test=sign-in]");
    browser.wait_for("[data-test=page-dashboard]");
    for (subject, id) in [
        (Subject::staff(), &who.staff),
        (Subject::branch(), &who.branch),
    ] {
        let refused = subject.answer(demo, &manager, id, month, &json!(as_of));
        let error = &refused["errors"][0];
        assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{refused}");
        open(
            browser,
            &format!(
                "#/{}/{id}?period={month}&asOf={}",
                subject.page,
                urlencode(as_of)
            ),
            "[data-test=replay-refused] [data-test=then-failure] [data-test=forbidden]",
        );
        assert_eq!(
            browser.text("[data-test=then-failure] [data-test=api-message]"),
            error["message"],
            "the API's reason"
        );
        assert_eq!(browser.text("[data-test=compare]"), Value::Null);
    }
}

/// The value of the input at `selector` (a property, not an attribute, for Preact).
fn input_value(browser: &mut Browser, selector: &str) -> Value {
    browser.eval(&format!(
        "(() => {{ const e = document.querySelector({}); return e ? e.value : null; }})()",
        json!(selector)
    ))
}

/// The month before `month` (YYYY-MM).
fn month_before(month: &str) -> String {
    let (year, m) = month.split_once('-').unwrap();
    let (year, m): (i32, u32) = (year.parse().unwrap(), m.parse().unwrap());
    if m == 1 {
        format!("{}-12", year - 1)
    } else {
        format!("{year}-{:02}", m - 1)
    }
}

/// On the company's dashboard (open, latest month), `token` picks the month before: the
/// period, figures, ranking and series shown — after the live subscription's first answer —
/// are the API's for that month; 最新月份 goes back to the latest.
pub(crate) fn check_period_picker(browser: &mut Browser, demo: &Demo, token: &str) {
    let company = json!({ "company": true });
    browser.wait_for("[data-test=org-dashboard][data-scope=COMPANY]");
    browser.wait_for("[data-test=page-dashboard] [data-test=org-period]");
    let latest = super::org::org_answer(demo, token, &company, 12)["figures"]["period"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        input_value(browser, "[data-test=org-period]"),
        json!(latest),
        "the picker shows the month shown"
    );
    let chosen = month_before(&latest);
    browser.choose("[data-test=org-period]", &chosen);
    assert_eq!(
        browser.text_settled(
            "[data-test=org-dashboard] [data-test=period]",
            &json!(chosen)
        ),
        json!(chosen)
    );
    let hash = browser.eval("window.location.hash");
    assert!(
        hash.as_str().unwrap().contains(&format!("period={chosen}")),
        "{hash}"
    );
    // The live subscription's answers replace the first one: they are the chosen month's too.
    browser.wait_for(
        "[data-test=org-dashboard] [data-test=live][data-state=live]:not([data-updates=\"0\"])",
    );
    let d = check_org_dashboard_of(
        browser,
        demo,
        token,
        &company,
        12,
        &json!({ "month": chosen }),
    );
    assert_eq!(d["figures"]["period"], json!(chosen));
    assert_eq!(
        input_value(browser, "[data-test=org-period]"),
        json!(chosen)
    );
    shoot(browser, "dashboard-period");
    browser.click("[data-test=org-period-latest]");
    assert_eq!(
        browser.text_settled(
            "[data-test=org-dashboard] [data-test=period]",
            &json!(latest)
        ),
        json!(latest)
    );
    check_org_dashboard_of(browser, demo, token, &company, 12, &Value::Null);
}
