//! The [`Projections`] handle: the read models the API and the app query, their live engine,
//! generations (shadow rebuild, dry run, atomic switch, rollback) and replay as of an instant.
//!
//! Generations are recorded in the sled tree `proj-all-meta` (current, previous, each one's
//! rules file). A switch is one sled insert of that record plus one swap of an in-memory
//! pointer under a lock, so a query sees the old generation or the new one, never a mix.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crm_domain::ids::{BranchId, CustomerId, StaffId};
use crm_eventstore::EventStore;
use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::dryrun::{self, DryRunReport};
use crate::error::ProjectionError;
use crate::generation::{self, Generation, ProjectionStatus, RebuildProgress, Role, StoredTree};
use crate::model::{CustomerRecord, Model};
use crate::replay::{self, TimelineEvent};
use crate::rules::RuleBook;
use crate::views::{
    self, BranchDashboard, BranchPeriod, BranchRank, CampaignEffect, ChannelEffect, Customer360,
    CustomerOrg, CustomerRow, DirectoryFilter, DirectoryKey, DirectoryPage, ExplainSubject,
    Explanation, LeaderboardScope, OrgView, Page, Period, SegmentCounts, SegmentFilter,
    ServiceQuality, StaffPerformance, TeamRoster, Todo,
};

/// The read models folded in the one pass, each reported with the pass's position.
pub const READ_MODELS: &[&str] = &[
    "customer_archive",
    "staff_performance",
    "branch_dashboard",
    "segments",
    "campaign_effectiveness",
    "channel_effectiveness",
    "service_quality",
    "todos",
    "org",
];

const META_TREE: &str = "proj-all-meta";
const KEY_GENERATIONS: &[u8] = b"generations";

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct GenerationsRecord {
    current: u64,
    previous: Option<u64>,
    /// The last generation id handed out (shadows included), so ids never repeat.
    last_id: u64,
    /// Rules file of each kept generation.
    rules: BTreeMap<u64, String>,
}

struct Gens {
    current: Arc<Generation>,
    previous: Option<Arc<Generation>>,
    shadow: Option<Arc<Generation>>,
    record: GenerationsRecord,
}

struct Inner {
    store: EventStore,
    meta: sled::Tree,
    gens: RwLock<Gens>,
    /// Rebuilds, dry runs, switches and rollbacks one at a time.
    admin: tokio::sync::Mutex<()>,
    /// The rules configured at start: used where the log has activated none.
    configured: Arc<RuleBook>,
    follow: bool,
    jobs: crate::jobs::Jobs,
}

// The API keeps one handle in shared state and calls it from any task.
const _: fn() = || {
    fn handle<T: Clone + Send + Sync + 'static>() {}
    handle::<Projections>();
};

/// The read side. Cheap to clone; all clones share one engine.
#[derive(Clone)]
pub struct Projections {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Projections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Projections")
            .field("current", &self.current().id)
            .field("position", &self.position())
            .finish()
    }
}

/// A customer as of a past instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerAsOf {
    pub instant: OffsetDateTime,
    /// The last log position recorded at or before the instant.
    pub position: u64,
    pub rules_version: u32,
    pub rules_hash: String,
    pub archive: Option<Customer360>,
    pub timeline: Vec<TimelineEvent>,
}

/// One kept generation as stored, read by [`Projections::inspect`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GenerationInspection {
    pub generation: u64,
    pub role: Role,
    /// The rules the generation is built under (the configured rules when the record names
    /// none).
    pub rules_version: u32,
    pub rules_hash: String,
    /// What its tree holds.
    pub stored: StoredTree,
    /// The log's head when inspected.
    pub head: u64,
    /// Events after the usable position.
    pub lag_events: u64,
    /// How long the oldest event not in the stored state has been in the log (0 when none).
    pub lag_ms: u64,
}

/// The read models as stored in the index, read without changing it (for `crm status`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// The generations record exists (the server writes it on its first start).
    pub recorded: bool,
    /// Current, then previous.
    pub generations: Vec<GenerationInspection>,
    /// Generation trees no longer kept (a shadow abandoned by a restart): the server drops
    /// them on start.
    pub not_kept: Vec<u64>,
}

