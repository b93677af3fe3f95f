//! Reports (issue #16 item 5): each kind against its read model, cell by cell; the CSV and
//! XLSX writers read back.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod support;

use std::io::Read;

use crm_eventstore::EventStore;
use crm_projections::reports::{
    self, kinds, Cell, CsvEncoding, CsvSink, ReportKind, ReportPeriod, ReportRequest, RowSink,
    Table, XlsxSink,
};
use crm_projections::views::{BranchPeriod, LeaderboardScope, Period, SegmentFilter};
use crm_projections::{Projections, RuleBook};
use support::*;
use time::OffsetDateTime;

/// Ten customers over two branches, with trading, tickets, campaign responses and market
/// totals in January and February 2024.
fn steps() -> Vec<Step> {
    let mut s = Vec::new();
    for c in 0..CUSTOMERS {
        s.push(Step::Register(c, c));
        s.push(Step::Assign(c, c % STAFF));
        s.push(Step::OpenAccount(c, 0));
        for day in [3u16, 20, 35, 50] {
            s.push(Step::Summary {
                c,
                a: 0,
                day,
                turnover: 100_000 * u32::from(c + 1),
                kind: c % 8,
                commission: 100 * u16::from(c + 1),
                deposit: 50_000 * u32::from(c),
                withdraw: 10_000,
                assets: 300_000 * u32::from(c + 1),
                pnl: 1_000,
            });
        }
        s.push(Step::Ticket(c, 10 + u16::from(c), c % 4));
        s.push(Step::Respond(c, c % 4, 12));
    }
    for day in [3u16, 20, 35, 50] {
        s.push(Step::Market(day, 500_000_000));
    }
    s.push(Step::TicketProgress(0, 30));
    s.push(Step::TicketProgress(1, 31));
    s
}

async fn fixture() -> (tempfile::TempDir, EventStore, Projections) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(dir.path(), config()).unwrap();
    let mut n = 0;
    for (e, t) in setup() {
        append(&store, &mut n, &e, t).await;
    }
    let mut sim = Sim::default();
    for step in steps() {
        for (e, t) in sim.events(&step) {
            append(&store, &mut n, &e, t).await;
        }
    }
    let p = Projections::open(&store, RuleBook::default_rules().unwrap()).unwrap();
    p.catch_up().unwrap();
    (dir, store, p)
}

fn request(kind: ReportKind) -> ReportRequest {
    ReportRequest {
        kind,
        filter: SegmentFilter::default(),
        period: None,
        at: OffsetDateTime::now_utc(),
    }
}

fn text(t: &Table, row: usize, prefix: &str) -> String {
    t.rows[row][t.column(prefix).unwrap()].to_text()
}

#[test]
fn the_customer_list_is_every_row_of_the_read_model_page_by_page() {
    runtime().block_on(async {
        let (_dir, _store, p) = fixture().await;
        let all = p.customers(&SegmentFilter::default(), None, 1000);
        assert_eq!(all.total, usize::from(CUSTOMERS));
        let t = reports::table(&p, &request(ReportKind::Customers)).unwrap();
        assert_eq!(t.rows.len(), all.total);
        for (i, r) in all.items.iter().enumerate() {
            assert_eq!(text(&t, i, "客户号"), r.id.to_string());
            assert_eq!(text(&t, i, "客户名称"), r.name);
            assert_eq!(t.rows[i][t.column("资产").unwrap()], Cell::Money(r.assets));
            assert_eq!(text(&t, i, "客户等级"), format!("{:?}", r.tier));
            assert_eq!(
                t.rows[i][t.column("贡献度").unwrap()],
                Cell::Decimal {
                    value: r.contribution_score_centi,
                    scale: 2
                }
            );
        }
        // Staff 0 and 1 are in branch 0: the branch's name, and their names as managers.
        assert_eq!(text(&t, 0, "营业部"), "营业部0");
        assert_eq!(text(&t, 0, "客户经理"), "经理0");
        // Pages of three give the same rows in the same order.
        let mut paged = Table::default();
        let n = kinds::customers_paged(&p, &SegmentFilter::default(), 3, &mut paged).unwrap();
        assert_eq!(n, u64::from(CUSTOMERS));
        assert_eq!(paged, t);
        // A filter narrows it as the API's does.
        let filter = SegmentFilter {
            branch: Some(bid(1)),
            ..SegmentFilter::default()
        };
        let mut req = request(ReportKind::Customers);
        req.filter = filter.clone();
        let t = reports::table(&p, &req).unwrap();
        assert_eq!(t.rows.len(), p.customers(&filter, None, 1000).total);
        assert!(!t.rows.is_empty() && t.rows.len() < usize::from(CUSTOMERS));
        assert!((0..t.rows.len()).all(|i| text(&t, i, "营业部") == "营业部1"));
    });
}

