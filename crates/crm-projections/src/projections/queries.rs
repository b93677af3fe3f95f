//! The read façade: one method per question the API and the app ask of the current
//! generation's read models, each answered from the resident model under its read lock.

use crm_domain::ids::{BranchId, CustomerId, StaffId};
use time::{Date, OffsetDateTime};

use super::Projections;
use crate::error::ProjectionError;
use crate::model::{CustomerRecord, Model};
use crate::views::{
    self, BranchDashboard, BranchPeriod, BranchRank, CampaignEffect, ChannelEffect, Customer360,
    CustomerOrg, CustomerRow, DirectoryFilter, DirectoryKey, DirectoryPage, ExplainSubject,
    Explanation, LeaderboardScope, OrgView, Page, Period, SegmentCounts, SegmentFilter,
    ServiceQuality, StaffPerformance, TeamRoster, Todo,
};

impl Projections {
    pub fn customer_360(&self, id: CustomerId, as_of: Option<Date>) -> Option<Customer360> {
        self.with_model(|m, r| views::customer_360(m, r, id, as_of))
    }

    /// A customer's interaction timeline (接触记录), newest first, at most `limit` entries: read
    /// from the generation's tree and its unflushed entries, never held whole in memory.
    pub fn customer_timeline(
        &self,
        id: CustomerId,
        limit: usize,
    ) -> Result<Vec<crate::model::TimelineEntry>, ProjectionError> {
        self.current().timeline(id, limit)
    }

    /// A customer's tickets (服务工单), newest first, at most `limit`: read from the customer's
    /// history on disk, never held whole in memory.
    pub fn customer_tickets(
        &self,
        id: CustomerId,
        limit: usize,
    ) -> Result<Vec<crate::read_models::service::TicketRecord>, ProjectionError> {
        self.with_model(|m, _| views::customer_tickets(m, id, limit))
    }

    /// A customer's leads (商机), newest first, at most `limit`, from their history on disk.
    pub fn customer_opportunities(
        &self,
        id: CustomerId,
        limit: usize,
    ) -> Result<Vec<crate::read_models::sales::OpportunityRecord>, ProjectionError> {
        self.with_model(|m, _| views::customer_opportunities(m, id, limit))
    }

    /// A customer's 30/90/365-day windows ending on `as_of` (default: the read models'
    /// business date): the days' flows read from their history on disk (one range scan).
    pub fn customer_windows(
        &self,
        id: CustomerId,
        as_of: Option<Date>,
    ) -> Result<views::WindowFigures, ProjectionError> {
        self.with_model(|m, _| views::customer_windows(m, id, views::today(m, as_of)))
    }

    /// A customer's assignments (归属变更), oldest first.
    pub fn assignment_history(
        &self,
        id: CustomerId,
    ) -> Result<Vec<crate::model::AssignmentEntry>, ProjectionError> {
        self.current().assignments(id)
    }

    /// The customers who hold an identity document, phone or account number now (a merged
    /// customer answered by its survivor), through the keyed-hash lookup index. Not scoped:
    /// the caller filters what the asking staff member may read.
    pub fn customer_lookup(
        &self,
        value: &crate::read_models::lookup::LookupValue,
    ) -> Result<Vec<CustomerId>, ProjectionError> {
        self.current().lookup(value)
    }

    /// Every customer's history entries in key order, written or not (for checking that a live
    /// generation and a rebuilt one hold the same history).
    pub fn history_entries(
        &self,
    ) -> Result<Vec<(Vec<u8>, crate::model::HistoryEntry)>, ProjectionError> {
        self.current().history_entries()
    }

    /// Customers matching `filter`, in id order after `cursor`, at most `limit`.
    pub fn customers(
        &self,
        filter: &SegmentFilter,
        cursor: Option<CustomerId>,
        limit: usize,
    ) -> Page<CustomerRow> {
        self.customers_visible(filter, |_| true, cursor, limit)
    }

