//! The import of a customer's bank services from the core banking system (cards, e-banking
//! sign-ups, wealth-product transactions) through the real command path, on a real store,
//! read back through the read side (the bank part of the customer's 360). Files are the
//! documented examples in `schema/import/examples` or small files written in the test.
//!
//! Index: every example imports, its facts are in the 360, and a second import writes nothing;
//! bad rows of each kind are named (line, column, reason) in the report and in the reject
//! file, and the rest imported; a GBK export imports as the same commands as its UTF-8 twin;
//! a card or sign-up that gains its cancellation in a later file is cancelled and nothing
//! else; `--correction` never records a transaction twice, nor does a resent transaction
//! with other cells; facts resent in another spelling record nothing; an interrupted import
//! resumes to the log of one run.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use std::path::Path;

use common::{counts, events, example, gbk, rejects, run, types_since, write, World};
use crm_app::App;
use crm_domain::auth::Role;
use crm_domain::bank_services::{CardKind, EChannel};
use crm_domain::values::{IdDocument, ResidentIdNumber, UnifiedSocialCreditCode};
use crm_domain::Money;
use crm_load::{ids, ImportKind, ImportOptions, ImportReport, TextEncoding};
use crm_projections::{Projections, RuleBook};
use time::macros::date;

const KINDS: [ImportKind; 3] = [
    ImportKind::Cards,
    ImportKind::EBankingSignUps,
    ImportKind::WealthTransactions,
];

/// 张三, 李四 and 上海浦江投资有限公司 of the customers example.
const ZHANG: &str = "310115198003120016";
const LI: &str = "33010419750521002X";
const PUJIANG: &str = "913100001234567896";

fn yuan(s: &str) -> Money {
    Money::parse(s).unwrap()
}

fn resident(number: &str) -> crm_domain::ids::CustomerId {
    ids::customer_id(&IdDocument::ResidentId {
        number: ResidentIdNumber::parse(number).unwrap(),
    })
}

fn company(code: &str) -> crm_domain::ids::CustomerId {
    ids::customer_id(&IdDocument::BusinessLicence {
        code: UnifiedSocialCreditCode::parse(code).unwrap(),
    })
}

/// The organisation and the customers the examples refer to.
async fn prerequisites(app: &App) {
    for kind in [ImportKind::Organisation, ImportKind::Customers] {
        let report = run(app, kind, &example(kind), ImportOptions::default()).await;
        assert_eq!(report.rejected, 0, "{kind}: {:?}", report.rejects);
    }
}

/// The read side, caught up with everything written so far.
fn read_side(app: &App) -> Projections {
    let p = Projections::open(app.store(), RuleBook::default_rules().unwrap()).unwrap();
    p.catch_up().unwrap();
    p
}

