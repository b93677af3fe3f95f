//! One generation of the read models: the [`Model`] folded under one [`RuleBook`], kept in
//! memory and made durable in its own sled tree (`proj-all-g<n>`).
//!
//! A flush writes every entry changed since the last flush and the checkpoint in one sled
//! batch, so the tree always holds the state as of exactly its checkpoint; after a crash the
//! generation reloads that and re-applies the events after it, each exactly once. Applying is
//! idempotent by position (events at or below the position are skipped), so a follower task
//! and an explicit catch-up can never apply an event twice.
//!
//! An event that does not decode stops the generation at the event before it, with the
//! position and the reason in its status; it never skips.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock, RwLockReadGuard};
use std::time::{Duration, Instant};

use crm_eventstore::{EventStore, Filter, Position, RecordedEvent};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::error::ProjectionError;
use crate::keyed::Keyed;
use crate::model::{self, Meta, Model};
use crate::read_models::history::{History, HistoryEntry};
use crate::read_models::lookup;
use crate::read_models::todo_index::TodoIndex;
use crate::rules::RuleBook;
use crate::writes::{self, Writes};
use crm_codec::decode;

/// Flush after this many events …
pub const FLUSH_EVENTS: u64 = 200_000;
/// … or this long after the first unflushed event, whichever comes first.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(500);
/// Stream categories no read model reads (the PII access log): the
/// subscription is `$all`, and these are skipped before decoding.
pub const IGNORED_CATEGORIES: &[&str] = &["access", "appraisal"];

/// Events taken from the log per step.
const STEP: usize = 2048;
/// A catch-up (a rebuild, a dry run) flushes once this many history entries are pending, so
/// customers' timelines reach the tree instead of piling up in memory.
const HISTORY_SPILL: usize = 100_000;
/// Likewise for daily flows, which are many more and small (about 80 bytes each pending): a
/// flush rewrites every changed record, so spilling at the timeline's bound would flush a
/// rebuild every few hundred thousand events for no memory it needs back.
const FLOW_SPILL: usize = 1_000_000;

static HISTORY_SPILL_AT: AtomicUsize = AtomicUsize::new(HISTORY_SPILL);
static FLOW_SPILL_AT: AtomicUsize = AtomicUsize::new(FLOW_SPILL);

/// Changes, for the whole process, how many pending history entries and daily flows a
/// catch-up keeps before it spills them (tests set a few, so that small logs spill often).
pub fn set_spill_limits(history_entries: usize, flows: usize) {
    HISTORY_SPILL_AT.store(history_entries, Ordering::Relaxed);
    FLOW_SPILL_AT.store(flows, Ordering::Relaxed);
}

const TAG_CUSTOMERS: u8 = 1;
const TAG_ACCOUNTS: u8 = 2;
const TAG_TICKETS: u8 = 3;
const TAG_OPPORTUNITIES: u8 = 4;
const TAG_STAFF: u8 = 5;
const TAG_BRANCHES: u8 = 6;
const TAG_BRANCH_DAYS: u8 = 7;
const TAG_STAFF_MONTHS: u8 = 8;
const TAG_ARTICLES: u8 = 9;
const TAG_DEPOSITS: u8 = 10;
const TAG_LOANS: u8 = 11;
const TAG_BANK_CUSTOMERS: u8 = 12;
const TAG_OUTLETS: u8 = 13;
const TAG_OUTLET_DAYS: u8 = 14;
const TAG_CAMPAIGN_TARGETS: u8 = 15;
const KEY_META: &[u8] = &[0xF0];
/// The layout and meaning of the stored model. Bump it when the fold changes what it keeps:
/// a generation stored under another format is folded again from the log on open, because
/// state folded by other code is not what this code would fold.
pub const MODEL_FORMAT: u32 = 21;
const KEY_FORMAT: &[u8] = &[0xF1];
const KEY_CHECKPOINT: &[u8] = &[0xFF];

/// What the keys of a generation's tree starting with `tag` hold (for `crm status --trees`).
pub fn key_tag_name(tag: u8) -> &'static str {
    match tag {
        TAG_CUSTOMERS => "customers",
        TAG_ACCOUNTS => "accounts",
        TAG_TICKETS => "tickets",
        TAG_OPPORTUNITIES => "opportunities",
        TAG_STAFF => "staff",
        TAG_BRANCHES => "branches",
        TAG_BRANCH_DAYS => "branch days",
        TAG_STAFF_MONTHS => "staff months",
        TAG_ARTICLES => "articles",
        TAG_DEPOSITS => "deposit accounts",
        TAG_LOANS => "loans",
        TAG_BANK_CUSTOMERS => "bank customers",
        TAG_OUTLETS => "outlets",
        TAG_OUTLET_DAYS => "outlet days",
        TAG_CAMPAIGN_TARGETS => "campaign targets",
        crate::read_models::history::TAG_HISTORY => "customer history",
        lookup::TAG_LOOKUP => "customer lookup",
        0xF2 => "lookup secret",
        0xF0 => "meta",
        0xF1 => "format",
        0xFF => "checkpoint",
        _ => "other",
    }
}

