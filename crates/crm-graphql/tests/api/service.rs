//! 分层服务 through the real server over the demo data set: each served customer's service
//! plan, the serving manager's SERVICE_CONTACT_DUE to-dos, and the staff and branch service
//! compliance with their scoping (a caller out of scope is refused and sees nothing).

use crm_domain::auth::{Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
use serde_json::{json, Value as Json};
use uuid::Uuid;

use crate::common::{codes, Server};

fn ok(body: &Json) {
    assert!(body.get("errors").is_none(), "{body}");
}

const STAFF: &str = r#"query($s: ID!) { staffServiceCompliance(staffId: $s) {
    id period from to on customers customersOverdue
    contacts { due onTime late overdue onTimeRate } visits { due onTime late overdue }
    tickets { due met breached pending metRate } } }"#;
const BRANCH: &str = r#"query($b: ID!, $at: Long) { branchServiceCompliance(branchId: $b, atPosition: $at) {
    id period to on customers customersOverdue contacts { due onTime late overdue }
    tickets { due met breached pending metRate } } }"#;

/// A compliance's ticket figures: (due, met, breached, pending), which add up.
fn tickets(c: &Json) -> (u64, u64, u64, u64) {
    let t = &c["tickets"];
    let n = |k: &str| t[k].as_u64().unwrap();
    let out = (n("due"), n("met"), n("breached"), n("pending"));
    assert_eq!(out.1 + out.2 + out.3, out.0, "{c}");
    out
}