#[tokio::test]
async fn every_example_imports_into_the_360_and_a_second_import_writes_nothing() {
    // Goal: each kind's documented example is valid, records what its rows say, and the
    // customer's 360 shows it: cards in force, channels signed, wealth held per product. The
    // same files again are answered as already recorded, with no event written.
    let w = World::new();
    prerequisites(&w.app).await;
    let expected: [&[(&str, usize)]; 3] = [
        &[("CardCancelled", 1), ("CardIssued", 4)],
        &[("EChannelCancelled", 1), ("EChannelSignedUp", 4)],
        &[("WealthProductRedeemed", 1), ("WealthProductSubscribed", 3)],
    ];
    for (kind, types) in KINDS.into_iter().zip(expected) {
        let before = events(&w.app);
        let report = run(&w.app, kind, &example(kind), ImportOptions::default()).await;
        assert_eq!(
            counts(&report),
            (4, 4, 0, 0),
            "{kind}: {:?}",
            report.rejects
        );
        assert_eq!(report.encoding, TextEncoding::Utf8);
        let wanted: Vec<String> = types
            .iter()
            .flat_map(|(t, n)| std::iter::repeat_n((*t).to_owned(), *n))
            .collect();
        assert_eq!(types_since(&w.app, &before), wanted, "{kind}");
        assert_eq!(report.events, wanted.len() as u64, "{kind}");
    }

    let p = read_side(&w.app);
    let on = Some(date!(2024 - 02 - 15));
    let zhang = p.customer_banking(resident(ZHANG), on).unwrap();
    let cards: Vec<(CardKind, &str)> = zhang
        .cards
        .iter()
        .map(|(_, c)| (c.kind, c.number.as_str()))
        .collect();
    assert_eq!(cards.len(), 2);
    for card in [
        (CardKind::Debit, "6228480012345678901"),
        (CardKind::Credit, "6259960011112222"),
    ] {
        assert!(cards.contains(&card), "{cards:?}");
    }
    // Internet banking was cancelled on 2024-02-01.
    assert_eq!(zhang.channels, vec![EChannel::MobileBanking]);
    assert_eq!(zhang.wealth, vec![("ZX2024001".to_owned(), yuan("30000"))]);
    assert_eq!(
        (zhang.summary.cards, zhang.summary.e_channels),
        (2, 1),
        "{:?}",
        zhang.summary
    );
    assert_eq!(zhang.summary.wealth, yuan("30000"));

    let li = p.customer_banking(resident(LI), on).unwrap();
    // The masked debit card was cancelled; the social security card is in force.
    let kinds: Vec<CardKind> = li.cards.iter().map(|(_, c)| c.kind).collect();
    assert_eq!(kinds, vec![CardKind::SocialSecurity]);
    assert_eq!(li.channels, vec![EChannel::SmsAlerts]);
    assert_eq!(li.wealth, vec![("ZX2024002".to_owned(), yuan("10000.5"))]);

    let pujiang = p.customer_banking(company(PUJIANG), on).unwrap();
    assert!(pujiang.cards.is_empty());
    assert_eq!(pujiang.channels, vec![EChannel::InternetBanking]);
    assert_eq!(
        pujiang.wealth,
        vec![("DG2024A".to_owned(), yuan("1000000"))]
    );

    let head = w.head();
    let log = events(&w.app);
    for kind in KINDS {
        let again = run(&w.app, kind, &example(kind), ImportOptions::default()).await;
        assert_eq!(counts(&again), (4, 0, 4, 0), "{kind}: {:?}", again.rejects);
        assert_eq!(again.events, 0, "{kind}");
    }
    assert_eq!(w.head(), head);
    assert_eq!(events(&w.app), log);
}

#[test]
fn the_services_are_imported_by_the_operator() {
    // Goal: cards, sign-ups and wealth transactions are the core system's facts
    // (RecordBankFacts): the operator, the least powerful role holding it.
    for kind in KINDS {
        assert_eq!(kind.actor_role(), Role::Operator, "{kind}");
        assert_eq!(ImportKind::parse(kind.name()), Some(kind));
    }
    assert_eq!(
        ImportKind::parse("e-banking-sign-ups"),
        Some(ImportKind::EBankingSignUps)
    );
}

/// The reject file's rows: line, column, reason and the row's first original field.
fn reject_file(path: &Path) -> Vec<(String, String, String, String)> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .unwrap();
    let header = reader.headers().unwrap().clone();
    assert_eq!(
        header.iter().take(3).collect::<Vec<_>>(),
        ["reject_line", "reject_column", "reject_reason"]
    );
    reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let field = |i: usize| r.get(i).unwrap_or_default().to_owned();
            (field(0), field(1), field(2), field(3))
        })
        .collect()
}

/// Imports `path` with a reject file; checks that the file lists the report's rejects (line,
/// column, reason) and returns the report and each rejected row's first original field.
async fn run_with_rejects(app: &App, kind: ImportKind, path: &Path) -> (ImportReport, Vec<String>) {
    let reject_path = path.with_extension("rejects.csv");
    let options = ImportOptions {
        reject_file: Some(reject_path.clone()),
        ..ImportOptions::default()
    };
    let report = run(app, kind, path, options).await;
    let file = reject_file(&reject_path);
    let listed: Vec<(String, String, String)> = report
        .rejects
        .iter()
        .map(|r| {
            (
                r.line.to_string(),
                r.column.clone().unwrap_or_default(),
                r.reason.clone(),
            )
        })
        .collect();
    let written: Vec<(String, String, String)> = file
        .iter()
        .map(|(l, c, r, _)| (l.clone(), c.clone(), r.clone()))
        .collect();
    assert_eq!(written, listed, "{kind}");
    (report, file.into_iter().map(|r| r.3).collect())
}

