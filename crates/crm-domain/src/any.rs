//! Every aggregate's events under one type, for code that reads the whole log (projections,
//! replay, export) rather than one stream.

use crate::{
    access, account, appraisal, article, bank_services, branch, campaign, customer, deposit,
    fee_income, interaction, loan, market, opportunity, product, region, rules, segment, staff,
    ticket, DomainEvent,
};

/// The codec that turns stored payload bytes into an aggregate's event type; the domain stays
/// free of any particular encoding.
pub trait PayloadDecoder {
    type Error;
    fn decode<T: serde::de::DeserializeOwned>(&self, payload: &[u8]) -> Result<T, Self::Error>;
}

macro_rules! any_event {
    ($($variant:ident($module:ident) = $category:literal),+ $(,)?) => {
        /// One stored event of any aggregate.
        #[derive(Debug, Clone, PartialEq)]
        pub enum AnyEvent {
            $($variant($module::Event),)+
        }

        impl AnyEvent {
            /// Every stream category, in the order of the variants.
            pub const CATEGORIES: &'static [&'static str] = &[$($category),+];
        }

        impl DomainEvent for AnyEvent {
            fn event_type(&self) -> &'static str {
                match self { $(AnyEvent::$variant(e) => e.event_type(),)+ }
            }
            fn schema_version(&self) -> u16 {
                match self { $(AnyEvent::$variant(e) => e.schema_version(),)+ }
            }
            fn category(&self) -> &'static str {
                match self { $(AnyEvent::$variant(e) => e.category(),)+ }
            }
            fn stream_id(&self) -> String {
                match self { $(AnyEvent::$variant(e) => e.stream_id(),)+ }
            }
        }

        $(
            impl From<$module::Event> for AnyEvent {
                fn from(e: $module::Event) -> Self {
                    AnyEvent::$variant(e)
                }
            }
        )+

        impl AnyEvent {
            /// Decodes a payload stored on a stream of `category` with the caller's codec.
            /// `None` for a category no aggregate owns.
            pub fn decode<D: PayloadDecoder>(
                category: &str,
                payload: &[u8],
                decoder: &D,
            ) -> Option<Result<AnyEvent, D::Error>> {
                match category {
                    $($category => Some(decoder.decode::<$module::Event>(payload).map(AnyEvent::$variant)),)+
                    _ => None,
                }
            }
        }
    };
}

any_event! {
    Customer(customer) = "customer",
    Account(account) = "account",
    Market(market) = "market",
    Ticket(ticket) = "ticket",
    Region(region) = "region",
    Branch(branch) = "branch",
    Staff(staff) = "staff",
    Interaction(interaction) = "interaction",
    Opportunity(opportunity) = "opportunity",
    Campaign(campaign) = "campaign",
    Product(product) = "product",
    Article(article) = "article",
    Rules(rules) = "rules",
    Access(access) = "access",
    Appraisal(appraisal) = "appraisal",
    Deposit(deposit) = "deposit",
    Loan(loan) = "loan",
    BankServices(bank_services) = "banking",
    FeeIncome(fee_income) = "fees",
    Segment(segment) = "segment",
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_aggregate_category_is_listed_once() {
        let mut seen = std::collections::BTreeSet::new();
        for c in AnyEvent::CATEGORIES {
            assert!(seen.insert(*c), "{c} twice");
            assert!(!c.contains('-'));
        }
        assert_eq!(seen.len(), 20);
    }
}
