//! The back-office import through the real command path, on a real store. Each test states
//! its goal; files are the documented examples in `schema/import/examples` or small files
//! written here next to them in the test.
//!
//! Index: example files of every kind; bad rows per kind (exact line, column, reason, and the
//! reject file); duplicates and re-imports; corrections; encodings (GBK detected, named,
//! wrong); refused files (header, not CSV, empty) write nothing; an interrupted import
//! resumed equals an uninterrupted one.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use common::{counts, events, example, gbk, rejects, run, write, World};
use crm_app::App;
use crm_load::{
    import, ImportKind, ImportOptions, ImportProgress, ImportReport, LoadError, TextEncoding,
};

/// Imports every example file in dependency order.
async fn load_examples(app: &App) -> Vec<ImportReport> {
    let mut reports = Vec::new();
    for kind in ImportKind::ALL {
        reports.push(run(app, kind, &example(kind), ImportOptions::default()).await);
    }
    reports
}

#[tokio::test]
async fn every_example_file_imports_completely_and_a_second_import_changes_nothing() {
    // Goal: the documented examples are valid, and importing them again is a no-op.
    let w = World::new();
    let first = load_examples(&w.app).await;
    // The brokerage kinds, then the bank's (see bank_import.rs and bank_services_import.rs
    // for what each of those writes).
    let expected = [10, 4, 5, 4, 4, 3, 4, 5, 3, 4, 2, 4, 4, 4, 4, 4];
    for (report, rows) in first.iter().zip(expected) {
        assert_eq!(counts(report), (rows, rows, 0, 0), "{:?}", report.rejects);
        assert_eq!(report.encoding, TextEncoding::Utf8);
    }
    let head = w.head();
    // Organisation 10 + customers 4 registered (3 assigned) + 5 accounts + 4 days + 4 market
    // figures + 3 contacts; then 4 deposit accounts opened (1 closed), 5 balances, 3 loans
    // (3 disbursed, 2 schedules, 1 closed), 4 positions, 2 reclassifications, 4 fees, 4
    // external facts, 4 cards (1 cancelled), 4 sign-ups (1 cancelled) and 4 wealth
    // transactions.
    assert_eq!(
        head,
        10 + 4
            + 3
            + 5
            + 4
            + 4
            + 3
            + (4 + 1)
            + 5
            + (3 + 3 + 2 + 1)
            + 4
            + 2
            + 4
            + 4
            + (4 + 1)
            + (4 + 1)
            + 4
    );
    let log = events(&w.app);
    let again = load_examples(&w.app).await;
    for (report, rows) in again.iter().zip(expected) {
        assert_eq!(counts(report), (rows, 0, rows, 0), "{:?}", report.rejects);
        assert_eq!(report.events, 0);
    }
    assert_eq!(w.head(), head);
    assert_eq!(events(&w.app), log);
}

