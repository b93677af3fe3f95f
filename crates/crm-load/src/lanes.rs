//! Runs many commands concurrently while keeping the order that matters: commands are grouped
//! into lanes, one lane per aggregate (stream), a lane's items run one after another, and
//! lanes run side by side, at most `in_flight_max` at a time. Two commands for one stream
//! therefore never race (their order, and so the stream's revisions and payloads, is fixed by
//! the input), while commands for different streams fill the store's group commits.

use crm_app::{App, AppError, CommandEnvelope};
use crm_domain::DomainError;
use tokio::task::JoinSet;

use crate::error::LoadError;

/// One command, with an alternative to send if the first is refused because its target
/// already exists (a re-imported customer whose profile changed is updated instead).
#[derive(Debug)]
pub(crate) struct Step {
    pub envelope: CommandEnvelope,
    pub if_exists: Option<CommandEnvelope>,
}

impl Step {
    pub fn new(envelope: CommandEnvelope) -> Step {
        Step {
            envelope,
            if_exists: None,
        }
    }
}

/// A unit of work (an imported row, a generated command): steps run in order, and the first
/// refused step skips the rest of the item.
#[derive(Debug)]
pub(crate) struct Item<T> {
    pub tag: T,
    pub steps: Vec<Step>,
}

#[derive(Debug, Default)]
pub(crate) struct ItemOutcome {
    /// Events the item's commands appended (not counting answers to repeated command ids).
    pub events: u64,
    /// Commands that were handled (new or repeated).
    pub commands: u64,
    /// The first refused step: its index and why.
    pub failure: Option<(usize, AppError)>,
}

/// Errors that are about the store or the process, not about the command: they stop a load.
fn is_fatal(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Store(_) | AppError::Decode(_) | AppError::Codec(_) | AppError::Task(_)
    )
}

/// Runs `lanes` (see the module doc) and hands each item's outcome to `done`, lane by lane as
/// they finish. Stops at the first fatal error, dropping (and so aborting) lanes in flight; a
/// re-run finishes them, since every command id is deterministic.
pub(crate) async fn run<T: Send + 'static>(
    app: &App,
    lanes: Vec<Vec<Item<T>>>,
    in_flight_max: usize,
    mut done: impl FnMut(T, ItemOutcome),
) -> Result<(), LoadError> {
    let mut set = JoinSet::new();
    let mut pending = lanes.into_iter();
    loop {
        while set.len() < in_flight_max.max(1) {
            let Some(lane) = pending.next() else { break };
            set.spawn(run_lane(app.clone(), lane));
        }
        let Some(joined) = set.join_next().await else {
            return Ok(());
        };
        let outcomes = joined.map_err(|e| LoadError::App(AppError::Task(e.to_string())))?;
        for (tag, mut outcome) in outcomes {
            if let Some((step, error)) = outcome.failure.take() {
                if is_fatal(&error) {
                    return Err(LoadError::App(error));
                }
                outcome.failure = Some((step, error));
            }
            done(tag, outcome);
        }
    }
}

async fn run_lane<T>(app: App, lane: Vec<Item<T>>) -> Vec<(T, ItemOutcome)> {
    let mut out = Vec::with_capacity(lane.len());
    for item in lane {
        let mut outcome = ItemOutcome::default();
        for (i, step) in item.steps.into_iter().enumerate() {
            let Step {
                envelope,
                if_exists,
            } = step;
            let mut result = app.execute(envelope).await;
            if let (Err(AppError::Domain(DomainError::AlreadyExists { .. })), Some(alternative)) =
                (&result, if_exists)
            {
                result = app.execute(alternative).await;
            }
            match result {
                Ok(done) => {
                    outcome.commands += 1;
                    if !done.already_handled {
                        outcome.events += done.events.len() as u64;
                    }
                }
                Err(e) => {
                    let fatal = is_fatal(&e);
                    outcome.failure = Some((i, e));
                    if fatal {
                        out.push((item.tag, outcome));
                        return out;
                    }
                    break;
                }
            }
        }
        out.push((item.tag, outcome));
    }
    out
}
