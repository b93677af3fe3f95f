//! The rules page (规则) in the browser: the four-eyes states of a rules version, a preview
//! job started on the page with its progress over the `jobProgress` subscription and its diff,
//! switch and rollback for the operator; none of these for headquarters, who reads the rules
//! but may not run jobs. The version buttons: a version one operator proposed is approved and
//! activated by a second through the page, another rejected, and the proposer approving their
//! own version sees the API's four-eyes refusal.

use super::*;

const RULES: &str = "query ($at: Long) { rules(atPosition: $at) { version pendingVersion
    versions { version status proposedBy approvedBy } } }";

/// Version 2 of the rules: the default file with every tier threshold lowered, so a preview
/// of it moves customers up.
fn rules_version_2() -> String {
    include_str!("../../schema/rules.default.toml")
        .replacen("version = 1", "version = 2", 1)
        .replacen("diamond = 80", "diamond = 40", 1)
        .replacen("gold = 55", "gold = 20", 1)
        .replacen("silver = 30", "silver = 5", 1)
}

/// The rules page's versions show what /graphql gives `token` at `at`: each version's status,
/// proposer and approver; the pending version.
pub(crate) fn check_rule_versions(browser: &mut Browser, demo: &Demo, token: &str, at: &Value) {
    let rules = demo.data(token, RULES, json!({ "at": at }))["rules"].clone();
    for v in rules["versions"].as_array().unwrap() {
        let n = v["version"].as_i64().unwrap();
        let status = browser.attribute_settled(
            &format!("[data-test=status-{n}]"),
            "data-value",
            &v["status"],
        );
        assert_eq!(status, v["status"], "version {n}'s status");
        assert_eq!(
            browser.attribute(&format!("[data-test=proposed-by-{n}]"), "data-value"),
            v["proposedBy"]
        );
        let approved = v["approvedBy"].as_str().unwrap_or("");
        assert_eq!(
            browser.attribute(&format!("[data-test=approved-by-{n}]"), "data-value"),
            json!(approved)
        );
    }
    let pending = rules["pendingVersion"]
        .as_i64()
        .map_or(String::new(), |v| v.to_string());
    assert_eq!(
        browser.attribute("[data-test=figure-pending-version]", "data-value"),
        json!(pending)
    );
}

const JOB: &str = "query ($id: ID!) { job(id: $id) { state done target preview {
    fromRulesVersion toRulesVersion customersCompared customersChangingTier
    tierMoves { from to count } rankingMoves { name rankFrom rankTo } } } }";

/// The operator's rules page: version 2 proposed by the operator and approved and activated
/// by headquarters (four eyes) shows each state as /graphql gives it; then the preview, switch
/// and rollback ([`check_preview_and_switch`]).
pub(crate) fn check_rules_operator(browser: &mut Browser, demo: &Demo) {
    let operator = demo.token("operator");
    let hq = demo.token("hq");
    let rule_set = uuid::Uuid::now_v7().to_string();
    const PROPOSE: &str = "mutation ($r: ID!, $c: String!) {
        proposeRules(ruleSetId: $r, version: 2, content: $c) { position } }";
    let proposed = demo.data(
        &operator,
        PROPOSE,
        json!({ "r": rule_set, "c": rules_version_2() }),
    );
    browser.click("[data-test=sign-out]");
    browser.wait_for("[data-test=page-sign-in] [data-test=demo-operator]");
    browser.click("[data-test=demo-operator]");
    browser.wait_for("[data-test=nav-rules]");
    // Once the read models have the proposal, the page (which asks for no position) shows it.
    let at = proposed["proposeRules"]["position"].clone();
    demo.data(&operator, RULES, json!({ "at": at }));
    open(browser, "#/rules", "[data-test=rules] [data-test=status-2]");
    check_rule_versions(browser, demo, &operator, &at);
    assert_eq!(
        browser.attribute("[data-test=status-2]", "data-value"),
        "PROPOSED"
    );
    let mut at = Value::Null;
    for step in ["approveRules", "activateRules"] {
        let done = demo.data(
            &hq,
            &format!("mutation ($r: ID!) {{ {step}(ruleSetId: $r, version: 2) {{ position }} }}"),
            json!({ "r": rule_set }),
        );
        at = done[step]["position"].clone();
    }
    demo.data(&operator, RULES, json!({ "at": at }));
    open(browser, "#/dashboard", "[data-test=page-dashboard]");
    open(browser, "#/rules", "[data-test=rules] [data-test=status-2]");
    check_rule_versions(browser, demo, &operator, &at);
    assert_eq!(
        browser.attribute("[data-test=status-2]", "data-value"),
        "ACTIVE"
    );
    // The operator proposed it and someone else approved it: the page marks only the first.
    browser.wait_for("[data-test=proposed-by-2-me]");
    assert_eq!(browser.text("[data-test=approved-by-2-me]"), Value::Null);
    check_preview_and_switch(browser, demo, &operator);
}

