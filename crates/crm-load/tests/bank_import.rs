//! The core banking import (deposit accounts and balances, loans, positions and
//! classifications, fee income, external facts) through the real command path, on a real
//! store. Files are the documented examples in `schema/import/examples` or small files
//! written in the test.
//!
//! Index: every bank example imports and a second import writes nothing; bad rows of each
//! kind are named (line, column, reason) and the rest imported; a GBK export imports as the
//! same commands; daily rows (balances, positions, fees) are refused when resent with other
//! figures, naming the day, and superseded with `--correction`; a deposit account or loan that
//! gains its closing in a later file is closed, the rest unchanged; the documents show the
//! example files as they are (no drift).
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;

use common::{counts, events, example, gbk, rejects, run, schema, types_since, write, World};
use crm_app::App;
use crm_domain::auth::Role;
use crm_load::{ImportKind, ImportOptions, TextEncoding};

const BANK_KINDS: [ImportKind; 7] = [
    ImportKind::DepositAccounts,
    ImportKind::DepositBalances,
    ImportKind::LoanAccounts,
    ImportKind::LoanPositions,
    ImportKind::LoanClassifications,
    ImportKind::FeeIncome,
    ImportKind::ExternalFacts,
];

/// The organisation and the customers the bank examples refer to.
async fn prerequisites(app: &App) {
    for kind in [ImportKind::Organisation, ImportKind::Customers] {
        let report = run(app, kind, &example(kind), ImportOptions::default()).await;
        assert_eq!(report.rejected, 0, "{kind}: {:?}", report.rejects);
    }
}

/// Imports the bank examples in order (`upto` kinds of [`BANK_KINDS`]).
async fn load_bank(app: &App, upto: usize) {
    for kind in BANK_KINDS.into_iter().take(upto) {
        let report = run(app, kind, &example(kind), ImportOptions::default()).await;
        assert_eq!(report.rejected, 0, "{kind}: {:?}", report.rejects);
    }
}

#[tokio::test]
async fn every_bank_example_imports_completely_and_a_second_import_writes_nothing() {
    // Goal: each bank kind's documented example is valid and records what its rows say; the
    // same files again are answered as already recorded, with no event written.
    let w = World::new();
    prerequisites(&w.app).await;
    let expected: [(u64, &[(&str, usize)]); 7] = [
        (
            4,
            &[("DepositAccountOpened", 4), ("DepositAccountClosed", 1)],
        ),
        (5, &[("DepositBalanceRecorded", 5)]),
        (
            3,
            &[
                ("LoanContracted", 3),
                ("LoanDisbursed", 3),
                ("RepaymentScheduleSet", 2),
                ("LoanClosed", 1),
            ],
        ),
        (4, &[("LoanPositionRecorded", 4)]),
        (2, &[("LoanReclassified", 2)]),
        (4, &[("FeeIncomeRecorded", 4)]),
        (4, &[("ExternalFactRecorded", 4)]),
    ];
    for (kind, (rows, types)) in BANK_KINDS.into_iter().zip(expected) {
        let before = events(&w.app);
        let report = run(&w.app, kind, &example(kind), ImportOptions::default()).await;
        assert_eq!(
            counts(&report),
            (rows, rows, 0, 0),
            "{kind}: {:?}",
            report.rejects
        );
        assert_eq!(report.encoding, TextEncoding::Utf8);
        let mut wanted: Vec<String> = types
            .iter()
            .flat_map(|(t, n)| std::iter::repeat_n((*t).to_owned(), *n))
            .collect();
        wanted.sort();
        assert_eq!(types_since(&w.app, &before), wanted, "{kind}");
        assert_eq!(report.events, wanted.len() as u64, "{kind}");
    }
    let head = w.head();
    let log = events(&w.app);
    for kind in BANK_KINDS {
        let again = run(&w.app, kind, &example(kind), ImportOptions::default()).await;
        let rows = again.rows_read;
        assert_eq!(
            counts(&again),
            (rows, 0, rows, 0),
            "{kind}: {:?}",
            again.rejects
        );
        assert_eq!(again.events, 0, "{kind}");
    }
    assert_eq!(w.head(), head);
    assert_eq!(events(&w.app), log);
}

