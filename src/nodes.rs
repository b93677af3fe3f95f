//! `crm serve --store postgres://…`: a node of a deployment whose log of record is a
//! PostgreSQL database. The data directory keeps the node's copy of the log (a follower,
//! `crm_eventstore_pg::PgFollower`) and its read models; the command side appends to the
//! database. See docs/ARCHITECTURE.md ("Several nodes") and docs/SCALE.md.

use std::io::{BufReader, BufWriter};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use crm_eventstore::{
    AllStart, Direction, EventLog, EventStore, ExportReader, ExportWriter, Filter, Position,
};
use crm_eventstore_pg::{PgEventStore, PgFollower, COPY_PAGE};
use crm_graphql::{ProjectionProbe, ProjectionProgress};

/// How often the copy looks at the database when no notification woke it.
const POLL: Duration = Duration::from_millis(500);

/// Connects to the log of record.
pub async fn connect(url: &str, described: &str) -> anyhow::Result<PgEventStore> {
    PgEventStore::connect(url)
        .await
        .with_context(|| format!("connecting to the log of record, {described}"))
}

/// Makes `local` this node's copy of `pg`: copies what it lacks, then keeps copying in the
/// background. With `push` (a demo just loaded into the data directory) and an empty
/// database, the local log is first moved into the database, positions and hashes kept.
pub async fn join(
    pg: PgEventStore,
    local: &EventStore,
    data_dir: &Path,
    described: &str,
    push: bool,
) -> anyhow::Result<PgFollower> {
    let theirs = pg
        .head()
        .await
        .context("reading the log of record's head")?;
    let ours = local.head();
    if theirs.0 == 0 && ours.0 > 0 {
        if !push {
            bail!(
                "the data directory holds {ours} events and the log of record none: a node's \
                 data directory is a copy of the database's log, never its source. Move an \
                 existing log with `crm import-log --store postgres://… FILE` (after `crm \
                 export`), or start this node on an empty data directory"
            );
        }
        let moved = push_log(&pg, local).await?;
        tracing::info!(events = moved, "the demo log moved into the log of record");
    }
    // From now on this data directory is a copy, for every later open (a restart, `crm
    // token revoke`, `crm import`): its own appends would fork it from the database.
    crm_eventstore::mark_follows(data_dir, described)
        .context("marking the data directory as a copy of the log of record")?;
    let started = std::time::Instant::now();
    let follower = PgFollower::new(pg, local.clone());
    let copied = follower
        .catch_up()
        .await
        .context("copying the log of record into the data directory")?;
    tracing::info!(
        copied,
        head = local.head().0,
        seconds = started.elapsed().as_secs_f64(),
        "the local copy of the log caught up with the log of record"
    );
    follower.spawn(POLL);
    Ok(follower)
}

/// Writes the whole local log into an empty database, page by page; how many records.
pub async fn push_log(pg: &PgEventStore, local: &EventStore) -> anyhow::Result<u64> {
    let mut moved = 0u64;
    loop {
        let page = local
            .read_all(
                AllStart::Position(crm_eventstore::Position(moved + 1)),
                Direction::Forwards,
                COPY_PAGE,
            )
            .context("reading the local log")?;
        if page.is_empty() {
            return Ok(moved);
        }
        moved += pg
            .import_records(page)
            .await
            .context("writing into the log of record")?;
    }
}

/// What `/readyz` says of the copy: not ready once it stopped, or while it is further behind
/// the log of record than the read models may be behind the log.
pub struct CopyProbe {
    pub follower: PgFollower,
    pub lag_max: u64,
}

impl ProjectionProbe for CopyProbe {
    fn progress(&self) -> Vec<ProjectionProgress> {
        Vec::new()
    }

    fn problem(&self) -> Option<String> {
        if let Some(why) = self.follower.stopped() {
            return Some(format!("the local copy of the log stopped: {why}"));
        }
        let behind = self.follower.behind();
        (behind > self.lag_max).then(|| {
            format!(
                "the local copy of the log is {behind} events behind the log of record (at most {})",
                self.lag_max
            )
        })
    }
}

/// The probe, shared with the server.
pub fn probe(follower: &PgFollower, lag_max: u64) -> Arc<dyn ProjectionProbe> {
    Arc::new(CopyProbe {
        follower: follower.clone(),
        lag_max,
    })
}

/// `crm export --store URL FILE`: the database's log as an export, page by page.
pub async fn export(url: &str, file: &Path) -> anyhow::Result<ExitCode> {
    let store = crate::config::LogStore::parse(url, "--store")?;
    let pg = connect(url, &store.describe()).await?;
    let head = pg.head().await.context("reading the head")?;
    let out =
        std::fs::File::create(file).with_context(|| format!("creating {}", file.display()))?;
    let mut writer = ExportWriter::new(BufWriter::new(out));
    let mut next = 1u64;
    while next <= head.0 {
        let page = pg
            .read_filtered(
                &Filter::All,
                AllStart::Position(Position(next)),
                Direction::Forwards,
                COPY_PAGE.min(usize::try_from(head.0 + 1 - next).unwrap_or(COPY_PAGE)),
            )
            .await
            .context("reading the log of record")?;
        let Some(last) = page.last() else { break };
        next = last.position.0 + 1;
        for e in &page {
            writer.record(e).context("exporting")?;
        }
    }
    // Synced before it says it is done, as the data directory's export is.
    let n = writer.finish().context("exporting")?;
    std::fs::File::open(file)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", file.display()))?;
    crate::sync_dir(crate::containing_dir(file))?;
    println!("exported {n} records to {}", file.display());
    Ok(ExitCode::SUCCESS)
}

/// `crm import-log --store URL FILE`: an export into the database's empty log, checked
/// whole against its trailer first, then written a page per transaction, then verified.
pub async fn import(url: &str, file: &Path) -> anyhow::Result<ExitCode> {
    let open = || std::fs::File::open(file).with_context(|| format!("opening {}", file.display()));
    let trailer = crm_eventstore::check_export(BufReader::new(open()?))
        .with_context(|| format!("{}: nothing was imported", file.display()))?;
    let store = crate::config::LogStore::parse(url, "--store")?;
    let pg = connect(url, &store.describe()).await?;
    let head = pg.head().await.context("reading the head")?;
    if head.0 != 0 {
        bail!(
            "{} already holds {head} events: a log is imported only into an empty one",
            store.describe()
        );
    }
    let mut imported = 0u64;
    let mut page = Vec::with_capacity(COPY_PAGE);
    for record in ExportReader::new(BufReader::new(open()?)) {
        page.push(record.context("reading the export")?);
        if page.len() >= COPY_PAGE {
            imported += pg
                .import_records(std::mem::take(&mut page))
                .await
                .context("importing")?;
        }
    }
    imported += pg.import_records(page).await.context("importing")?;
    if imported != trailer.event_count {
        bail!(
            "imported {imported} records, but the trailer of {} counts {}",
            file.display(),
            trailer.event_count
        );
    }
    let report = EventLog::verify(&pg).await.context("verifying")?;
    println!(
        "imported {imported} records; head position {}",
        pg.head().await?
    );
    Ok(if crate::print_verify(&report) {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