    /// Like [`Projections::customers`], limited (and counted) to what `visible` admits.
    pub fn customers_visible(
        &self,
        filter: &SegmentFilter,
        visible: impl Fn(&CustomerRecord) -> bool,
        cursor: Option<CustomerId>,
        limit: usize,
    ) -> Page<CustomerRow> {
        self.with_model(|m, r| views::customers(m, r, filter, visible, cursor, limit))
    }

    pub fn segments(&self, filter: &SegmentFilter) -> SegmentCounts {
        self.with_model(|m, r| views::segments(m, r, filter))
    }

    pub fn staff_performance(&self, staff: StaffId, period: Period) -> Option<StaffPerformance> {
        self.with_model(|m, r| views::staff_performance(m, r, staff, period))
    }

    pub fn leaderboard(&self, scope: LeaderboardScope, period: Period) -> Vec<StaffPerformance> {
        self.with_model(|m, r| views::leaderboard(m, r, scope, period))
    }

    /// The bank side of a customer's 360 view as of `as_of` (default: the read models'
    /// business date); `None` when they have no bank business.
    pub fn customer_banking(
        &self,
        id: CustomerId,
        as_of: Option<Date>,
    ) -> Option<views::CustomerBanking> {
        self.with_model(|m, _| views::customer_banking(m, id, views::today(m, as_of)))
    }

    pub fn branch_dashboard(
        &self,
        branch: BranchId,
        period: BranchPeriod,
    ) -> Option<BranchDashboard> {
        self.with_model(|m, r| views::branch_dashboard(m, r, branch, period))
    }

    pub fn branch_ranking(&self, period: BranchPeriod) -> Vec<BranchRank> {
        self.with_model(|m, r| views::branch_ranking(m, r, period))
    }

    pub fn campaign_effectiveness(&self) -> Vec<CampaignEffect> {
        self.with_model(|m, _| views::campaign_effectiveness(m))
    }

    /// Every saved segment.
    pub fn saved_segments(&self) -> Vec<views::SegmentRecord> {
        self.with_model(|m, _| views::saved_segments(m).cloned().collect())
    }

    /// What a launch of the campaign would freeze now (see [`views::campaign_targets_now`]).
    pub fn campaign_targets_now(
        &self,
        campaign: crm_domain::ids::CampaignId,
    ) -> Option<(crm_domain::ids::SegmentId, Vec<CustomerId>)> {
        self.with_model(|m, r| views::campaign_targets_now(m, r, campaign))
    }

    /// A campaign's ROI, whole and per response channel.
    pub fn campaign_roi(
        &self,
        campaign: crm_domain::ids::CampaignId,
    ) -> Option<views::CampaignRoi> {
        self.with_model(|m, _| views::campaign_roi(m, campaign))
    }

    /// A campaign's whole call list (every frozen target, unscoped: the API scopes it).
    pub fn campaign_call_list(
        &self,
        campaign: crm_domain::ids::CampaignId,
    ) -> Option<Vec<views::CallListEntry>> {
        self.with_model(|m, _| views::campaign_call_list(m, campaign, |_| true))
    }

    pub fn channel_effectiveness(&self) -> Vec<ChannelEffect> {
        self.with_model(|m, _| views::channel_effectiveness(m))
    }

    pub fn service_quality(&self, branch: Option<BranchId>, at: OffsetDateTime) -> ServiceQuality {
        self.with_model(|m, _| views::service_quality(m, branch, at))
    }

    pub fn todos(&self, staff: StaffId, now: OffsetDateTime) -> Vec<Todo> {
        self.with_model(|m, r| views::todos(m, r, staff, now))
    }