#[test]
fn each_kind_acts_as_the_least_powerful_role_holding_its_right() {
    // Goal: the core system's facts are the operator's (RecordBankFacts); moving a loan
    // between classes is judged, and so needs ClassifyLoan for any outlet: headquarters.
    for kind in BANK_KINDS {
        let role = if kind == ImportKind::LoanClassifications {
            Role::Headquarters
        } else {
            Role::Operator
        };
        assert_eq!(kind.actor_role(), role, "{kind}");
    }
}

#[tokio::test]
async fn bad_deposit_rows_are_named_and_the_good_ones_imported() {
    // Goal: parse errors (rate, kind, term) and domain refusals (unknown customer or outlet,
    // a time deposit without maturity, an account opened twice with other terms) each name
    // the row; the good rows go in.
    let w = World::new();
    prerequisites(&w.app).await;
    let accounts = write(
        w.dir.path(),
        "deposits.csv",
        "account_no,id_type,id_number,branch_code,product,deposit_kind,rate,opened_on,term_months,maturity\n\
         D1,resident_id,310115198003120016,B001,活期储蓄存款,活期,0.35%,2024-01-03,,\n\
         D2,resident_id,310115198003120016,B001,活期储蓄存款,活期,35%%,2024-01-03,,\n\
         D3,resident_id,310115198003120016,B001,活期储蓄存款,savings,0.35%,2024-01-03,,\n\
         D4,resident_id,440304199001010038,B001,活期储蓄存款,demand,0.35%,2024-01-03,,\n\
         D5,resident_id,310115198003120016,B404,活期储蓄存款,demand,0.35%,2024-01-03,,\n\
         D6,resident_id,310115198003120016,B001,整存整取一年,time,1.45%,2024-01-03,12,\n\
         D7,resident_id,310115198003120016,B001,整存整取一年,time,1.45%,2024-01-03,twelve,2025-01-03\n\
         D1,resident_id,310115198003120016,B001,活期储蓄存款,活期,0.30%,2024-01-03,,\n\
         D8,resident_id,310115198003120016,B001,活期储蓄存款,demand,120%,2024-01-03,,\n",
    );
    let report = run(
        &w.app,
        ImportKind::DepositAccounts,
        &accounts,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (9, 1, 0, 8));
    assert_eq!(
        rejects(&report),
        vec![
            (3, Some("rate"), "'35%%' is not a rate like 1.45% or 0.0145"),
            (
                4,
                Some("deposit_kind"),
                "'savings' is not one of demand, time"
            ),
            (5, None, "customer not found"),
            (6, None, "branch not found"),
            (
                7,
                None,
                "invalid maturity: a time deposit needs a maturity date"
            ),
            (
                8,
                Some("term_months"),
                "'twelve' is not a whole number in range"
            ),
            (9, None, "deposit account already exists"),
            (10, Some("rate"), "'120%' must be between 0 and 1"),
        ]
    );

    let balances = write(
        w.dir.path(),
        "balances.csv",
        "account_no,date,balance\n\
         D1,2024-01-08,100\n\
         D9,2024-01-08,100\n\
         D1,2024-01-02,100\n\
         D1,2024-01-09,-5\n\
         D1,2024-01-10,1e5\n\
         D1,2024-01-08,100.0000\n\
         D1,2024-01-08,101\n",
    );
    let report = run(
        &w.app,
        ImportKind::DepositBalances,
        &balances,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (7, 1, 1, 5));
    assert_eq!(
        rejects(&report),
        vec![
            (3, None, "deposit account not found"),
            (4, None, "invalid date: is before the account was opened"),
            (5, None, "invalid balance: must not be negative"),
            (
                6,
                Some("balance"),
                "'1e5' must be a decimal number like 1234.5678"
            ),
            (
                8,
                None,
                "conflict: a different balance for 2024-01-08 is already recorded; send it as \
                 a correction"
            ),
        ]
    );
}