#[tokio::test]
async fn bad_customer_rows_are_reported_with_line_column_and_reason_and_the_good_ones_imported() {
    // Goal: parse errors and domain refusals are both rejects naming the row; good rows around
    // them are imported; the reject file holds the original rows with the reasons.
    let w = World::new();
    run(
        &w.app,
        ImportKind::Organisation,
        &example(ImportKind::Organisation),
        ImportOptions::default(),
    )
    .await;
    let path = write(
        w.dir.path(),
        "customers.csv",
        "customer_kind,name,id_type,id_number,source_channel,registered_on,branch_code,manager_no\n\
         individual,张三,resident_id,310115198003120016,counter,2024-01-03,B001,E002\n\
         individual,王五,resident_id,310115198003120017,counter,2024-01-03,,\n\
         individual,赵六,resident_id,440304199001010038,pigeon,2024-01-03,,\n\
         individual,,resident_id,110102196511110043,app,2024-01-03,,\n\
         individual,钱七,resident_id,110102196511110043,app,2024-01-03\n\
         individual,孙八,business_licence,91440300987654321R,app,2024-01-03,,\n\
         individual,周九,resident_id,440304199001010038,app,2024-02-30,,\n\
         individual,吴十,resident_id,440304199001010038,app,2024-01-04,,E002\n\
         institutional,深圳福田贸易有限公司,business_licence,91440300987654321R,phone,2024-01-04,,\n",
    );
    let reject_file = w.dir.path().join("rejects.csv");
    let options = ImportOptions {
        reject_file: Some(reject_file.clone()),
        ..ImportOptions::default()
    };
    let report = run(&w.app, ImportKind::Customers, &path, options).await;
    assert_eq!(counts(&report), (9, 2, 0, 7));
    assert_eq!(
        rejects(&report),
        vec![
            (
                3,
                Some("id_number"),
                "'310115198003120017' the check character is 7, expected 6"
            ),
            (
                4,
                Some("source_channel"),
                "'pigeon' is not one of counter, phone, call_centre, app, internet, email, \
                 wechat, bank_counter, self_service, visit"
            ),
            (5, Some("name"), "is empty"),
            (6, None, "has 6 fields, the header has 8"),
            (
                7,
                None,
                "invalid document: an individual needs a resident ID or a passport"
            ),
            (
                8,
                Some("registered_on"),
                "'2024-02-30' is not a date like 2024-03-01"
            ),
            (9, Some("branch_code"), "is needed when manager_no is given"),
        ]
    );
    assert!(report.rejects.iter().all(|r| r.file == path));
    assert_eq!(
        report.rejects[0].to_string(),
        format!(
            "{}:3: column id_number: '310115198003120017' the check character is 7, expected 6",
            path.display()
        )
    );
    let written = std::fs::read_to_string(&reject_file).unwrap();
    let lines: Vec<&str> = written.lines().collect();
    assert_eq!(lines.len(), 8);
    assert_eq!(
        lines[0],
        "reject_line,reject_column,reject_reason,customer_kind,name,id_type,id_number,\
         source_channel,registered_on,branch_code,manager_no"
    );
    assert_eq!(
        lines[3],
        "5,name,is empty,individual,,resident_id,110102196511110043,app,2024-01-03,,"
    );
    assert_eq!(
        lines[4],
        "6,,\"has 6 fields, the header has 8\",individual,钱七,resident_id,\
         110102196511110043,app,2024-01-03"
    );
}

#[tokio::test]
async fn a_reimported_customer_with_a_new_profile_is_updated_and_a_new_assignment_refused() {
    // Goal: the customers file carries the current profile, so a changed row updates it; a
    // different branch is a reassignment, which is a CRM workflow and not imported.
    let w = World::new();
    for kind in [ImportKind::Organisation, ImportKind::Customers] {
        run(&w.app, kind, &example(kind), ImportOptions::default()).await;
    }
    let head = w.head();
    let original = std::fs::read_to_string(example(ImportKind::Customers)).unwrap();
    let changed = original
        .replace("13812345678", "13900001111")
        .replace(",B002,E003,", ",B001,E002,");
    let path = write(w.dir.path(), "customers.csv", &changed);
    let report = run(
        &w.app,
        ImportKind::Customers,
        &path,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (4, 1, 2, 1));
    assert_eq!(
        rejects(&report),
        vec![(
            5,
            None,
            "assign: conflict: customer is already assigned; reassign instead"
        )]
    );
    // One ProfileUpdated for 张三's new phone.
    assert_eq!(w.head(), head + 1);
}

