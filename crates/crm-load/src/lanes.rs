//! Runs many commands concurrently while keeping the order that matters: commands are grouped
//! into lanes, one lane per aggregate (stream), a lane's items run one after another, and
//! lanes run side by side, at most `in_flight_max` at a time. Two commands for one stream
//! therefore never race (their order, and so the stream's revisions and payloads, is fixed by
//! the input), while commands for different streams fill the store's group commits.

use crm_app::{App, AppCommand, AppError, CommandEnvelope};
use crm_domain::DomainError;
use crm_eventstore::{AppendOrder, EventStore, Turn};
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
            set.spawn(run_lane(app.clone(), lane, None));
        }
        let Some(joined) = set.join_next().await else {
            return Ok(());
        };
        report(joined, &mut done)?;
    }
}

/// Lanes in flight at once in [`run_in_order`]: each spawned lane is a task of its own
/// holding a command's whole future (about 20 KB), so spawning every lane of a phase at once
/// made the demo's memory grow with its customers (a million lanes, ~20 GB).
const ORDERED_LANES_MAX: usize = 4_096;

/// Like [`run`], but the log comes out the same on every run: the lanes are taken in chunks of
/// [`ORDERED_LANES_MAX`]; within a chunk every step gets a number, the first step of every
/// lane, then the second of every lane, and so on, every number after the previous chunk's;
/// and the appends reach the log in that order (see `crm_eventstore::Turn`), recorded at the
/// step's business time. A chunk's lanes are all in flight at once, since a lane not yet
/// started would hold up every later number; the next chunk is started while one runs, so
/// at most two chunks are in flight. Refused commands and skipped steps pass their number on.
pub(crate) async fn run_in_order<T: Send + 'static>(
    app: &App,
    lanes: Vec<Vec<Item<T>>>,
    done: impl FnMut(T, ItemOutcome),
) -> Result<(), LoadError> {
    run_in_chunks(app, lanes, ORDERED_LANES_MAX, done).await
}

/// [`run_in_order`] with chunks of `chunk` lanes.
async fn run_in_chunks<T: Send + 'static>(
    app: &App,
    lanes: Vec<Vec<Item<T>>>,
    chunk: usize,
    mut done: impl FnMut(T, ItemOutcome),
) -> Result<(), LoadError> {
    let chunk = chunk.max(1);
    let order = AppendOrder::new();
    let mut next = 0u64;
    let mut set = JoinSet::new();
    let mut lanes = lanes.into_iter();
    loop {
        let lanes_now: Vec<Vec<Item<T>>> = lanes.by_ref().take(chunk).collect();
        if lanes_now.is_empty() {
            break;
        }
        let numbers = round_robin(&lanes_now, &mut next);
        // Room for this chunk: the one before it may still run, the one before that not.
        while set.len() >= chunk {
            let Some(joined) = set.join_next().await else {
                break;
            };
            report(joined, &mut done)?;
        }
        for (lane, numbers) in lanes_now.into_iter().zip(numbers) {
            let turns = numbers
                .into_iter()
                .map(|n| Turn::new(order.clone(), n))
                .collect();
            set.spawn(run_lane(app.clone(), lane, Some(turns)));
        }
    }
    while let Some(joined) = set.join_next().await {
        report(joined, &mut done)?;
    }
    Ok(())
}

/// The numbers of `lanes`' steps from `next` on: every lane's first step, then every lane's
/// second, and so on; `next` is left after the last.
fn round_robin<T>(lanes: &[Vec<Item<T>>], next: &mut u64) -> Vec<Vec<u64>> {
    let steps: Vec<usize> = lanes
        .iter()
        .map(|lane| lane.iter().map(|item| item.steps.len()).sum())
        .collect();
    let longest = steps.iter().copied().max().unwrap_or(0);
    let mut numbers: Vec<Vec<u64>> = steps.iter().map(|&n| Vec::with_capacity(n)).collect();
    for k in 0..longest {
        for (lane, &n) in numbers.iter_mut().zip(&steps) {
            if k < n {
                lane.push(*next);
                *next += 1;
            }
        }
    }
    numbers
}

/// Hands a finished lane's outcomes to `done`; a fatal error stops the load.
fn report<T>(
    joined: Result<Vec<(T, ItemOutcome)>, tokio::task::JoinError>,
    done: &mut impl FnMut(T, ItemOutcome),
) -> Result<(), LoadError> {
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
    Ok(())
}

/// Executes one step, in its turn when there is one.
async fn execute(app: &App, envelope: CommandEnvelope, turn: Option<&Turn>) -> StepResult {
    match turn {
        None => app.execute(envelope).await,
        Some(turn) => {
            let mut turn = turn.clone().recorded_at(envelope.occurred_at);
            if matches!(envelope.command, AppCommand::MergeCustomers { .. }) {
                // Two streams, two appends: both in this turn.
                turn = turn.holding();
            }
            EventStore::in_turn(turn, app.execute(envelope)).await
        }
    }
}

type StepResult = Result<crm_app::CommandOutcome, AppError>;