#[tokio::test]
async fn bad_card_rows_are_named_in_the_report_and_the_reject_file() {
    // Goal: parse errors (kind, dates, document, an empty number) and domain refusals (an
    // unknown customer, a card issued again with other details) each name the row, the
    // column where one is to blame, and the value; the good rows go in.
    let w = World::new();
    prerequisites(&w.app).await;
    let cards = write(
        w.dir.path(),
        "cards.csv",
        &format!(
            "card_no,id_type,id_number,card_kind,issued_on,cancelled_on\n\
             C1,resident_id,{ZHANG},debit,2024-01-03,\n\
             C2,resident_id,{ZHANG},prepaid,2024-01-03,\n\
             C3,resident_id,{ZHANG},debit,2024-01-10,2024-01-09\n\
             C4,resident_id,{ZHANG},debit,2024-13-01,\n\
             C5,resident_id,440304199001010038,debit,2024-01-03,\n\
             C6,resident_id,310115198003120017,debit,2024-01-03,\n\
             ,resident_id,{ZHANG},debit,2024-01-03,\n\
             C1,resident_id,{ZHANG},credit,2024-01-03,\n\
             C7,resident_id,{ZHANG},debit,2024-01-03,someday\n"
        ),
    );
    let (report, first_fields) = run_with_rejects(&w.app, ImportKind::Cards, &cards).await;
    assert_eq!(counts(&report), (9, 1, 0, 8));
    let expected = vec![
        (
            3,
            Some("card_kind"),
            "'prepaid' is not one of debit, credit, social_security",
        ),
        (
            4,
            Some("cancelled_on"),
            "'2024-01-09' is before issued_on 2024-01-10",
        ),
        (
            5,
            Some("issued_on"),
            "'2024-13-01' is not a date like 2024-03-01",
        ),
        (6, None, "customer not found"),
        (
            7,
            Some("id_number"),
            "'310115198003120017' the check character is 7, expected 6",
        ),
        (8, Some("card_no"), "is empty"),
        (9, None, "card already exists"),
        (
            10,
            Some("cancelled_on"),
            "'someday' is not a date like 2024-03-01",
        ),
    ];
    assert_eq!(rejects(&report), expected);
    // The row's original fields follow the reason: its card number first.
    assert_eq!(first_fields, ["C2", "C3", "C4", "C5", "C6", "", "C1", "C7"]);
}

#[tokio::test]
async fn bad_sign_up_rows_are_named_and_the_good_ones_imported() {
    // Goal: the channel, the dates and their order, and the customer are checked; a row
    // signing a channel already held records nothing.
    let w = World::new();
    prerequisites(&w.app).await;
    let sign_ups = write(
        w.dir.path(),
        "sign-ups.csv",
        &format!(
            "id_type,id_number,channel,signed_up_on,cancelled_on\n\
             resident_id,{ZHANG},mobile_banking,2024-01-03,\n\
             resident_id,{ZHANG},telegram,2024-01-03,\n\
             resident_id,{ZHANG},网上银行,2024-01-03,2024-01-02\n\
             resident_id,{ZHANG},微信银行,,\n\
             resident_id,440304199001010038,手机银行,2024-01-03,\n\
             passport,E12345678,电话银行,2024-01-03,\n\
             resident_id,{ZHANG},手机银行,2024-01-05,\n"
        ),
    );
    let (report, first_fields) =
        run_with_rejects(&w.app, ImportKind::EBankingSignUps, &sign_ups).await;
    assert_eq!(counts(&report), (7, 1, 1, 5));
    assert_eq!(
        rejects(&report),
        vec![
            (
                3,
                Some("channel"),
                "'telegram' is not one of internet_banking, mobile_banking, wechat_banking, \
                 phone_banking, sms_alerts"
            ),
            (
                4,
                Some("cancelled_on"),
                "'2024-01-02' is before signed_up_on 2024-01-03"
            ),
            (5, Some("signed_up_on"), "is empty"),
            (6, None, "customer not found"),
            (7, Some("id_country"), "is empty"),
        ]
    );
    let id_types = [
        "resident_id",
        "resident_id",
        "resident_id",
        "resident_id",
        "passport",
    ];
    assert_eq!(first_fields, id_types);
}