#[tokio::test]
async fn bad_rows_of_accounts_summaries_market_totals_and_interactions_are_each_named() {
    // Goal: each kind's parse errors and domain refusals name line, column and reason.
    let w = World::new();
    for kind in [ImportKind::Organisation, ImportKind::Customers] {
        run(&w.app, kind, &example(kind), ImportOptions::default()).await;
    }
    let accounts = write(
        w.dir.path(),
        "accounts.csv",
        "account_no,account_kind,market,id_type,id_number,opened_on\n\
         F1,fund,,resident_id,310115198003120016,2024-01-03\n\
         S1,securities,,resident_id,310115198003120016,2024-01-03\n\
         S2,securities,NYSE,resident_id,310115198003120016,2024-01-03\n\
         F2,fund,,resident_id,440304199001010038,2024-01-03\n\
         F3,savings,,resident_id,310115198003120016,2024-01-03\n\
         F1,fund,,resident_id,310115198003120016,2024-01-03\n",
    );
    let report = run(
        &w.app,
        ImportKind::Accounts,
        &accounts,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (6, 1, 1, 4));
    assert_eq!(
        rejects(&report),
        vec![
            (3, Some("market"), "is empty"),
            (
                4,
                Some("market"),
                "'NYSE' is not one of sh, sz, bj, hk, otc"
            ),
            (5, None, "customer not found"),
            (
                6,
                Some("account_kind"),
                "'savings' is not one of fund, securities, credit"
            ),
        ]
    );

    let summaries = write(
        w.dir.path(),
        "summaries.csv",
        "account_no,trade_date,id_type,id_number,turnover,commission,deposits,withdrawals,\
         end_of_day_assets,realised_pnl,unrealised_pnl\n\
         F1,2024-01-08,resident_id,310115198003120016,SH:stock:mobile=100,0.03,0,0,1000,0,0\n\
         F1,2024-01-09,resident_id,310115198003120016,,0.12345,0,0,1000,0,0\n\
         F1,2024-01-10,resident_id,310115198003120016,,-1,0,0,1000,0,0\n\
         F1,2024-01-11,resident_id,310115198003120016,SH:stock=5,0,0,0,1000,0,0\n\
         F1,2024-01-12,resident_id,310115198003120016,NY:stock:mobile=5,0,0,0,1000,0,0\n\
         F1,2024-01-15,resident_id,310115198003120016,\"SH:stock:mobile=1,5\",0,0,0,1000,0,0\n\
         F1,2024-01-08,resident_id,310115198003120016,SH:stock:mobile=100,0.03,0,0,1000,0,0\n\
         F1,2024-01-08,resident_id,310115198003120016,SH:stock:mobile=100,0.04,0,0,1000,0,0\n\
         F1,2024-01-16,resident_id,310115198003120016,SH:stock:mobile=1;SH:stock:mobile=2,0,0,0,1000,0,0\n",
    );
    let report = run(
        &w.app,
        ImportKind::DailySummaries,
        &summaries,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (9, 1, 1, 7));
    assert_eq!(
        rejects(&report),
        vec![
            (3, Some("commission"), "'0.12345' has more than 4 decimals"),
            (4, None, "invalid commission: must not be negative"),
            (
                5,
                Some("turnover"),
                "'SH:stock=5' is not market:security_type:channel=amount"
            ),
            (
                6,
                Some("turnover"),
                "in 'NY:stock:mobile=5': unknown market 'NY'"
            ),
            (
                7,
                Some("turnover"),
                "in 'SH:stock:mobile=1,5': '1,5' must be a decimal number like 1234.5678"
            ),
            (
                9,
                None,
                "conflict: a different summary for 2024-01-08 is already recorded; send it as \
                 a correction"
            ),
            (
                10,
                None,
                "invalid turnover: has two lines for the same market, type and channel"
            ),
        ]
    );

    let market = write(
        w.dir.path(),
        "market.csv",
        "trade_date,market,turnover\n2024-01-08,SH,100\n2024-01-08,LSE,5\n20240108,sh,100\n\
         2024-01-08,SZ,abc\n",
    );
    let report = run(
        &w.app,
        ImportKind::MarketTotals,
        &market,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (4, 1, 1, 2));
    assert_eq!(
        rejects(&report),
        vec![
            (3, Some("market"), "'LSE' is not one of sh, sz, bj, hk, otc"),
            (
                5,
                Some("turnover"),
                "'abc' must be a decimal number like 1234.5678"
            ),
        ]
    );

    let contacts = write(
        w.dir.path(),
        "contacts.csv",
        "contact_no,id_type,id_number,staff_no,channel,direction,topic,outcome,contacted_at\n\
         K1,resident_id,310115198003120016,E002,phone,outbound,回访,reached,2024-01-08 10:30\n\
         K2,resident_id,440304199001010038,E002,phone,outbound,回访,reached,2024-01-08 10:30\n\
         K3,resident_id,310115198003120016,E002,phone,outbound,回访,reached,yesterday\n\
         K4,resident_id,310115198003120016,E002,phone,sideways,回访,reached,2024-01-08 10:30\n\
         K1,resident_id,310115198003120016,E002,phone,outbound,回访,reached,2024-01-08 10:31\n",
    );
    let report = run(
        &w.app,
        ImportKind::Interactions,
        &contacts,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (5, 1, 0, 4));
    assert_eq!(
        rejects(&report),
        vec![
            (3, None, "customer not found"),
            (
                4,
                Some("contacted_at"),
                "'yesterday' is not a time like 2024-03-01 14:30"
            ),
            (
                5,
                Some("direction"),
                "'sideways' is not one of inbound, outbound"
            ),
            (6, None, "interaction already exists"),
        ]
    );
}