async fn run_lane<T>(
    app: App,
    lane: Vec<Item<T>>,
    turns: Option<Vec<Turn>>,
) -> Vec<(T, ItemOutcome)> {
    let mut out = Vec::with_capacity(lane.len());
    let mut turns = turns.map(Vec::into_iter);
    for item in lane {
        let mut outcome = ItemOutcome::default();
        let mut steps_left = item.steps.len();
        for (i, step) in item.steps.into_iter().enumerate() {
            steps_left -= 1;
            let turn = turns.as_mut().and_then(Iterator::next);
            let Step {
                envelope,
                if_exists,
            } = step;
            let mut result = execute(&app, envelope, turn.as_ref()).await;
            if let (Err(AppError::Domain(DomainError::AlreadyExists { .. })), Some(alternative)) =
                (&result, if_exists)
            {
                result = execute(&app, alternative, turn.as_ref()).await;
            }
            if let Some(turn) = &turn {
                turn.finish().await;
            }
            if result.is_err() {
                // The item's remaining steps will not run: pass their turns on.
                for _ in 0..steps_left {
                    if let Some(turn) = turns.as_mut().and_then(Iterator::next) {
                        turn.finish().await;
                    }
                }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

    use super::*;
    use crm_domain::auth::{Actor, Role, Scope};
    use crm_domain::ids::{RegionId, StaffId};
    use crm_domain::region;
    use crm_domain::values::OrgName;
    use crm_eventstore::{AllStart, Direction, StoreConfig};
    use time::macros::datetime;
    use uuid::Uuid;

    fn steps_of(lens: &[usize]) -> Vec<Vec<Item<()>>> {
        lens.iter()
            .map(|&n| {
                vec![Item {
                    tag: (),
                    steps: (0..n)
                        .map(|_| Step::new(envelope(0, region_establish(0))))
                        .collect(),
                }]
            })
            .collect()
    }

    fn region_establish(n: u128) -> region::Command {
        region::Command::Establish {
            region_id: RegionId::from(Uuid::from_u128(n)),
            name: OrgName::parse(&format!("区域{n}")).unwrap(),
            now: datetime!(2024-01-02 09:00 +8),
        }
    }

    fn envelope(n: u128, command: region::Command) -> CommandEnvelope {
        CommandEnvelope {
            command_id: Uuid::new_v4(),
            actor: Actor {
                staff_id: StaffId::from(Uuid::from_u128(1)),
                role: Role::Headquarters,
                scope: Scope::Company,
            },
            correlation_id: None,
            causation_id: None,
            occurred_at: datetime!(2024-01-02 09:00 +8),
            command: AppCommand::Region {
                region: RegionId::from(Uuid::from_u128(n)),
                command,
            },
        }
    }

    #[test]
    fn steps_are_numbered_lane_by_lane_round_after_round_from_the_chunks_start() {
        let mut next = 10;
        let numbers = round_robin(&steps_of(&[2, 1, 3]), &mut next);
        assert_eq!(numbers, vec![vec![10, 13], vec![11], vec![12, 14, 15]]);
        assert_eq!(next, 16);
    }

    /// Five lanes (regions), each established then renamed, in chunks of two: the log holds
    /// each chunk's round-robin order, chunk after chunk, on every run.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn ordered_lanes_reach_the_log_chunk_after_chunk_in_round_robin_order() {
        let dir = tempfile::tempdir().unwrap();
        let store = crm_eventstore::EventStore::open(dir.path(), StoreConfig::default()).unwrap();
        let app = App::new(store.clone()).unwrap();
        let lanes: Vec<Vec<Item<u128>>> = (1..=5u128)
            .map(|n| {
                let rename = region::Command::Rename {
                    name: OrgName::parse(&format!("新区域{n}")).unwrap(),
                    now: datetime!(2024-01-03 09:00 +8),
                };
                vec![Item {
                    tag: n,
                    steps: vec![
                        Step::new(envelope(n, region_establish(n))),
                        Step::new(envelope(n, rename)),
                    ],
                }]
            })
            .collect();
        let mut done = Vec::new();
        run_in_chunks(&app, lanes, 2, |n, outcome| {
            assert!(outcome.failure.is_none(), "{:?}", outcome.failure);
            done.push(n);
        })
        .await
        .unwrap();
        done.sort_unstable();
        assert_eq!(done, vec![1, 2, 3, 4, 5]);
        let events = store
            .read_all(AllStart::Start, Direction::Forwards, 100)
            .unwrap();
        let order: Vec<(String, String)> = events
            .iter()
            .map(|e| {
                let n = e.stream.as_str().rsplit('-').next().unwrap_or_default();
                let n = u128::from_str_radix(n, 16).unwrap();
                (n.to_string(), e.event_type.clone())
            })
            .collect();
        let expected: Vec<(String, String)> = [
            (1, "RegionEstablished"),
            (2, "RegionEstablished"),
            (1, "RegionRenamed"),
            (2, "RegionRenamed"),
            (3, "RegionEstablished"),
            (4, "RegionEstablished"),
            (3, "RegionRenamed"),
            (4, "RegionRenamed"),
            (5, "RegionEstablished"),
            (5, "RegionRenamed"),
        ]
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
        assert_eq!(order, expected);
    }
}