/// The sled tree of generation `id`.
pub fn tree_name(id: u64) -> String {
    format!("proj-all-g{id}")
}

/// Removes generation `id`'s tree (and any redo file of it), loaded or not.
pub fn destroy_stored(store: &EventStore, id: u64) -> Result<(), ProjectionError> {
    writes::discard(&writes::redo_path(store.index_path(), &tree_name(id)))?;
    // Opened first: sled drops only a tree it has open. Dropping frees the tree's pages whole;
    // removing its keys one by one first (`clear`) took a fifth of a rebuild at 100,000
    // customers.
    store.sled().open_tree(tree_name(id))?;
    store.sled().drop_tree(tree_name(id))?;
    Ok(())
}

/// Generation `id`'s tree, emptied: dropped whole and opened anew.
fn emptied(store: &EventStore, id: u64) -> Result<sled::Tree, ProjectionError> {
    store.sled().open_tree(tree_name(id))?;
    store.sled().drop_tree(tree_name(id))?;
    Ok(store.sled().open_tree(tree_name(id))?)
}

/// The status of generation `id` as stored (not loaded, not following): at its checkpoint.
pub fn stored_status(
    store: &EventStore,
    id: u64,
    rules_version: u32,
    rules_hash: String,
    role: Role,
) -> ProjectionStatus {
    let head = store.head().0;
    let checkpoint = inspect_tree(store.sled(), id, head, false).map_or(0, |t| t.usable);
    ProjectionStatus {
        name: "read_models".into(),
        generation: id,
        role,
        position: checkpoint,
        head,
        lag_events: head.saturating_sub(checkpoint),
        lag_ms: 0,
        events_per_sec: 0.0,
        flushed: checkpoint,
        last_flush_bytes: 0,
        rules_version,
        rules_hash,
        following: false,
        last_error: None,
    }
}

/// Why a generation stopped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoppedAt {
    pub position: u64,
    pub reason: String,
}

/// A generation's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    /// Serves the queries.
    Current,
    /// The one before the last switch, kept following the log for an instant rollback.
    Previous,
    /// Built by a dry run or a rebuild, not yet switched in.
    Shadow,
}

/// What a generation reports about itself.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProjectionStatus {
    pub name: String,
    pub generation: u64,
    pub role: Role,
    /// The last position applied.
    pub position: u64,
    pub head: u64,
    pub lag_events: u64,
    /// How long the oldest event not yet applied has been in the log (0 when caught up).
    pub lag_ms: u64,
    /// Events applied per second over the last step.
    pub events_per_sec: f64,
    /// The position of the last flush (the checkpoint in sled).
    pub flushed: u64,
    /// Bytes the last flush wrote: what changed since the one before, never whole histories.
    #[serde(default)]
    pub last_flush_bytes: u64,
    pub rules_version: u32,
    pub rules_hash: String,
    pub following: bool,
    pub last_error: Option<StoppedAt>,
}

/// Rebuild progress, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct RebuildProgress {
    pub generation: u64,
    pub done: u64,
    /// The position the rebuild is heading for (the head when it started, moving with it).
    pub target: u64,
    pub events_per_sec: f64,
    /// Estimated seconds to go at the current rate.
    pub eta_secs: f64,
}

/// Why the server, on start, will discard a stored generation and fold it again from the log
/// (what [`Generation::open`] does; [`inspect_tree`] only reports it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Refold {
    /// Stored by another version of the fold (`stored`: `None` when no format key is there).
    OtherFormat { stored: Option<u32>, current: u32 },
    /// The checkpoint is past the log's head: the log lost events (a restore from an older
    /// backup).
    BeyondHead { checkpoint: u64, head: u64 },
    /// The stored state does not decode.
    Unreadable { reason: String },
}