#[tokio::test]
async fn service_plans_to_dos_and_compliance_are_scoped() {
    let server = Server::start_demo(40, 30).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let head = server.store.head().0;
    let list = server
        .query(
            &hq,
            r#"query($at: Long) { customers(first: 40, atPosition: $at) { edges { node {
                 customerId lifecycle tier asOf branch { id } manager { id }
                 servicePlan { tier contactEveryDays visitEveryDays channels lastContact
                   nextContactDue contactOverdueDays lastVisit nextVisitDue visitOverdueDays } } } } }"#,
            json!({ "at": head }),
        )
        .await;
    ok(&list);
    let nodes: Vec<&Json> = list["data"]["customers"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["node"])
        .collect();
    // Every active or dormant customer has a plan under their tier's standard; no one else.
    let mut planned = None;
    for n in &nodes {
        let served = matches!(n["lifecycle"].as_str(), Some("ACTIVE" | "DORMANT"));
        let plan = &n["servicePlan"];
        assert_eq!(!plan.is_null(), served, "{n}");
        if plan.is_null() {
            continue;
        }
        assert_eq!(plan["tier"], n["tier"]);
        assert!(!plan["channels"].as_array().unwrap().is_empty(), "{plan}");
        let due = plan["nextContactDue"].as_str().unwrap();
        if let Some(last) = plan["lastContact"].as_str() {
            assert!(last < due, "{plan}");
        }
        // Overdue days are counted from the due date to the archive's date.
        let as_of = n["asOf"].as_str().unwrap();
        assert_eq!(
            plan["contactOverdueDays"].as_i64().unwrap() > 0,
            due < as_of,
            "{n}"
        );
        if planned.is_none() && !n["manager"].is_null() {
            planned = Some(*n);
        }
    }
    let c = planned.expect("a served customer with a manager");
    let manager = c["manager"]["id"].as_str().unwrap().to_string();
    let branch = c["branch"]["id"].as_str().unwrap().to_string();
    let manager_id = StaffId::from_uuid(Uuid::parse_str(&manager).unwrap());
    let branch_id = BranchId::from_uuid(Uuid::parse_str(&branch).unwrap());

    // The manager's own compliance, as headquarters reads it and as they do.
    let by_hq = server.query(&hq, STAFF, json!({ "s": manager })).await;
    ok(&by_hq);
    let mine = server.token_for(
        manager_id,
        Role::CustomerManager,
        Scope::Book {
            branch: branch_id,
            team: None,
        },
    );
    let by_self = server.query(&mine, STAFF, json!({ "s": manager })).await;
    ok(&by_self);
    assert_eq!(by_hq["data"], by_self["data"]);
    let s = &by_hq["data"]["staffServiceCompliance"];
    assert!(s["customers"].as_u64().unwrap() >= 1, "{s}");
    let k = &s["contacts"];
    let (due, on_time, late, overdue) = (
        k["due"].as_u64().unwrap(),
        k["onTime"].as_u64().unwrap(),
        k["late"].as_u64().unwrap(),
        k["overdue"].as_u64().unwrap(),
    );
    assert!(on_time + late + overdue <= due, "{s}");
    assert!(s["customersOverdue"].as_u64().unwrap() <= s["customers"].as_u64().unwrap());

    // The branch's compliance covers at least the manager's book.
    let b = server.query(&hq, BRANCH, json!({ "b": branch })).await;
    ok(&b);
    let b = &b["data"]["branchServiceCompliance"];
    assert!(b["customers"].as_u64().unwrap() >= s["customers"].as_u64().unwrap());
    assert!(b["contacts"]["due"].as_u64().unwrap() >= due, "{b}");
    tickets(s);
    let before = tickets(b);

    // A complaint opened now is one more ticket of the branch due in the period when its SLA
    // deadline falls in it, still pending (the deadline has not passed).
    let opened = server
        .query(
            &hq,
            r#"mutation($c: ID!) { openTicket(customerId: $c, kind: COMPLAINT, priority: HIGH,
                 channel: PHONE, subject: "开盘时无法下单", description: "交易系统卡顿") { position } }"#,
            json!({ "c": c["customerId"] }),
        )
        .await;
    ok(&opened);
    let at = opened["data"]["openTicket"]["position"].as_u64().unwrap();
    let after = server
        .query(&hq, BRANCH, json!({ "b": branch, "at": at }))
        .await;
    ok(&after);
    let after = &after["data"]["branchServiceCompliance"];
    let deadline = (time::OffsetDateTime::now_utc()
        + time::Duration::hours(crm_domain::ticket::sla_hours(
            crm_domain::ticket::TicketKind::Complaint,
            crm_domain::ticket::Priority::High,
        )))
    .to_offset(time::macros::offset!(+8))
    .date()
    .to_string();
    let in_period = deadline.as_str() <= after["to"].as_str().unwrap();
    let added = u64::from(in_period);
    let now = tickets(after);
    assert_eq!(
        (now.0, now.3),
        (before.0 + added, before.3 + added),
        "{after}"
    );
    assert_eq!((now.1, now.2), (before.1, before.2), "{after}");

    // The customer's contact due is a SERVICE_CONTACT_DUE to-do of their manager's, due on
    // the plan's date, once within `[reminders] service_days_ahead` (7 days) of it: today
    // (long after the demo's data) it is; at the data's last day only if due within a week.
    let customer = c["customerId"].as_str().unwrap();
    let due = c["servicePlan"]["nextContactDue"].as_str().unwrap();
    let contact_todos = |body: &Json| -> Vec<String> {
        ok(body);
        body["data"]["todos"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|t| t["kind"] == "SERVICE_CONTACT_DUE" && t["customerId"] == customer)
            .map(|t| t["due"].as_str().unwrap().to_string())
            .collect()
    };
    let now = server
        .query(&mine, "{ todos { kind customerId due } }", json!({}))
        .await;
    assert_eq!(contact_todos(&now), [due], "{now}");
    let fmt = time::macros::format_description!("[year]-[month]-[day]");
    let as_of = time::Date::parse(c["asOf"].as_str().unwrap(), fmt).unwrap();
    let then = server
        .query(
            &mine,
            "query($at: DateTime) { todos(at: $at) { kind customerId due } }",
            json!({ "at": format!("{as_of}T12:00:00+08:00") }),
        )
        .await;
    let within = time::Date::parse(due, fmt).unwrap() <= as_of + time::Duration::days(7);
    assert_eq!(!contact_todos(&then).is_empty(), within, "{then}");
    // Someone else's customer is no to-do of theirs.
    let stranger = server.token(
        Role::CustomerManager,
        Scope::Book {
            branch: branch_id,
            team: None,
        },
    );
    let theirs = server
        .query(&stranger, "{ todos { kind customerId due } }", json!({}))
        .await;
    assert!(contact_todos(&theirs).is_empty(), "{theirs}");

    // Out of scope: another customer manager of the same branch reads neither the manager's
    // compliance nor the branch's; a branch manager of another branch not this branch's.
    let other = server.token(
        Role::CustomerManager,
        Scope::Book {
            branch: branch_id,
            team: None,
        },
    );
    let refused = server.query(&other, STAFF, json!({ "s": manager })).await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    assert!(refused["data"].is_null() || refused["data"]["staffServiceCompliance"].is_null());
    let refused = server.query(&other, BRANCH, json!({ "b": branch })).await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    let elsewhere = server.token(
        Role::BranchManager,
        Scope::Branch {
            branch: BranchId::from_uuid(Uuid::now_v7()),
        },
    );
    let refused = server
        .query(&elsewhere, BRANCH, json!({ "b": branch }))
        .await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    assert!(refused["data"].is_null() || refused["data"]["branchServiceCompliance"].is_null());
    let refused = server
        .query(&elsewhere, STAFF, json!({ "s": manager }))
        .await;
    assert_eq!(codes(&refused), ["FORBIDDEN"], "{refused}");
    // The branch's own manager reads both.
    let bm = server.token(Role::BranchManager, Scope::Branch { branch: branch_id });
    ok(&server.query(&bm, BRANCH, json!({ "b": branch })).await);
    ok(&server.query(&bm, STAFF, json!({ "s": manager })).await);
}

