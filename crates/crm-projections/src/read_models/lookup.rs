//! Finding a customer at the point of contact (来电弹屏, 柜台查询): by identity document, phone
//! or account number, through an index that holds no number in plain.
//!
//! Each number a customer holds is indexed under a keyed hash: the first 16 bytes of
//! `blake3::keyed_hash(secret, kind ‖ normalised value)`. The secret is random, made when the
//! generation's tree is made and kept in it (`KEY_LOOKUP_SECRET`); identity and phone numbers
//! are few enough to enumerate, so an unkeyed hash would be the numbers themselves.
//!
//! Key layout: `[TAG_LOOKUP][digest: 16][customer: 16]`, empty value. The fold notes the
//! customers whose numbers change (registration, profile update, account opened, a merge's
//! accounts: `Model::lookup_changed`); a flush writes their entries in its batch, and nothing
//! for other changes. Entries are never removed: a number a customer no longer holds (a changed
//! phone, a merge) leaves a stale entry, and a lookup checks every candidate against the
//! customer's record as it is now. Candidates are the tree's entries plus the customers noted
//! since the last flush (and those a flush is writing), so a lookup sees a registration at
//! once.

use crm_domain::ids::CustomerId;
use crm_domain::values::{IdDocument, Phone};

use crate::error::ProjectionError;
use crate::model::{CustomerRecord, Model};
use crm_domain::customer::Lifecycle;

/// The tag of lookup keys in a generation's tree.
pub const TAG_LOOKUP: u8 = 0x21;
/// Where a generation keeps its lookup secret.
pub(crate) const KEY_LOOKUP_SECRET: &[u8] = &[0xF2];
const DIGEST_LEN: usize = 16;

/// A number a customer is looked up by, normalised as the domain normalises it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LookupValue {
    /// The document's identity key (`IdDocument::identity_key`).
    IdDocument(String),
    Phone(String),
    AccountNumber(String),
}

impl LookupValue {
    pub fn id_document(document: &IdDocument) -> LookupValue {
        LookupValue::IdDocument(document.identity_key())
    }

    pub fn phone(phone: &Phone) -> LookupValue {
        LookupValue::Phone(phone.as_str().to_string())
    }

    /// An account number as recorded (surrounding spaces ignored).
    pub fn account_number(number: &str) -> LookupValue {
        LookupValue::AccountNumber(number.trim().to_string())
    }

    fn hashed_bytes(&self) -> Vec<u8> {
        let (kind, value) = match self {
            LookupValue::IdDocument(v) => (b'I', v),
            LookupValue::Phone(v) => (b'P', v),
            LookupValue::AccountNumber(v) => (b'A', v),
        };
        let mut out = Vec::with_capacity(2 + value.len());
        out.push(kind);
        out.push(0);
        out.extend_from_slice(value.as_bytes());
        out
    }

    /// Whether the customer holds this number now.
    pub fn matches(&self, c: &CustomerRecord) -> bool {
        match self {
            LookupValue::IdDocument(key) => c.profile.document.identity_key() == *key,
            LookupValue::Phone(p) => c.profile.phone.as_ref().is_some_and(|x| x.as_str() == p),
            LookupValue::AccountNumber(n) => c.accounts.iter().any(|a| a.number.trim() == n),
        }
    }
}

/// Every number the customer can be looked up by.
fn values_of(c: &CustomerRecord) -> Vec<LookupValue> {
    let mut out = vec![LookupValue::id_document(&c.profile.document)];
    if let Some(p) = &c.profile.phone {
        out.push(LookupValue::phone(p));
    }
    for a in &c.accounts {
        out.push(LookupValue::account_number(&a.number));
    }
    out
}

/// A new random secret.
pub(crate) fn new_secret() -> [u8; 32] {
    let mut seed = [0u8; 32];
    seed[..16].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    seed[16..].copy_from_slice(uuid::Uuid::new_v4().as_bytes());
    blake3::derive_key("crm customer lookup index secret v1", &seed)
}

fn digest(secret: &[u8; 32], v: &LookupValue) -> [u8; DIGEST_LEN] {
    let h = blake3::keyed_hash(secret, &v.hashed_bytes());
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&h.as_bytes()[..DIGEST_LEN]);
    out
}

fn prefix(d: &[u8; DIGEST_LEN]) -> [u8; 1 + DIGEST_LEN] {
    let mut out = [0u8; 1 + DIGEST_LEN];
    out[0] = TAG_LOOKUP;
    out[1..].copy_from_slice(d);
    out
}

/// Adds the index entries of `customers` (as the model holds them now) to `batch`; returns
/// the bytes written.
pub(crate) fn write_entries(
    secret: &[u8; 32],
    m: &Model,
    customers: &[CustomerId],
    batch: &mut crate::writes::Writes,
) -> u64 {
    let mut bytes = 0;
    for id in customers {
        let Some(c) = m.customers.get(id) else {
            continue;
        };
        for v in values_of(c) {
            let mut key = prefix(&digest(secret, &v)).to_vec();
            key.extend_from_slice(id.as_uuid().as_bytes());
            bytes += key.len() as u64;
            batch.insert(key, &[] as &[u8]);
        }
    }
    bytes
}

/// The customers indexed under `v` in `tree` (stale entries included).
pub(crate) fn candidates(
    tree: &sled::Tree,
    secret: &[u8; 32],
    v: &LookupValue,
) -> Result<Vec<CustomerId>, ProjectionError> {
    let mut out = Vec::new();
    for kv in tree.scan_prefix(prefix(&digest(secret, v))) {
        let (key, _) = kv?;
        let id = key
            .get(1 + DIGEST_LEN..)
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .ok_or_else(|| {
                ProjectionError::Generation(format!(
                    "lookup entry of {} bytes, expected {}",
                    key.len(),
                    1 + DIGEST_LEN + 16
                ))
            })?;
        out.push(CustomerId::from_uuid(uuid::Uuid::from_bytes(id)));
    }
    Ok(out)
}

/// The customers among `candidates` who hold `v` now, a merged customer answered by whom they
/// were merged into; sorted, each once.
pub(crate) fn resolve(
    m: &Model,
    v: &LookupValue,
    candidates: impl IntoIterator<Item = CustomerId>,
) -> Vec<CustomerId> {
    let mut out: Vec<CustomerId> = candidates
        .into_iter()
        .filter_map(|id| {
            let c = m.customers.get(&id)?;
            if !v.matches(c) {
                return None;
            }
            if c.lifecycle == Lifecycle::Merged {
                // At most a short chain: a survivor is never merged into its own duplicate.
                let mut at = c;
                for _ in 0..8 {
                    match at.merged_into.and_then(|s| m.customers.get(&s)) {
                        Some(next) => at = next,
                        None => break,
                    }
                    if at.lifecycle != Lifecycle::Merged {
                        break;
                    }
                }
                return (at.lifecycle != Lifecycle::Merged).then_some(at.id);
            }
            Some(c.id)
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}