#[tokio::test]
async fn organisation_rows_run_in_order_and_bad_ones_are_named() {
    // Goal: branches may come before their region in the file (phases order them); rows
    // missing what their record type needs are rejects.
    let w = World::new();
    let path = write(
        w.dir.path(),
        "org.csv",
        "record,code,name,region_code,branch_code,role,team_code,effective_on\n\
         staff,E9,赵敏,,B9,customer_manager,T9,2024-01-02\n\
         team,T9,一组,,B9,,,2024-01-02\n\
         branch,B9,北京金融街营业部,R9,,,,2024-01-02\n\
         region,R9,华北分公司,,,,,2024-01-02\n\
         staff,E10,钱峰,,,region_manager,,2024-01-02\n\
         team,T1,二组,,B404,,,2024-01-02\n\
         office,X,什么,,,,,2024-01-02\n\
         region,R9,华北分公司,,,,,2024-01-02\n",
    );
    let report = run(
        &w.app,
        ImportKind::Organisation,
        &path,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (8, 4, 1, 3));
    assert_eq!(
        rejects(&report),
        vec![
            (6, Some("region_code"), "is empty"),
            (7, None, "branch not found"),
            (
                8,
                Some("record"),
                "'office' is not one of region, branch, team, staff"
            ),
        ]
    );
}

#[tokio::test]
async fn a_correction_file_supersedes_recorded_days_and_is_itself_idempotent() {
    // Goal: different figures for a recorded day are refused, then accepted as a correction
    // (one correction event), and the correction re-imported changes nothing.
    let w = World::new();
    let kind = ImportKind::DailySummaries;
    run(&w.app, kind, &example(kind), ImportOptions::default()).await;
    let corrected = std::fs::read_to_string(example(kind))
        .unwrap()
        .replace(",15.0000,", ",16.5,");
    let path = write(w.dir.path(), "corrected.csv", &corrected);
    let refused = run(&w.app, kind, &path, ImportOptions::default()).await;
    assert_eq!(counts(&refused), (4, 0, 3, 1));
    assert_eq!(refused.rejects[0].line, 2);
    let head = w.head();
    let correction = ImportOptions {
        correction: true,
        ..ImportOptions::default()
    };
    let report = run(&w.app, kind, &path, correction.clone()).await;
    assert_eq!(counts(&report), (4, 1, 3, 0));
    assert_eq!(w.head(), head + 1);
    let last = events(&w.app)
        .into_iter()
        .find(|e| e.3 == "DailyTradeSummaryCorrected");
    assert!(last.is_some());
    let again = run(&w.app, kind, &path, correction).await;
    assert_eq!(counts(&again), (4, 0, 4, 0));
    assert_eq!(w.head(), head + 1);
}

#[tokio::test]
async fn a_gbk_file_is_detected_or_read_as_named_and_refused_as_utf8() {
    // Goal: GBK exports import like UTF-8 ones; naming the wrong encoding refuses the file
    // before anything is written.
    let w = World::new();
    let org = ImportKind::Organisation;
    run(&w.app, org, &example(org), ImportOptions::default()).await;
    let text = std::fs::read_to_string(example(ImportKind::Customers)).unwrap();
    let path = w.dir.path().join("customers-gbk.csv");
    std::fs::write(&path, gbk(&text)).unwrap();

    let head = w.head();
    let utf8 = ImportOptions {
        encoding: TextEncoding::Utf8,
        ..ImportOptions::default()
    };
    let err = import(&w.app, ImportKind::Customers, &path, utf8, |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, LoadError::Encoding { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "{}: not valid UTF-8: byte 0xD5 at line 2 (offset 164); nothing was imported",
            path.display()
        )
    );
    assert_eq!(w.head(), head);

    let report = run(
        &w.app,
        ImportKind::Customers,
        &path,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(report.encoding, TextEncoding::Gbk);
    assert!(report
        .encoding_note
        .as_deref()
        .is_some_and(|n| n.ends_with("it was read as GBK")));
    assert_eq!(counts(&report), (4, 4, 0, 0));
    // The same rows from the UTF-8 file are the same commands: nothing new.
    let named = ImportOptions {
        encoding: TextEncoding::Gbk,
        ..ImportOptions::default()
    };
    let head = w.head();
    let utf8_file = run(
        &w.app,
        ImportKind::Customers,
        &example(ImportKind::Customers),
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&utf8_file), (4, 0, 4, 0));
    let again = run(&w.app, ImportKind::Customers, &path, named).await;
    assert_eq!(counts(&again), (4, 0, 4, 0));
    assert_eq!(w.head(), head);
}

