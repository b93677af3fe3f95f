//! Appends in an order fixed in advance, for generated histories (the demo data set) whose log
//! must come out the same, byte for byte and hash for hash, on every run although their
//! commands are decided concurrently.
//!
//! The loader numbers its commands (0, 1, 2, …) and runs each inside [`EventStore::in_turn`]
//! with its [`Turn`]. An append made inside a turn waits until every lower number has been
//! handed to the writer (or has finished without appending), is handed over itself, and then
//! passes the turn on. Since the writer takes appends in the order they are handed over,
//! positions, and with a recorded-at taken from the turn instead of the clock, the whole hash
//! chain, follow from the numbering alone. Only the hand-over is ordered: deciding, and the
//! wait for the fdatasync, still overlap across commands, so group commits stay full.
//!
//! [`EventStore::in_turn`]: crate::EventStore::in_turn

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use time::OffsetDateTime;
use tokio::sync::oneshot;

tokio::task_local! {
    static TURN: Turn;
}

/// Hands out turns in number order.
#[derive(Debug, Default)]
pub struct AppendOrder {
    state: Mutex<OrderState>,
}

#[derive(Debug, Default)]
struct OrderState {
    /// The number whose turn it is.
    next: u64,
    waiting: HashMap<u64, oneshot::Sender<()>>,
}

impl AppendOrder {
    /// Numbering starts at 0.
    pub fn new() -> Arc<AppendOrder> {
        Arc::new(AppendOrder::default())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, OrderState> {
        // Nothing under this lock can panic half-way through an update.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn wait(&self, number: u64) {
        let woken = {
            let mut state = self.lock();
            if state.next >= number {
                return;
            }
            let (tell, woken) = oneshot::channel();
            state.waiting.insert(number, tell);
            woken
        };
        // The sender is only dropped after it was used, or with the whole order.
        let _ = woken.await;
    }

    fn pass(&self, number: u64) {
        let mut state = self.lock();
        if state.next == number {
            state.next += 1;
            let next = state.next;
            if let Some(tell) = state.waiting.remove(&next) {
                let _ = tell.send(());
            }
        }
    }
}

/// One command's place in an [`AppendOrder`].
#[derive(Debug, Clone)]
pub struct Turn {
    order: Arc<AppendOrder>,
    number: u64,
    /// What the store records as recorded-at for the turn's events (never later than the
    /// clock, never earlier than the record before).
    recorded_at: Option<OffsetDateTime>,
    /// Keep the turn until [`Turn::finish`] instead of passing it on after the first append:
    /// for commands that append to more than one stream.
    hold: bool,
    passed: Arc<AtomicBool>,
}

impl Turn {
    pub fn new(order: Arc<AppendOrder>, number: u64) -> Turn {
        Turn {
            order,
            number,
            recorded_at: None,
            hold: false,
            passed: Arc::new(AtomicBool::new(false)),
        }
    }

    pub fn recorded_at(mut self, at: OffsetDateTime) -> Turn {
        self.recorded_at = Some(at);
        self
    }

    pub fn holding(mut self) -> Turn {
        self.hold = true;
        self
    }

    /// Passes the turn on if no append did: call when the command is done, whatever its
    /// outcome, or every later number waits forever.
    pub async fn finish(&self) {
        if !self.passed.swap(true, Ordering::SeqCst) {
            self.order.wait(self.number).await;
            self.order.pass(self.number);
        }
    }

    pub(crate) async fn scope<F: Future>(self, f: F) -> F::Output {
        TURN.scope(self, f).await
    }
}

/// Waits until it is the current task's turn; returns at once outside a turn or once the
/// turn was passed on. For a command that takes a lock it will hold across its append: taking
/// the lock before its turn could leave an earlier turn waiting for that lock forever.
pub async fn wait_for_turn() {
    if let Some(turn) = InTurn::current() {
        turn.wait().await;
    }
}

/// What an append inside a turn must do around its hand-over to the writer.
pub(crate) struct InTurn {
    turn: Turn,
}

impl InTurn {
    /// The current task's turn, if it has one it has not passed on yet.
    pub fn current() -> Option<InTurn> {
        TURN.try_with(|t| t.clone())
            .ok()
            .filter(|t| !t.passed.load(Ordering::SeqCst))
            .map(|turn| InTurn { turn })
    }

    pub async fn wait(&self) {
        self.turn.order.wait(self.turn.number).await;
    }

    pub fn recorded_at(&self) -> Option<OffsetDateTime> {
        self.turn.recorded_at
    }

    /// Called once the append is in the writer's queue.
    pub fn handed_over(&self) {
        if !self.turn.hold && !self.turn.passed.swap(true, Ordering::SeqCst) {
            self.turn.order.pass(self.turn.number);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn turns_pass_in_number_order_whatever_order_they_finish_in() {
        let order = AppendOrder::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for n in (0..20u64).rev() {
            let turn = Turn::new(order.clone(), n);
            let seen = seen.clone();
            tasks.push(tokio::spawn(async move {
                turn.order.wait(n).await;
                seen.lock().unwrap().push(n);
                turn.finish().await;
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(*seen.lock().unwrap(), (0..20).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_held_turn_passes_only_at_finish() {
        let order = AppendOrder::new();
        let turn = Turn::new(order.clone(), 0).holding();
        let scoped = turn.clone();
        scoped
            .scope(async {
                let t = InTurn::current().unwrap();
                t.wait().await;
                t.handed_over();
            })
            .await;
        assert_eq!(order.lock().next, 0);
        turn.finish().await;
        assert_eq!(order.lock().next, 1);
        turn.finish().await;
        assert_eq!(order.lock().next, 1, "finishing twice passes once");
    }
}