const CARE: &str = r#"query($s: ID!, $at: Long) { staffServiceCompliance(staffId: $s, atPosition: $at) {
    on care { birthday { due onTime late overdue } holiday { due onTime late overdue }
      marketEvent { due } total { due onTime late overdue onTimeRate } }
    followUps { due onTime late overdue } } }"#;

/// (due, onTime, late, overdue) of an obligations object.
fn counts(o: &Json) -> (u64, u64, u64, u64) {
    let n = |k: &str| o[k].as_u64().unwrap();
    (n("due"), n("onTime"), n("late"), n("overdue"))
}

/// Care greetings and follow-ups driven through the mutations, read back in the manager's
/// and the branch's compliance: under rules that greet standard customers on their birthday
/// and holidays, with today a holiday, a customer born on today's date owes two greetings,
/// met on time by the care contacts of each occasion; a follow-up set for today is open until
/// a reaching contact meets it on time, and an unanswered call meets none.
#[tokio::test]
async fn care_greetings_and_follow_ups_count_in_the_compliance() {
    let today = time::OffsetDateTime::now_utc()
        .to_offset(time::macros::offset!(+8))
        .date();
    let rules = format!(
        "{}\n[care]\nholidays = [\"{today}\"]\n\n[service.standard]\ncare = [\"birthday\", \"holiday\"]\n",
        crm_projections::rules::DEFAULT_RULES
    );
    let rules = crm_projections::RuleBook::parse(&rules).unwrap();
    let server = Server::start_state(crate::common::test_config(), |b, _| b.rules(rules)).await;
    let hq = server.token(Role::Headquarters, Scope::Company);
    let branch = BranchId::from_uuid(Uuid::now_v7());
    let manager = StaffId::from_uuid(Uuid::now_v7());
    let mine = server.token_for(
        manager,
        Role::CustomerManager,
        Scope::Book { branch, team: None },
    );
    let customer = Uuid::now_v7().to_string();
    let born = format!("1980-{:02}-{:02}", u8::from(today.month()), today.day());
    let document = crm_domain::values::ResidentIdNumber::with_check_character(&format!(
        "110105{}007",
        born.replace('-', "")
    ))
    .unwrap();
    let registered = server
        .query(
            &hq,
            r#"mutation($id: ID!, $doc: String!, $born: String!) { registerCustomer(customerId: $id,
                 kind: INDIVIDUAL, profile: { name: "客户", document: { residentId: $doc },
                 birthday: $born, sourceChannel: APP }) { position } }"#,
            json!({ "id": customer, "doc": document.as_str(), "born": born }),
        )
        .await;
    ok(&registered);
    let assigned = server
        .query(
            &hq,
            r#"mutation($c: ID!, $b: ID!, $m: ID!) { assignCustomer(customerId: $c,
                 to: { branchId: $b, managerId: $m }) { position } }"#,
            json!({ "c": customer, "b": branch.to_string(), "m": manager.to_string() }),
        )
        .await;
    ok(&assigned);
    let read = |at: &Json| {
        let (server, mine, at) = (&server, &mine, at.clone());
        async move {
            let body = server
                .query(mine, CARE, json!({ "s": manager.to_string(), "at": at }))
                .await;
            ok(&body);
            body["data"]["staffServiceCompliance"].clone()
        }
    };
    let write = |query: &'static str, vars: Json| {
        let (server, mine) = (&server, &mine);
        async move {
            let body = server.query(mine, query, vars).await;
            ok(&body);
            let result = body["data"].as_object().unwrap().values().next().unwrap();
            result["position"].clone()
        }
    };

    // Given the birthday and the holiday today, nothing greeted yet: both due, the window
    // still open (neither late nor overdue); no follow-up set.
    let c = read(&assigned["data"]["assignCustomer"]["position"]).await;
    assert_eq!(c["on"], today.to_string(), "{c}");
    assert_eq!(counts(&c["care"]["birthday"]), (1, 0, 0, 0), "{c}");
    assert_eq!(counts(&c["care"]["holiday"]), (1, 0, 0, 0), "{c}");
    assert_eq!(c["care"]["marketEvent"]["due"], 0, "{c}");
    assert_eq!(counts(&c["followUps"]), (0, 0, 0, 0), "{c}");

    // The holiday greeting is a to-do of the manager's, due today, until it is made.
    let greetings = |at: Json| {
        let (server, mine, customer) = (&server, &mine, customer.clone());
        async move {
            let body = server
                .query(
                    mine,
                    "query($at: Long) { todos(atPosition: $at) { kind customerId due } }",
                    json!({ "at": at }),
                )
                .await;
            ok(&body);
            body["data"]["todos"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|t| {
                    t["kind"] == "CARE_GREETING_DUE"
                        && t["customerId"] == customer.replace('-', "").as_str()
                })
                .map(|t| t["due"].as_str().unwrap().to_string())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(
        greetings(assigned["data"]["assignCustomer"]["position"].clone()).await,
        [today.to_string()]
    );

    // When the manager sends the birthday greeting, then the birthday is met on time, the
    // holiday not: a greeting of one occasion is none of another's.
    const GREET: &str = r#"mutation($c: ID!, $o: CareOccasionInput!) { recordCareContact(customerId: $c,
        occasion: $o, channel: WE_CHAT, notes: "问候") { position } }"#;
    let at = write(GREET, json!({ "c": customer, "o": "BIRTHDAY" })).await;
    let c = read(&at).await;
    assert_eq!(counts(&c["care"]["birthday"]), (1, 1, 0, 0), "{c}");
    assert_eq!(counts(&c["care"]["holiday"]), (1, 0, 0, 0), "{c}");
    let at = write(GREET, json!({ "c": customer, "o": "HOLIDAY" })).await;
    let c = read(&at).await;
    assert_eq!(counts(&c["care"]["total"]), (2, 2, 0, 0), "{c}");
    assert!(greetings(at.clone()).await.is_empty());
    assert_eq!(c["care"]["total"]["onTimeRate"], 100.0, "{c}");
    // A care greeting is no contact: it meets no follow-up.
    assert_eq!(counts(&c["followUps"]), (0, 0, 0, 0), "{c}");

    // A contact that sets a follow-up for today opens one, due and not yet overdue.
    const CONTACT: &str = r#"mutation($c: ID!, $o: ContactOutcomeInput!, $d: String) { recordContact(customerId: $c,
        channel: PHONE, direction: OUTBOUND, topic: "回访", outcome: $o, notes: "回访",
        followUpOn: $d) { position } }"#;
    let at = write(
        CONTACT,
        json!({ "c": customer, "o": "FOLLOW_UP_NEEDED", "d": today.to_string() }),
    )
    .await;
    assert_eq!(counts(&read(&at).await["followUps"]), (1, 0, 0, 0));
    // An unanswered call does not meet it.
    let at = write(
        CONTACT,
        json!({ "c": customer, "o": "NOT_REACHED", "d": null }),
    )
    .await;
    assert_eq!(counts(&read(&at).await["followUps"]), (1, 0, 0, 0));
    // A call that reaches the customer on its date meets it on time.
    let at = write(CONTACT, json!({ "c": customer, "o": "REACHED", "d": null })).await;
    let c = read(&at).await;
    assert_eq!(counts(&c["followUps"]), (1, 1, 0, 0), "{c}");

    // The branch counts the same customers' greetings and follow-ups.
    let b = server
        .query(
            &hq,
            r#"query($b: ID!, $at: Long) { branchServiceCompliance(branchId: $b, atPosition: $at) {
                 care { total { due onTime late overdue } } followUps { due onTime late overdue } } }"#,
            json!({ "b": branch.to_string(), "at": at }),
        )
        .await;
    ok(&b);
    let b = &b["data"]["branchServiceCompliance"];
    assert_eq!(counts(&b["care"]["total"]), (2, 2, 0, 0), "{b}");
    assert_eq!(counts(&b["followUps"]), (1, 1, 0, 0), "{b}");
}
