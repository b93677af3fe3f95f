//! As-of checkpoints: the read models as folded up to a log position under one rule set,
//! stored so that a later replay (an as-of dashboard, staff month or appraisal derivation)
//! starts from the nearest one instead of from position 1.
//!
//! The log is append-only, so the fold of its prefix up to `P` under rules `R` never changes:
//! a checkpoint is sealed the moment it is written, and a replay to any `Q ≥ P` under `R` from
//! it gives exactly what a replay from the start gives (`tests/asof.rs`). A checkpoint is a sled
//! tree named after the rules' content hash and the position, in the same layout as a
//! generation's tree (`generation::changes_into`, `generation::load_model`), without history
//! or lookup entries: replays that show one customer's archive keep their history and fold from
//! the start. A replay that folded at least [`GAP`] events past its starting point leaves one
//! at its end; at most [`KEEP`] are kept, the newest positions.

use crm_eventstore::EventStore;

use crate::error::ProjectionError;
use crate::generation::{changes_into, load_model, stored_marks, MODEL_FORMAT};
use crate::model::Model;
use crate::writes::Writes;

/// A replay leaves a checkpoint when it folded at least this many events past its start.
pub const GAP: u64 = 100_000;
/// Checkpoints kept (per data directory, all rule sets together).
pub const KEEP: usize = 8;
const PREFIX: &str = "asof-";

fn name(rules_hash: &str, position: u64) -> String {
    let short: String = rules_hash.chars().take(16).collect();
    format!("{PREFIX}{short}-{position:020}")
}

/// `(rules hash prefix, position)` of a checkpoint's tree name.
fn parse(name: &[u8]) -> Option<(String, u64)> {
    let s = std::str::from_utf8(name).ok()?.strip_prefix(PREFIX)?;
    let (hash, position) = s.split_once('-')?;
    Some((hash.to_string(), position.parse().ok()?))
}

fn all(store: &EventStore) -> Vec<(String, u64)> {
    store
        .sled()
        .tree_names()
        .iter()
        .filter_map(|n| parse(n))
        .collect()
}

/// The newest checkpoint at or before `position` under the rules with `rules_hash`, loaded;
/// none when there is none usable (another format, not written whole).
pub fn nearest(
    store: &EventStore,
    rules_hash: &str,
    position: u64,
) -> Result<Option<(u64, Model)>, ProjectionError> {
    let short: String = rules_hash.chars().take(16).collect();
    let mut candidates: Vec<u64> = all(store)
        .into_iter()
        .filter(|(h, p)| *h == short && *p <= position)
        .map(|(_, p)| p)
        .collect();
    candidates.sort_unstable();
    while let Some(p) = candidates.pop() {
        let tree = store.sled().open_tree(name(rules_hash, p))?;
        // A tree is whole once its checkpoint key is in: it is inserted last, and sled
        // recovers a prefix of its writes.
        match stored_marks(&tree)? {
            (at, Some(format)) if at == p && format == MODEL_FORMAT => {
                return Ok(Some((p, load_model(&tree)?)));
            }
            _ => continue,
        }
    }
    Ok(None)
}

/// Stores `model`, folded up to `position` under the rules with `rules_hash`, and drops the
/// oldest checkpoints beyond [`KEEP`]. The model is unchanged (what it marks written is
/// bookkeeping).
pub fn save(
    store: &EventStore,
    rules_hash: &str,
    position: u64,
    model: &mut Model,
) -> Result<(), ProjectionError> {
    let tree = store.sled().open_tree(name(rules_hash, position))?;
    if stored_marks(&tree)?.0 != position {
        // What a save a crash interrupted left (no checkpoint key: never used) goes first.
        tree.clear()?;
        model.mark_all_dirty();
        let mut batch = Writes::default();
        changes_into(model, position, &mut batch)?;
        model.lookup_changed.clear();
        // One insert at a time, the checkpoint key last (`changes_into` puts it there): a
        // whole model in one sled batch would sit in sled's memory many times over.
        batch.apply_in_order(&tree)?;
    }
    let mut kept = all(store);
    kept.sort_unstable_by_key(|(_, p)| std::cmp::Reverse(*p));
    for (hash, p) in kept.into_iter().skip(KEEP) {
        store.sled().drop_tree(name(&hash, p))?;
    }
    Ok(())
}

/// How many checkpoints the data directory holds.
pub fn count(store: &EventStore) -> usize {
    all(store).len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_other_trees_are_not_checkpoints() {
        let n = name("b48ee2642b24fc0ffa0bcc777913c25d", 42);
        assert_eq!(n, "asof-b48ee2642b24fc0f-00000000000000000042");
        assert_eq!(
            parse(n.as_bytes()),
            Some(("b48ee2642b24fc0f".to_string(), 42))
        );
        assert_eq!(parse(b"proj-all-g1"), None);
        assert_eq!(parse(b"asof-x-notanumber"), None);
    }
}
