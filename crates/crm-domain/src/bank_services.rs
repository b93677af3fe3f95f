//! A bank customer's services, stream `banking-<customer_id>`: bank cards (银行卡) issued and
//! cancelled, e-banking and mobile-banking sign-ups (电子银行 / 手机银行签约) and their
//! cancellations, and wealth-management products held (理财产品: subscriptions and
//! redemptions).
//!
//! Why a stream of its own and not the customer's: by volume these facts would fit on the
//! customer stream (a few a year per customer, unlike the daily balances of
//! [`crate::deposit`] or the fee income of [`crate::fee_income`]). But they come from the core
//! banking system's nightly files, sent by the import role, while the customer stream is where
//! staff edit the profile, lifecycle and assignment: on one stream every import of a card
//! would race staff commands for the same revision, and the customer aggregate would grow by
//! a product line it never decides anything on. One stream per customer keeps them together,
//! small, and loaded only by imports.
//!
//! Re-sent facts are idempotent by content (the same card, the same sign-up), so a re-run
//! import file writes nothing twice; a contradicting fact is refused.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::error::DomainError;
use crate::ids::{CardId, CustomerId};
use crate::money::Money;
use crate::values::ShortText;

/// 卡种
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum CardKind {
    /// 借记卡
    Debit,
    /// 信用卡
    Credit,
    /// 社保卡 (金融社保卡), issued through rural banks to most rural residents.
    SocialSecurity,
}

/// 电子渠道: the e-banking channels a customer signs up for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EChannel {
    /// 网上银行
    InternetBanking,
    /// 手机银行
    MobileBanking,
    /// 微信银行
    WeChatBanking,
    /// 电话银行
    PhoneBanking,
    /// 短信通知 (动账提醒)
    SmsAlerts,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    pub kind: CardKind,
    /// The card number as the core system sends it (usually masked).
    pub number: ShortText,
    pub issued_on: Date,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub customer_id: Option<CustomerId>,
    pub cards: BTreeMap<CardId, Card>,
    pub cancelled_cards: BTreeSet<CardId>,
    pub channels: BTreeSet<EChannel>,
    /// Principal held per wealth product code, never negative.
    pub wealth: BTreeMap<ShortText, Money>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    IssueCard {
        customer_id: CustomerId,
        card_id: CardId,
        card: Card,
        now: OffsetDateTime,
    },
    CancelCard {
        customer_id: CustomerId,
        card_id: CardId,
        on: Date,
        now: OffsetDateTime,
    },
    SignUp {
        customer_id: CustomerId,
        channel: EChannel,
        on: Date,
        now: OffsetDateTime,
    },
    CancelSignUp {
        customer_id: CustomerId,
        channel: EChannel,
        on: Date,
        now: OffsetDateTime,
    },
    SubscribeWealth {
        customer_id: CustomerId,
        /// The core system's product code.
        product: ShortText,
        amount: Money,
        on: Date,
        matures_on: Option<Date>,
        now: OffsetDateTime,
    },
    RedeemWealth {
        customer_id: CustomerId,
        product: ShortText,
        amount: Money,
        on: Date,
        now: OffsetDateTime,
    },
}