impl std::fmt::Display for Refold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refold::OtherFormat { stored, current } => match stored {
                Some(stored) => write!(
                    f,
                    "stored under format {stored}, current {current}: the server will fold it \
                     again on start"
                ),
                None => write!(
                    f,
                    "stored without a format, current {current}: the server will fold it again \
                     on start"
                ),
            },
            Refold::BeyondHead { checkpoint, head } => write!(
                f,
                "checkpoint {checkpoint} beyond the log head {head}: the server will fold it \
                 again on start"
            ),
            Refold::Unreadable { reason } => write!(
                f,
                "stored state unreadable ({reason}): the server will fold it again on start"
            ),
        }
    }
}

/// What a generation's tree holds, as read by [`inspect_tree`] without changing anything.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredTree {
    /// The tree exists (a generation not yet flushed has none).
    pub exists: bool,
    /// The checkpoint stored in the tree (0 for none).
    pub checkpoint: u64,
    /// The model format stored in the tree.
    pub format: Option<u32>,
    /// The position the stored state can serve from: the checkpoint, or 0 when it is
    /// folded again on start.
    pub usable: u64,
    /// Set when the server will discard the stored state on start.
    pub refold: Option<Refold>,
}

/// Reads generation `id`'s tree in `db` the way [`Generation::open`] does, but never clears,
/// creates or writes it: reports what it holds and whether the server will fold it again.
/// `decode` also decodes every stored entry (as opening does; costs a whole load).
pub fn inspect_tree(
    db: &sled::Db,
    id: u64,
    head: u64,
    decode: bool,
) -> Result<StoredTree, ProjectionError> {
    let name = tree_name(id);
    // `open_tree` creates a missing tree: look it up first.
    if !db
        .tree_names()
        .iter()
        .any(|n| n.as_ref() == name.as_bytes())
    {
        return Ok(StoredTree {
            exists: false,
            checkpoint: 0,
            format: None,
            usable: 0,
            refold: None,
        });
    }
    let tree = db.open_tree(&name)?;
    let (checkpoint, format) = stored_marks(&tree)?;
    let refold = if checkpoint == 0 {
        None
    } else if format != Some(MODEL_FORMAT) {
        Some(Refold::OtherFormat {
            stored: format,
            current: MODEL_FORMAT,
        })
    } else if checkpoint > head {
        Some(Refold::BeyondHead { checkpoint, head })
    } else if decode {
        match load_model(&tree) {
            Ok(_) => None,
            Err(ProjectionError::State(e)) => Some(Refold::Unreadable {
                reason: e.to_string(),
            }),
            Err(e) => return Err(e),
        }
    } else {
        None
    };
    Ok(StoredTree {
        exists: true,
        checkpoint,
        format,
        usable: if refold.is_some() { 0 } else { checkpoint },
        refold,
    })
}

/// The checkpoint (0 for none or a malformed one) and the format stored in a tree.
pub(crate) fn stored_marks(tree: &sled::Tree) -> Result<(u64, Option<u32>), ProjectionError> {
    let checkpoint = tree
        .get(KEY_CHECKPOINT)?
        .and_then(|v| <[u8; 8]>::try_from(v.as_ref()).ok())
        .map_or(0, u64::from_be_bytes);
    let format = tree
        .get(KEY_FORMAT)?
        .and_then(|v| <[u8; 4]>::try_from(v.as_ref()).ok())
        .map(u32::from_be_bytes);
    Ok((checkpoint, format))
}

pub(crate) struct Generation {
    pub id: u64,
    pub rules: Arc<RuleBook>,
    model: RwLock<Model>,
    position: watch::Sender<u64>,
    flushed: AtomicU64,
    /// Bytes the last flush wrote (keys and values).
    flush_bytes: AtomicU64,
    rate_milli: AtomicU64,
    error: Mutex<Option<StoppedAt>>,
    tree: sled::Tree,
    store: EventStore,
    stop: watch::Sender<bool>,
    following: AtomicBool,
    flushing: Mutex<()>,
    task: Mutex<Option<tokio::task::JoinHandle<()>>>,
    /// The key of the customer lookup index's hashes (`read_models::lookup`).
    lookup_secret: [u8; 32],
    /// Customers whose lookup entries a flush is writing (out of the model's changed set, not
    /// yet in the tree).
    lookup_inflight: Mutex<Vec<crm_domain::ids::CustomerId>>,
}

impl std::fmt::Debug for Generation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Generation")
            .field("id", &self.id)
            .field("position", &self.position())
            .field("rules_version", &self.rules.version)
            .finish()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // Nothing panics while holding these locks; a poisoned one still holds whole data.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Adds the model's changed entries, its meta (if changed), the format and `position` as the