#[test]
fn the_period_reports_hold_the_leaderboard_ranking_campaigns_and_service_figures() {
    runtime().block_on(async {
        let (_dir, _store, p) = fixture().await;
        let feb = ReportPeriod::Month {
            year: 2024,
            month: 2,
        };
        let mut req = request(ReportKind::Leaderboard);
        req.period = Some(feb);
        let t = reports::table(&p, &req).unwrap();
        assert!(t.title.ends_with("2024-02"), "{}", t.title);
        let board = p.leaderboard(
            LeaderboardScope::Company,
            Period::Month {
                year: 2024,
                month: 2,
            },
        );
        assert!(!board.is_empty());
        assert_eq!(t.rows.len(), board.len());
        for (i, s) in board.iter().enumerate() {
            assert_eq!(text(&t, i, "员工"), s.name);
            assert_eq!(
                t.rows[i][t.column("佣金").unwrap()],
                Cell::Money(s.commission)
            );
            assert_eq!(
                t.rows[i][t.column("公司排名").unwrap()],
                Cell::count(s.rank_in_company)
            );
        }
        // A branch narrows the leaderboard to its staff.
        req.filter.branch = Some(bid(0));
        let t = reports::table(&p, &req).unwrap();
        assert!(!t.rows.is_empty() && t.rows.len() < board.len());
        assert!((0..t.rows.len()).all(|i| text(&t, i, "营业部 ") == "营业部0"));
        // A day is not a leaderboard period.
        req.period = Some("2024-02-15".parse().unwrap());
        assert!(reports::table(&p, &req).is_err());

        let mut req = request(ReportKind::BranchRanking);
        req.period = Some(feb);
        let t = reports::table(&p, &req).unwrap();
        let ranking = p.branch_ranking(BranchPeriod::Month {
            year: 2024,
            month: 2,
        });
        assert_eq!(t.rows.len(), 2);
        for (i, b) in ranking.iter().enumerate() {
            assert_eq!(text(&t, i, "营业部"), b.name);
            assert_eq!(t.rows[i][0], Cell::count(b.rank));
            assert_eq!(
                t.rows[i][t.column("上期排名").unwrap()],
                b.previous_rank.map_or(Cell::Empty, Cell::count)
            );
            assert_eq!(
                t.rows[i][t.column("排名变化").unwrap()],
                b.rank_change.map_or(Cell::Empty, Cell::Integer)
            );
            assert_eq!(
                t.rows[i][t.column("市场占有率").unwrap()],
                b.market_share_bp.map_or(Cell::Empty, Cell::Percent)
            );
        }

        let t = reports::table(&p, &request(ReportKind::Campaigns)).unwrap();
        let effect = p.campaign_effectiveness();
        assert_eq!(t.rows.len(), 1);
        assert_eq!(text(&t, 0, "营销活动"), "春季理财");
        assert_eq!(
            t.rows[0][t.column("目标客户").unwrap()],
            Cell::count(effect[0].targeted)
        );
        assert_eq!(
            t.rows[0][t.column("转化率").unwrap()],
            Cell::Percent(effect[0].conversion_rate_bp)
        );

        // 营销活动投资回报: the whole campaign, then each response channel, as `campaignRoi`.
        let t = reports::table(&p, &request(ReportKind::CampaignRoi)).unwrap();
        let roi = p.campaign_roi(effect[0].campaign).unwrap();
        assert!(roi.figures.cost > crm_domain::Money::ZERO, "{roi:?}");
        assert!(!roi.by_channel.is_empty(), "{roi:?}");
        assert_eq!(t.rows.len(), 1 + roi.by_channel.len());
        assert_eq!(text(&t, 0, "响应渠道"), "合计 All");
        let figures =
            std::iter::once(&roi.figures).chain(roi.by_channel.iter().map(|c| &c.figures));
        for (i, f) in figures.enumerate() {
            assert_eq!(text(&t, i, "营销活动"), "春季理财");
            let cell = |name: &str| t.rows[i][t.column(name).unwrap()].clone();
            assert_eq!(cell("目标客户"), Cell::count(f.targets), "row {i}");
            assert_eq!(cell("响应 Responses"), Cell::count(f.responses), "row {i}");
            assert_eq!(
                cell("转化 Conversions"),
                Cell::count(f.conversions),
                "row {i}"
            );
            assert_eq!(cell("归因收入"), Cell::Money(f.revenue), "row {i}");
            assert_eq!(cell("成本"), Cell::Money(f.cost), "row {i}");
            assert_eq!(
                cell("投资回报率"),
                f.roi_bp.map_or(Cell::Empty, Cell::Percent),
                "row {i}"
            );
        }

        let req = request(ReportKind::ServiceQuality);
        let t = reports::table(&p, &req).unwrap();
        let q = p.service_quality(None, req.at);
        assert_eq!(t.rows.len(), q.by_kind.len());
        let opened: i64 = q.by_kind.iter().map(|k| k.opened).sum();
        assert_eq!(opened, i64::from(CUSTOMERS));
        for (i, k) in q.by_kind.iter().enumerate() {
            assert_eq!(
                t.rows[i][t.column("新建").unwrap()],
                Cell::Integer(k.opened)
            );
        }
        let t = reports::table(&p, &request(ReportKind::Channels)).unwrap();
        assert_eq!(t.rows.len(), p.channel_effectiveness().len());
    });
}