#[tokio::test]
async fn bad_loan_rows_are_named_and_the_good_ones_imported() {
    // Goal: contract, disbursement, schedule and closing columns are each checked; a row's
    // commands stop at the first refused one, which the reason names.
    let w = World::new();
    prerequisites(&w.app).await;
    let header = "loan_no,id_type,id_number,branch_code,product,amount,rate,start_on,maturity,\
                  guarantee,purpose,disbursed_amount,disbursed_on,schedule,closed_on,closure\n";
    let rows = "\
        L1,resident_id,310115198003120016,B001,农户小额信用贷款,50000,4.35%,2024-01-05,2025-01-05,信用,购买农资,,2024-01-05,2025-01-05:50000:2175,,\n\
        L2,resident_id,310115198003120016,B001,农户小额信用贷款,50000,4.35%,2024-01-05,2025-01-05,pawn,购买农资,,,,,\n\
        L3,resident_id,310115198003120016,B001,农户小额信用贷款,50000,4.35%,2024-01-05,2025-01-05,信用,购买农资,60000,2024-01-05,,,\n\
        L4,resident_id,310115198003120016,B001,农户小额信用贷款,50000,4.35%,2024-01-05,2025-01-05,信用,购买农资,,,2025-01-05=50000,,\n\
        L5,resident_id,310115198003120016,B001,农户小额信用贷款,50000,4.35%,2024-01-05,2025-01-05,信用,购买农资,,,2026-01-05:50000:0,,\n\
        L6,resident_id,310115198003120016,B001,农户小额信用贷款,50000,4.35%,2024-01-05,2025-01-05,信用,购买农资,5000,,,,\n\
        L7,resident_id,310115198003120016,B001,农户小额信用贷款,50000,4.35%,2024-01-05,2023-01-05,信用,购买农资,,,,,\n\
        L8,resident_id,310115198003120016,B001,农户小额信用贷款,50000,4.35%,2024-01-05,2025-01-05,信用,购买农资,,,,2024-02-01,sold\n";
    let loans = write(w.dir.path(), "loans.csv", &format!("{header}{rows}"));
    let report = run(
        &w.app,
        ImportKind::LoanAccounts,
        &loans,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (8, 1, 0, 7));
    assert_eq!(
        rejects(&report),
        vec![
            (
                3,
                Some("guarantee"),
                "'pawn' is not one of credit, guarantee, mortgage, pledge"
            ),
            (
                4,
                None,
                "disburse: conflict: disbursing 60000.0000 would bring the loan to \
                 60000.0000, over its contract amount 50000.0000"
            ),
            (
                5,
                Some("schedule"),
                "'2025-01-05=50000' is not due_date:principal:interest"
            ),
            (
                6,
                None,
                "schedule: invalid instalments: 2026-01-05 is outside the contract's term"
            ),
            (
                7,
                Some("disbursed_on"),
                "is needed when disbursed_amount is given"
            ),
            (8, None, "invalid maturity: must be after the start"),
            (
                9,
                Some("closure"),
                "'sold' is not one of repaid, written_off"
            ),
        ]
    );

    let positions = write(
        w.dir.path(),
        "positions.csv",
        "loan_no,date,balance,days_overdue\n\
         L1,2024-01-08,50000,0\n\
         L1,2024-01-09,50000,-1\n\
         L1,2023-12-31,50000,0\n\
         L9,2024-01-08,1,0\n\
         L1,2024-01-08,50000,3\n",
    );
    let report = run(
        &w.app,
        ImportKind::LoanPositions,
        &positions,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (5, 1, 0, 4));
    assert_eq!(
        rejects(&report),
        vec![
            (
                3,
                Some("days_overdue"),
                "'-1' is not a whole number in range"
            ),
            (4, None, "invalid date: is before the loan's start"),
            (5, None, "loan not found"),
            (
                6,
                None,
                "conflict: a different position for 2024-01-08 is already recorded; send it \
                 as a correction"
            ),
        ]
    );

    let classes = write(
        w.dir.path(),
        "classes.csv",
        "loan_no,from_class,to_class,reason,classified_on\n\
         L1,pass,special_mention,逾期,2024-01-10\n\
         L1,pass,substandard,逾期,2024-01-11\n\
         L1,关注,关注,逾期,2024-01-12\n\
         L1,special_mention,bad,逾期,2024-01-12\n\
         L9,pass,loss,逾期,2024-01-12\n",
    );
    let report = run(
        &w.app,
        ImportKind::LoanClassifications,
        &classes,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (5, 1, 0, 4));
    assert_eq!(
        rejects(&report),
        vec![
            (
                3,
                None,
                "conflict: the loan is classified special mention, not pass"
            ),
            (
                4,
                None,
                "invalid to: the loan is already classified special mention"
            ),
            (
                5,
                Some("to_class"),
                "'bad' is not one of pass, special_mention, substandard, doubtful, loss"
            ),
            (6, None, "loan not found"),
        ]
    );
}