/// checkpoint to `batch`, and forgets they changed; returns the bytes that writes. (Lookup
/// entries and history are the flush's own.)
pub(crate) fn changes_into(
    m: &mut Model,
    position: u64,
    batch: &mut Writes,
) -> Result<u64, ProjectionError> {
    let mut bytes = 0;
    bytes += m.customers.drain_dirty_into(TAG_CUSTOMERS, batch)?;
    bytes += m.accounts.drain_dirty_into(TAG_ACCOUNTS, batch)?;
    bytes += m.tickets.drain_dirty_into(TAG_TICKETS, batch)?;
    bytes += m.opportunities.drain_dirty_into(TAG_OPPORTUNITIES, batch)?;
    bytes += m.staff.drain_dirty_into(TAG_STAFF, batch)?;
    bytes += m.branches.drain_dirty_into(TAG_BRANCHES, batch)?;
    bytes += m.branch_days.drain_dirty_into(TAG_BRANCH_DAYS, batch)?;
    bytes += m.staff_months.drain_dirty_into(TAG_STAFF_MONTHS, batch)?;
    bytes += m.articles.drain_dirty_into(TAG_ARTICLES, batch)?;
    bytes += m.deposits.drain_dirty_into(TAG_DEPOSITS, batch)?;
    bytes += m.loans.drain_dirty_into(TAG_LOANS, batch)?;
    bytes += m
        .bank_customers
        .drain_dirty_into(TAG_BANK_CUSTOMERS, batch)?;
    bytes += m.outlets.drain_dirty_into(TAG_OUTLETS, batch)?;
    bytes += m
        .campaign_targets
        .drain_dirty_into(TAG_CAMPAIGN_TARGETS, batch)?;
    bytes += m.outlet_days.drain_dirty_into(TAG_OUTLET_DAYS, batch)?;
    batch.insert(KEY_FORMAT, MODEL_FORMAT.to_be_bytes());
    if m.meta_dirty {
        let meta = crm_eventstore::codec::encode(&m.meta)?;
        bytes += meta.len() as u64;
        batch.insert(KEY_META, meta);
        m.meta_dirty = false;
    }
    batch.insert(KEY_CHECKPOINT, position.to_be_bytes());
    Ok(bytes)
}

pub(crate) fn load_model(tree: &sled::Tree) -> Result<Model, ProjectionError> {
    let meta: Meta = match tree.get(KEY_META)? {
        Some(bytes) => crm_eventstore::codec::decode(&bytes)?,
        None => Meta::default(),
    };
    let mut m = Model {
        meta,
        meta_dirty: false,
        customers: Keyed::load(tree, TAG_CUSTOMERS)?,
        accounts: Keyed::load(tree, TAG_ACCOUNTS)?,
        tickets: Keyed::load(tree, TAG_TICKETS)?,
        opportunities: Keyed::load(tree, TAG_OPPORTUNITIES)?,
        staff: Keyed::load(tree, TAG_STAFF)?,
        branches: Keyed::load(tree, TAG_BRANCHES)?,
        branch_days: Keyed::load(tree, TAG_BRANCH_DAYS)?,
        staff_months: Keyed::load(tree, TAG_STAFF_MONTHS)?,
        articles: Keyed::load(tree, TAG_ARTICLES)?,
        deposits: Keyed::load(tree, TAG_DEPOSITS)?,
        loans: Keyed::load(tree, TAG_LOANS)?,
        bank_customers: Keyed::load(tree, TAG_BANK_CUSTOMERS)?,
        outlets: Keyed::load(tree, TAG_OUTLETS)?,
        outlet_days: Keyed::load(tree, TAG_OUTLET_DAYS)?,
        campaign_targets: Keyed::load(tree, TAG_CAMPAIGN_TARGETS)?,
        history: History::in_tree(tree.clone()),
        lookup_changed: Default::default(),
        applying: 0,
        stale_branch_days: BTreeMap::new(),
        stale_staff_months: BTreeMap::new(),
        todo_index: TodoIndex::default(),
        ticket_figures: Default::default(),
        churn_figures: Default::default(),
        churned_days: 0,
    };
    // Derived from the resident records, never stored: built in one pass here.
    m.todo_index = TodoIndex::build(&m);
    m.ticket_figures = crate::read_models::ticket_figures::TicketFigures::build(&m);
    Ok(m)
}

