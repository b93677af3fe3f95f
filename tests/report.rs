//! `crm report` through the real binary over a small demo: a customer list as CSV (UTF-8 and
//! GBK) and XLSX holding every customer of the read model; a server holding the data
//! directory refuses it with a clear message, and writes its `[[reports]]` itself.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crm_eventstore::EventStore;
use crm_projections::views::SegmentFilter;
use crm_projections::{Projections, RuleBook};

fn crm(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .env_remove("CRM_RULES")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// A small demo in `dir`, and how many customers its customer list holds.
fn demo(dir: &Path) -> usize {
    let out = crm(
        dir,
        &[
            "demo",
            "--customers",
            "60",
            "--days",
            "10",
            "--seed",
            "5",
            "--until",
            "2025-06-30",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    tokio::runtime::Runtime::new().unwrap().block_on(async {
        let store = EventStore::open(dir, Default::default()).unwrap();
        let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
        p.catch_up().unwrap();
        let total = p.customers(&SegmentFilter::default(), None, 1).total;
        drop(p);
        store.close().await.unwrap();
        total
    })
}

/// The data rows of a UTF-8 CSV with its byte-order mark, the header checked.
fn csv_rows(bytes: &[u8]) -> Vec<csv::StringRecord> {
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a byte-order mark");
    let mut r = csv::Reader::from_reader(&bytes[3..]);
    assert_eq!(r.headers().unwrap().get(0), Some("客户号 Customer"));
    r.records().map(Result::unwrap).collect()
}

#[test]
fn a_customer_report_holds_every_customer_as_csv_gbk_and_xlsx() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let customers = demo(&data);
    assert!(customers > 0);

    let csv_path = dir.path().join("customers.csv");
    let out = crm(
        &data,
        &[
            "report",
            "customers",
            "--format",
            "csv",
            "--out",
            csv_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{customers} rows written")),
        "{}",
        text(&out)
    );
    let utf8 = std::fs::read(&csv_path).unwrap();
    assert_eq!(csv_rows(&utf8).len(), customers);

    let gbk_path = dir.path().join("customers-gbk.csv");
    let out = crm(
        &data,
        &[
            "report",
            "customers",
            "--format",
            "csv",
            "--encoding",
            "gbk",
            "--out",
            gbk_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let gbk = std::fs::read(&gbk_path).unwrap();
    let (decoded, _, errors) = encoding_rs::GBK.decode(&gbk);
    assert!(!errors);
    assert_eq!(decoded.as_bytes(), &utf8[3..]);

    let xlsx_path = dir.path().join("customers.xlsx");
    let out = crm(
        &data,
        &[
            "report",
            "customers",
            "--format",
            "xlsx",
            "--out",
            xlsx_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let bytes = std::fs::read(&xlsx_path).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut sheet = String::new();
    zip.by_name("xl/worksheets/sheet1.xml")
        .unwrap()
        .read_to_string(&mut sheet)
        .unwrap();
    assert_eq!(sheet.matches("<row ").count(), customers + 1);
    for record in csv_rows(&utf8) {
        assert!(
            sheet.contains(&format!("<t>{}</t>", &record[0])),
            "{record:?}"
        );
    }

    // A ranking of a month of the demo, and the refusals, which write nothing.
    let ranking = dir.path().join("ranking.xlsx");
    let out = crm(
        &data,
        &[
            "report",
            "branch-ranking",
            "--period",
            "2025-06",
            "--format",
            "xlsx",
            "--out",
            ranking.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(!text(&out).starts_with("0 rows"), "{}", text(&out));
    let nothing = dir.path().join("nothing.csv");
    for (args, says) in [
        (
            vec!["report", "dashboards", "--format", "csv"],
            "branch-ranking",
        ),
        (
            vec![
                "report",
                "customers",
                "--format",
                "csv",
                "--tier",
                "platinum",
            ],
            "gold",
        ),
        (
            vec![
                "report",
                "leaderboard",
                "--period",
                "2025-06-30",
                "--format",
                "csv",
            ],
            "not by day",
        ),
        (
            vec![
                "report",
                "customers",
                "--format",
                "xlsx",
                "--encoding",
                "gbk",
            ],
            "CSV",
        ),
        (
            vec!["report", "campaigns", "--tier", "gold", "--format", "csv"],
            "not narrowed by tier",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["--out", nothing.to_str().unwrap()]);
        let out = crm(&data, &args);
        assert!(!out.status.success(), "{args:?}");
        assert!(text(&out).contains(says), "{args:?}: {}", text(&out));
        assert!(!nothing.exists());
    }
    // Only the reports are in the directory: no temporary file is left behind.
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "customers-gbk.csv",
            "customers.csv",
            "customers.xlsx",
            "data",
            "ranking.xlsx"
        ]
    );
}

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The month before now (UTC), as a scheduled monthly report names it.
fn last_month() -> String {
    let today = time::OffsetDateTime::now_utc().date();
    let (y, m) = match today.month() {
        time::Month::January => (today.year() - 1, 12),
        m => (today.year(), u8::from(m) - 1),
    };
    format!("{y:04}-{m:02}")
}

#[test]
fn a_server_holding_the_directory_refuses_the_command_and_writes_its_scheduled_reports() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let customers = demo(&data);
    let reports = dir.path().join("reports");
    let config = dir.path().join("crm.toml");
    // Monthly on the 1st at 00:00 UTC: the run of this month's 1st is due at start (the
    // one missed run caught up), covering last month. The first report's directory cannot be
    // made (its parent is a file): its failure is logged, and stops neither the server nor
    // the other report.
    let blocked = dir.path().join("not-a-directory");
    std::fs::write(&blocked, "a file").unwrap();
    let entry = |directory: &Path, kind: &str| {
        format!(
            "[[reports]]\nkind = \"{kind}\"\nformat = \"csv\"\ndirectory = {:?}\n\
             schedule = \"monthly\"\nday = 1\nat = \"00:00\"\n",
            directory.display().to_string()
        )
    };
    std::fs::write(
        &config,
        format!(
            "{}{}",
            entry(&blocked.join("reports"), "campaigns"),
            entry(&reports, "customers")
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_crm"))
        .arg("--data-dir")
        .arg(&data)
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn")
        .env_remove("CRM_RULES")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut server = Server(child);
    let (tx, logged) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = BufReader::new(stdout).lines();
    loop {
        let line = lines.next().expect("the server stopped").unwrap();
        if line.contains("serving on") {
            break;
        }
    }

    let out_file = dir.path().join("customers.csv");
    let out = crm(
        &data,
        &[
            "report",
            "customers",
            "--format",
            "csv",
            "--out",
            out_file.to_str().unwrap(),
        ],
    );
    assert!(!out.status.success());
    let said = text(&out);
    assert!(said.contains("in use by a running server"), "{said}");
    assert!(said.contains("[[reports]]"), "{said}");
    assert!(!out_file.exists());

    let scheduled = reports.join(format!("customers-{}.csv", last_month()));
    let deadline = Instant::now() + Duration::from_secs(120);
    while !scheduled.exists() {
        assert!(
            Instant::now() < deadline,
            "{} was not written within two minutes",
            scheduled.display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        csv_rows(&std::fs::read(&scheduled).unwrap()).len(),
        customers
    );
    let names: Vec<_> = std::fs::read_dir(&reports).unwrap().collect();
    assert_eq!(names.len(), 1, "only the report, no temporary file");
    let warning = logged
        .recv_timeout(Duration::from_secs(60))
        .expect("the failed report is logged");
    assert!(
        warning.contains("scheduled report not written") && warning.contains("campaigns"),
        "{warning}"
    );
    assert!(
        server.0.try_wait().unwrap().is_none(),
        "the server still runs"
    );
}