#[tokio::test]
async fn bad_fee_and_external_fact_rows_are_named_and_the_good_ones_imported() {
    // Goal: fee types and amounts, and each external fact's own columns, are checked; a cell
    // of another kind of fact is refused rather than dropped.
    let w = World::new();
    prerequisites(&w.app).await;
    let fees = write(
        w.dir.path(),
        "fees.csv",
        "id_type,id_number,date,fee_type,amount\n\
         resident_id,310115198003120016,2024-01-08,结算,2\n\
         resident_id,310115198003120016,2024-01-08,lottery,2\n\
         resident_id,310115198003120016,2024-01-08,agency,-2\n\
         resident_id,310115198003120017,2024-01-08,agency,2\n\
         resident_id,310115198003120016,2024-01-08,settlement,2.5\n",
    );
    let report = run(
        &w.app,
        ImportKind::FeeIncome,
        &fees,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (5, 1, 0, 4));
    assert_eq!(
        rejects(&report),
        vec![
            (
                3,
                Some("fee_type"),
                "'lottery' is not one of settlement, bank_card, agency, electronic_banking, \
                 wealth_management, guarantee, advisory, other"
            ),
            (4, None, "invalid amount: must not be negative"),
            (
                5,
                Some("id_number"),
                "'310115198003120017' the check character is 7, expected 6"
            ),
            (
                6,
                None,
                "conflict: a different fee income for 2024-01-08 (Settlement) is already \
                 recorded; send it as a correction"
            ),
        ]
    );

    let facts = write(
        w.dir.path(),
        "facts.csv",
        "id_type,id_number,fact,source,as_of,loans_outstanding,balance_outstanding,\
         accounts_overdue,max_days_overdue,guarantees_given,queries_last_six_months,tax_year,\
         tax_paid,tax_rating\n\
         resident_id,310115198003120016,征信,人民银行征信中心,2024-01-04,1,50000,0,0,0,2,,,\n\
         resident_id,310115198003120016,征信,人民银行征信中心,2024-01-05,1,50000,0,0,0,,,,\n\
         resident_id,310115198003120016,tax,税务局,2024-01-05,1,,,,,,2023,100,A\n\
         resident_id,310115198003120016,tax,税务局,2024-01-05,,,,,,,2023,100,E\n\
         resident_id,440304199001010038,tax,税务局,2024-01-05,,,,,,,2023,100,A\n\
         resident_id,310115198003120016,征信,人民银行征信中心,2024-01-04,2,50000,0,0,0,2,,,\n",
    );
    let report = run(
        &w.app,
        ImportKind::ExternalFacts,
        &facts,
        ImportOptions::default(),
    )
    .await;
    assert_eq!(counts(&report), (6, 1, 0, 5));
    assert_eq!(
        rejects(&report),
        vec![
            (3, Some("queries_last_six_months"), "is empty"),
            (4, Some("loans_outstanding"), "is not part of a tax fact"),
            (5, Some("tax_rating"), "'E' is not one of a, b, m, c, d"),
            (6, None, "customer not found"),
            (
                7,
                None,
                "conflict: a different credit report as of 2024-01-04 is already recorded"
            ),
        ]
    );
}

