//! Many commands at once: batch assignment (客户批量分配) and back-office loads. Each command
//! keeps its own outcome; one refusal does not stop the others. Command ids follow from the
//! batch id and the item, so re-sending a whole batch is as idempotent as re-sending one
//! command.

use std::sync::Arc;

use crm_domain::assignment::PlannedAssignment;
use crm_domain::auth::Actor;
use crm_domain::values::ShortText;
use time::OffsetDateTime;
use tokio::sync::Semaphore;
use uuid::Uuid;

use crate::app::App;
use crate::command::{AppCommand, CommandEnvelope, CommandOutcome};
use crate::error::AppError;

/// Commands of one batch in flight at once: enough to fill large group commits (256 loads
/// 6% faster than 64 in the demo), few enough to keep memory and contention bounded.
pub const BATCH_IN_FLIGHT_MAX: usize = 256;

/// The command id of item `key` of batch `batch_id`.
pub fn item_command_id(batch_id: Uuid, key: &[u8]) -> Uuid {
    let mut hasher = blake3::Hasher::new();
    hasher.update(batch_id.as_bytes());
    hasher.update(key);
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

impl App {
    /// Runs the commands concurrently (at most [`BATCH_IN_FLIGHT_MAX`] at a time); results
    /// come back in the order of `envelopes`. Commands that address the same aggregate should
    /// not be in one batch if their order matters: they may run in any order.
    pub async fn execute_batch(
        &self,
        envelopes: Vec<CommandEnvelope>,
    ) -> Vec<Result<CommandOutcome, AppError>> {
        let permits = Arc::new(Semaphore::new(BATCH_IN_FLIGHT_MAX));
        let mut tasks = Vec::with_capacity(envelopes.len());
        for envelope in envelopes {
            let app = self.clone();
            let permits = permits.clone();
            tasks.push(tokio::spawn(async move {
                // The semaphore is never closed, so acquiring only waits.
                let _permit = permits.acquire_owned().await;
                app.execute(envelope).await
            }));
        }
        let mut results = Vec::with_capacity(tasks.len());
        for task in tasks {
            results.push(match task.await {
                Ok(result) => result,
                Err(e) => Err(AppError::Task(e.to_string())),
            });
        }
        results
    }

    /// Applies a planned batch assignment (see `crm_domain::assignment::plan_round_robin`).
    pub async fn assign_batch(
        &self,
        actor: Actor,
        batch_id: Uuid,
        plan: &[PlannedAssignment],
        reason: ShortText,
        now: OffsetDateTime,
    ) -> Vec<Result<CommandOutcome, AppError>> {
        let envelopes = plan
            .iter()
            .map(|p| CommandEnvelope {
                command_id: item_command_id(batch_id, p.customer_id.to_string().as_bytes()),
                actor,
                correlation_id: Some(batch_id),
                causation_id: None,
                occurred_at: now,
                command: AppCommand::Customer {
                    customer: p.customer_id,
                    command: p.command(reason.clone(), actor.staff_id, now),
                },
            })
            .collect();
        self.execute_batch(envelopes).await
    }
}
