//! `crm import` of a bank's core system files, end to end through the binary: the documented
//! examples (organisation and customers first) each import with exit 0 and import again with
//! no event; a GBK export is read; a bad row is printed with line, column and reason (exit
//! 1); a changed balance is refused naming the day and then taken with `--correction`.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::path::Path;
use std::process::{Command, Output};

fn crm(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("run crm")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn example(kind: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("schema/import/examples")
        .join(format!("{kind}.csv"))
        .to_str()
        .unwrap()
        .to_owned()
}

/// The log's head position as `crm status` prints it.
fn head(dir: &Path) -> u64 {
    let out = crm(dir, &["status"]);
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
        .lines()
        .find_map(|l| l.strip_prefix("head position: "))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Imports `file` as `kind`, expecting exit `code` and `summary` in the output.
fn import(dir: &Path, args: &[&str], code: i32, summary: &str) -> Output {
    let mut all = vec!["import"];
    all.extend_from_slice(args);
    let out = crm(dir, &all);
    assert_eq!(out.status.code(), Some(code), "{}", text(&out));
    assert!(text(&out).contains(summary), "{}", text(&out));
    out
}

#[test]
fn bank_files_import_through_the_binary_once_and_only_once() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    for (kind, rows) in [("organisation", 10), ("customers", 4)] {
        import(
            d,
            &[kind, &example(kind)],
            0,
            &format!("{rows} rows read, {rows} imported, 0 unchanged, 0 rejected"),
        );
    }
    // Each bank example, with the events it writes (see schema/import/<kind>.md).
    let bank = [
        ("deposit_accounts", 4, 5),
        ("deposit_balances", 5, 5),
        ("loan_accounts", 3, 9),
        ("loan_positions", 4, 4),
        ("loan_classifications", 2, 2),
        ("fee_income", 4, 4),
        ("external_facts", 4, 4),
        ("cards", 4, 5),
        ("e_banking_sign_ups", 4, 5),
        ("wealth_transactions", 4, 4),
    ];
    for (kind, rows, events) in bank {
        let before = head(d);
        import(
            d,
            &[kind, &example(kind)],
            0,
            &format!("{rows} rows read, {rows} imported, 0 unchanged, 0 rejected; {events} events"),
        );
        assert_eq!(head(d), before + events, "{kind}");
    }
    let after = head(d);
    for (kind, rows, _) in bank {
        import(
            d,
            &[kind, &example(kind)],
            0,
            &format!("{rows} rows read, 0 imported, {rows} unchanged, 0 rejected; 0 events"),
        );
    }
    assert_eq!(head(d), after);

    // A GBK export of fee income, one row new: detected, read, the known rows unchanged.
    let fees = std::fs::read_to_string(example("fee_income")).unwrap()
        + "resident_id,33010419750521002X,,2024-01-09,代理类,8.80\n";
    let (bytes, _, unmappable) = encoding_rs::GBK.encode(&fees);
    assert!(!unmappable);
    let gbk = d.join("fees-gbk.csv");
    std::fs::write(&gbk, &bytes).unwrap();
    let out = import(
        d,
        &["fee_income", gbk.to_str().unwrap()],
        0,
        "5 rows read, 1 imported, 4 unchanged, 0 rejected; 1 events",
    );
    assert!(text(&out).contains("read as GBK"), "{}", text(&out));

    // A bad row and a changed day: each rejected with its line, the rest unchanged; exit 1.
    let balances = d.join("balances.csv");
    std::fs::write(
        &balances,
        "account_no,date,balance\nD0001,2024-01-08,52000.00\nD0001,2024-01-09,51800.26\n\
         D0002,2024-01-08,一万\n",
    )
    .unwrap();
    let file = balances.to_str().unwrap();
    let out = import(
        d,
        &["deposit_balances", file],
        1,
        "3 rows read, 0 imported, 1 unchanged, 2 rejected; 0 events",
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let listed: Vec<&str> = err
        .lines()
        .filter(|l| l.starts_with("rejected: "))
        .collect();
    assert_eq!(
        listed,
        [
            format!(
                "rejected: {file}:3: conflict: a different balance for 2024-01-09 is already \
                 recorded; send it as a correction"
            ),
            format!(
                "rejected: {file}:4: column balance: '一万' must be a decimal number like \
                 1234.5678"
            ),
        ],
        "{err}"
    );
    // As a correction the changed day is superseded; the bad row is still refused.
    let before = head(d);
    import(
        d,
        &["deposit_balances", file, "--correction"],
        1,
        "3 rows read, 1 imported, 1 unchanged, 1 rejected; 1 events",
    );
    assert_eq!(head(d), before + 1);
}