#[tokio::test]
async fn a_gbk_export_imports_as_the_same_commands_as_its_utf8_twin() {
    // Goal: core-system exports in GBK are detected and read; the rows are the same commands
    // as the UTF-8 file's, so importing that one afterwards changes nothing.
    let w = World::new();
    prerequisites(&w.app).await;
    load_bank(&w.app, 2).await;
    for kind in [ImportKind::LoanAccounts, ImportKind::ExternalFacts] {
        let text = std::fs::read_to_string(example(kind)).unwrap();
        let path = w.dir.path().join(format!("{}-gbk.csv", kind.name()));
        std::fs::write(&path, gbk(&text)).unwrap();
        let report = run(&w.app, kind, &path, ImportOptions::default()).await;
        assert_eq!(report.encoding, TextEncoding::Gbk, "{kind}");
        let rows = report.rows_read;
        assert_eq!(
            counts(&report),
            (rows, rows, 0, 0),
            "{kind}: {:?}",
            report.rejects
        );
        let head = w.head();
        let utf8 = run(&w.app, kind, &example(kind), ImportOptions::default()).await;
        assert_eq!(counts(&utf8), (rows, 0, rows, 0), "{kind}");
        assert_eq!(w.head(), head);
    }
}

#[tokio::test]
async fn daily_rows_resent_with_other_figures_are_refused_naming_the_day_or_corrected() {
    // Goal: a balance, position or fee once recorded changes only by an explicit correction
    // (one correction event each, idempotent itself); a plain resend is refused naming the
    // day, and a correction of a day never recorded is refused.
    let w = World::new();
    prerequisites(&w.app).await;
    load_bank(&w.app, BANK_KINDS.len()).await;
    let cases = [
        (
            ImportKind::DepositBalances,
            ("D0001,2024-01-08,52000.00", "D0001,2024-01-08,52000.01"),
            "conflict: a different balance for 2024-01-08 is already recorded; send it as a \
             correction",
            "DepositBalanceCorrected",
            "D0001,2024-01-07,1",
        ),
        (
            ImportKind::LoanPositions,
            ("L0002,2024-01-09,800000,35", "L0002,2024-01-09,800000,36"),
            "conflict: a different position for 2024-01-09 is already recorded; send it as a \
             correction",
            "LoanPositionCorrected",
            "L0002,2024-01-07,1,0",
        ),
        (
            ImportKind::FeeIncome,
            (
                "business_licence,913100001234567896,,2024-01-08,agency,150.5",
                "business_licence,913100001234567896,,2024-01-08,agency,0",
            ),
            "conflict: a different fee income for 2024-01-08 (Agency) is already recorded; \
             send it as a correction",
            "FeeIncomeCorrected",
            "business_licence,913100001234567896,,2024-01-07,agency,1",
        ),
    ];
    for (kind, (original, changed), refusal, corrected, unrecorded) in cases {
        let text = std::fs::read_to_string(example(kind)).unwrap();
        assert!(text.contains(original), "{kind}");
        let line = 1 + text.lines().position(|l| l == original).unwrap() as u64;
        let path = write(
            w.dir.path(),
            &format!("{kind}-changed.csv"),
            &text.replace(original, changed),
        );
        let head = w.head();
        let refused = run(&w.app, kind, &path, ImportOptions::default()).await;
        let rows = refused.rows_read;
        assert_eq!(counts(&refused), (rows, 0, rows - 1, 1), "{kind}");
        assert_eq!(rejects(&refused), vec![(line, None, refusal)], "{kind}");
        assert_eq!(w.head(), head);

        let correction = ImportOptions {
            correction: true,
            ..ImportOptions::default()
        };
        let report = run(&w.app, kind, &path, correction.clone()).await;
        assert_eq!(counts(&report), (rows, 1, rows - 1, 0), "{kind}");
        assert_eq!(w.head(), head + 1, "{kind}");
        let log = events(&w.app);
        assert_eq!(log.iter().filter(|e| e.3 == corrected).count(), 1, "{kind}");
        let again = run(&w.app, kind, &path, correction.clone()).await;
        assert_eq!(counts(&again), (rows, 0, rows, 0), "{kind}");
        assert_eq!(w.head(), head + 1, "{kind}");

        let header = text.lines().next().unwrap();
        let never = write(
            w.dir.path(),
            &format!("{kind}-unrecorded.csv"),
            &format!("{header}\n{unrecorded}\n"),
        );
        let report = run(&w.app, kind, &never, correction).await;
        assert_eq!(counts(&report), (1, 0, 0, 1), "{kind}");
        assert!(
            report.rejects[0].reason.contains("2024-01-07"),
            "{kind}: {:?}",
            report.rejects
        );
        assert_eq!(w.head(), head + 1, "{kind}");
    }
}

