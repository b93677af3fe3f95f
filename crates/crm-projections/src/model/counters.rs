//! Counters of a set of customers: the facets one customer adds, stock totals and flows.

use std::collections::BTreeMap;

use crate::model::{
    madd, mscale, ASSET_CLASSES, CHANNELS, KINDS, LIFECYCLES, MARKETS, SECURITY_TYPES, TIERS,
    TRADE_CHANNELS,
};
use crm_domain::account::DailyTradeSummary;
use crm_domain::ids::{BranchId, RegionId, StaffId};
use crm_domain::Money;
use serde::{Deserialize, Serialize};

/// What a customer adds to the counters of their branch and manager.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facets {
    pub(crate) counted: bool,
    pub(crate) branch: Option<BranchId>,
    pub(crate) manager: Option<StaffId>,
    pub(crate) tier: usize,
    pub(crate) lifecycle: usize,
    pub(crate) kind: usize,
    pub(crate) region: Option<RegionId>,
    pub(crate) channel: usize,
    pub(crate) assets: Money,
    pub(crate) holdings: [Money; ASSET_CLASSES],
    pub(crate) in_profit: bool,
    pub(crate) score_centi: i64,
}

impl Facets {
    pub(crate) fn none() -> Facets {
        Facets {
            counted: false,
            branch: None,
            manager: None,
            tier: 0,
            lifecycle: 0,
            kind: 0,
            region: None,
            channel: 0,
            assets: Money::ZERO,
            holdings: [Money::ZERO; ASSET_CLASSES],
            in_profit: false,
            score_centi: 0,
        }
    }
}

/// Stock figures of a set of customers (a branch, a manager's book).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Totals {
    pub customers: i64,
    pub by_tier: [i64; TIERS],
    pub by_lifecycle: [i64; LIFECYCLES],
    pub by_kind: [i64; KINDS],
    pub by_channel: [i64; CHANNELS],
    pub by_region: BTreeMap<RegionId, i64>,
    pub assets: Money,
    pub holdings: [Money; ASSET_CLASSES],
    pub in_profit: i64,
    pub score_sum_centi: i64,
}

impl Totals {
    /// Adds another set's figures (a day's change to the stock before it).
    pub(crate) fn add_totals(&mut self, o: &Totals) {
        self.customers += o.customers;
        for (a, b) in self.by_tier.iter_mut().zip(o.by_tier) {
            *a += b;
        }
        for (a, b) in self.by_lifecycle.iter_mut().zip(o.by_lifecycle) {
            *a += b;
        }
        for (a, b) in self.by_kind.iter_mut().zip(o.by_kind) {
            *a += b;
        }
        for (a, b) in self.by_channel.iter_mut().zip(o.by_channel) {
            *a += b;
        }
        for (r, n) in &o.by_region {
            *self.by_region.entry(*r).or_insert(0) += n;
        }
        self.assets = madd(self.assets, o.assets);
        for (h, v) in self.holdings.iter_mut().zip(o.holdings) {
            *h = madd(*h, v);
        }
        self.in_profit += o.in_profit;
        self.score_sum_centi = self.score_sum_centi.saturating_add(o.score_sum_centi);
    }

    pub(crate) fn add(&mut self, f: &Facets, sign: i64) {
        if !f.counted {
            return;
        }
        self.customers += sign;
        self.by_tier[f.tier.min(TIERS - 1)] += sign;
        self.by_lifecycle[f.lifecycle.min(LIFECYCLES - 1)] += sign;
        self.by_kind[f.kind.min(KINDS - 1)] += sign;
        self.by_channel[f.channel.min(CHANNELS - 1)] += sign;
        if let Some(r) = f.region {
            // Zero counts stay (queries skip them): a customer's figures move -1 then +1 on
            // every summary, and removing and re-inserting the entry each time costs more.
            *self.by_region.entry(r).or_insert(0) += sign;
        }
        self.assets = madd(self.assets, mscale(f.assets, sign));
        for (h, v) in self.holdings.iter_mut().zip(f.holdings) {
            *h = madd(*h, mscale(v, sign));
        }
        if f.in_profit {
            self.in_profit += sign;
        }
        self.score_sum_centi = self
            .score_sum_centi
            .saturating_add(f.score_centi.saturating_mul(sign));
    }
}

/// Flow figures of one day (a branch) or one month (a staff member).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Flows {
    pub commission: Money,
    pub deposits: Money,
    pub withdrawals: Money,
    pub turnover: Money,
    pub turnover_by_security_type: [Money; SECURITY_TYPES],
    pub turnover_by_trade_channel: [Money; TRADE_CHANNELS],
    pub turnover_by_market: [Money; MARKETS],
    pub new_customers: i64,
    /// As folded: closures and recorded churn on the day (month) they were recorded. The
    /// figures people and branches are appraised on replace it with the stock comparison of
    /// `read_models::churn_kpi` (which adds dormancy and counts each customer once).
    pub churned: i64,
    pub upgraded: i64,
    pub downgraded: i64,
    pub contacts: i64,
    pub won_amount: Money,
}

impl Flows {
    pub fn net_inflow(&self) -> Money {
        madd(self.deposits, mscale(self.withdrawals, -1))
    }

    pub fn add_flows(&mut self, o: &Flows) {
        self.commission = madd(self.commission, o.commission);
        self.deposits = madd(self.deposits, o.deposits);
        self.withdrawals = madd(self.withdrawals, o.withdrawals);
        self.turnover = madd(self.turnover, o.turnover);
        for (a, b) in self
            .turnover_by_security_type
            .iter_mut()
            .zip(o.turnover_by_security_type)
        {
            *a = madd(*a, b);
        }
        for (a, b) in self
            .turnover_by_trade_channel
            .iter_mut()
            .zip(o.turnover_by_trade_channel)
        {
            *a = madd(*a, b);
        }
        for (a, b) in self.turnover_by_market.iter_mut().zip(o.turnover_by_market) {
            *a = madd(*a, b);
        }
        self.new_customers += o.new_customers;
        self.churned += o.churned;
        self.upgraded += o.upgraded;
        self.downgraded += o.downgraded;
        self.contacts += o.contacts;
        self.won_amount = madd(self.won_amount, o.won_amount);
    }

    pub(crate) fn add_summary(&mut self, s: &DailyTradeSummary, sign: i64) {
        self.commission = madd(self.commission, mscale(s.commission, sign));
        self.deposits = madd(self.deposits, mscale(s.deposits, sign));
        self.withdrawals = madd(self.withdrawals, mscale(s.withdrawals, sign));
        for l in &s.turnover {
            let v = mscale(l.amount, sign);
            self.turnover = madd(self.turnover, v);
            let t = &mut self.turnover_by_security_type
                [(l.security_type as usize).min(SECURITY_TYPES - 1)];
            *t = madd(*t, v);
            let c =
                &mut self.turnover_by_trade_channel[(l.channel as usize).min(TRADE_CHANNELS - 1)];
            *c = madd(*c, v);
            let m = &mut self.turnover_by_market[(l.market as usize).min(MARKETS - 1)];
            *m = madd(*m, v);
        }
    }
}
