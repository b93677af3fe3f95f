//! One function per report kind: the read-side façade's answer as typed rows, written to a
//! [`RowSink`]. The customer list is read page by page, so no more than a page of rows is
//! held at once.

use std::collections::HashMap;

use crm_domain::ids::{BranchId, StaffId};
use time::OffsetDateTime;

use super::table::{col, Cell, Column, ColumnKind as K, RowSink};
use super::{ReportError, ReportPeriod};
use crate::views::{BranchPeriod, CampaignEffect, LeaderboardScope, Period, SegmentFilter};
use crate::Projections;

/// Customers read per page of the customer list.
pub const CUSTOMER_PAGE: usize = 5_000;

/// Names of branches and staff, for showing them instead of ids.
struct Names {
    branches: HashMap<BranchId, String>,
    staff: HashMap<StaffId, String>,
}

impl Names {
    fn of(p: &Projections) -> Names {
        let org = p.org();
        Names {
            branches: org.branches.into_iter().map(|b| (b.id, b.name)).collect(),
            staff: org.staff.into_iter().map(|s| (s.id, s.name)).collect(),
        }
    }

    fn branch(&self, id: Option<BranchId>) -> Cell {
        Cell::opt_text(id.and_then(|b| self.branches.get(&b).cloned()))
    }

    fn staff(&self, id: Option<StaffId>) -> Cell {
        Cell::opt_text(id.and_then(|s| self.staff.get(&s).cloned()))
    }
}

/// `Debug` names of the domain's enums ("CustomerManager"), as the API spells them.
fn name(v: impl std::fmt::Debug) -> Cell {
    Cell::Text(format!("{v:?}"))
}

pub const CUSTOMER_COLUMNS: [Column; 11] = [
    col("客户号 Customer", K::Text),
    col("客户名称 Name", K::Text),
    col("客户类型 Kind", K::Text),
    col("状态 Lifecycle", K::Text),
    col("营业部 Branch", K::Text),
    col("客户经理 Customer manager", K::Text),
    col("资产 Assets", K::Money),
    col("贡献度 Contribution score", K::Decimal(2)),
    col("客户等级 Tier", K::Text),
    col("风险偏好 Risk preference", K::Text),
    col("流失风险 Churn risk", K::Text),
];

/// 客户清单: the customers `filter` selects (the GraphQL `customers` filter), in id order,
/// read `CUSTOMER_PAGE` at a time. The row holds what the API's list row holds: no identity
/// document, phone or address. Returns the rows written.
pub fn customers(
    p: &Projections,
    filter: &SegmentFilter,
    out: &mut dyn RowSink,
) -> Result<u64, ReportError> {
    customers_paged(p, filter, CUSTOMER_PAGE, out)
}

/// [`customers`], reading `page` customers at a time.
pub fn customers_paged(
    p: &Projections,
    filter: &SegmentFilter,
    page: usize,
    out: &mut dyn RowSink,
) -> Result<u64, ReportError> {
    let names = Names::of(p);
    let size = page.max(1);
    out.begin("客户清单 Customers", &CUSTOMER_COLUMNS)?;
    let mut cursor = None;
    let mut rows = 0u64;
    loop {
        let page = p.customers(filter, cursor, size);
        for r in &page.items {
            out.row(&[
                Cell::Text(r.id.to_string()),
                Cell::Text(r.name.clone()),
                name(r.kind),
                name(r.lifecycle),
                names.branch(r.branch),
                names.staff(r.manager),
                Cell::Money(r.assets),
                Cell::Decimal {
                    value: r.contribution_score_centi,
                    scale: 2,
                },
                name(r.tier),
                name(r.risk_preference),
                name(r.churn_risk),
            ])?;
            rows += 1;
        }
        match page.next_cursor {
            Some(next) if !page.items.is_empty() => cursor = Some(next),
            _ => return Ok(rows),
        }
    }
}