impl Inspection {
    /// The current generation.
    pub fn current(&self) -> Option<&GenerationInspection> {
        self.generations.iter().find(|g| g.role == Role::Current)
    }
}

impl Projections {
    /// Opens the read models without following the log (for tools and tests: call
    /// [`Projections::catch_up`] and [`Projections::flush`]). `rules` are used when no
    /// generation exists yet, and for replay before any rules were activated in the log; an
    /// existing generation keeps the rules it was built under until a rebuild.
    pub fn open(store: &EventStore, rules: RuleBook) -> Result<Projections, ProjectionError> {
        Projections::open_with(store, rules, false)
    }

    /// Opens the read models and follows the log on tokio tasks (one per kept generation).
    pub fn start(store: &EventStore, rules: RuleBook) -> Result<Projections, ProjectionError> {
        let p = Projections::open_with(store, rules, true)?;
        let g = p.gens();
        g.current.spawn_follower()?;
        if let Some(prev) = &g.previous {
            prev.spawn_follower()?;
        }
        drop(g);
        Ok(p)
    }

    /// Reads what [`Projections::open`] would load (the generations record, each kept
    /// generation's checkpoint, format and rules, and whether its stored state decodes)
    /// without clearing, folding, creating or dropping anything: the records and trees are only
    /// read. `configured` stands in where no rules are recorded, as in `open`.
    pub fn inspect(
        store: &EventStore,
        configured: &RuleBook,
    ) -> Result<Inspection, ProjectionError> {
        let db = store.sled();
        let names = db.tree_names();
        let has = |name: &str| names.iter().any(|n| n.as_ref() == name.as_bytes());
        // `open_tree` creates a missing tree: only open the record's tree when it is there.
        let record: Option<GenerationsRecord> = if has(META_TREE) {
            match db.open_tree(META_TREE)?.get(KEY_GENERATIONS)? {
                Some(bytes) => Some(crm_eventstore::codec::decode(&bytes)?),
                None => None,
            }
        } else {
            None
        };
        let recorded = record.is_some();
        let record = record.unwrap_or_else(|| GenerationsRecord {
            current: 1,
            previous: None,
            last_id: 1,
            rules: BTreeMap::new(),
        });
        let head = store.head().0;
        let inspect = |id: u64, role: Role| -> Result<GenerationInspection, ProjectionError> {
            let (rules_version, rules_hash) = match record.rules.get(&id) {
                Some(content) => {
                    let rules = RuleBook::parse(content)?;
                    (rules.version, rules.hash)
                }
                None => (configured.version, configured.hash.clone()),
            };
            let stored = generation::inspect_tree(db, id, head, true)?;
            let lag_events = head.saturating_sub(stored.usable);
            let lag_ms = if lag_events == 0 {
                0
            } else {
                store
                    .read_position(crm_eventstore::Position(stored.usable + 1))
                    .ok()
                    .map_or(0, |e| {
                        let d = OffsetDateTime::now_utc() - e.recorded_at;
                        u64::try_from(d.whole_milliseconds().max(0)).unwrap_or(u64::MAX)
                    })
            };
            Ok(GenerationInspection {
                generation: id,
                role,
                rules_version,
                rules_hash,
                stored,
                head,
                lag_events,
                lag_ms,
            })
        };
        let mut generations = vec![inspect(record.current, Role::Current)?];
        if let Some(previous) = record.previous {
            generations.push(inspect(previous, Role::Previous)?);
        }
        let not_kept = names
            .iter()
            .filter_map(|name| {
                std::str::from_utf8(name)
                    .ok()
                    .and_then(|n| n.strip_prefix("proj-all-g"))
                    .and_then(|n| n.parse::<u64>().ok())
            })
            .filter(|id| *id != record.current && Some(*id) != record.previous)
            .collect();
        Ok(Inspection {
            recorded,
            generations,
            not_kept,
        })
    }