/// On the rules page, a preview of version 2 shows its progress and then the diff the API
/// gives for that job; switch makes version 2 current, rollback returns to version 1, and a
/// second switch (nothing previewed now) shows the API's refusal.
fn check_preview_and_switch(browser: &mut Browser, demo: &Demo, operator: &str) {
    // Preview version 2: progress, then the diff the API gives for that job. (The preview
    // form shows once `jobs` has answered.)
    browser.wait_for("[data-test=preview-form] [data-test=preview-source]");
    browser.choose("[data-test=preview-source]", "v2");
    browser.click("[data-test=preview-start]");
    browser.wait_for("[data-test=job] [data-test=job-progress]");
    browser.wait_for("[data-test=job][data-state=SUCCEEDED] [data-test=preview-diff]");
    let id = browser.attribute("[data-test=job]", "data-id");
    let job = demo.data(operator, JOB, json!({ "id": id }))["job"].clone();
    let p = &job["preview"];
    assert_eq!(job["state"], "SUCCEEDED");
    check_progress_was_live(browser, &job, id.as_str().unwrap());
    let figure =
        |b: &mut Browser, test: &str| b.text(&format!("[data-test=figure-{test}] .figure-value"));
    assert_eq!(
        figure(browser, "customers-changing-tier"),
        json!(p["customersChangingTier"].to_string())
    );
    assert_eq!(
        figure(browser, "customers-compared"),
        json!(p["customersCompared"].to_string())
    );
    assert_eq!(
        figure(browser, "preview-rules"),
        json!(format!(
            "{} → {}",
            p["fromRulesVersion"], p["toRulesVersion"]
        ))
    );
    let moves = p["tierMoves"].as_array().unwrap();
    assert!(!moves.is_empty(), "lower thresholds move customers: {p}");
    let shown = table_rows(browser, "tier-moves");
    let counts: Vec<String> = shown.iter().map(|r| r[2].clone()).collect();
    let expected: Vec<String> = moves.iter().map(|m| m["count"].to_string()).collect();
    assert_eq!(counts, expected, "tier moves");
    let shown = table_rows(browser, "ranking-moves");
    let expected: Vec<Vec<String>> = p["rankingMoves"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            vec![
                r["name"].as_str().unwrap().to_string(),
                r["rankFrom"].to_string(),
                r["rankTo"].to_string(),
            ]
        })
        .collect();
    let names_ranks: Vec<Vec<String>> = shown.iter().map(|r| r[..3].to_vec()).collect();
    assert_eq!(names_ranks, expected, "ranking moves");
    browser.wait_for("[data-test=chart-tier-moves] canvas");
    shoot(browser, "rules-operator");

    // Switch: version 2 serves; roll back: version 1 again.
    browser.click("[data-test=switch]");
    browser.wait_for("[data-test=switched][data-key=switchReadModels][data-rules-version=\"2\"]");
    let now = demo.data(operator, "{ rules { version } }", json!({}));
    assert_eq!(now["rules"]["version"], 2);
    assert_eq!(
        browser.text_settled(
            "[data-test=figure-rules-version] .figure-value",
            &json!("2")
        ),
        json!("2")
    );
    browser.click("[data-test=rollback]");
    browser.wait_for("[data-test=switched][data-key=rollbackReadModels][data-rules-version=\"1\"]");
    let now = demo.data(operator, "{ rules { version } }", json!({}));
    assert_eq!(now["rules"]["version"], 1);

    // Nothing previewed now: the API refuses a switch, and the page says why.
    let refused = demo.answer(
        operator,
        "mutation { switchReadModels { generation } }",
        json!({}),
    );
    let code = refused["errors"][0]["extensions"]["code"].clone();
    assert_eq!(code, "CONFLICT", "{refused}");
    browser.click("[data-test=switch]");
    browser.wait_for("[data-test=switch-refused] [data-test=api-refused]");
    assert_eq!(
        browser.attribute("[data-test=api-refused]", "data-code"),
        code
    );
    let said = browser.text("[data-test=api-refused]");
    let message = refused["errors"][0]["message"].as_str().unwrap();
    assert!(
        said.as_str().unwrap().ends_with(message),
        "{said} does not say {message}"
    );

    // Thresholds out of order are the API's to refuse (VALIDATION), and the page says so.
    browser.choose("[data-test=preview-source]", "tiers");
    for (name, value) in [("diamond", "400"), ("gold", "20"), ("silver", "5")] {
        browser.type_into(&format!("[data-test=preview-{name}]"), value);
    }
    browser.click("[data-test=preview-start]");
    browser.wait_for("[data-test=preview-refused] [data-test=api-refused]");
    assert_eq!(
        browser.attribute(
            "[data-test=preview-refused] [data-test=api-refused]",
            "data-code"
        ),
        "VALIDATION"
    );
}

