//! The [`Projections`] handle: the read models the API and the app query, their live engine,
//! generations (shadow rebuild, dry run, atomic switch, rollback) and replay as of an instant.
//!
//! Generations are recorded in the sled tree `proj-all-meta` (current, previous, each one's
//! rules file). A switch is one sled insert of that record plus one swap of an in-memory
//! pointer under a lock, so a query sees the old generation or the new one, never a mix.
//!
//! Only the current generation (and a shadow being built) is in memory and follows the log.
//! The previous one is kept on disk, flushed at the switch that retired it, and loaded only
//! to roll back to it (catching up from its checkpoint first) or to compare it with the
//! current one: a rebuild does not double the server's memory or its start.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use crm_eventstore::EventStore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::dryrun::{self, DryRunReport};
use crate::error::ProjectionError;
use crate::generation::{self, Generation, ProjectionStatus, RebuildProgress, Role, StoredTree};
use crate::model::Model;
use crate::replay::{self, TimelineEvent};
use crate::rules::RuleBook;
use crate::views::Customer360;

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

mod as_of;
mod queries;
mod sealed;

pub use as_of::{derive_closing, derive_seal, Closing};
pub use sealed::{check_sealed, read_sealed, SealCheck, TeamsCheck};

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
        p.current().spawn_follower()?;
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
        let current = Arc::new(Generation::open(
            store,
            record.current,
            rules_of(&record, record.current, &configured)?,
        )?);
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

    /// The previous generation loaded from its tree (not following the log), if one is kept.
    fn load_previous(&self) -> Result<Option<Arc<Generation>>, ProjectionError> {
        let (id, rules) = {
            let g = self.gens();
            match g.record.previous {
                Some(id) => (id, rules_of(&g.record, id, &self.inner.configured)?),
                None => return Ok(None),
            }
        };
        Ok(Some(Arc::new(Generation::open(
            &self.inner.store,
            id,
            rules,
        )?)))
    }

    /// Runs `f` on the current generation's model and rules.
    pub fn with_model<R>(&self, f: impl FnOnce(&Model, &RuleBook) -> R) -> R {
        let g = self.current();
        let m = g.read();
        f(&m, &g.rules)
    }

    // ------------------------------------------------------------ engine

    /// Applies everything committed now to the current generation, without flushing.
    pub fn catch_up(&self) -> Result<u64, ProjectionError> {
        self.current().catch_up(None, |_| {})
    }

    /// Applies what is committed up to `position` to the current generation, without flushing.
    pub fn catch_up_until(&self, position: u64) -> Result<u64, ProjectionError> {
        self.current().catch_up(Some(position), |_| {})
    }

    /// Writes the current generation's state and checkpoint.
    pub fn flush(&self) -> Result<u64, ProjectionError> {
        self.current().flush()
    }

    /// Stops the followers; each flushes before it ends.
    pub async fn shutdown(&self) -> Result<(), ProjectionError> {
        let (current, shadow) = {
            let g = self.gens();
            (g.current.clone(), g.shadow.clone())
        };
        for g in [Some(current), shadow].into_iter().flatten() {
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

    /// Current, previous and shadow generations. The previous one, on disk, at its stored
    /// checkpoint.
    pub fn status(&self) -> Vec<ProjectionStatus> {
        let g = self.gens();
        let mut out = vec![g.current.status(Role::Current)];
        if let Some(id) = g.record.previous {
            let rules = rules_of(&g.record, id, &self.inner.configured)
                .unwrap_or_else(|_| self.inner.configured.clone());
            let (version, hash) = (rules.version, rules.hash.clone());
            out.push(generation::stored_status(
                &self.inner.store,
                id,
                version,
                hash,
                Role::Previous,
            ));
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
        let current = self.current();
        let previous = self.load_previous()?;
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
            (dropped, old_current)
        };
        let (dropped, old_current) = dropped;
        // The retired generation is kept on disk at the position it reached, not in memory.
        old_current.stop_follower().await;
        old_current.flush()?;
        drop(old_current);
        if let Some(d) = dropped {
            generation::destroy_stored(&self.inner.store, d)?;
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

    /// Swaps current and previous: back to the generation before the last switch. The
    /// previous one is loaded from its tree and caught up with the log first.
    pub async fn rollback(&self) -> Result<u64, ProjectionError> {
        let _admin = self.inner.admin.lock().await;
        let previous = self.load_previous()?.ok_or_else(|| {
            ProjectionError::Generation("no previous generation to roll back to".into())
        })?;
        let catching = previous.clone();
        tokio::task::spawn_blocking(move || -> Result<(), ProjectionError> {
            catching.catch_up(None, |_| {})?;
            catching.flush()?;
            Ok(())
        })
        .await
        .map_err(|e| ProjectionError::Generation(format!("catching up failed: {e}")))??;
        if self.inner.follow {
            previous.spawn_follower()?;
        }
        let old = {
            let mut g = self.gens_mut();
            let mut record = g.record.clone();
            record.previous = Some(record.current);
            record.current = previous.id;
            self.inner
                .meta
                .insert(KEY_GENERATIONS, crm_eventstore::codec::encode(&record)?)?;
            g.record = record;
            std::mem::replace(&mut g.current, previous.clone())
        };
        old.stop_follower().await;
        old.flush()?;
        Ok(previous.id)
    }

    /// Drops the previous generation (no rollback after this) and any unswitched shadow.
    pub async fn drop_previous(&self) -> Result<(), ProjectionError> {
        let _admin = self.inner.admin.lock().await;
        let (prev, shadow) = {
            let mut g = self.gens_mut();
            let shadow = g.shadow.take();
            let mut record = g.record.clone();
            let prev = record.previous.take();
            if let Some(p) = prev {
                record.rules.remove(&p);
            }
            self.inner
                .meta
                .insert(KEY_GENERATIONS, crm_eventstore::codec::encode(&record)?)?;
            g.record = record;
            (prev, shadow)
        };
        if let Some(p) = prev {
            generation::destroy_stored(&self.inner.store, p)?;
        }
        if let Some(g) = shadow {
            g.stop_follower().await;
            g.destroy()?;
        }
        Ok(())
    }
}

/// Diffs `old` against `new` at one position: the later one is frozen under its read lock
/// while the other catches up to it.
/// The rules generation `id` was built under: its file in the record, else the configured ones.
fn rules_of(
    record: &GenerationsRecord,
    id: u64,
    configured: &Arc<RuleBook>,
) -> Result<Arc<RuleBook>, ProjectionError> {
    Ok(match record.rules.get(&id) {
        Some(content) => Arc::new(RuleBook::parse(content)?),
        None => configured.clone(),
    })
}

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
