//! Long operations on the read side as jobs: a rules preview (dry run) or a rebuild folds the
//! whole log, which takes seconds to minutes, so no request waits for one. Starting a job
//! returns at once with its id; the job runs on the runtime, reports progress (events done of
//! the target, events/s, ETA), can be cancelled (the fold stops between two batches and its
//! shadow generation is dropped, so a cancel leaves nothing behind), and keeps its result for
//! [`JobLimits::keep_results`] after it ends. At most [`JobLimits::running_max`] run at once;
//! one more is refused with [`ProjectionError::JobsBusy`], never queued behind the others
//! unseen.
//!
//! Jobs live in memory: a server stopped mid-job forgets it, and the half-built shadow it
//! leaves in sled is dropped on the next open (see `Projections::open`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use tokio::sync::watch;
use uuid::Uuid;

use crate::dryrun::DryRunReport;
use crate::generation::RebuildProgress;
use crate::{ProjectionError, Projections, RuleBook};

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum JobKind {
    /// Fold the log under other rules into a shadow generation and compare (dry run).
    RulesPreview,
    /// Fold the log under the rules the log activated and switch to it.
    Rebuild,
}

/// Where a job is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Running,
    Succeeded,
    Failed(String),
    Cancelled,
}

/// What a finished job produced.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    Preview(Arc<DryRunReport>),
    Switched { generation: u64 },
}

/// A job as its caller sees it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: Uuid,
    pub kind: JobKind,
    /// Who started it (the actor's id).
    pub started_by: String,
    pub started_at: OffsetDateTime,
    pub finished_at: Option<OffsetDateTime>,
    pub state: JobState,
    /// The rules the job folds under.
    pub rules_version: u32,
    pub rules_hash: String,
    /// The last progress report; `None` until the first batch is folded.
    pub progress: Option<RebuildProgress>,
    pub outcome: Option<JobOutcome>,
}

impl Job {
    pub fn is_finished(&self) -> bool {
        self.state != JobState::Running
    }
}

/// How many jobs may run at once and how long a finished one is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct JobLimits {
    /// At least 1.
    pub running_max: usize,
    pub keep_results: Duration,
}

impl Default for JobLimits {
    fn default() -> Self {
        // One fold at a time by default: a fold takes a whole core, and the serving side
        // needs the other.
        JobLimits {
            running_max: 1,
            keep_results: Duration::from_secs(3600),
        }
    }
}

impl JobLimits {
    /// Checks the limits: `running_max` of 0 would refuse every job.
    pub fn validated(self) -> Result<JobLimits, ProjectionError> {
        if self.running_max == 0 {
            return Err(ProjectionError::Generation(
                "jobs: running_max must be at least 1".into(),
            ));
        }
        Ok(self)
    }
}

struct Entry {
    job: Job,
    cancel: Arc<AtomicBool>,
    ended: Option<Instant>,
}

/// The table of jobs; one per [`Projections`].
pub(crate) struct Jobs {
    table: Mutex<HashMap<Uuid, Entry>>,
    limits: Mutex<JobLimits>,
    /// Bumped at every change of any job, for subscribers.
    changed: watch::Sender<u64>,
}

impl Default for Jobs {
    fn default() -> Self {
        Jobs {
            table: Mutex::new(HashMap::new()),
            limits: Mutex::new(JobLimits::default()),
            changed: watch::channel(0).0,
        }
    }
}