pub const LEADERBOARD_COLUMNS: [Column; 15] = [
    col("公司排名 Rank in company", K::Integer),
    col("营业部排名 Rank in branch", K::Integer),
    col("员工 Staff", K::Text),
    col("岗位 Role", K::Text),
    col("营业部 Branch", K::Text),
    col("服务客户 Customers served", K::Integer),
    col("新增客户 New customers", K::Integer),
    col("流失客户 Churned", K::Integer),
    col("升级客户 Upgraded", K::Integer),
    col("资产 Assets", K::Money),
    col("资金净流入 Net inflow", K::Money),
    col("佣金 Commission", K::Money),
    col("成交额 Turnover", K::Money),
    col("接触 Contacts", K::Integer),
    col("考核得分 KPI score", K::Decimal(2)),
];

/// The leaderboard scope a filter names: its team, else its branch, else its region, else
/// the company.
pub fn scope_of(filter: &SegmentFilter) -> LeaderboardScope {
    match (filter.team, filter.branch, filter.region) {
        (Some(t), _, _) => LeaderboardScope::Team(t),
        (None, Some(b), _) => LeaderboardScope::Branch(b),
        (None, None, Some(r)) => LeaderboardScope::Region(r),
        (None, None, None) => LeaderboardScope::Company,
    }
}

/// 业绩排行: staff performance in a month, quarter or year to date, in the company's rank
/// order, narrowed to `scope`.
pub fn leaderboard(
    p: &Projections,
    scope: LeaderboardScope,
    period: Period,
    label: &str,
    out: &mut dyn RowSink,
) -> Result<u64, ReportError> {
    let names = Names::of(p);
    out.begin(
        &format!("业绩排行 Leaderboard {label}"),
        &LEADERBOARD_COLUMNS,
    )?;
    let mut rows = 0u64;
    for s in p.leaderboard(scope, period) {
        out.row(&[
            Cell::count(s.rank_in_company),
            Cell::count(s.rank_in_branch),
            Cell::Text(s.name.clone()),
            s.role.map_or(Cell::Empty, name),
            names.branch(s.branch),
            Cell::Integer(s.customers_served),
            Cell::Integer(s.new_customers),
            Cell::Integer(s.churned),
            Cell::Integer(s.upgraded),
            Cell::Money(s.assets),
            Cell::Money(s.net_inflow),
            Cell::Money(s.commission),
            Cell::Money(s.turnover),
            Cell::Integer(s.contacts),
            Cell::Decimal {
                value: s.kpi.composite_centi,
                scale: 2,
            },
        ])?;
        rows += 1;
    }
    Ok(rows)
}

pub const BRANCH_RANKING_COLUMNS: [Column; 10] = [
    col("排名 Rank", K::Integer),
    col("上期排名 Previous rank", K::Integer),
    col("排名变化 Rank change", K::Integer),
    col("营业部 Branch", K::Text),
    col("客户数 Customers", K::Integer),
    col("资产 Assets", K::Money),
    col("资金净流入 Net inflow", K::Money),
    col("佣金 Commission", K::Money),
    col("市场占有率 Market share", K::Percent),
    col("考核得分 KPI score", K::Decimal(2)),
];

/// 营业部排名: every branch in a day or month, best first, with its rank in the period before
/// and the change (empty for a branch without figures by then).
pub fn branch_ranking(
    p: &Projections,
    period: BranchPeriod,
    label: &str,
    out: &mut dyn RowSink,
) -> Result<u64, ReportError> {
    out.begin(
        &format!("营业部排名 Branch ranking {label}"),
        &BRANCH_RANKING_COLUMNS,
    )?;
    let mut rows = 0u64;
    for b in p.branch_ranking(period) {
        out.row(&[
            Cell::count(b.rank),
            b.previous_rank.map_or(Cell::Empty, Cell::count),
            b.rank_change.map_or(Cell::Empty, Cell::Integer),
            Cell::Text(b.name.clone()),
            Cell::Integer(b.customers),
            Cell::Money(b.assets),
            Cell::Money(b.net_inflow),
            Cell::Money(b.commission),
            b.market_share_bp.map_or(Cell::Empty, Cell::Percent),
            Cell::Decimal {
                value: b.kpi.composite_centi,
                scale: 2,
            },
        ])?;
        rows += 1;
    }
    Ok(rows)
}

