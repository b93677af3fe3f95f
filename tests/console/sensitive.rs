//! "Show full" (显示完整) on the customer 360: the profile in full through the API's
//! `Customer.sensitive(purpose)`, for a role the API lets see it, with the view recorded in the
//! access log; a role the API refuses sees the API's refusal and nothing in full.

use super::*;

const SENSITIVE: &str = "query ($id: ID!, $purpose: String!) { customer(id: $id) {
    profile { idDocument phone }
    sensitive(purpose: $purpose) { idDocument phone accounts { id number } recordedAtPosition } } }";

const ACCESS_LOG: &str =
    "query ($c: ID!, $s: ID!) { accessLog(customerId: $c, staffId: $s, first: 100) {
    edges { node { staffId customerId kind fields purpose position } } } }";

const MASKED: &str = "query ($id: ID!) { customer(id: $id) { profile { phone } } }";

/// The signed-in person's staff id.
fn staff_id(demo: &Demo, token: &str) -> String {
    demo.data(token, "{ me { staffId } }", json!({}))["me"]["staffId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The access log's entries of `staff` viewing `customer` in full, as the auditor reads them.
fn views_recorded(demo: &Demo, customer: &str, staff: &str) -> Vec<Value> {
    let log = demo.data(
        &demo.token("auditor"),
        ACCESS_LOG,
        json!({ "c": customer, "s": staff }),
    );
    log["accessLog"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|edge| edge["node"].clone())
        .filter(|entry| entry["kind"] == "PII_VIEWED")
        .collect()
}

/// On the open 360 of `id`, `token` (a role that sees numbers in full) asks for the full view
/// with `purpose`: the page shows the phone and identity number the API's `sensitive` gives,
/// says the view is recorded, and the access log holds that view (its position, purpose and
/// viewer); "mask again" shows the masked profile.
pub(crate) fn check_show_full(
    browser: &mut Browser,
    demo: &Demo,
    token: &str,
    id: &str,
    purpose: &str,
) {
    browser.wait_for(&format!(
        "[data-test=customer][data-id=\"{id}\"] [data-test=profile][data-full=false]"
    ));
    let masked = demo.data(token, MASKED, json!({ "id": id }));
    let masked_phone = masked["customer"]["profile"]["phone"].clone();
    assert_eq!(browser.text("[data-test=phone]"), masked_phone);
    assert_eq!(
        browser.text("[data-test=view-recorded]"),
        Value::Null,
        "a masked profile says a full view was recorded"
    );

    browser.click("[data-test=show-full]");
    browser.wait_for("[data-test=purpose-form] [data-test=purpose]");
    browser.type_into("[data-test=purpose]", purpose);
    browser.click("[data-test=show-full-submit]");
    browser.wait_for("[data-test=profile][data-full=true] [data-test=view-recorded]");
    let position = browser.attribute("[data-test=view-recorded]", "data-position");
    let position: u64 = position.as_str().unwrap().parse().unwrap();

    // What the API's sensitive field gives the same token (a second recorded view).
    let api = demo.data(
        token,
        SENSITIVE,
        json!({ "id": id, "purpose": "console test: compare" }),
    );
    let full = &api["customer"]["sensitive"];
    let phone = full["phone"].as_str().expect("the customer has a phone");
    assert_ne!(
        json!(phone),
        api["customer"]["profile"]["phone"],
        "the full phone is the masked one"
    );
    assert_eq!(browser.text("[data-test=phone]"), json!(phone), "the phone");
    let document = browser.text("[data-test=id-document]");
    assert!(
        document
            .as_str()
            .unwrap()
            .ends_with(&format!(" {}", full["idDocument"].as_str().unwrap())),
        "{document} shows not {}",
        full["idDocument"]
    );
    let numbers = browser.eval(
        "Array.from(document.querySelectorAll('[data-test=account-number]')).map((c) => c.textContent)",
    );
    let mut numbers: Vec<String> = serde_json::from_value(numbers).unwrap();
    let mut expected: Vec<String> = full["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["number"].as_str().unwrap().to_string())
        .collect();
    numbers.sort();
    expected.sort();
    assert_eq!(numbers, expected, "the account numbers in full");
    assert_eq!(browser.text("[data-test=recorded-purpose]"), json!(purpose));
    assert!(
        position < full["recordedAtPosition"].as_u64().unwrap(),
        "the page's view was recorded before the test's"
    );

    // The access log holds the page's view: who, which customer, why, where.
    let me = staff_id(demo, token);
    let views = views_recorded(demo, id, &me);
    let view = views
        .iter()
        .find(|v| v["position"].as_u64() == Some(position))
        .unwrap_or_else(|| panic!("no access log entry at {position}: {views:?}"));
    assert_eq!(view["purpose"], json!(purpose));
    assert_eq!(plain(view["staffId"].as_str().unwrap()), plain(&me));
    assert_eq!(plain(view["customerId"].as_str().unwrap()), plain(id));
    assert!(
        view["fields"].as_array().unwrap().contains(&json!("PHONE")),
        "{view}"
    );
    shoot(browser, "customer-full");

    browser.click("[data-test=show-masked]");
    browser.wait_for("[data-test=profile][data-full=false]");
    assert_eq!(browser.text("[data-test=phone]"), masked_phone);
}

/// `token`'s role is refused the full view: on the 360 of `id` the page shows the API's
/// refusal (its code and reason), the profile stays masked, and the access log records no view.
pub(crate) fn check_show_full_refused(browser: &mut Browser, demo: &Demo, token: &str, id: &str) {
    let purpose = "审计抽查";
    let refused = demo.answer(token, SENSITIVE, json!({ "id": id, "purpose": purpose }));
    let error = &refused["errors"][0];
    assert_eq!(error["extensions"]["code"], "FORBIDDEN", "{refused}");
    open(
        browser,
        &format!("#/customer/{id}"),
        &format!("[data-test=customer][data-id=\"{id}\"] [data-test=show-full]"),
    );
    browser.click("[data-test=show-full]");
    browser.wait_for("[data-test=purpose-form] [data-test=purpose]");
    browser.type_into("[data-test=purpose]", purpose);
    browser.click("[data-test=show-full-submit]");
    browser.wait_for("[data-test=show-full-refused] [data-test=forbidden]");
    assert_eq!(
        browser.text("[data-test=show-full-refused] [data-test=api-message]"),
        error["message"],
        "the API's reason"
    );
    assert_eq!(
        browser.attribute("[data-test=profile]", "data-full"),
        json!("false")
    );
    let masked = demo.data(token, MASKED, json!({ "id": id }));
    assert_eq!(
        browser.text("[data-test=phone]"),
        masked["customer"]["profile"]["phone"]
    );
    assert_eq!(browser.text("[data-test=view-recorded]"), Value::Null);
    let me = staff_id(demo, token);
    assert!(
        views_recorded(demo, id, &me).is_empty(),
        "a refused view is in the access log"
    );
    shoot(browser, "customer-full-refused");
}