/// The preview job `id` (finished as `job` says) reached its end on the page through the
/// `jobProgress` subscription: the page's last report from it is the finished state with the
/// job's `done`, which the page shows; the page received it over the WebSocket; and it read
/// `job(id)` once (for the diff, after the subscription ended), never polling it.
fn check_progress_was_live(browser: &mut Browser, job: &Value, id: &str) {
    let live = format!(
        "[data-test=job][data-live-state={}]",
        job["state"].as_str().unwrap()
    );
    browser.wait_for(&live);
    assert_eq!(
        browser.attribute("[data-test=job]", "data-live-done"),
        json!(job["done"].to_string()),
        "the last progress the subscription reported"
    );
    assert_eq!(
        browser.text("[data-test=job-done]"),
        json!(job["done"].to_string())
    );
    assert_eq!(
        job["done"], job["target"],
        "a finished preview folded everything"
    );
    let reports: Vec<Value> = browser
        .ws_received
        .iter()
        .filter_map(|m| serde_json::from_str::<Value>(m).ok())
        .filter(|m| m["type"] == "next")
        .map(|m| m["payload"]["data"]["jobProgress"].clone())
        .filter(|p| p["id"] == json!(id))
        .collect();
    assert!(
        reports.last().is_some_and(|p| p["state"] == job["state"]),
        "the subscription's reports of {id}: {reports:?}"
    );
    let reads = browser
        .bodies
        .iter()
        .filter_map(|b| serde_json::from_str::<Value>(b).ok())
        .filter(|b| {
            b["query"]
                .as_str()
                .is_some_and(|q| q.contains("job(id: $id)"))
                && b["variables"]["id"] == json!(id)
        })
        .count();
    assert_eq!(
        reads, 1,
        "job({id}) reads: the page polled, or never read the diff"
    );
}

/// A rules file of `version`: the default one renumbered.
fn rules_version(version: u32) -> String {
    include_str!("../../schema/rules.default.toml").replacen(
        "version = 1",
        &format!("version = {version}"),
        1,
    )
}