#[tokio::test]
async fn bad_wealth_rows_are_named_and_a_redemption_beyond_the_holding_refused() {
    // Goal: direction, amount (positive, decimal), dates (maturity after the day, none on a
    // redemption) are checked before any command; the domain refuses a redemption of more
    // than is held, naming the figures; the good rows go in.
    let w = World::new();
    prerequisites(&w.app).await;
    let header = "txn_no,id_type,id_number,product,direction,amount,date,matures_on\n";
    let rows = format!(
        "T1,resident_id,{ZHANG},P1,subscribe,1000,2024-01-05,2024-07-05\n\
         T2,resident_id,{ZHANG},P1,transfer,1000,2024-01-05,\n\
         T3,resident_id,{ZHANG},P1,subscribe,0,2024-01-05,\n\
         T4,resident_id,{ZHANG},P1,redeem,-5,2024-01-05,\n\
         T5,resident_id,{ZHANG},P1,subscribe,1e5,2024-01-05,\n\
         T6,resident_id,{ZHANG},P1,subscribe,1000,2024-01-05,2024-01-05\n\
         T7,resident_id,{ZHANG},P1,redeem,100,2024-01-06,2024-07-05\n\
         T8,resident_id,{ZHANG},P1,赎回,1500,2024-01-07,\n\
         T9,resident_id,440304199001010038,P1,subscribe,1000,2024-01-05,\n\
         T10,resident_id,{ZHANG},P1,赎回,400,2024-01-08,\n"
    );
    let path = write(w.dir.path(), "wealth.csv", &format!("{header}{rows}"));
    let (report, first_fields) =
        run_with_rejects(&w.app, ImportKind::WealthTransactions, &path).await;
    assert_eq!(counts(&report), (10, 2, 0, 8));
    assert_eq!(
        first_fields,
        ["T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9"]
    );
    assert_eq!(
        rejects(&report),
        vec![
            (
                3,
                Some("direction"),
                "'transfer' is not one of subscribe, redeem"
            ),
            (4, Some("amount"), "'0' must be more than 0"),
            (5, Some("amount"), "'-5' must be more than 0"),
            (
                6,
                Some("amount"),
                "'1e5' must be a decimal number like 1234.5678"
            ),
            (
                7,
                Some("matures_on"),
                "'2024-01-05' is not after the subscription's date 2024-01-05"
            ),
            (8, Some("matures_on"), "is not part of a redemption"),
            (
                9,
                None,
                "conflict: redeeming 1500.0000 of P1, but the customer holds 1000.0000"
            ),
            (10, None, "customer not found"),
        ]
    );
    let p = read_side(&w.app);
    let zhang = p.customer_banking(resident(ZHANG), None).unwrap();
    assert_eq!(zhang.wealth, vec![("P1".to_owned(), yuan("600"))]);
}

#[tokio::test]
async fn a_gbk_export_imports_as_the_same_commands_as_its_utf8_twin() {
    // Goal: core-system exports in GBK (Chinese codes: 借记卡, 手机银行, 申购…) are detected
    // and read; the rows are the same commands as the UTF-8 file's, so importing that one
    // afterwards changes nothing.
    let w = World::new();
    prerequisites(&w.app).await;
    for kind in KINDS {
        let text = std::fs::read_to_string(example(kind)).unwrap();
        assert!(
            !text.is_ascii(),
            "{kind}: the example has no Chinese to decode"
        );
        let path = w.dir.path().join(format!("{}-gbk.csv", kind.name()));
        std::fs::write(&path, gbk(&text)).unwrap();
        let report = run(&w.app, kind, &path, ImportOptions::default()).await;
        assert_eq!(report.encoding, TextEncoding::Gbk, "{kind}");
        assert_eq!(
            counts(&report),
            (4, 4, 0, 0),
            "{kind}: {:?}",
            report.rejects
        );
        let head = w.head();
        let utf8 = run(&w.app, kind, &example(kind), ImportOptions::default()).await;
        assert_eq!(counts(&utf8), (4, 0, 4, 0), "{kind}");
        assert_eq!(w.head(), head);
    }
}