    fn open_with(
        store: &EventStore,
        rules: RuleBook,
        follow: bool,
    ) -> Result<Projections, ProjectionError> {
        let meta = store.sled().open_tree(META_TREE)?;
        let configured = Arc::new(rules);
        let record: GenerationsRecord = match meta.get(KEY_GENERATIONS)? {
            Some(bytes) => crm_eventstore::codec::decode(&bytes)?,
            None => {
                let r = GenerationsRecord {
                    current: 1,
                    previous: None,
                    last_id: 1,
                    rules: BTreeMap::from([(1, configured.content.clone())]),
                };
                meta.insert(KEY_GENERATIONS, crm_eventstore::codec::encode(&r)?)?;
                r
            }
        };
        let load = |id: u64| -> Result<Arc<Generation>, ProjectionError> {
            let rules = match record.rules.get(&id) {
                Some(content) => Arc::new(RuleBook::parse(content)?),
                None => configured.clone(),
            };
            Ok(Arc::new(Generation::open(store, id, rules)?))
        };
        let current = load(record.current)?;
        let previous = record.previous.map(load).transpose()?;
        // Trees of generations no longer kept (a shadow abandoned by a restart) are garbage.
        for name in store.sled().tree_names() {
            let Some(id) = std::str::from_utf8(&name)
                .ok()
                .and_then(|n| n.strip_prefix("proj-all-g"))
                .and_then(|n| n.parse::<u64>().ok())
            else {
                continue;
            };
            if id != record.current && Some(id) != record.previous {
                store.sled().drop_tree(&name)?;
            }
        }
        Ok(Projections {
            inner: Arc::new(Inner {
                store: store.clone(),
                meta,
                gens: RwLock::new(Gens {
                    current,
                    previous,
                    shadow: None,
                    record,
                }),
                admin: tokio::sync::Mutex::new(()),
                configured,
                follow,
                jobs: crate::jobs::Jobs::default(),
            }),
        })
    }