    /// Explains a derived value. For a contribution score the positions of the daily
    /// summaries that fed it are read from the log (those within the score's window).
    pub fn explain(
        &self,
        subject: ExplainSubject,
    ) -> Result<Option<(Explanation, Vec<u64>)>, ProjectionError> {
        let g = self.current();
        let (explanation, accounts, window, position) = {
            let m = g.read();
            let Some(e) = views::explain(&m, &g.rules, subject) else {
                return Ok(None);
            };
            let (accounts, window) = match &e {
                Explanation::Contribution(c) => (
                    customer_accounts(&m, subject),
                    Some((c.inputs.first_month, c.inputs.last_month)),
                ),
                Explanation::RiskPreference(c) => (
                    customer_accounts(&m, subject),
                    Some((c.inputs.first_month, c.inputs.last_month)),
                ),
                Explanation::ChurnRisk(c) => {
                    return Ok(Some((e.clone(), c.positions.clone())));
                }
                Explanation::Kpi(_) => (Vec::new(), None),
                Explanation::BankContribution(b) => {
                    let mut positions: Vec<u64> = b
                        .deposits
                        .iter()
                        .map(|d| d.position)
                        .chain(b.loans.iter().map(|l| l.position))
                        .collect();
                    positions.sort_unstable();
                    return Ok(Some((e.clone(), positions)));
                }
            };
            (e, accounts, window, g.position())
        };
        let mut positions = Vec::new();
        if let Some((from, to)) = window {
            for a in accounts {
                let stream = crm_eventstore::StreamName::parse(format!("account-{a}"))?;
                let mut start = 0u64;
                loop {
                    let page = self.inner.store.read_stream(
                        &stream,
                        crm_eventstore::StreamStart::Revision(start),
                        crm_eventstore::Direction::Forwards,
                        1000,
                    )?;
                    for r in &page {
                        if r.position.0 > position {
                            continue;
                        }
                        if let Ok(crm_domain::AnyEvent::Account(
                            crm_domain::account::Event::DailyTradeSummaryRecorded {
                                summary, ..
                            }
                            | crm_domain::account::Event::DailyTradeSummaryCorrected {
                                summary, ..
                            },
                        )) = crm_codec::decode(r)
                        {
                            let mo = crate::model::month_index(summary.trade_date);
                            if mo >= from && mo <= to {
                                positions.push(r.position.0);
                            }
                        }
                    }
                    match page.last() {
                        Some(last) if page.len() == 1000 => start = last.revision + 1,
                        _ => break,
                    }
                }
            }
            positions.sort_unstable();
        }
        Ok(Some((explanation, positions)))
    }

    /// Identity resolution: the customer holding an ID document (by identity key).
    pub fn customer_by_document(&self, identity_key: &str) -> Option<CustomerId> {
        self.with_model(|m, _| views::customer_by_document(m, identity_key))
    }

    /// A customer's branch, region, manager and team, for authorization.
    pub fn customer_org(&self, id: CustomerId) -> Option<CustomerOrg> {
        self.with_model(|m, _| views::customer_org(m, id))
    }

    /// Regions, branches, teams and staff.
    pub fn org(&self) -> OrgView {
        self.with_model(|m, _| views::org(m))
    }

    /// The staff directory, unscoped (the API scopes it with `views::staff_directory`).
    pub fn staff_directory(
        &self,
        filter: &DirectoryFilter,
        after: Option<&DirectoryKey>,
        first: usize,
    ) -> DirectoryPage {
        self.with_model(|m, _| views::staff_directory(m, filter, |_| true, after, first))
    }

    /// The rosters of the teams of one branch or all.
    pub fn team_rosters(&self, branch: Option<BranchId>) -> Vec<TeamRoster> {
        self.with_model(|m, _| views::team_rosters(m, branch))
    }
}

fn customer_accounts(m: &Model, subject: ExplainSubject) -> Vec<crm_domain::ids::AccountId> {
    let id = match subject {
        ExplainSubject::Contribution { customer, .. }
        | ExplainSubject::RiskPreference { customer, .. } => customer,
        _ => return Vec::new(),
    };
    let mut out: Vec<_> = m
        .accounts
        .iter()
        .filter(|(_, a)| a.owner == id)
        .map(|(k, _)| *k)
        .collect();
    out.sort_unstable();
    out
}