pub const CAMPAIGN_COLUMNS: [Column; 10] = [
    col("营销活动 Campaign", K::Text),
    col("营业部 Branch", K::Text),
    col("状态 Status", K::Text),
    col("预算 Budget", K::Money),
    col("目标客户 Targeted", K::Integer),
    col("响应 Responded", K::Integer),
    col("转化 Converted", K::Integer),
    col("响应率 Response rate", K::Percent),
    col("转化率 Conversion rate", K::Percent),
    col("吸引资产 Assets attracted", K::Money),
];

/// Every campaign's effect (of `branch` only, when given), by name then id.
fn campaigns_by_name(p: &Projections, branch: Option<BranchId>) -> Vec<CampaignEffect> {
    let mut list = p.campaign_effectiveness();
    list.retain(|c| branch.is_none_or(|b| c.branch == Some(b)));
    list.sort_by(|a, b| a.name.cmp(&b.name).then(a.campaign.cmp(&b.campaign)));
    list
}

/// 营销活动效果: every campaign (of `branch` only, when given), by name.
pub fn campaigns(
    p: &Projections,
    branch: Option<BranchId>,
    out: &mut dyn RowSink,
) -> Result<u64, ReportError> {
    let names = Names::of(p);
    out.begin("营销活动效果 Campaigns", &CAMPAIGN_COLUMNS)?;
    let mut rows = 0u64;
    for c in &campaigns_by_name(p, branch) {
        out.row(&[
            Cell::Text(c.name.clone()),
            names.branch(c.branch),
            Cell::Text(c.status.clone()),
            Cell::Money(c.budget),
            Cell::count(c.targeted),
            Cell::count(c.responded),
            Cell::count(c.converted),
            Cell::Percent(c.response_rate_bp),
            Cell::Percent(c.conversion_rate_bp),
            Cell::Money(c.assets_attracted),
        ])?;
        rows += 1;
    }
    Ok(rows)
}

pub const CAMPAIGN_ROI_COLUMNS: [Column; 11] = [
    col("营销活动 Campaign", K::Text),
    col("营业部 Branch", K::Text),
    col("状态 Status", K::Text),
    col("响应渠道 Channel", K::Text),
    col("目标客户 Targets", K::Integer),
    col("响应 Responses", K::Integer),
    col("转化 Conversions", K::Integer),
    col("转化率 Conversion rate", K::Percent),
    col("归因收入 Revenue attributed", K::Money),
    col("成本 Cost", K::Money),
    col("投资回报率 ROI", K::Percent),
];

/// 营销活动投资回报: every campaign (of `branch` only, when given), by name, a row for the
/// whole campaign (channel "合计 All") and then one per response channel ("未记录 Not
/// recorded" for responses without a channel and cost not attributed to one), as the API's
/// `campaignRoi` gives them. The ROI cell is empty when the cost is zero.
pub fn campaign_roi(
    p: &Projections,
    branch: Option<BranchId>,
    out: &mut dyn RowSink,
) -> Result<u64, ReportError> {
    let names = Names::of(p);
    out.begin("营销活动投资回报 Campaign ROI", &CAMPAIGN_ROI_COLUMNS)?;
    let mut rows = 0u64;
    let list = campaigns_by_name(p, branch);
    for roi in list.iter().filter_map(|c| p.campaign_roi(c.campaign)) {
        let whole = std::iter::once((Cell::text("合计 All"), &roi.figures));
        let channels = roi.by_channel.iter().map(|c| {
            let channel = c.channel.map_or(Cell::text("未记录 Not recorded"), name);
            (channel, &c.figures)
        });
        for (channel, f) in whole.chain(channels) {
            out.row(&[
                Cell::Text(roi.name.clone()),
                names.branch(roi.branch),
                Cell::Text(roi.status.clone()),
                channel,
                Cell::count(f.targets),
                Cell::count(f.responses),
                Cell::count(f.conversions),
                Cell::Percent(f.conversion_rate_bp),
                Cell::Money(f.revenue),
                Cell::Money(f.cost),
                f.roi_bp.map_or(Cell::Empty, Cell::Percent),
            ])?;
            rows += 1;
        }
    }
    Ok(rows)
}