    fn gens(&self) -> std::sync::RwLockReadGuard<'_, Gens> {
        // Nothing panics while holding this lock; a poisoned one still holds whole data.
        self.inner.gens.read().unwrap_or_else(|e| e.into_inner())
    }

    fn gens_mut(&self) -> std::sync::RwLockWriteGuard<'_, Gens> {
        self.inner.gens.write().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn jobs(&self) -> &crate::jobs::Jobs {
        &self.inner.jobs
    }

    fn current(&self) -> Arc<Generation> {
        self.gens().current.clone()
    }

    /// Runs `f` on the current generation's model and rules.
    pub fn with_model<R>(&self, f: impl FnOnce(&Model, &RuleBook) -> R) -> R {
        let g = self.current();
        let m = g.read();
        f(&m, &g.rules)
    }

    // ------------------------------------------------------------ engine

    /// Applies everything committed now to the kept generations, without flushing.
    pub fn catch_up(&self) -> Result<u64, ProjectionError> {
        let (current, previous) = {
            let g = self.gens();
            (g.current.clone(), g.previous.clone())
        };
        if let Some(p) = previous {
            p.catch_up(None, |_| {})?;
        }
        current.catch_up(None, |_| {})
    }

    /// Writes the kept generations' state and checkpoints.
    pub fn flush(&self) -> Result<u64, ProjectionError> {
        let (current, previous) = {
            let g = self.gens();
            (g.current.clone(), g.previous.clone())
        };
        if let Some(p) = previous {
            p.flush()?;
        }
        current.flush()
    }

    /// Stops the followers; each flushes before it ends.
    pub async fn shutdown(&self) -> Result<(), ProjectionError> {
        let (current, previous, shadow) = {
            let g = self.gens();
            (g.current.clone(), g.previous.clone(), g.shadow.clone())
        };
        for g in [Some(current), previous, shadow].into_iter().flatten() {
            g.stop_follower().await;
            g.flush()?;
        }
        Ok(())
    }

    /// The position the current read models have applied.
    pub fn position(&self) -> u64 {
        self.current().position()
    }

    /// Each read model and the position it has applied.
    pub fn positions(&self) -> Vec<(&'static str, u64)> {
        let p = self.position();
        READ_MODELS.iter().map(|n| (*n, p)).collect()
    }

    /// Current, previous and shadow generations.
    pub fn status(&self) -> Vec<ProjectionStatus> {
        let g = self.gens();
        let mut out = vec![g.current.status(Role::Current)];
        if let Some(p) = &g.previous {
            out.push(p.status(Role::Previous));
        }
        if let Some(s) = &g.shadow {
            out.push(s.status(Role::Shadow));
        }
        out
    }

    /// Version and content hash of the rules the current generation was built under.
    pub fn rules_version(&self) -> (u32, String) {
        let g = self.current();
        (g.rules.version, g.rules.hash.clone())
    }

    pub fn rules(&self) -> Arc<RuleBook> {
        self.current().rules.clone()
    }

    /// The rules version the log has activated, if it differs from the current generation's
    /// (a rebuild under it is due).
    pub fn rules_pending(&self) -> Option<u32> {
        self.with_model(|m, r| m.meta.active_rules.filter(|v| *v != r.version))
    }

    /// Every rules version the log records (proposed, approved, active, …) with its content.
    pub fn rule_versions(&self) -> Vec<crate::model::RuleVersionRecord> {
        self.with_model(|m, _| m.meta.rule_versions.values().cloned().collect())
    }

    /// The rules of a version as proposed in the log, checked against its hash: what a
    /// dry run or a rebuild under that version uses.
    pub fn rules_for_version(&self, version: u32) -> Result<RuleBook, ProjectionError> {
        let record = self
            .with_model(|m, _| m.meta.rule_versions.get(&version).cloned())
            .ok_or_else(|| ProjectionError::NotFound(format!("rules version {version}")))?;
        if crate::rules::content_hash(&record.content) != record.content_hash {
            return Err(ProjectionError::Rules(format!(
                "rules version {version}: the proposal's content does not match its hash"
            )));
        }
        let book = RuleBook::parse(&record.content)?;
        if book.version != version {
            return Err(ProjectionError::Rules(format!(
                "rules proposed as version {version} declare version {}",
                book.version
            )));
        }
        Ok(book)
    }

    /// Waits until the current read models have applied `position` (read your writes).
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), ProjectionError> {
        let g = self.current();
        if let Some(e) = g.stopped() {
            if e.position <= position {
                return Err(ProjectionError::Stopped {
                    name: "read_models",
                    position: e.position,
                    reason: e.reason,
                });
            }
        }
        g.wait_for(position, timeout).await
    }

    // ------------------------------------------------------------ queries

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

    // ------------------------------------------------------------ generations

    fn next_generation(&self, rules: RuleBook) -> Result<Arc<Generation>, ProjectionError> {
        let mut g = self.gens_mut();
        g.record.last_id += 1;
        let id = g.record.last_id;
        self.inner
            .meta
            .insert(KEY_GENERATIONS, crm_eventstore::codec::encode(&g.record)?)?;
        Ok(Arc::new(Generation::fresh(
            &self.inner.store,
            id,
            Arc::new(rules),
        )?))
    }

    /// Builds a shadow generation under `rules` (replacing any earlier shadow), folding the
    /// whole log while the current generation keeps serving; flushes it when caught up.
    async fn build_shadow(
        &self,
        rules: RuleBook,
        progress: impl FnMut(RebuildProgress) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<Arc<Generation>, ProjectionError> {
        let old = self.gens_mut().shadow.take();
        if let Some(old) = old {
            old.stop_follower().await;
            old.destroy()?;
        }
        let shadow = self.next_generation(rules)?;
        let building = shadow.clone();
        let built = tokio::task::spawn_blocking(move || -> Result<(), ProjectionError> {
            building.catch_up_unless(None, progress, &cancel)?;
            building.flush()?;
            Ok(())
        })
        .await
        .map_err(|e| ProjectionError::Generation(format!("the rebuild task failed: {e}")))
        .and_then(|r| r);
        if let Err(e) = built {
            shadow.destroy()?;
            return Err(e);
        }
        self.gens_mut().shadow = Some(shadow.clone());
        Ok(shadow)
    }

    /// Dry run: folds the log into a shadow generation under `new_rules` and reports what
    /// would change against the current generation at the same position (at most `limit`
    /// customers per list). The shadow is kept: [`Projections::switch`] makes it current.
    pub async fn dry_run(
        &self,
        new_rules: RuleBook,
        limit: usize,
        progress: impl FnMut(RebuildProgress) + Send + 'static,
    ) -> Result<DryRunReport, ProjectionError> {
        self.dry_run_unless(new_rules, limit, progress, Arc::default())
            .await
    }

    /// [`Projections::dry_run`] that stops once `cancel` is set, leaving no shadow behind.
    pub(crate) async fn dry_run_unless(
        &self,
        new_rules: RuleBook,
        limit: usize,
        progress: impl FnMut(RebuildProgress) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<DryRunReport, ProjectionError> {
        let _admin = self.inner.admin.lock().await;
        let shadow = self.build_shadow(new_rules, progress, cancel).await?;
        let current = self.current();
        let report = tokio::task::spawn_blocking(move || compare(&current, &shadow, limit))
            .await
            .map_err(|e| ProjectionError::Generation(format!("the comparison failed: {e}")))??;
        Ok(report)
    }

    /// Compares the current generation with the previous one (after a switch: what the
    /// switch changed), at the same position.
    pub fn compare_with_previous(
        &self,
        limit: usize,
    ) -> Result<Option<DryRunReport>, ProjectionError> {
        let (current, previous) = {
            let g = self.gens();
            (g.current.clone(), g.previous.clone())
        };
        previous.map(|p| compare(&p, &current, limit)).transpose()
    }

    /// Makes the shadow generation current in one atomic switch, once it has caught up; the
    /// current one becomes previous (kept for rollback), the one before is dropped.
    pub async fn switch(&self) -> Result<u64, ProjectionError> {
        let _admin = self.inner.admin.lock().await;
        self.switch_locked().await
    }

    async fn switch_locked(&self) -> Result<u64, ProjectionError> {
        let shadow = self.gens().shadow.clone().ok_or_else(|| {
            ProjectionError::Generation("no shadow generation to switch to".into())
        })?;
        let catching = shadow.clone();
        tokio::task::spawn_blocking(move || -> Result<(), ProjectionError> {
            catching.catch_up(None, |_| {})?;
            catching.flush()?;
            Ok(())
        })
        .await
        .map_err(|e| ProjectionError::Generation(format!("catching up failed: {e}")))??;
        if self.inner.follow {
            shadow.spawn_follower()?;
        }
        let dropped = {
            let mut g = self.gens_mut();
            let mut record = g.record.clone();
            let dropped = record.previous;
            record.previous = Some(record.current);
            record.current = shadow.id;
            record.rules.insert(shadow.id, shadow.rules.content.clone());
            if let Some(d) = dropped {
                record.rules.remove(&d);
            }
            // The switch itself: one sled insert, then one pointer swap.
            self.inner
                .meta
                .insert(KEY_GENERATIONS, crm_eventstore::codec::encode(&record)?)?;
            g.record = record;
            g.shadow = None;
            let old_current = std::mem::replace(&mut g.current, shadow.clone());
            g.previous.replace(old_current)
        };
        if let Some(d) = dropped {
            d.stop_follower().await;
            d.destroy()?;
        }
        Ok(shadow.id)
    }

    /// Rebuilds under `rules` into a new generation and switches to it when caught up.
    pub async fn rebuild(
        &self,
        rules: RuleBook,
        progress: impl FnMut(RebuildProgress) + Send + 'static,
    ) -> Result<u64, ProjectionError> {
        self.rebuild_unless(rules, progress, Arc::default()).await
    }

    /// [`Projections::rebuild`] that stops once `cancel` is set, leaving no shadow behind and
    /// the current generation serving.
    pub(crate) async fn rebuild_unless(
        &self,
        rules: RuleBook,
        progress: impl FnMut(RebuildProgress) + Send + 'static,
        cancel: Arc<AtomicBool>,
    ) -> Result<u64, ProjectionError> {
        let _admin = self.inner.admin.lock().await;
        self.build_shadow(rules, progress, cancel).await?;
        self.switch_locked().await
    }

    /// Four eyes for the read side: read models may be switched to, or rebuilt under, only the
    /// rules the log has activated (proposed, approved by a second operator, activated) — with
    /// nothing activated, only the configured rules. A dry run needs no approval. The API's
    /// switch and the command line's rebuild both ask this.
    pub fn check_activated(&self, version: u32, hash: &str) -> Result<(), ProjectionError> {
        let active = self.active_rules()?;
        if active.hash == hash {
            return Ok(());
        }
        Err(ProjectionError::NotActivated {
            version,
            hash: hash.to_string(),
            active_version: active.version,
            active_hash: active.hash,
        })
    }

    /// The rules version the log activated last (its content from the log), or the
    /// configured rules where it activated none.
    pub fn active_rules(&self) -> Result<RuleBook, ProjectionError> {
        replay::rules_at(
            &self.inner.store,
            self.inner.store.head().0,
            &self.inner.configured,
        )
    }

    /// Rebuilds under the rules version the log activated last (its content from the log).
    pub async fn rebuild_to_active(
        &self,
        progress: impl FnMut(RebuildProgress) + Send + 'static,
    ) -> Result<u64, ProjectionError> {
        let rules = self.active_rules()?;
        self.rebuild(rules, progress).await
    }

    /// Swaps current and previous: back to the generation before the last switch.
    pub async fn rollback(&self) -> Result<u64, ProjectionError> {
        let _admin = self.inner.admin.lock().await;
        let previous = self.gens().previous.clone().ok_or_else(|| {
            ProjectionError::Generation("no previous generation to roll back to".into())
        })?;
        let catching = previous.clone();
        tokio::task::spawn_blocking(move || catching.catch_up(None, |_| {}).map(|_| ()))
            .await
            .map_err(|e| ProjectionError::Generation(format!("catching up failed: {e}")))??;
        let mut g = self.gens_mut();
        let mut record = g.record.clone();
        record.previous = Some(record.current);
        record.current = previous.id;
        self.inner
            .meta
            .insert(KEY_GENERATIONS, crm_eventstore::codec::encode(&record)?)?;
        g.record = record;
        let prev = g.previous.take();
        if let Some(p) = prev {
            let old = std::mem::replace(&mut g.current, p);
            g.previous = Some(old);
        }
        Ok(previous.id)
    }

    /// Drops the previous generation (no rollback after this) and any unswitched shadow.
    pub async fn drop_previous(&self) -> Result<(), ProjectionError> {
        let _admin = self.inner.admin.lock().await;
        let (prev, shadow) = {
            let mut g = self.gens_mut();
            let prev = g.previous.take();
            let shadow = g.shadow.take();
            let mut record = g.record.clone();
            if let Some(p) = record.previous.take() {
                record.rules.remove(&p);
            }
            self.inner
                .meta
                .insert(KEY_GENERATIONS, crm_eventstore::codec::encode(&record)?)?;
            g.record = record;
            (prev, shadow)
        };
        for g in [prev, shadow].into_iter().flatten() {
            g.stop_follower().await;
            g.destroy()?;
        }
        Ok(())
    }

    // ------------------------------------------------------------ replay

    /// The read models as the log knew them at `instant` (recorded time), under the rules in
    /// force then. Folds the log's prefix: seconds per million events.
    pub fn model_as_of(
        &self,
        instant: OffsetDateTime,
        customer: Option<CustomerId>,
    ) -> Result<replay::ModelAsOf, ProjectionError> {
        self.model_as_of_unless(instant, customer, &AtomicBool::new(false))
    }

    /// [`Projections::model_as_of`] that stops with [`ProjectionError::Cancelled`] once
    /// `cancel` is set.
    pub fn model_as_of_unless(
        &self,
        instant: OffsetDateTime,
        customer: Option<CustomerId>,
        cancel: &AtomicBool,
    ) -> Result<replay::ModelAsOf, ProjectionError> {
        let position = replay::position_at(&self.inner.store, instant)?;
        replay::model_at_leaving(
            &self.inner.store,
            position,
            &self.inner.configured,
            customer,
            crate::checkpoints::GAP,
            cancel,
        )
    }

    /// A customer's archive and event timeline as of `instant`, from the log alone.
    pub fn customer_as_of(
        &self,
        id: CustomerId,
        instant: OffsetDateTime,
    ) -> Result<CustomerAsOf, ProjectionError> {
        let at = self.model_as_of(instant, Some(id))?;
        let day = at.model.meta.log_date;
        Ok(CustomerAsOf {
            instant,
            position: at.position,
            rules_version: at.rules.version,
            rules_hash: at.rules.hash.clone(),
            archive: views::customer_360(&at.model, &at.rules, id, day),
            timeline: at.timeline,
        })
    }

    /// The results of appraisal `period` derived from the log up to `position` (everything up
    /// to it, nothing after) under the rules in force there: what a seal proposal records, and
    /// what anyone re-deriving a sealed period must get byte for byte. Folds the log's prefix.
    pub fn derive_seal(
        &self,
        period: crm_domain::appraisal::AppraisalPeriod,
        position: u64,
    ) -> Result<crm_domain::appraisal::Derivation, ProjectionError> {
        derive_seal(&self.inner.store, &self.inner.configured, period, position)
    }

    /// A staff member's performance in `period` as the log knew it at `instant`; the replay
    /// stops (Cancelled) once `cancel` is set.
    pub fn staff_performance_as_of(
        &self,
        staff: StaffId,
        period: Period,
        instant: OffsetDateTime,
        cancel: &AtomicBool,
    ) -> Result<Option<StaffPerformance>, ProjectionError> {
        let at = self.model_as_of_unless(instant, None, cancel)?;
        Ok(views::staff_performance(
            &at.model, &at.rules, staff, period,
        ))
    }

    /// A branch dashboard as the log knew it at `instant`; the replay stops (Cancelled) once
    /// `cancel` is set.
    pub fn branch_dashboard_as_of(
        &self,
        branch: BranchId,
        period: BranchPeriod,
        instant: OffsetDateTime,
        cancel: &AtomicBool,
    ) -> Result<Option<BranchDashboard>, ProjectionError> {
        let at = self.model_as_of_unless(instant, None, cancel)?;
        Ok(views::branch_dashboard(
            &at.model, &at.rules, branch, period,
        ))
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

/// Diffs `old` against `new` at one position: the later one is frozen under its read lock
/// while the other catches up to it.
fn compare(
    old: &Generation,
    new: &Generation,
    limit: usize,
) -> Result<DryRunReport, ProjectionError> {
    let target = old.position().max(new.position());
    old.catch_up(Some(target), |_| {})?;
    new.catch_up(Some(target), |_| {})?;
    loop {
        let (a, b) = (old.read(), new.read());
        if old.position() == new.position() {
            return Ok(dryrun::diff(
                &a,
                &old.rules,
                old.position(),
                &b,
                &new.rules,
                limit,
            ));
        }
        let target = old.position().max(new.position());
        drop((a, b));
        old.catch_up(Some(target), |_| {})?;
        new.catch_up(Some(target), |_| {})?;
    }
}

/// [`Projections::derive_seal`] without a running read side (`crm replay --period`).
pub fn derive_seal(
    store: &EventStore,
    configured: &RuleBook,
    period: crm_domain::appraisal::AppraisalPeriod,
    position: u64,
) -> Result<crm_domain::appraisal::Derivation, ProjectionError> {
    let at = replay::model_at(store, position, configured, None)?;
    let results = crate::read_models::appraisal::seal_results(&at.model, &at.rules, period);
    Ok(crm_domain::appraisal::Derivation {
        position: at.position,
        rules_version: at.rules.version,
        rules_hash: at.rules.hash.clone(),
        results_hash: crate::read_models::appraisal::results_hash(&results)?,
        results,
    })
}