impl Generation {
    /// Loads generation `id` from its tree (empty if it has no checkpoint).
    pub fn open(
        store: &EventStore,
        id: u64,
        rules: Arc<RuleBook>,
    ) -> Result<Generation, ProjectionError> {
        let mut tree = store.sled().open_tree(tree_name(id))?;
        // A large flush a crash interrupted is finished before anything reads the tree.
        let redo = writes::redo_path(store.index_path(), &tree_name(id));
        writes::recover(&tree, &redo, stored_marks(&tree)?.0)?;
        let (checkpoint, format) = stored_marks(&tree)?;
        if checkpoint > 0 && format != Some(MODEL_FORMAT) {
            tracing::warn!(
                generation = id,
                stored = ?format,
                current = MODEL_FORMAT,
                "read models stored by another version of the fold; rebuilding from the log"
            );
        }
        // A checkpoint past the log's end means the log lost events (a restore from an older
        // backup): start over rather than show what the log no longer holds.
        let stale = format != Some(MODEL_FORMAT);
        let (model, checkpoint) = if checkpoint == 0 || checkpoint > store.head().0 || stale {
            if checkpoint > store.head().0 {
                tracing::warn!(
                    generation = id,
                    checkpoint,
                    head = store.head().0,
                    "checkpoint beyond the log; rebuilding"
                );
            }
            tree = emptied(store, id)?;
            (Model::default(), 0)
        } else {
            let loading = std::time::Instant::now();
            match load_model(&tree) {
                Ok(model) => {
                    tracing::info!(
                        generation = id,
                        checkpoint,
                        customers = model.customers.len(),
                        seconds = loading.elapsed().as_secs_f64(),
                        "read models loaded from their stored copy"
                    );
                    (model, checkpoint)
                }
                // State written by another build's layout: a read model is derivable, so
                // fold it again rather than refuse to start.
                Err(ProjectionError::State(e)) => {
                    tracing::warn!(generation = id, error = %e, "stored read models unreadable; rebuilding");
                    tree = emptied(store, id)?;
                    (Model::default(), 0)
                }
                Err(e) => return Err(e),
            }
        };
        // The customers' history is read from (and written to) this generation's tree.
        let mut model = model;
        model.history = History::in_tree(tree.clone());
        // The churn figures are kept for the rules this generation folds under: built here,
        // so a reopened server counts lost customers without a pass from its first query.
        model.churned_days = rules.churn.churned_days;
        model.churn_figures = crate::read_models::churn_figures::ChurnFigures::build(&model);
        let lookup_secret = match tree.get(lookup::KEY_LOOKUP_SECRET)? {
            Some(v) if v.len() == 32 => {
                let mut s = [0u8; 32];
                s.copy_from_slice(&v);
                s
            }
            _ => {
                let s = lookup::new_secret();
                tree.insert(lookup::KEY_LOOKUP_SECRET, &s)?;
                s
            }
        };
        Ok(Generation {
            id,
            rules,
            model: RwLock::new(model),
            position: watch::channel(checkpoint).0,
            flushed: AtomicU64::new(checkpoint),
            flush_bytes: AtomicU64::new(0),
            rate_milli: AtomicU64::new(0),
            error: Mutex::new(None),
            tree,
            store: store.clone(),
            stop: watch::channel(false).0,
            following: AtomicBool::new(false),
            flushing: Mutex::new(()),
            task: Mutex::new(None),
            lookup_secret,
            lookup_inflight: Mutex::new(Vec::new()),
        })
    }

    /// A generation built from nothing, in a cleared tree.
    pub fn fresh(
        store: &EventStore,
        id: u64,
        rules: Arc<RuleBook>,
    ) -> Result<Generation, ProjectionError> {
        writes::discard(&writes::redo_path(store.index_path(), &tree_name(id)))?;
        emptied(store, id)?;
        Generation::open(store, id, rules)
    }

    /// Removes the generation's tree.
    pub fn destroy(&self) -> Result<(), ProjectionError> {
        destroy_stored(&self.store, self.id)
    }

    pub fn position(&self) -> u64 {
        *self.position.borrow()
    }

    /// The redo file of this generation's large flushes ([`writes`]).
    fn redo_path(&self) -> std::path::PathBuf {
        writes::redo_path(self.store.index_path(), &tree_name(self.id))
    }