#[tokio::test]
async fn a_card_or_sign_up_that_gains_its_cancellation_later_is_cancelled_and_nothing_else() {
    // Goal: the issue and the sign-up are sent with ids of their own columns only, so a later
    // export with `cancelled_on` filled in cancels them and re-sends the rest unchanged.
    let w = World::new();
    prerequisites(&w.app).await;
    for kind in KINDS {
        run(&w.app, kind, &example(kind), ImportOptions::default()).await;
    }
    let head = w.head();
    let changes = [
        (
            ImportKind::Cards,
            "6259960011112222,resident_id,310115198003120016,,信用卡,2024-01-10,\n",
            "6259960011112222,resident_id,310115198003120016,,信用卡,2024-01-10,2024-02-10\n",
            "CardCancelled",
        ),
        (
            ImportKind::EBankingSignUps,
            "resident_id,310115198003120016,,手机银行,2024-01-03,\n",
            "resident_id,310115198003120016,,手机银行,2024-01-03,2024-02-10\n",
            "EChannelCancelled",
        ),
    ];
    for (i, (kind, before, after, cancelled)) in changes.into_iter().enumerate() {
        let text = std::fs::read_to_string(example(kind)).unwrap();
        assert!(text.contains(before), "{kind}");
        let path = write(
            w.dir.path(),
            &format!("{kind}-cancelled.csv"),
            &text.replace(before, after),
        );
        let report = run(&w.app, kind, &path, ImportOptions::default()).await;
        assert_eq!(
            counts(&report),
            (4, 1, 3, 0),
            "{kind}: {:?}",
            report.rejects
        );
        assert_eq!(w.head(), head + 1 + i as u64, "{kind}");
        let n = events(&w.app).iter().filter(|e| e.3 == cancelled).count();
        assert_eq!(n, 2, "{kind}");
    }
    let p = read_side(&w.app);
    let zhang = p.customer_banking(resident(ZHANG), None).unwrap();
    assert_eq!(zhang.cards.len(), 1);
    assert!(zhang.channels.is_empty(), "{:?}", zhang.channels);
}

#[tokio::test]
async fn a_correction_run_never_records_a_transaction_twice() {
    // Goal: `--correction` is for days' figures; a wealth file imported with it is sent with
    // the same command ids as without it, so no subscription is recorded a second time.
    let w = World::new();
    prerequisites(&w.app).await;
    let kind = ImportKind::WealthTransactions;
    run(&w.app, kind, &example(kind), ImportOptions::default()).await;
    let head = w.head();
    let correction = ImportOptions {
        correction: true,
        ..ImportOptions::default()
    };
    let report = run(&w.app, kind, &example(kind), correction).await;
    assert_eq!(counts(&report), (4, 0, 4, 0), "{:?}", report.rejects);
    assert_eq!(w.head(), head);
    assert!(!kind.takes_corrections());
    assert!(ImportKind::DepositBalances.takes_corrections());
}

#[tokio::test]
async fn a_transaction_resent_with_other_cells_is_answered_as_recorded() {
    // Goal: a wealth transaction is its number and day; a later file that repeats it (here
    // with another amount) records nothing, and a new number on the same day is a new
    // transaction.
    let w = World::new();
    prerequisites(&w.app).await;
    let kind = ImportKind::WealthTransactions;
    run(&w.app, kind, &example(kind), ImportOptions::default()).await;
    let head = w.head();
    let text = std::fs::read_to_string(example(kind)).unwrap();
    let header = text.lines().next().unwrap();
    let path = write(
        w.dir.path(),
        "wealth-again.csv",
        &format!(
            "{header}\n\
             W20240105001,resident_id,{ZHANG},,ZX2024001,申购,60000,2024-01-05,2024-07-05\n\
             W20240105003,resident_id,{ZHANG},,ZX2024001,申购,5000,2024-01-05,2024-07-05\n"
        ),
    );
    let report = run(&w.app, kind, &path, ImportOptions::default()).await;
    assert_eq!(counts(&report), (2, 1, 1, 0), "{:?}", report.rejects);
    assert_eq!(w.head(), head + 1);
    let p = read_side(&w.app);
    let zhang = p.customer_banking(resident(ZHANG), None).unwrap();
    assert_eq!(zhang.wealth, vec![("ZX2024001".to_owned(), yuan("35000"))]);
}