/// The report written as CSV, and its text after the byte-order mark.
fn csv_of(p: &Projections, req: &ReportRequest, encoding: CsvEncoding) -> Vec<u8> {
    let mut sink = CsvSink::new(Vec::new(), encoding).unwrap();
    reports::write(p, req, &mut sink).unwrap();
    sink.finish().unwrap()
}

#[test]
fn the_csv_holds_the_table_cell_by_cell_in_utf8_and_in_gbk() {
    runtime().block_on(async {
        let (_dir, _store, p) = fixture().await;
        let req = request(ReportKind::Customers);
        let t = reports::table(&p, &req).unwrap();
        let utf8 = csv_of(&p, &req, CsvEncoding::Utf8);
        assert!(utf8.starts_with(reports::csv_out::UTF8_BOM));
        let mut r = csv::Reader::from_reader(&utf8[3..]);
        let headers: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        let want: Vec<String> = t.columns.iter().map(|c| c.header.to_owned()).collect();
        assert_eq!(headers, want);
        assert_eq!(headers[0], "客户号 Customer");
        let records: Vec<csv::StringRecord> = r.records().map(Result::unwrap).collect();
        assert_eq!(records.len(), t.rows.len());
        for (record, row) in records.iter().zip(&t.rows) {
            let cells: Vec<String> = row.iter().map(Cell::to_text).collect();
            assert_eq!(record.iter().collect::<Vec<_>>(), cells);
        }
        // Money with its four decimals, as the table holds it.
        let assets = t.column("资产").unwrap();
        assert!(records[0][assets].contains('.'), "{:?}", &records[0]);

        let gbk = csv_of(&p, &req, CsvEncoding::Gbk);
        let (decoded, _, errors) = encoding_rs::GBK.decode(&gbk);
        assert!(!errors);
        assert_eq!(decoded.as_bytes(), &utf8[3..]);
        assert_ne!(gbk.as_slice(), &utf8[3..]);
    });
}

/// A file of the zip archive `bytes`, as text.
fn unzip(bytes: &[u8], name: &str) -> String {
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut text = String::new();
    zip.by_name(name)
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    text
}

#[test]
fn the_xlsx_sheet_holds_the_rows_numbers_as_numbers_and_a_frozen_bold_header() {
    runtime().block_on(async {
        let (dir, _store, p) = fixture().await;
        let mut req = request(ReportKind::BranchRanking);
        req.period = Some(ReportPeriod::Month {
            year: 2024,
            month: 2,
        });
        let t = reports::table(&p, &req).unwrap();
        let mut sink = XlsxSink::new(dir.path()).unwrap();
        let rows = reports::write(&p, &req, &mut sink).unwrap();
        assert_eq!(rows, 2);
        let bytes = sink.finish(Vec::new()).unwrap();
        assert!(bytes.starts_with(b"PK"));
        let sheet = unzip(&bytes, "xl/worksheets/sheet1.xml");
        assert_eq!(sheet.matches("<row ").count(), t.rows.len() + 1);
        assert!(sheet.contains("ySplit=\"1\""), "the header row is frozen");
        assert!(sheet.contains("<t>排名 Rank</t>"));
        let (name_at, assets_at) = (t.column("营业部 ").unwrap(), t.column("资产 ").unwrap());
        for row in &t.rows {
            let name = row[name_at].to_text();
            assert!(sheet.contains(&format!("<t>{name}</t>")), "{name}");
            // Assets as a number of yuan, not text.
            let yuan = row[assets_at].number().unwrap();
            assert!(sheet.contains(&format!("<v>{yuan}</v>")), "{yuan}: {sheet}");
        }
        assert!(sheet.contains("<col "), "column widths are set");
        let styles = unzip(&bytes, "xl/styles.xml");
        assert!(styles.contains("<b/>"), "a bold font for the header");
        assert!(styles.contains("#,##0.00") && styles.contains("0.00%"));
        let book = unzip(&bytes, "xl/workbook.xml");
        assert!(book.contains("营业部排名 Branch ranking 2024-02"), "{book}");
    });
}

#[test]
fn a_customer_report_streams_into_an_xlsx_with_one_row_per_customer() {
    runtime().block_on(async {
        let (dir, _store, p) = fixture().await;
        let mut sink = XlsxSink::new(dir.path()).unwrap();
        let mut counted = Table::default();
        let rows = reports::write(&p, &request(ReportKind::Customers), &mut sink).unwrap();
        reports::write(&p, &request(ReportKind::Customers), &mut counted).unwrap();
        assert_eq!(rows, u64::from(CUSTOMERS));
        let sheet = unzip(
            &sink.finish(Vec::new()).unwrap(),
            "xl/worksheets/sheet1.xml",
        );
        assert_eq!(sheet.matches("<row ").count(), usize::from(CUSTOMERS) + 1);
        for row in &counted.rows {
            assert!(sheet.contains(&format!("<t>{}</t>", row[0].to_text())));
        }
        // A sink that refuses a row's width is an error, not a panic.
        let mut t = Table::default();
        t.begin("x", &kinds::CUSTOMER_COLUMNS).unwrap();
        assert!(t.row(&[Cell::Empty]).is_err());
    });
}