#[tokio::test]
async fn a_file_with_a_wrong_header_or_that_is_not_csv_is_refused_and_nothing_is_written() {
    // Goal: whole-file problems are named and stop the import before its first command.
    let w = World::new();
    let head = w.head();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "header.csv",
            b"trade_date,market,turnover_yuan,extra\n2024-01-08,SH,1\n".to_vec(),
            "wrong header for a market_totals file: missing columns: turnover; unexpected \
             columns: turnover_yuan, extra; a market_totals file has the columns trade_date, \
             market, turnover and optionally none; nothing was imported",
        ),
        (
            "dup.csv",
            b"trade_date,market,turnover,market\n".to_vec(),
            "wrong header for a market_totals file: duplicated columns: market; a \
             market_totals file has the columns trade_date, market, turnover and optionally \
             none; nothing was imported",
        ),
        (
            "image.png",
            b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".to_vec(),
            "not a CSV file: it holds binary data (a NUL byte at offset 8); nothing was \
             imported",
        ),
        (
            "utf16.csv",
            b"\xFF\xFEt\x00r\x00".to_vec(),
            "not a CSV file: it is UTF-16 text (save it as CSV in UTF-8 or GBK); nothing was \
             imported",
        ),
        (
            "empty.csv",
            b"\xEF\xBB\xBF\n".to_vec(),
            "not a CSV file: it is empty (not even a header); nothing was imported",
        ),
        (
            "latin1.csv",
            b"trade_date,market,turnover\n2024-01-08,SH,1\xff\xff\n".to_vec(),
            "the file is not valid UTF-8: byte 0xFF at line 2 (offset 42), and not valid \
             GBK: undecodable bytes at line 2; nothing was imported",
        ),
    ];
    for (name, bytes, message) in cases {
        let path = w.dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let err = import(
            &w.app,
            ImportKind::MarketTotals,
            &path,
            ImportOptions::default(),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), format!("{}: {message}", path.display()));
        assert_eq!(w.head(), head, "{name}");
    }
    let header = w.dir.path().join("header.csv");
    match import(
        &w.app,
        ImportKind::MarketTotals,
        &header,
        ImportOptions::default(),
        |_| {},
    )
    .await
    {
        Err(LoadError::Header { problems, .. }) => {
            assert_eq!(problems.missing, vec!["turnover"]);
            assert_eq!(problems.unexpected, vec!["turnover_yuan", "extra"]);
        }
        other => panic!("expected a header error, got {other:?}"),
    }
}

/// A daily-summary file of `accounts` accounts × `days` days, in date order.
fn summaries_file(accounts: u32, days: u32) -> String {
    let mut text = String::from(
        "account_no,trade_date,id_type,id_number,turnover,commission,deposits,withdrawals,\
         end_of_day_assets,holdings_cash,holdings_stocks,realised_pnl,unrealised_pnl\n",
    );
    for d in 0..days {
        for a in 0..accounts {
            text.push_str(&format!(
                "F{a:05},2024-03-{:02},resident_id,310115198003120016,\
                 SH:stock:mobile={}.{:02},{}.5,0,0,{}0000,{}0,{}0000,-{a}.25,{d}\n",
                d + 1,
                1000 + a * 7 + d,
                a % 100,
                a + d,
                10 + a,
                a,
                9 + a
            ));
        }
    }
    text
}