#[tokio::test]
async fn facts_resent_in_another_spelling_are_the_same_commands() {
    // Goal: a later export that writes the same facts otherwise (dates as 2024/1/3 or
    // 20240105, codes in English for Chinese, a spelled-out document type) records nothing:
    // in particular a cancelled sign-up is not signed up again, nor a transaction recorded
    // twice.
    let w = World::new();
    prerequisites(&w.app).await;
    for kind in KINDS {
        run(&w.app, kind, &example(kind), ImportOptions::default()).await;
    }
    let head = w.head();
    let files = [
        (
            ImportKind::Cards,
            format!(
                "card_no,id_type,id_number,card_kind,issued_on,cancelled_on\n\
                 6228 **** **** 1234,身份证,{LI},借记卡,2024/1/4,20240120\n"
            ),
        ),
        (
            ImportKind::EBankingSignUps,
            format!(
                "id_type,id_number,channel,signed_up_on,cancelled_on\n\
                 居民身份证,{ZHANG},网上银行,2024/1/3,20240201\n\
                 resident_id,{ZHANG},mobile_banking,20240103,\n"
            ),
        ),
        (
            ImportKind::WealthTransactions,
            format!(
                "txn_no,id_type,id_number,product,direction,amount,date,matures_on\n\
                 W20240105001,resident_id,{ZHANG},ZX2024001,subscribe,50000.00,2024/1/5,20240705\n\
                 W20240110001,resident_id,{ZHANG},ZX2024001,redeem,20000,20240110,\n"
            ),
        ),
    ];
    for (kind, text) in files {
        let path = write(w.dir.path(), &format!("{kind}-respelled.csv"), &text);
        let report = run(&w.app, kind, &path, ImportOptions::default()).await;
        let rows = report.rows_read;
        assert_eq!(
            counts(&report),
            (rows, 0, rows, 0),
            "{kind}: {:?}",
            report.rejects
        );
        assert_eq!(w.head(), head, "{kind}");
    }
    let p = read_side(&w.app);
    let zhang = p.customer_banking(resident(ZHANG), None).unwrap();
    assert_eq!(zhang.channels, vec![EChannel::MobileBanking]);
    assert_eq!(zhang.wealth, vec![("ZX2024001".to_owned(), yuan("30000"))]);
}

#[tokio::test]
async fn an_import_cut_short_resumes_to_the_log_of_one_run() {
    // Goal: each kind stopped after one row (a row limit, as a crash would) and imported again
    // ends with the same log as one uninterrupted import.
    let interrupted = World::new();
    let whole = World::new();
    for w in [&interrupted, &whole] {
        prerequisites(&w.app).await;
    }
    for kind in KINDS {
        let limited = ImportOptions {
            row_limit: Some(1),
            ..ImportOptions::default()
        };
        let first = run(&interrupted.app, kind, &example(kind), limited).await;
        assert_eq!(counts(&first), (1, 1, 0, 0), "{kind}");
        assert!(first.rows_left, "{kind}");
        let resumed = run(
            &interrupted.app,
            kind,
            &example(kind),
            ImportOptions::default(),
        )
        .await;
        assert_eq!(
            counts(&resumed),
            (4, 3, 1, 0),
            "{kind}: {:?}",
            resumed.rejects
        );
        run(&whole.app, kind, &example(kind), ImportOptions::default()).await;
    }
    assert_eq!(events(&interrupted.app), events(&whole.app));
}