impl Command {
    /// The customer whose stream the command is for.
    pub fn customer_id(&self) -> CustomerId {
        match self {
            Command::IssueCard { customer_id, .. }
            | Command::CancelCard { customer_id, .. }
            | Command::SignUp { customer_id, .. }
            | Command::CancelSignUp { customer_id, .. }
            | Command::SubscribeWealth { customer_id, .. }
            | Command::RedeemWealth { customer_id, .. } => *customer_id,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    CardIssued {
        customer_id: CustomerId,
        card_id: CardId,
        card: Card,
        at: OffsetDateTime,
    },
    CardCancelled {
        customer_id: CustomerId,
        card_id: CardId,
        on: Date,
        at: OffsetDateTime,
    },
    EChannelSignedUp {
        customer_id: CustomerId,
        channel: EChannel,
        on: Date,
        at: OffsetDateTime,
    },
    EChannelCancelled {
        customer_id: CustomerId,
        channel: EChannel,
        on: Date,
        at: OffsetDateTime,
    },
    WealthProductSubscribed {
        customer_id: CustomerId,
        product: ShortText,
        amount: Money,
        on: Date,
        matures_on: Option<Date>,
        at: OffsetDateTime,
    },
    WealthProductRedeemed {
        customer_id: CustomerId,
        product: ShortText,
        amount: Money,
        on: Date,
        at: OffsetDateTime,
    },
}

crate::aggregate!(BankServices, category: "banking", id: customer_id, events: [
    CardIssued, CardCancelled, EChannelSignedUp, EChannelCancelled, WealthProductSubscribed,
    WealthProductRedeemed,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    if state
        .customer_id
        .is_some_and(|id| id != command.customer_id())
    {
        return Err(DomainError::validation(
            "customer_id",
            "does not match this customer's stream",
        ));
    }
    match command {
        Command::IssueCard {
            customer_id,
            card_id,
            card,
            now,
        } => match state.cards.get(&card_id) {
            Some(existing) if *existing == card => Ok(vec![]),
            Some(_) => Err(DomainError::AlreadyExists { entity: "card" }),
            None => Ok(vec![Event::CardIssued {
                customer_id,
                card_id,
                card,
                at: now,
            }]),
        },
        Command::CancelCard {
            customer_id,
            card_id,
            on,
            now,
        } => {
            let card = state
                .cards
                .get(&card_id)
                .ok_or(DomainError::NotFound { entity: "card" })?;
            if state.cancelled_cards.contains(&card_id) {
                return Ok(vec![]);
            }
            if on < card.issued_on {
                return Err(DomainError::validation(
                    "on",
                    "must not be before the card was issued",
                ));
            }
            Ok(vec![Event::CardCancelled {
                customer_id,
                card_id,
                on,
                at: now,
            }])
        }
        Command::SignUp {
            customer_id,
            channel,
            on,
            now,
        } => {
            if state.channels.contains(&channel) {
                return Ok(vec![]);
            }
            Ok(vec![Event::EChannelSignedUp {
                customer_id,
                channel,
                on,
                at: now,
            }])
        }
        Command::CancelSignUp {
            customer_id,
            channel,
            on,
            now,
        } => {
            if !state.channels.contains(&channel) {
                return Err(DomainError::NotFound {
                    entity: "e-banking sign-up",
                });
            }
            Ok(vec![Event::EChannelCancelled {
                customer_id,
                channel,
                on,
                at: now,
            }])
        }
        Command::SubscribeWealth {
            customer_id,
            product,
            amount,
            on,
            matures_on,
            now,
        } => {
            if amount.minor() <= 0 {
                return Err(DomainError::validation("amount", "must be positive"));
            }
            if matures_on.is_some_and(|m| m <= on) {
                return Err(DomainError::validation(
                    "matures_on",
                    "must be after the subscription day",
                ));
            }
            let held = state.wealth.get(&product).copied().unwrap_or(Money::ZERO);
            if held.checked_add(amount).is_none() {
                return Err(DomainError::validation("amount", "total overflows"));
            }
            Ok(vec![Event::WealthProductSubscribed {
                customer_id,
                product,
                amount,
                on,
                matures_on,
                at: now,
            }])
        }
        Command::RedeemWealth {
            customer_id,
            product,
            amount,
            on,
            now,
        } => {
            if amount.minor() <= 0 {
                return Err(DomainError::validation("amount", "must be positive"));
            }
            let held = state.wealth.get(&product).copied().unwrap_or(Money::ZERO);
            if amount > held {
                return Err(DomainError::conflict(format!(
                    "redeeming {amount} of {product}, but the customer holds {held}"
                )));
            }
            Ok(vec![Event::WealthProductRedeemed {
                customer_id,
                product,
                amount,
                on,
                at: now,
            }])
        }
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::CardIssued {
            customer_id,
            card_id,
            card,
            ..
        } => {
            state.customer_id = Some(*customer_id);
            state.cards.insert(*card_id, card.clone());
        }
        Event::CardCancelled { card_id, .. } => {
            state.cancelled_cards.insert(*card_id);
        }
        Event::EChannelSignedUp {
            customer_id,
            channel,
            ..
        } => {
            state.customer_id = Some(*customer_id);
            state.channels.insert(*channel);
        }
        Event::EChannelCancelled { channel, .. } => {
            state.channels.remove(channel);
        }
        Event::WealthProductSubscribed {
            customer_id,
            product,
            amount,
            ..
        } => {
            state.customer_id = Some(*customer_id);
            let held = state.wealth.entry(product.clone()).or_insert(Money::ZERO);
            // Decided totals never overflow; saturate rather than panic on a foreign log.
            *held = held
                .checked_add(*amount)
                .unwrap_or(Money::from_minor(i64::MAX));
        }
        Event::WealthProductRedeemed {
            product, amount, ..
        } => {
            let held = state.wealth.get(product).copied().unwrap_or(Money::ZERO);
            match held.checked_sub(*amount) {
                Some(left) if left.minor() > 0 => {
                    state.wealth.insert(product.clone(), left);
                }
                _ => {
                    state.wealth.remove(product);
                }
            }
        }
    }
    state
}

#[cfg(test)]
#[path = "bank_services_tests.rs"]
mod tests;
