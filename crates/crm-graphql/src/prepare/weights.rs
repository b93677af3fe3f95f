//! What each field of the schema costs when it runs, for the cost check before execution
//! ([`super::cost`]). One table, so a reader finds every field's weight in one place and a
//! new field cannot go unpriced: `every_unpaged_list_and_root_field_has_a_declared_cost` reads
//! schema/schema.graphql and names any root field or unpaged list without an entry.
//!
//! A field costs its own work ([`FieldCost::own`]) plus its sub-selection times how many times
//! that runs: a paged field's `first`/`last` (or the largest page), an unpaged list's
//! [`Bound`], 1 otherwise. The units are relative: 1 is a field read from a row already in
//! memory. The figures were set from what each resolver does (read_models/, the store), not
//! timed, and err high: their job is to refuse, before anything runs, a document whose work
//! is far beyond an ordinary page, not to predict its latency.

/// A field answered from a row or a figure already in memory.
pub const RESIDENT: u64 = 1;
/// Computed in memory for one customer from what is resident (an explanation's terms).
pub const COMPUTE: u64 = 5;
/// One customer's detail read from disk: a keyed range of the per-customer tree (timeline,
/// tickets, leads, rolling windows, the daily summaries an explanation cites).
pub const DISK: u64 = 50;
/// A pass over the organisation's figures kept per day (branches or staff × the period's
/// days), never over customers: dashboards, rankings, leaderboards, one person's appraisal
/// with their ranks.
pub const ORG: u64 = 50;
/// A read of the log, or an append to it: a command (fsync'ed), an access-log record.
pub const LOG: u64 = 100;
/// A pass over the caller's book of customers (the customer list's filter and order,
/// segments, campaign and service figures).
pub const BOOK: u64 = 200;
/// The whole log: a replay to an instant (`asOf`), `verifyLog`, a preview run in the request.
/// Four fit under the default `selection_cost_max`; how many run at once is bounded apart.
pub const WHOLE_LOG: u64 = 10_000;

/// How often an unpaged list's sub-selection runs, at most.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bound {
    /// Not a list, or a list already multiplied by its parent's page (a connection's `edges`).
    One,
    /// Bounded by an enum, the organisation or a constant of the code.
    At(u64),
    /// Bounded only by the data, like a page: counted as `page_size_max`.
    Page,
}

/// Branches of a large brokerage or a provincial rural credit union (an estimate for cost,
/// not a cap).
pub const BRANCHES: u64 = 300;
/// Teams across the company.
pub const TEAMS: u64 = 600;
/// Regions (分公司 / county cooperatives).
pub const REGIONS: u64 = 60;
/// Members of one team.
pub const TEAM_SIZE: u64 = 20;
/// Values of a small enum (tiers, statuses, asset classes, channels, markets, classes).
pub const ENUM: u64 = 16;
/// Moves between two values of a ladder of at most five (tiers, churn risk, risk preference),
/// counted as pairs (from, to), staying put included.
pub const MOVES: u64 = 25;
/// Accounts, cards or products one customer holds.
pub const PER_CUSTOMER: u64 = 50;
/// Deposit or loan product codes (产品代码) in use at a county cooperative: tens (an estimate
/// for cost, not a cap; a scope's outlets each list theirs).
pub const BANK_PRODUCTS: u64 = 30;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldCost {
    pub own: u64,
    pub bound: Bound,
}

const fn c(own: u64, bound: Bound) -> FieldCost {
    FieldCost { own, bound }
}

/// The default for a field not in the table: a resident scalar or object read once.
pub const DEFAULT: FieldCost = c(RESIDENT, Bound::One);

/// A mutation the table does not name: a command, appended and fsync'ed.
pub const MUTATION: FieldCost = c(LOG, Bound::One);

use Bound::{At, One, Page};

