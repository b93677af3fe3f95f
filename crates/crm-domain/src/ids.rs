//! Typed identifiers: newtypes over UUID so a `StaffId` can never be passed where a `CustomerId`
//! is expected. Ids are minted by the caller (UUID v7 in the app layer); the domain never
//! generates them, which keeps `decide` deterministic.
//!
//! `Display` prints the UUID in *simple* form (32 lowercase hex digits, no hyphens) because the
//! id becomes the second half of a stream name `category-id`, and a stream's category is the
//! part before the first `-`.

use std::fmt;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ValidationError;

/// The identifier part of a stream name.
pub trait StreamId {
    fn stream_id(&self) -> String;
}

/// Trade dates identify per-day streams (`market-20240102`): compact `YYYYMMDD`, no hyphens.
impl StreamId for time::Date {
    fn stream_id(&self) -> String {
        format!(
            "{:04}{:02}{:02}",
            self.year(),
            u8::from(self.month()),
            self.day()
        )
    }
}

macro_rules! typed_id {
    ($($(#[$meta:meta])* $name:ident;)+) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub const fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Accepts hyphenated or simple UUID text.
            pub fn parse(input: &str) -> Result<Self, ValidationError> {
                Uuid::try_parse(input.trim())
                    .map(Self)
                    .map_err(|e| ValidationError::new(stringify!($name), e.to_string()))
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.simple(), f)
            }
        }

        impl StreamId for $name {
            fn stream_id(&self) -> String {
                self.to_string()
            }
        }
    )+};
}

typed_id! {
    /// A customer (individual or institution), prospect included.
    CustomerId;
    /// Any employee: customer manager (客户经理), broker (经纪人), service agent, manager, auditor,
    /// operator.
    StaffId;
    /// 营业部 (brokerage branch), or a bank outlet (网点) / credit cooperative (信用社).
    BranchId;
    /// 分公司 / 地区: a regional grouping of branches.
    RegionId;
    /// 服务部: a smaller office under a branch.
    ServicePointId;
    /// 客户经理小组: a team of customer managers and brokers.
    TeamId;
    /// A service ticket (complaint, suggestion, inquiry, request).
    TicketId;
    /// A sales opportunity, from lead (线索) to won or lost.
    OpportunityId;
    /// A marketing campaign (营销活动).
    CampaignId;
    /// A saved segment (客户分群): a named filter over the customer list.
    SegmentId;
    /// A product in the catalogue.
    ProductId;
    /// A fund account (资金账户) or securities account (证券账户).
    AccountId;
    /// A knowledge-base article or an announcement.
    ArticleId;
    /// One contact with a customer, or one planned visit.
    InteractionId;
    /// A versioned set of business rules.
    RuleSetId;
    /// A bank deposit account (存款账户), demand or time.
    DepositAccountId;
    /// A bank loan account (贷款账户): one contract and its drawdowns.
    LoanId;
    /// A bank card (银行卡) issued to a customer.
    CardId;
}
