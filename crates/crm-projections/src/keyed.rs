//! A keyed part of a read model: an in-memory hash map that remembers which keys changed since
//! the last flush, so a flush writes only those (one sled key per entry) together with the
//! checkpoint, instead of the whole read model. Reading never marks anything.
//!
//! A *watched* map (`WATCH = true`) also remembers which keys changed since the last
//! [`Keyed::take_touched`]: what an index derived from its entries (the to-do index,
//! `read_models::todo_index`) must look at again. Unwatched maps keep that set empty.

use std::hash::Hash;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::ProjectionError;

#[derive(Debug, Clone)]
pub struct Keyed<K, V, const WATCH: bool = false> {
    map: FxHashMap<K, V>,
    dirty: FxHashSet<K>,
    /// Changed since the last [`Keyed::take_touched`] (watched maps only).
    touched: FxHashSet<K>,
}

impl<K, V, const WATCH: bool> Default for Keyed<K, V, WATCH> {
    fn default() -> Self {
        Keyed {
            map: FxHashMap::default(),
            dirty: FxHashSet::default(),
            touched: FxHashSet::default(),
        }
    }
}

/// Two keyed maps are equal when they hold the same entries; what is still unflushed is
/// bookkeeping, not state.
impl<K: Eq + Hash, V: PartialEq, const WATCH: bool> PartialEq for Keyed<K, V, WATCH> {
    fn eq(&self, other: &Self) -> bool {
        self.map == other.map
    }
}

impl<K: Eq + Hash + Copy, V, const WATCH: bool> Keyed<K, V, WATCH> {
    fn mark(&mut self, k: K) {
        self.dirty.insert(k);
        if WATCH {
            self.touched.insert(k);
        }
    }

    /// The keys changed (inserted, removed or lent out mutably) since the last call; always
    /// empty for an unwatched map.
    pub(crate) fn take_touched(&mut self) -> FxHashSet<K> {
        std::mem::take(&mut self.touched)
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k)
    }

    pub fn contains(&self, k: &K) -> bool {
        self.map.contains_key(k)
    }

    /// Mutable access marks the key changed.
    pub fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let v = self.map.get_mut(k)?;
        self.dirty.insert(*k);
        if WATCH {
            self.touched.insert(*k);
        }
        Some(v)
    }

    pub fn entry_or_insert_with(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        self.mark(k);
        self.map.entry(k).or_insert_with(f)
    }

    pub fn insert(&mut self, k: K, v: V) {
        self.mark(k);
        self.map.insert(k, v);
    }

    pub fn remove(&mut self, k: &K) -> Option<V> {
        self.mark(*k);
        self.map.remove(k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.map.values()
    }

    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.map.iter()
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn dirty_len(&self) -> usize {
        self.dirty.len()
    }
}

impl<K, V, const WATCH: bool> Keyed<K, V, WATCH>
where
    K: Eq + Hash + Copy + Serialize + DeserializeOwned,
    V: Serialize + DeserializeOwned,
{
    /// Adds the changed entries (inserts or removals) under `tag` to `batch` and forgets them;
    /// returns the bytes that writes (keys and values).
    pub fn drain_dirty_into(
        &mut self,
        tag: u8,
        batch: &mut crate::writes::Writes,
    ) -> Result<u64, ProjectionError> {
        let mut bytes = 0u64;
        for k in self.dirty.drain() {
            let key = key_bytes(tag, &k)?;
            bytes += key.len() as u64;
            match self.map.get(&k) {
                Some(v) => {
                    let v = crm_eventstore::codec::encode(v)?;
                    bytes += v.len() as u64;
                    batch.insert(key, v)
                }
                None => batch.remove(key),
            }
        }
        Ok(bytes)
    }

    /// Loads every entry stored under `tag`.
    pub fn load(tree: &sled::Tree, tag: u8) -> Result<Keyed<K, V, WATCH>, ProjectionError> {
        let mut map = FxHashMap::default();
        for item in tree.scan_prefix([tag]) {
            let (key, value) = item?;
            let k: K = crm_eventstore::codec::decode(key.get(1..).unwrap_or_default())?;
            let v: V = crm_eventstore::codec::decode(&value)?;
            map.insert(k, v);
        }
        Ok(Keyed {
            map,
            dirty: FxHashSet::default(),
            touched: FxHashSet::default(),
        })
    }

    /// Marks every entry changed, so the next flush writes them all (a fresh generation).
    pub fn mark_all_dirty(&mut self) {
        self.dirty.extend(self.map.keys().copied());
    }
}

pub(crate) fn key_bytes<K: Serialize>(tag: u8, k: &K) -> Result<Vec<u8>, ProjectionError> {
    let mut out = vec![tag];
    crm_eventstore::codec::encode_into(k, &mut out)?;
    Ok(out)
}
