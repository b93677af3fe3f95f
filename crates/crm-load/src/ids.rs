//! Ids derived from business keys, so that loading the same data twice addresses the same
//! aggregates and sends the same command ids. Each id is the first 16 bytes of a blake3 hash
//! of a namespace and the key parts (each length-prefixed, so `("ab","c")` and `("a","bc")`
//! differ), made a UUID v8 (custom) with `uuid::Builder::from_custom_bytes`.
//!
//! These functions are public so other tools (the CLI, tests, a later API) can compute the id
//! an import gives to, say, the customer holding a document.

use crm_domain::ids::{
    AccountId, BranchId, CardId, CustomerId, DepositAccountId, InteractionId, LoanId, RegionId,
    StaffId, TeamId,
};
use crm_domain::values::IdDocument;
use uuid::Uuid;

/// Version tag of the derivation: changing how ids are derived must change this, or a
/// re-import would address new aggregates.
const NAMESPACE: &[u8] = b"crm-load/v1";

/// A UUID v8 from a hash of the namespace and `parts`.
pub fn derive(parts: &[&[u8]]) -> Uuid {
    let mut hasher = blake3::Hasher::new();
    hasher.update(NAMESPACE);
    for part in parts {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part);
    }
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&hasher.finalize().as_bytes()[..16]);
    uuid::Builder::from_custom_bytes(bytes).into_uuid()
}

/// The customer holding `document` (identity resolution by document: one document, one
/// customer).
pub fn customer_id(document: &IdDocument) -> CustomerId {
    CustomerId::from(derive(&[b"customer", document.identity_key().as_bytes()]))
}

/// The account with the back office's account number `number` (资金账号 / 证券账号).
pub fn account_id(number: &str) -> AccountId {
    AccountId::from(derive(&[b"account", number.as_bytes()]))
}

/// The deposit account with the core banking system's account number `number` (存款账号).
pub fn deposit_account_id(number: &str) -> DepositAccountId {
    DepositAccountId::from(derive(&[b"deposit-account", number.as_bytes()]))
}

/// The loan with the core banking system's loan number `number` (贷款账号 / 借款合同号).
pub fn loan_id(number: &str) -> LoanId {
    LoanId::from(derive(&[b"loan", number.as_bytes()]))
}

/// The card numbered `number` (卡号, as the core system sends it, often masked) of the customer
/// holding `document`: masked numbers (`6228 **** **** 1234`) are unique only per holder, so
/// the holder is part of the key.
pub fn card_id(document: &IdDocument, number: &str) -> CardId {
    CardId::from(derive(&[
        b"card",
        document.identity_key().as_bytes(),
        number.as_bytes(),
    ]))
}

/// The region with organisation code `code`.
pub fn region_id(code: &str) -> RegionId {
    RegionId::from(derive(&[b"region", code.as_bytes()]))
}

/// The branch with organisation code `code` (营业部代码).
pub fn branch_id(code: &str) -> BranchId {
    BranchId::from(derive(&[b"branch", code.as_bytes()]))
}

/// Team `code` of branch `branch_code` (team codes are unique within a branch).
pub fn team_id(branch_code: &str, code: &str) -> TeamId {
    TeamId::from(derive(&[b"team", branch_code.as_bytes(), code.as_bytes()]))
}

/// The staff member with employee number `number` (工号).
pub fn staff_id(number: &str) -> StaffId {
    StaffId::from(derive(&[b"staff", number.as_bytes()]))
}

/// The contact with the source system's record number `number`.
pub fn interaction_id(number: &str) -> InteractionId {
    InteractionId::from(derive(&[b"interaction", number.as_bytes()]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_ids_are_stable_and_separate_their_parts() {
        assert_eq!(staff_id("E001"), staff_id("E001"));
        assert_ne!(staff_id("E001"), staff_id("E002"));
        assert_ne!(derive(&[b"ab", b"c"]), derive(&[b"a", b"bc"]));
        assert_eq!(derive(&[b"x"]).get_version_num(), 8);
        // Same code, different kinds of entity: different ids.
        assert_ne!(region_id("R1").as_uuid(), branch_id("R1").as_uuid());
    }
}