pub const SERVICE_COLUMNS: [Column; 8] = [
    col("工单类型 Ticket kind", K::Text),
    col("新建 Opened", K::Integer),
    col("未结 Open now", K::Integer),
    col("已解决 Resolved", K::Integer),
    col("超时 SLA breaches", K::Integer),
    col("平均解决分钟 Mean resolution minutes", K::Integer),
    col("满意度 Satisfaction", K::Decimal(2)),
    col("满意度回访 Satisfaction responses", K::Integer),
];

/// 服务质量: tickets by kind (of one branch or all) as they stand at `at`.
pub fn service_quality(
    p: &Projections,
    branch: Option<BranchId>,
    at: OffsetDateTime,
    out: &mut dyn RowSink,
) -> Result<u64, ReportError> {
    out.begin("服务质量 Service quality", &SERVICE_COLUMNS)?;
    let q = p.service_quality(branch, at);
    let mut rows = 0u64;
    for k in &q.by_kind {
        out.row(&[
            name(k.kind),
            Cell::Integer(k.opened),
            Cell::Integer(k.open_now),
            Cell::Integer(k.resolved),
            Cell::Integer(k.sla_breaches),
            k.mean_resolution_minutes.map_or(Cell::Empty, Cell::Integer),
            k.satisfaction_centi
                .map_or(Cell::Empty, |v| Cell::Decimal { value: v, scale: 2 }),
            Cell::Integer(k.satisfaction_responses),
        ])?;
        rows += 1;
    }
    Ok(rows)
}

pub const CHANNEL_COLUMNS: [Column; 9] = [
    col("渠道 Channel", K::Text),
    col("接触 Contacts", K::Integer),
    col("接通 Reached", K::Integer),
    col("有意向 Interested", K::Integer),
    col("商机 Leads", K::Integer),
    col("成交 Won", K::Integer),
    col("成交金额 Won amount", K::Money),
    col("工单 Tickets", K::Integer),
    col("转化率 Conversion rate", K::Percent),
];

/// 渠道效果: contacts, leads and sales by channel.
pub fn channels(p: &Projections, out: &mut dyn RowSink) -> Result<u64, ReportError> {
    out.begin("渠道效果 Channels", &CHANNEL_COLUMNS)?;
    let mut rows = 0u64;
    for c in p.channel_effectiveness() {
        out.row(&[
            name(c.channel),
            Cell::Integer(c.contacts),
            Cell::Integer(c.reached),
            Cell::Integer(c.interested),
            Cell::Integer(c.leads),
            Cell::Integer(c.won),
            Cell::Money(c.won_amount),
            Cell::Integer(c.tickets),
            Cell::Percent(c.conversion_bp),
        ])?;
        rows += 1;
    }
    Ok(rows)
}

/// A leaderboard's period: a month, quarter or year to date (not a day).
pub fn staff_period(period: ReportPeriod) -> Result<Period, ReportError> {
    match period {
        ReportPeriod::Month { year, month } => Ok(Period::Month { year, month }),
        ReportPeriod::Quarter { year, quarter } => Ok(Period::Quarter { year, quarter }),
        ReportPeriod::YearToDate { year, month } => Ok(Period::YearToDate { year, month }),
        ReportPeriod::Day(_) => Err(ReportError::Invalid(format!(
            "the leaderboard is by month, quarter or year to date, not by day ({period})"
        ))),
    }
}

/// A branch ranking's period: a day or a month.
pub fn branch_period(period: ReportPeriod) -> Result<BranchPeriod, ReportError> {
    match period {
        ReportPeriod::Day(d) => Ok(BranchPeriod::Day(d)),
        ReportPeriod::Month { year, month } => Ok(BranchPeriod::Month { year, month }),
        ReportPeriod::Quarter { .. } | ReportPeriod::YearToDate { .. } => {
            Err(ReportError::Invalid(format!(
                "the branch ranking is by day or month ({period} is neither)"
            )))
        }
    }
}