/// `(type, field, cost)`. Root fields of Query and Subscription, and every list the schema
/// does not page, are listed (the drift guard checks it); mutations default to [`MUTATION`].
pub const FIELD_COSTS: &[(&str, &str, FieldCost)] = &[
    // ---- Query ----
    ("Query", "me", c(RESIDENT, One)),
    ("Query", "node", c(RESIDENT, One)),
    ("Query", "events", c(LOG, One)),
    ("Query", "logStatus", c(RESIDENT, One)),
    ("Query", "verifyLog", c(WHOLE_LOG, One)),
    // Reads the customer's stream and records the view in the access log.
    ("Query", "customerHistory", c(2 * LOG, One)),
    ("Query", "customer", c(RESIDENT, One)),
    // Filters and orders the caller's book, then pages.
    ("Query", "customers", c(BOOK, One)),
    // Keyed-hash index read plus an access-log record; an ID or phone matches a handful.
    ("Query", "customerLookup", c(LOG, At(10))),
    ("Query", "staffPerformance", c(ORG, One)),
    ("Query", "leaderboard", c(ORG, One)),
    ("Query", "branchDashboard", c(ORG, One)),
    ("Query", "branchRanking", c(ORG, At(BRANCHES))),
    // A region's or the company's: every branch of it, and one pass over the customers for
    // the period's churn; each month of its series the same again.
    ("Query", "orgDashboard", c(ORG + BOOK, One)),
    ("Query", "regions", c(RESIDENT, At(REGIONS))),
    ("OrgDashboardView", "series", c((ORG + BOOK) * 36, At(36))),
    ("OrgDashboardView", "ranking", c(RESIDENT, At(BRANCHES))),
    ("OrgDashboardView", "customersByTier", c(RESIDENT, At(ENUM))),
    (
        "OrgDashboardView",
        "customersByStatus",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "OrgDashboardView",
        "customersByCategory",
        c(RESIDENT, At(ENUM)),
    ),
    ("OrgDashboardView", "assetsByClass", c(RESIDENT, At(ENUM))),
    // A pass over the branch's customers; its rows are as many as the data gives.
    ("Query", "batchAssignmentPreview", c(BOOK, One)),
    ("BatchAssignmentPlan", "rows", c(RESIDENT, Page)),
    ("BatchAssignmentResult", "refused", c(RESIDENT, Page)),
    ("Query", "branches", c(RESIDENT, At(BRANCHES))),
    // Bank dashboards and the outlet ranking: outlets × the period's days, and a pass over
    // the bank customers for the served customers' contribution (two for a ranking).
    ("Query", "bankDashboard", c(ORG + BOOK, One)),
    ("Query", "outletRanking", c(ORG + 2 * BOOK, One)),
    ("Query", "segments", c(BOOK, One)),
    ("Query", "campaignEffectiveness", c(BOOK, Page)),
    // Saved segments are few and resident; a preview filters the caller's book once.
    ("Query", "savedSegments", c(RESIDENT, Page)),
    ("Query", "segmentPreview", c(BOOK, One)),
    // The frozen targets, filtered by the caller's scope, one page of them (`first`).
    ("Query", "campaignCallList", c(BOOK, One)),
    ("CampaignCallList", "entries", c(RESIDENT, One)),
    // A pass over the campaign's responses; one row per channel.
    ("Query", "campaignRoi", c(COMPUTE, One)),
    ("CampaignRoiView", "byChannel", c(RESIDENT, At(ENUM))),
    // The launch evaluates the campaign's segment over the customers, then appends.
    ("MutationRoot", "launchCampaign", c(BOOK + LOG, One)),
    ("Query", "channelEffectiveness", c(BOOK, At(ENUM))),
    ("Query", "serviceQuality", c(BOOK, One)),
    // Service standards met: a pass over a staff member's or a branch's customers.
    ("Query", "staffServiceCompliance", c(BOOK, One)),
    ("Query", "branchServiceCompliance", c(BOOK, One)),
    // Through the to-do index: the caller's own relationships, not the book.
    ("Query", "todos", c(DISK, Page)),
    ("Query", "tickets", c(DISK, One)),
    ("Query", "articles", c(DISK, One)),
    ("Query", "opportunities", c(DISK, One)),
    ("Query", "products", c(RESIDENT, Page)),
    ("Query", "reflects", c(RESIDENT, One)),
    ("Query", "projectionStatus", c(RESIDENT, At(ENUM))),
    ("Query", "rules", c(RESIDENT, One)),
    ("Query", "job", c(RESIDENT, One)),
    ("Query", "jobs", c(RESIDENT, Page)),
    ("Query", "accessLog", c(LOG, One)),
    ("Query", "appraisalPeriod", c(DISK, One)),
    ("Query", "appraisalPeriods", c(DISK, Page)),
    ("Query", "staffDirectory", c(RESIDENT, One)),
    ("Query", "teams", c(RESIDENT, At(TEAMS))),
    // ---- Subscription: each event delivered recomputes what it carries ----
    ("Subscription", "eventsAppended", c(LOG, One)),
    ("Subscription", "branchDashboardChanged", c(ORG, One)),
    ("Subscription", "orgDashboardChanged", c(ORG + BOOK, One)),
    ("Subscription", "todosChanged", c(DISK, Page)),
    ("Subscription", "jobProgress", c(RESIDENT, One)),
    // ---- Mutations that are not one command ----
    // A preview run in the request folds the whole log under the candidate rules.
    ("MutationRoot", "previewRules", c(WHOLE_LOG, One)),
    ("MutationRoot", "startRulesPreview", c(LOG, One)),
    ("MutationRoot", "cancelJob", c(RESIDENT, One)),
    // ---- Customer: resident row, or detail read from disk ----
    ("Customer", "sensitive", c(LOG, One)),
    ("Customer", "timeline", c(DISK, One)),
    ("Customer", "tickets", c(DISK, One)),
    ("Customer", "opportunities", c(DISK, One)),
    ("Customer", "windows", c(DISK, One)),
    ("Customer", "contributionExplanation", c(DISK, One)),
    ("Customer", "riskPreferenceExplanation", c(DISK, One)),
    ("Customer", "churn", c(DISK, One)),
    ("Customer", "banking", c(COMPUTE, One)),
    ("Customer", "bankContribution", c(COMPUTE, One)),
    (
        "BankContributionView",
        "deposits",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    (
        "BankContributionView",
        "loans",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    ("BankContributionView", "terms", c(RESIDENT, At(ENUM))),
    ("Customer", "servicePlan", c(COMPUTE, One)),
    ("ServicePlanView", "channels", c(RESIDENT, At(ENUM))),
    ("ServicePlanView", "careOccasions", c(RESIDENT, At(ENUM))),
    ("Customer", "accounts", c(RESIDENT, At(PER_CUSTOMER))),
    (
        "Customer",
        "assignmentHistory",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    ("Customer", "campaigns", c(RESIDENT, At(PER_CUSTOMER))),
    ("Customer", "products", c(RESIDENT, At(PER_CUSTOMER))),
    ("Customer", "holdings", c(RESIDENT, At(ENUM))),
    // A group's members: rows from memory, as many as a customer holds accounts (an estimate).
    ("Customer", "group", c(COMPUTE, One)),
    (
        "CustomerGroupView",
        "members",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    (
        "CustomerBankingView",
        "depositAccounts",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    (
        "CustomerBankingView",
        "loans",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    (
        "CustomerBankingView",
        "cards",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    ("CustomerBankingView", "eChannels", c(RESIDENT, At(ENUM))),
    (
        "CustomerBankingView",
        "wealthProducts",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    (
        "SensitiveProfile",
        "accounts",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    // ---- A customer's history (`customerHistory`) ----
    // The page of the timeline is the root field's `first`.
    ("CustomerHistory", "timeline", c(RESIDENT, One)),
    (
        "CustomerSnapshot",
        "assignmentHistory",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    (
        "CustomerSnapshot",
        "accounts",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    // ---- Connections: the page multiplies at the parent field ----
    ("AccessLogConnection", "edges", c(RESIDENT, One)),
    ("ArticleConnection", "edges", c(RESIDENT, One)),
    ("CustomerConnection", "edges", c(RESIDENT, One)),
    ("EventConnection", "edges", c(RESIDENT, One)),
    ("OpportunityConnection", "edges", c(RESIDENT, One)),
    ("StaffDirectoryConnection", "edges", c(RESIDENT, One)),
    ("TicketConnection", "edges", c(RESIDENT, One)),
    ("AccessLogEntry", "customers", c(RESIDENT, At(ENUM))),
    ("AccessLogEntry", "fields", c(RESIDENT, At(ENUM))),
    // ---- Dashboards and rankings: breakdowns keyed by enums or the organisation ----
    ("BranchView", "dashboard", c(ORG, One)),
    (
        "BranchDashboardView",
        "customersByTier",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "BranchDashboardView",
        "customersByStatus",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "BranchDashboardView",
        "customersByCategory",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "BranchDashboardView",
        "customersBySourceChannel",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "BranchDashboardView",
        "customersByRegion",
        c(RESIDENT, At(REGIONS)),
    ),
    (
        "BranchDashboardView",
        "assetsByClass",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "BranchDashboardView",
        "turnoverBySecurityType",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "BranchDashboardView",
        "turnoverByTradeChannel",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "BranchDashboardView",
        "turnoverByMarket",
        c(RESIDENT, At(ENUM)),
    ),
    // The branch's five best managers, each with their figures.
    ("BranchDashboardView", "topManagers", c(RESIDENT, At(5))),
    ("BranchDashboardView", "banking", c(COMPUTE, One)),
    (
        "OutletBankingView",
        "loansByClassification",
        c(RESIDENT, At(ENUM)),
    ),
    ("BankDashboardView", "outlets", c(RESIDENT, At(BRANCHES))),
    (
        "BankFiguresView",
        "loansByClassification",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "BankFiguresView",
        "depositsByProduct",
        c(RESIDENT, At(BANK_PRODUCTS)),
    ),
    (
        "BankFiguresView",
        "loansByProduct",
        c(RESIDENT, At(BANK_PRODUCTS)),
    ),
    ("Segment", "byTier", c(RESIDENT, At(ENUM))),
    ("Segment", "byRiskPreference", c(RESIDENT, At(ENUM))),
    ("Segment", "byChurnRisk", c(RESIDENT, At(ENUM))),
    ("ServiceQualityView", "byKind", c(RESIDENT, At(ENUM))),
    // ---- Appraisal ----
    ("StaffPerformanceView", "kpi", c(COMPUTE, One)),
    (
        "StaffPerformanceView",
        "sources",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    ("StaffPerformanceView", "teams", c(RESIDENT, At(4))),
    // The customers lost in the period: bounded by the book only.
    (
        "StaffPerformanceView",
        "churnedCustomers",
        c(RESIDENT, Page),
    ),
    ("TeamResultView", "churnedCustomers", c(RESIDENT, Page)),
    ("TeamResultView", "memberIds", c(RESIDENT, At(TEAM_SIZE))),
    ("TeamResultView", "sources", c(RESIDENT, At(PER_CUSTOMER))),
    ("TeamRosterView", "members", c(RESIDENT, At(TEAM_SIZE))),
    ("KpiExplanation", "terms", c(RESIDENT, At(8))),
    ("AppraisalPeriodView", "results", c(RESIDENT, Page)),
    ("SealedResultView", "points", c(RESIDENT, At(ENUM))),
    ("AppraisalPeriodView", "adjustments", c(RESIDENT, Page)),
    ("AdjustmentView", "points", c(RESIDENT, At(ENUM))),
    ("AppraisalPeriodView", "teams", c(RESIDENT, At(TEAMS))),
    (
        "SealedTeamResultView",
        "memberIds",
        c(RESIDENT, At(TEAM_SIZE)),
    ),
    ("SealedTeamResultView", "points", c(RESIDENT, At(ENUM))),
    // ---- Explanations ----
    (
        "ChurnExplanation",
        "sourcePositions",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    ("ContributionExplanation", "terms", c(RESIDENT, At(ENUM))),
    (
        "ContributionExplanation",
        "tierThresholds",
        c(RESIDENT, At(ENUM)),
    ),
    (
        "ContributionExplanation",
        "sourcePositions",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    ("RiskExplanation", "signals", c(RESIDENT, At(ENUM))),
    (
        "RiskExplanation",
        "sourcePositions",
        c(RESIDENT, At(PER_CUSTOMER)),
    ),
    // ---- Operations ----
    ("CommandResult", "events", c(RESIDENT, At(ENUM))),
    ("LogVerification", "findings", c(RESIDENT, Page)),
    ("RulesState", "versions", c(RESIDENT, Page)),
    ("ReadModelJob", "preview", c(RESIDENT, One)),
    ("RulesPreview", "tierMoves", c(RESIDENT, At(MOVES))),
    (
        "RulesPreview",
        "tierMovesByBranch",
        c(RESIDENT, At(BRANCHES)),
    ),
    ("RulesPreview", "tierMovesByManager", c(RESIDENT, Page)),
    ("RulesPreview", "tierChanges", c(RESIDENT, Page)),
    ("RulesPreview", "rankingMoves", c(RESIDENT, Page)),
    ("RulesPreview", "churnMoves", c(RESIDENT, At(MOVES))),
    ("RulesPreview", "churnChanges", c(RESIDENT, Page)),
    (
        "RulesPreview",
        "riskPreferenceMoves",
        c(RESIDENT, At(MOVES)),
    ),
    ("GroupTierMovesView", "moves", c(RESIDENT, At(MOVES))),
];

/// The cost of `field` on `ty`: its entry, [`MUTATION`] for a mutation without one,
/// [`DEFAULT`] otherwise.
pub fn of(ty: &str, field: &str, mutation_root: Option<&str>) -> FieldCost {
    FIELD_COSTS
        .iter()
        .find(|(t, f, _)| *t == ty && *f == field)
        .map(|(_, _, cost)| *cost)
        .unwrap_or(if mutation_root == Some(ty) {
            MUTATION
        } else {
            DEFAULT
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::parser::types::{BaseType, TypeKind, TypeSystemDefinition};
    use std::collections::HashSet;

    /// A root field or a list without `first`/`last` that the table does not price is a new
    /// field nobody weighed: this names it. An entry for a field the schema no longer has is
    /// named too.
    #[test]
    fn every_unpaged_list_and_root_field_has_a_declared_cost() {
        let sdl = include_str!("../../../../schema/schema.graphql");
        let document = async_graphql::parser::parse_schema(sdl).expect("the SDL parses");
        let declared: HashSet<(&str, &str)> =
            FIELD_COSTS.iter().map(|(t, f, _)| (*t, *f)).collect();
        let mut missing = Vec::new();
        let mut present = HashSet::new();
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else {
                continue;
            };
            let fields = match &ty.node.kind {
                TypeKind::Object(o) => &o.fields,
                TypeKind::Interface(i) => &i.fields,
                _ => continue,
            };
            let type_name = ty.node.name.node.to_string();
            for f in fields {
                let f = &f.node;
                let name = f.name.node.to_string();
                present.insert((type_name.clone(), name.clone()));
                let paged = f
                    .arguments
                    .iter()
                    .any(|a| matches!(a.node.name.node.as_str(), "first" | "last"));
                let list = matches!(f.ty.node.base, BaseType::List(_));
                let root = matches!(type_name.as_str(), "Query" | "Subscription");
                if (root || (list && !paged))
                    && !declared.contains(&(type_name.as_str(), name.as_str()))
                {
                    missing.push(format!("{type_name}.{name}"));
                }
            }
        }
        assert!(
            missing.is_empty(),
            "fields without a cost in prepare/weights.rs: {missing:?}"
        );
        let stale: Vec<String> = FIELD_COSTS
            .iter()
            .filter(|(t, f, _)| !present.contains(&(t.to_string(), f.to_string())))
            .map(|(t, f, _)| format!("{t}.{f}"))
            .collect();
        assert!(
            stale.is_empty(),
            "entries for fields the schema lacks: {stale:?}"
        );
        let mut seen = HashSet::new();
        for (t, f, _) in FIELD_COSTS {
            assert!(seen.insert((t, f)), "{t}.{f} is priced twice");
        }
    }

    #[test]
    fn mutations_default_to_an_append_and_others_to_a_resident_read() {
        let root = Some("MutationRoot");
        assert_eq!(of("MutationRoot", "recordContact", root), MUTATION);
        assert_eq!(of("MutationRoot", "previewRules", root).own, WHOLE_LOG);
        assert_eq!(of("Customer", "name", root), DEFAULT);
        assert_eq!(of("Customer", "timeline", root).own, DISK);
        assert_eq!(of("Query", "branches", root).bound, Bound::At(BRANCHES));
    }
}