impl Jobs {
    fn table(&self) -> MutexGuard<'_, HashMap<Uuid, Entry>> {
        // Nothing panics while holding this lock; a poisoned one still holds whole data.
        self.table.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn limits(&self) -> JobLimits {
        *self.limits.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn touch(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    /// Drops finished jobs kept longer than the limit.
    fn expire(table: &mut HashMap<Uuid, Entry>, keep: Duration) {
        table.retain(|_, e| e.ended.is_none_or(|t| t.elapsed() < keep));
    }

    /// Registers a running job, or refuses when the bound is reached.
    fn admit(&self, job: Job) -> Result<(Job, Arc<AtomicBool>), ProjectionError> {
        let limits = self.limits();
        let mut table = self.table();
        Jobs::expire(&mut table, limits.keep_results);
        let running = table.values().filter(|e| !e.job.is_finished()).count();
        if running >= limits.running_max {
            return Err(ProjectionError::JobsBusy {
                running,
                max: limits.running_max,
            });
        }
        let cancel = Arc::new(AtomicBool::new(false));
        table.insert(
            job.id,
            Entry {
                job: job.clone(),
                cancel: cancel.clone(),
                ended: None,
            },
        );
        drop(table);
        self.touch();
        Ok((job, cancel))
    }

    fn update(&self, id: Uuid, f: impl FnOnce(&mut Entry)) {
        if let Some(e) = self.table().get_mut(&id) {
            f(e);
        }
        self.touch();
    }

    fn finish(&self, id: Uuid, result: Result<JobOutcome, ProjectionError>) {
        self.update(id, |e| {
            e.job.finished_at = Some(OffsetDateTime::now_utc());
            e.ended = Some(Instant::now());
            match result {
                Ok(outcome) => {
                    e.job.state = JobState::Succeeded;
                    e.job.outcome = Some(outcome);
                }
                Err(ProjectionError::Cancelled) => e.job.state = JobState::Cancelled,
                Err(other) => e.job.state = JobState::Failed(other.to_string()),
            }
        });
    }
}

impl Projections {
    /// Sets how many jobs may run at once and how long results are kept.
    pub fn set_job_limits(&self, limits: JobLimits) -> Result<(), ProjectionError> {
        let limits = limits.validated()?;
        *self.jobs().limits.lock().unwrap_or_else(|e| e.into_inner()) = limits;
        Ok(())
    }

    /// Starts a rules preview (dry run) of `rules` as a job; returns at once.
    pub fn start_rules_preview(
        &self,
        rules: RuleBook,
        limit: usize,
        started_by: &str,
    ) -> Result<Job, ProjectionError> {
        let (job, cancel) = self.admit_job(JobKind::RulesPreview, &rules, started_by)?;
        let me = self.clone();
        let id = job.id;
        self.spawn_job(
            async move {
                let report = me
                    .dry_run_unless(rules, limit, me.progress_of(id), cancel)
                    .await?;
                Ok(JobOutcome::Preview(Arc::new(report)))
            },
            id,
        )?;
        Ok(job)
    }

    /// Starts a rebuild under the rules the log activated (then a switch) as a job.
    pub fn start_rebuild(&self, started_by: &str) -> Result<Job, ProjectionError> {
        let rules = self.active_rules()?;
        let (job, cancel) = self.admit_job(JobKind::Rebuild, &rules, started_by)?;
        let me = self.clone();
        let id = job.id;
        self.spawn_job(
            async move {
                let generation = me.rebuild_unless(rules, me.progress_of(id), cancel).await?;
                Ok(JobOutcome::Switched { generation })
            },
            id,
        )?;
        Ok(job)
    }

    /// A job by id, while it runs and for the kept time after it ends.
    pub fn job(&self, id: Uuid) -> Option<Job> {
        let keep = self.jobs().limits().keep_results;
        let mut table = self.jobs().table();
        Jobs::expire(&mut table, keep);
        table.get(&id).map(|e| e.job.clone())
    }

    /// Every job kept, newest first.
    pub fn job_list(&self) -> Vec<Job> {
        let keep = self.jobs().limits().keep_results;
        let mut table = self.jobs().table();
        Jobs::expire(&mut table, keep);
        let mut jobs: Vec<Job> = table.values().map(|e| e.job.clone()).collect();
        jobs.sort_by(|a, b| b.started_at.cmp(&a.started_at).then(b.id.cmp(&a.id)));
        jobs
    }

    /// Asks a running job to stop; it ends as cancelled after its current batch. Cancelling
    /// a finished job changes nothing.
    pub fn cancel_job(&self, id: Uuid) -> Result<Job, ProjectionError> {
        let table = self.jobs().table();
        let entry = table
            .get(&id)
            .ok_or_else(|| ProjectionError::NotFound(format!("job {id}")))?;
        entry.cancel.store(true, Ordering::Relaxed);
        Ok(entry.job.clone())
    }

    /// A receiver that changes whenever any job does (for a progress subscription).
    pub fn job_changes(&self) -> watch::Receiver<u64> {
        self.jobs().changed.subscribe()
    }

    fn admit_job(
        &self,
        kind: JobKind,
        rules: &RuleBook,
        started_by: &str,
    ) -> Result<(Job, Arc<AtomicBool>), ProjectionError> {
        self.jobs().admit(Job {
            id: Uuid::new_v4(),
            kind,
            started_by: started_by.to_string(),
            started_at: OffsetDateTime::now_utc(),
            finished_at: None,
            state: JobState::Running,
            rules_version: rules.version,
            rules_hash: rules.hash.clone(),
            progress: None,
            outcome: None,
        })
    }

    fn progress_of(&self, id: Uuid) -> impl FnMut(RebuildProgress) + Send + 'static {
        let me = self.clone();
        move |p| me.jobs().update(id, |e| e.job.progress = Some(p))
    }

    fn spawn_job(
        &self,
        work: impl std::future::Future<Output = Result<JobOutcome, ProjectionError>> + Send + 'static,
        id: Uuid,
    ) -> Result<(), ProjectionError> {
        let runtime = match tokio::runtime::Handle::try_current() {
            Ok(r) => r,
            Err(_) => {
                let e = ProjectionError::Generation("jobs need a tokio runtime".into());
                self.jobs()
                    .finish(id, Err(ProjectionError::Generation(e.to_string())));
                return Err(e);
            }
        };
        let me = self.clone();
        runtime.spawn(async move {
            let result = work.await;
            if let Err(e) = &result {
                tracing::warn!(job = %id, error = %e, "read-model job ended without a result");
            }
            me.jobs().finish(id, result);
        });
        Ok(())
    }
}