#[tokio::test]
async fn an_import_interrupted_after_n_rows_and_resumed_equals_an_uninterrupted_one() {
    // Goal: resumability. Method: import the first 37 rows (a row limit stands for any
    // interruption), then the whole file; compare the log with a single run into a fresh
    // store: the same events per stream (ids, types, payloads, business times, command ids).
    let text = summaries_file(20, 5);
    let interrupted = World::new();
    let path = write(interrupted.dir.path(), "summaries.csv", &text);
    let kind = ImportKind::DailySummaries;
    let limited = ImportOptions {
        row_limit: Some(37),
        ..ImportOptions::default()
    };
    let mut calls: Vec<ImportProgress> = Vec::new();
    let first = import(&interrupted.app, kind, &path, limited, |p| calls.push(p))
        .await
        .unwrap();
    assert_eq!(counts(&first), (37, 37, 0, 0));
    assert!(first.rows_left);
    let last = calls.last().unwrap();
    assert_eq!((last.rows_done, last.rows_total), (37, Some(37)));
    let resumed = run(&interrupted.app, kind, &path, ImportOptions::default()).await;
    assert_eq!(counts(&resumed), (100, 63, 37, 0));
    assert!(!resumed.rows_left);

    let whole = World::new();
    let path = write(whole.dir.path(), "summaries.csv", &text);
    let single = run(&whole.app, kind, &path, ImportOptions::default()).await;
    assert_eq!(counts(&single), (100, 100, 0, 0));
    assert_eq!(events(&interrupted.app), events(&whole.app));
    assert_eq!(interrupted.head(), 100);
}

#[tokio::test]
async fn customers_interrupted_between_their_commands_resume_to_the_same_log() {
    // Goal: a row of several commands (register, assign) resumed after a partial run ends as
    // in one run. Method: a row limit of 2, then the rest, against a single run.
    let interrupted = World::new();
    let whole = World::new();
    for w in [&interrupted, &whole] {
        let org = ImportKind::Organisation;
        run(&w.app, org, &example(org), ImportOptions::default()).await;
    }
    let kind = ImportKind::Customers;
    let limited = ImportOptions {
        row_limit: Some(2),
        ..ImportOptions::default()
    };
    run(&interrupted.app, kind, &example(kind), limited).await;
    let resumed = run(
        &interrupted.app,
        kind,
        &example(kind),
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&resumed), (4, 2, 2, 0));
    run(&whole.app, kind, &example(kind), ImportOptions::default()).await;
    assert_eq!(events(&interrupted.app), events(&whole.app));
}

#[tokio::test]
async fn every_kind_interrupted_after_two_rows_and_resumed_equals_one_run() {
    // Goal: resumability for each format, multi-phase organisation files included. Method:
    // per kind, import two rows and then the whole file into one store; import each file once
    // into another; compare the logs.
    let interrupted = World::new();
    let whole = World::new();
    for kind in ImportKind::ALL {
        let limited = ImportOptions {
            row_limit: Some(2),
            ..ImportOptions::default()
        };
        let first = run(&interrupted.app, kind, &example(kind), limited).await;
        assert_eq!(counts(&first), (2, 2, 0, 0), "{kind}");
        let resumed = run(
            &interrupted.app,
            kind,
            &example(kind),
            ImportOptions::default(),
        )
        .await;
        assert_eq!(resumed.unchanged, 2, "{kind}");
        assert_eq!(resumed.rejected, 0, "{kind}: {:?}", resumed.rejects);
        run(&whole.app, kind, &example(kind), ImportOptions::default()).await;
    }
    assert_eq!(interrupted.head(), whole.head());
    assert_eq!(events(&interrupted.app), events(&whole.app));
}

#[tokio::test]
async fn the_report_reads_as_one_line() {
    // Goal: the CLI can print the report as it is.
    let w = World::new();
    let kind = ImportKind::MarketTotals;
    let report = run(&w.app, kind, &example(kind), ImportOptions::default()).await;
    let line = report.to_string();
    let expected_start = format!(
        "{} (market_totals, Utf8): 4 rows read, 4 imported, 0 unchanged, 0 rejected; 4 events in ",
        example(kind).display()
    );
    assert!(line.starts_with(&expected_start), "{line}");
}