#[tokio::test]
async fn an_account_or_loan_that_gains_its_closing_in_a_later_file_is_closed_and_nothing_else() {
    // Goal: the opening and the contract are sent with ids of their own columns only, so a
    // later export of the same account or loan with its closing filled in closes it and
    // re-sends the rest unchanged.
    let w = World::new();
    prerequisites(&w.app).await;
    load_bank(&w.app, 4).await;
    let kind = ImportKind::DepositAccounts;
    let text = std::fs::read_to_string(example(kind))
        .unwrap()
        .replace("0.35%,2024-01-03,\n", "0.35%,2024-01-03,2024-01-09\n");
    let path = write(w.dir.path(), "deposits-closed.csv", &text);
    let head = w.head();
    let report = run(&w.app, kind, &path, ImportOptions::default()).await;
    assert_eq!(counts(&report), (4, 1, 3, 0), "{:?}", report.rejects);
    assert_eq!(w.head(), head + 1);

    let kind = ImportKind::LoanAccounts;
    let text = std::fs::read_to_string(example(kind))
        .unwrap()
        .replace("543.75,,\n", "543.75,2024-01-09,\n");
    let path = write(w.dir.path(), "loans-closed.csv", &text);
    let report = run(&w.app, kind, &path, ImportOptions::default()).await;
    assert_eq!(counts(&report), (3, 1, 2, 0), "{:?}", report.rejects);
    assert_eq!(w.head(), head + 2);
    let closed = events(&w.app)
        .into_iter()
        .filter(|e| e.3 == "LoanClosed" || e.3 == "DepositAccountClosed")
        .count();
    assert_eq!(closed, 4);
}

/// The lines of the first ```csv block of a document.
fn csv_block(doc: &str) -> Vec<&str> {
    doc.split("```csv\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .map(|block| block.lines().collect())
        .unwrap_or_default()
}

#[test]
fn every_kind_is_documented_with_its_example_file_as_it_is() {
    // Goal: no drift between the documents and the files the tests import. Every kind has
    // its document, listed in the README's table; the document's example has the example
    // file's header and only lines of that file; the document names every column.
    let readme = std::fs::read_to_string(schema().join("README.md")).unwrap();
    for kind in ImportKind::ALL {
        let name = kind.name();
        assert!(
            readme.contains(&format!("| `{name}` | [{name}.md]({name}.md) |")),
            "{name} is not in the README's table"
        );
        let doc = std::fs::read_to_string(schema().join(format!("{name}.md"))).unwrap();
        let file = std::fs::read_to_string(example(kind)).unwrap();
        let shown = csv_block(&doc);
        assert!(shown.len() >= 2, "{name}.md shows no example");
        let lines: Vec<&str> = file.lines().collect();
        assert_eq!(shown.first(), lines.first(), "{name}.md's example header");
        for line in &shown {
            assert!(
                lines.contains(line),
                "{name}.md shows '{line}', not in the file"
            );
        }
        let (required, optional) = kind.columns();
        for column in required.iter().chain(optional) {
            assert!(
                doc.contains(&format!("`{column}`")),
                "{name}.md does not describe {column}"
            );
        }
    }
}