/// The version buttons: the operator proposes versions 3 and 4 (through the API, in the
/// company's rule set, which the page names as the API does); on the page the operator's own
/// approval of 3 shows the API's four-eyes refusal; a second operator approves and activates 3
/// and rejects 4 through the page, which then shows what /graphql gives.
pub(crate) fn check_four_eyes_buttons(browser: &mut Browser, demo: &Demo) {
    let operator = demo.token("operator");
    let hq = demo.token("hq");
    let versions = demo.data(
        &operator,
        "{ rules { versions { ruleSetId version } } }",
        json!({}),
    );
    let rule_set = versions["rules"]["versions"][0]["ruleSetId"].clone();
    const PROPOSE: &str = "mutation ($r: ID!, $v: Int!, $c: String!) {
        proposeRules(ruleSetId: $r, version: $v, content: $c) { position } }";
    for version in [3, 4] {
        demo.data(
            &operator,
            PROPOSE,
            json!({ "r": rule_set, "v": version, "c": rules_version(version) }),
        );
    }
    // A second operator, with a token of their own.
    let second = uuid::Uuid::now_v7().to_string();
    demo.data(
        &hq,
        "mutation ($s: ID!) { joinStaff(staffId: $s, name: \"复核运维\", role: OPERATOR,
           scope: { company: true }) { position } }",
        json!({ "s": second }),
    );
    let minted = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(&demo.data_dir)
        .args(["token", "--role", "operator", "--staff", &second])
        .output()
        .unwrap();
    assert!(minted.status.success(), "{minted:?}");
    let second_op = String::from_utf8(minted.stdout).unwrap().trim().to_string();

    // The proposer approves their own version: the API refuses (four eyes), the page says so.
    browser.click("[data-test=sign-out]");
    browser.wait_for("[data-test=page-sign-in] [data-test=demo-operator]");
    browser.click("[data-test=demo-operator]");
    browser.wait_for("[data-test=nav-rules]");
    let at = demo.data(&operator, "{ reflects { position } }", json!({}))["reflects"]["position"]
        .clone();
    demo.data(&operator, RULES, json!({ "at": at }));
    open(
        browser,
        "#/rules",
        "[data-test=rules] [data-test=approve-3]",
    );
    assert_eq!(
        browser.attribute("[data-test=actions-3]", "data-rule-set"),
        rule_set,
        "the page's rule set id is the API's"
    );
    browser.click("[data-test=approve-3]");
    browser.wait_for("[data-test=version-refused-3] [data-test=forbidden]");
    let own = demo.answer(
        &operator,
        "mutation ($r: ID!) { approveRules(ruleSetId: $r, version: 3) { position } }",
        json!({ "r": rule_set }),
    );
    let refusal = &own["errors"][0];
    assert_eq!(refusal["extensions"]["code"], "FORBIDDEN", "{own}");
    assert!(
        refusal["message"].as_str().unwrap().contains("four eyes"),
        "{own}"
    );
    assert_eq!(
        browser.text("[data-test=version-refused-3] [data-test=api-message]"),
        refusal["message"]
    );
    assert_eq!(
        browser.attribute("[data-test=status-3]", "data-value"),
        "PROPOSED"
    );
    shoot(browser, "rules-four-eyes-refused");

    // The second operator approves and activates 3, and rejects 4, on the page.
    browser.click("[data-test=sign-out]");
    browser.wait_for("[data-test=page-sign-in] [data-test=token]");
    browser.type_into("[data-test=token]", &second_op);
    browser.click("[data-test=sign-in]");
    browser.wait_for("[data-test=nav-rules]");
    open(
        browser,
        "#/rules",
        "[data-test=rules] [data-test=approve-3]",
    );
    browser.click("[data-test=approve-3]");
    browser.wait_for("[data-test=status-3][data-value=APPROVED]");
    browser.wait_for("[data-test=approved-by-3-me]");
    browser.click("[data-test=activate-3]");
    browser.wait_for("[data-test=status-3][data-value=ACTIVE]");
    browser.type_into("[data-test=reject-reason-4]", "与版本3相同，无需启用");
    browser.click("[data-test=reject-4]");
    browser.wait_for("[data-test=status-4][data-value=REJECTED]");
    let at = demo.data(&second_op, "{ reflects { position } }", json!({}))["reflects"]["position"]
        .clone();
    check_rule_versions(browser, demo, &second_op, &at);
    let rules = demo.data(&second_op, RULES, json!({ "at": at }))["rules"].clone();
    let three = rules["versions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["version"] == 3)
        .unwrap()
        .clone();
    assert_eq!(three["status"], "ACTIVE");
    assert_eq!(plain(three["approvedBy"].as_str().unwrap()), plain(&second));
    assert_eq!(rules["pendingVersion"], 3);
    assert_eq!(browser.text("[data-test=version-refused-3]"), Value::Null);
    shoot(browser, "rules-four-eyes");
}

/// Headquarters reads the rules but may not preview, switch or roll back: the API refuses
/// it those, and the page offers none of them.
pub(crate) fn check_rules_hq(browser: &mut Browser, demo: &Demo) {
    let hq = demo.token("hq");
    for mutation in ["switchReadModels", "rollbackReadModels"] {
        let refused = demo.answer(
            &hq,
            &format!("mutation {{ {mutation} {{ generation }} }}"),
            json!({}),
        );
        assert_eq!(
            refused["errors"][0]["extensions"]["code"], "FORBIDDEN",
            "{refused}"
        );
    }
    browser.click("[data-test=sign-out]");
    browser.wait_for("[data-test=page-sign-in] [data-test=demo-hq]");
    browser.click("[data-test=demo-hq]");
    browser.wait_for("[data-test=nav-rules]");
    open(
        browser,
        "#/rules",
        "[data-test=rules] [data-test=operate-hidden]",
    );
    let at = demo.data(&hq, "{ reflects { position } }", json!({}))["reflects"]["position"].clone();
    check_rule_versions(browser, demo, &hq, &at);
    // Headquarters approved version 2, which the operator proposed.
    browser.wait_for("[data-test=approved-by-2-me]");
    assert_eq!(browser.text("[data-test=proposed-by-2-me]"), Value::Null);
    for control in ["switch", "rollback", "preview-start", "preview-form"] {
        assert_eq!(
            browser.eval(&format!(
                "document.querySelector('[data-test={control}]') === null"
            )),
            json!(true),
            "headquarters is offered {control}"
        );
    }
    // In English too.
    browser.click("[data-test=lang]");
    browser.wait_for("[data-test=operate-hidden]");
    assert_eq!(browser.text("[data-test=nav-rules]"), json!("Rules"));
    assert_eq!(
        browser.text("[data-test=operate-hidden]"),
        json!("Previews, switches and rollbacks are the operators' (the API refuses other roles)")
    );
    browser.click("[data-test=lang]");
    assert_eq!(browser.text("[data-test=nav-rules]"), json!("规则"));
}