    pub fn read(&self) -> RwLockReadGuard<'_, Model> {
        // apply never panics while holding the lock, so a poisoned lock holds a whole model.
        self.model.read().unwrap_or_else(|e| e.into_inner())
    }

    /// A customer's interaction timeline, newest first, at most `limit` entries.
    pub fn timeline(
        &self,
        customer: crm_domain::ids::CustomerId,
        limit: usize,
    ) -> Result<Vec<crate::model::TimelineEntry>, ProjectionError> {
        let m = self.read();
        m.history.timeline(customer, limit)
    }

    /// A customer's assignments, oldest first.
    pub fn assignments(
        &self,
        customer: crm_domain::ids::CustomerId,
    ) -> Result<Vec<crate::model::AssignmentEntry>, ProjectionError> {
        let m = self.read();
        m.history.assignments(customer)
    }

    /// The customers who hold `v` now (a merged customer answered by its survivor).
    pub fn lookup(
        &self,
        v: &lookup::LookupValue,
    ) -> Result<Vec<crm_domain::ids::CustomerId>, ProjectionError> {
        // In this order, so that a customer a flush moves from the changed set to the tree
        // meanwhile is seen in one of the three: the model's `lookup_changed`, the set being
        // written (filled under the model's write lock, cleared once the batch is in), the
        // tree.
        let m = self.read();
        let mut candidates: Vec<crm_domain::ids::CustomerId> =
            m.lookup_changed.iter().copied().collect();
        candidates.extend(lock(&self.lookup_inflight).iter().copied());
        candidates.extend(lookup::candidates(&self.tree, &self.lookup_secret, v)?);
        Ok(lookup::resolve(&m, v, candidates))
    }

    /// Every customer's history, in key order.
    pub fn history_entries(&self) -> Result<Vec<(Vec<u8>, HistoryEntry)>, ProjectionError> {
        let m = self.read();
        m.history.all_entries()
    }

    pub fn stopped(&self) -> Option<StoppedAt> {
        lock(&self.error).clone()
    }

    /// Applies a batch of consecutive events; those at or below the position are skipped.
    fn apply_batch(&self, batch: &[RecordedEvent]) -> Result<(), ProjectionError> {
        if let Some(e) = self.stopped() {
            return Err(ProjectionError::Stopped {
                name: "read_models",
                position: e.position,
                reason: e.reason,
            });
        }
        let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
        let mut position = self.position();
        for recorded in batch {
            let p = recorded.position.0;
            if p <= position {
                continue;
            }
            let stop = |reason: String| {
                *lock(&self.error) = Some(StoppedAt {
                    position: p,
                    reason: reason.clone(),
                });
                ProjectionError::Stopped {
                    name: "read_models",
                    position: p,
                    reason,
                }
            };
            if p != position + 1 {
                model.settle();
                self.position.send_replace(position);
                return Err(stop(format!(
                    "expected position {} next, got {p}",
                    position + 1
                )));
            }
            if IGNORED_CATEGORIES.contains(&recorded.category()) {
                // Not an input of any read model: passed over without decoding.
                position = p;
                continue;
            }
            match decode(recorded) {
                Ok(event) => {
                    model::apply(&mut model, recorded, &event, &self.rules);
                    position = p;
                }
                Err(e) => {
                    model.settle();
                    self.position.send_replace(position);
                    return Err(stop(e.to_string()));
                }
            }
        }
        // Back-dated facts of the batch reach the days after them before anyone reads.
        model.settle();
        // Moved while the write lock is held, so a reader sees a position and a model that
        // belong together.
        self.position.send_replace(position);
        Ok(())
    }

    /// Writes everything changed since the last flush and the checkpoint, all or nothing
    /// ([`writes`]).
    pub fn flush(&self) -> Result<u64, ProjectionError> {
        // One flush at a time from building the batch to writing it: a later flush's
        // entries must never be overwritten by an earlier one's.
        let _flushing = lock(&self.flushing);
        let mut model = self.model.write().unwrap_or_else(|e| e.into_inner());
        let position = self.position();
        if position == self.flushed.load(Ordering::SeqCst) && !model.meta_dirty {
            return Ok(position);
        }
        let mut batch = Writes::default();
        let m = &mut *model;
        let mut bytes = 0;
        // Lookup entries of the customers whose numbers changed; lookups see them through
        // `lookup_inflight` until the batch is in the tree.
        let changed: Vec<crm_domain::ids::CustomerId> =
            std::mem::take(&mut m.lookup_changed).into_iter().collect();
        bytes += lookup::write_entries(&self.lookup_secret, m, &changed, &mut batch);
        *lock(&self.lookup_inflight) = changed;
        // History entries stay pending (and readable) until the batch is in the tree.
        bytes += m.history.write_into(&mut batch)?;
        // The model's entries, then the checkpoint last.
        bytes += changes_into(m, position, &mut batch)?;
        // The batch holds the state as of `position`; writing it needs no lock on the model,
        // so the fold goes on meanwhile.
        drop(model);
        let applied = batch.apply(&self.tree, &self.redo_path(), position);
        lock(&self.lookup_inflight).clear();
        if let Err(e) = applied {
            // Nothing of the batch counts as written (a sled batch is whole or not at all; a
            // large one's redo file is replayed at the next open only past the checkpoint,
            // and this process writes no checkpoint past it), but the changed sets were
            // emptied building it: mark everything changed, so no later
            // flush writes a checkpoint past changes that were never written. History entries
            // are still pending.
            self.model
                .write()
                .unwrap_or_else(|e| e.into_inner())
                .mark_all_dirty();
            return Err(e);
        }
        self.flushed.store(position, Ordering::SeqCst);
        self.flush_bytes.store(bytes, Ordering::Relaxed);
        self.model
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .history
            .forget_through(position);
        Ok(position)
    }

    /// Pending history entries or daily flows past what a catch-up keeps in memory.
    fn history_piled_up(&self) -> bool {
        let m = self.read();
        m.history.pending_len() >= HISTORY_SPILL_AT.load(Ordering::Relaxed)
            || m.history.pending_flows() >= FLOW_SPILL_AT.load(Ordering::Relaxed)
    }

    /// Gets piled-up history out of memory during a catch-up. A generation with a checkpoint
    /// flushes (records, history and checkpoint together). One without (a shadow being built,
    /// a first fold) writes only its pending history entries and no checkpoint: its records
    /// stay resident and are written once, by its first flush. That is safe because a tree
    /// without a checkpoint is cleared when it is opened, so history written ahead of a
    /// checkpoint is never read after a crash; and it spares a far-behind fold rewriting every
    /// customer's record at each spill (most of a rebuild's time: docs/PERFORMANCE.md).
    fn spill(&self) -> Result<(), ProjectionError> {
        if self.flushed.load(Ordering::SeqCst) > 0 {
            return self.flush().map(|_| ());
        }
        let _flushing = lock(&self.flushing);
        let position = self.position();
        let mut batch = Writes::default();
        self.read().history.write_into(&mut batch)?;
        batch.apply_in_order(&self.tree)?;
        self.model
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .history
            .forget_through(position);
        Ok(())
    }

    /// Applies everything committed up to `until` (or the head), without waiting for more and
    /// without flushing. Reports progress after every step. A shadow being built is not
    /// flushed on the way either: it is not in the generations record until it is switched
    /// in, so after a crash it is discarded, and a checkpoint of it would be wasted work.
    pub fn catch_up(
        &self,
        until: Option<u64>,
        progress: impl FnMut(RebuildProgress),
    ) -> Result<u64, ProjectionError> {
        self.catch_up_unless(until, progress, &AtomicBool::new(false))
    }

    /// [`Generation::catch_up`] that stops with [`ProjectionError::Cancelled`] between two
    /// batches once `cancel` is set.
    pub fn catch_up_unless(
        &self,
        until: Option<u64>,
        mut progress: impl FnMut(RebuildProgress),
        cancel: &AtomicBool,
    ) -> Result<u64, ProjectionError> {
        let started = Instant::now();
        let mut sub = self.store.subscribe(Position(self.position()), Filter::All);
        let mut applied = 0u64;
        loop {
            if cancel.load(Ordering::Relaxed) {
                return Err(ProjectionError::Cancelled);
            }
            let limit = until.map_or(STEP, |u| {
                usize::try_from(u.saturating_sub(self.position()))
                    .unwrap_or(STEP)
                    .min(STEP)
            });
            if limit == 0 {
                break;
            }
            let batch = sub.try_next_batch(limit)?;
            if batch.is_empty() {
                break;
            }
            let n = batch.len() as u64;
            self.apply_batch(&batch)?;
            applied += n;
            if self.history_piled_up() {
                self.spill()?;
            }
            let secs = started.elapsed().as_secs_f64().max(1e-6);
            let rate = applied as f64 / secs;
            self.rate_milli
                .store((rate * 1000.0) as u64, Ordering::Relaxed);
            let target = until.unwrap_or_else(|| self.store.head().0);
            progress(RebuildProgress {
                generation: self.id,
                done: self.position(),
                target,
                events_per_sec: rate,
                eta_secs: target.saturating_sub(self.position()) as f64 / rate.max(1.0),
            });
        }
        Ok(applied)
    }

    /// Follows the log on the current tokio runtime until stopped or the store closes.
    pub fn spawn_follower(self: &Arc<Self>) -> Result<(), ProjectionError> {
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| {
            ProjectionError::Generation("following the log needs a tokio runtime".into())
        })?;
        let mut task = lock(&self.task);
        if task.as_ref().is_some_and(|t| !t.is_finished()) {
            return Ok(());
        }
        self.stop.send_replace(false);
        let me = self.clone();
        self.following.store(true, Ordering::SeqCst);
        *task = Some(runtime.spawn(async move {
            if let Err(e) = me.follow().await {
                tracing::error!(generation = me.id, error = %e, "read models stopped");
            }
            me.following.store(false, Ordering::SeqCst);
        }));
        Ok(())
    }

    /// Stops the follower and waits for it to flush and end.
    pub async fn stop_follower(&self) {
        self.stop.send_replace(true);
        let task = lock(&self.task).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }

    async fn follow(&self) -> Result<(), ProjectionError> {
        let mut stop = self.stop.subscribe();
        let mut sub = self.store.subscribe(Position(self.position()), Filter::All);
        let mut since_flush = 0u64;
        let mut first_unflushed: Option<Instant> = None;
        loop {
            if *stop.borrow() {
                self.flush()?;
                return Ok(());
            }
            let mut batch = sub.try_next_batch(STEP)?;
            if batch.is_empty() {
                // Caught up: wait for the log to move, but flush what is pending when its
                // interval is up even if nothing more arrives.
                let wait = first_unflushed.map(|f| FLUSH_INTERVAL.saturating_sub(f.elapsed()));
                let next = async {
                    match wait {
                        Some(w) => tokio::time::timeout(w, sub.next()).await.ok(),
                        None => Some(sub.next().await),
                    }
                };
                tokio::select! {
                    got = next => match got {
                        Some(Ok(Some(event))) => batch.push(event),
                        Some(Ok(None)) => { self.flush()?; return Ok(()); }
                        Some(Err(e)) => return Err(e.into()),
                        None => {
                            self.flush()?;
                            since_flush = 0;
                            first_unflushed = None;
                            continue;
                        }
                    },
                    _ = stop.changed() => { self.flush()?; return Ok(()); }
                }
            }
            let started = Instant::now();
            self.apply_batch(&batch)?;
            let secs = started.elapsed().as_secs_f64().max(1e-6);
            self.rate_milli.store(
                (batch.len() as f64 / secs * 1000.0) as u64,
                Ordering::Relaxed,
            );
            since_flush += batch.len() as u64;
            let first = *first_unflushed.get_or_insert_with(Instant::now);
            // Far behind (catching up after downtime) a flush by time would cost more than it
            // saves; flush by count until close to the head.
            let far_behind = self.store.head().0.saturating_sub(self.position()) > FLUSH_EVENTS;
            if far_behind && self.flushed.load(Ordering::SeqCst) == 0 {
                // A first fold (nothing stored yet): the records are written once, when it
                // is close to the head; only history leaves memory on the way ([`Self::spill`]).
                if self.history_piled_up() {
                    self.spill()?;
                }
            } else if since_flush >= FLUSH_EVENTS
                || (!far_behind && first.elapsed() >= FLUSH_INTERVAL)
            {
                self.flush()?;
                since_flush = 0;
                first_unflushed = None;
            }
            // Let queries and other generations run between steps of a long catch-up.
            tokio::task::yield_now().await;
        }
    }

    /// Waits until the generation has applied `position`, at most `timeout`.
    pub async fn wait_for(&self, position: u64, timeout: Duration) -> Result<(), ProjectionError> {
        let started = Instant::now();
        let mut rx = self.position.subscribe();
        let reached = tokio::time::timeout(timeout, rx.wait_for(|p| *p >= position)).await;
        match reached {
            Ok(Ok(_)) => Ok(()),
            _ => Err(ProjectionError::Timeout {
                position,
                reached: self.position(),
                waited_ms: started.elapsed().as_millis(),
            }),
        }
    }

    pub fn status(&self, role: Role) -> ProjectionStatus {
        let head = self.store.head().0;
        let position = self.position();
        let lag_events = head.saturating_sub(position);
        let lag_ms = if lag_events == 0 {
            0
        } else {
            self.store
                .read_position(Position(position + 1))
                .ok()
                .map_or(0, |e| {
                    let d = OffsetDateTime::now_utc() - e.recorded_at;
                    u64::try_from(d.whole_milliseconds().max(0)).unwrap_or(u64::MAX)
                })
        };
        ProjectionStatus {
            name: "read_models".into(),
            generation: self.id,
            role,
            position,
            head,
            lag_events,
            lag_ms,
            events_per_sec: self.rate_milli.load(Ordering::Relaxed) as f64 / 1000.0,
            flushed: self.flushed.load(Ordering::SeqCst),
            last_flush_bytes: self.flush_bytes.load(Ordering::Relaxed),
            rules_version: self.rules.version,
            rules_hash: self.rules.hash.clone(),
            following: self.following.load(Ordering::SeqCst),
            last_error: self.stopped(),
        }
    }
}
