//! Given/when/then tests of a customer's bank services (`super`).
use time::macros::{date, datetime};
use uuid::Uuid;

use super::*;
use crate::testing::given;

const NOW: OffsetDateTime = datetime!(2024-03-01 18:00 +8);

fn cid() -> CustomerId {
    CustomerId::from_uuid(Uuid::from_u128(1))
}

fn card_id() -> CardId {
    CardId::from_uuid(Uuid::from_u128(90))
}

fn text(s: &str) -> ShortText {
    ShortText::parse(s).expect("valid")
}

fn card() -> Card {
    Card {
        kind: CardKind::SocialSecurity,
        number: text("6231********1234"),
        issued_on: date!(2023 - 05 - 01),
    }
}

fn issue(card: Card) -> Command {
    Command::IssueCard {
        customer_id: cid(),
        card_id: card_id(),
        card,
        now: NOW,
    }
}

fn issued() -> Event {
    Event::CardIssued {
        customer_id: cid(),
        card_id: card_id(),
        card: card(),
        at: NOW,
    }
}

fn cancel_card(on: Date) -> Command {
    Command::CancelCard {
        customer_id: cid(),
        card_id: card_id(),
        on,
        now: NOW,
    }
}

fn card_cancelled() -> Event {
    Event::CardCancelled {
        customer_id: cid(),
        card_id: card_id(),
        on: date!(2024 - 02 - 01),
        at: NOW,
    }
}

#[test]
fn it_issues_a_card() {
    let state = given::<BankServices>([])
        .when(issue(card()))
        .then([issued()]);
    assert_eq!(state.cards.len(), 1);
}

#[test]
fn it_ignores_the_same_card_imported_twice() {
    given::<BankServices>([issued()])
        .when(issue(card()))
        .then([]);
}

#[test]
fn it_rejects_other_details_for_an_issued_card() {
    let mut other = card();
    other.kind = CardKind::Credit;
    given::<BankServices>([issued()])
        .when(issue(other))
        .then_err(DomainError::AlreadyExists { entity: "card" });
}

#[test]
fn it_cancels_a_card_once() {
    let state = given::<BankServices>([issued()])
        .when(cancel_card(date!(2024 - 02 - 01)))
        .then([card_cancelled()]);
    assert!(state.cancelled_cards.contains(&card_id()));
    given::<BankServices>([issued(), card_cancelled()])
        .when(cancel_card(date!(2024 - 02 - 01)))
        .then([]);
}

#[test]
fn it_rejects_cancelling_an_unknown_card() {
    given::<BankServices>([])
        .when(cancel_card(date!(2024 - 02 - 01)))
        .then_err(DomainError::NotFound { entity: "card" });
}

#[test]
fn it_rejects_cancelling_a_card_before_it_was_issued() {
    given::<BankServices>([issued()])
        .when(cancel_card(date!(2023 - 04 - 30)))
        .then_err(DomainError::validation(
            "on",
            "must not be before the card was issued",
        ));
}

fn sign_up(channel: EChannel) -> Command {
    Command::SignUp {
        customer_id: cid(),
        channel,
        on: date!(2024 - 01 - 02),
        now: NOW,
    }
}

fn signed_up() -> Event {
    Event::EChannelSignedUp {
        customer_id: cid(),
        channel: EChannel::MobileBanking,
        on: date!(2024 - 01 - 02),
        at: NOW,
    }
}

#[test]
fn it_signs_a_customer_up_for_mobile_banking_once() {
    let state = given::<BankServices>([])
        .when(sign_up(EChannel::MobileBanking))
        .then([signed_up()]);
    assert!(state.channels.contains(&EChannel::MobileBanking));
    given::<BankServices>([signed_up()])
        .when(sign_up(EChannel::MobileBanking))
        .then([]);
}

#[test]
fn it_cancels_a_sign_up() {
    let state = given::<BankServices>([signed_up()])
        .when(Command::CancelSignUp {
            customer_id: cid(),
            channel: EChannel::MobileBanking,
            on: date!(2024 - 02 - 02),
            now: NOW,
        })
        .then([Event::EChannelCancelled {
            customer_id: cid(),
            channel: EChannel::MobileBanking,
            on: date!(2024 - 02 - 02),
            at: NOW,
        }]);
    assert!(state.channels.is_empty());
}

#[test]
fn it_rejects_cancelling_a_channel_never_signed_up_for() {
    given::<BankServices>([signed_up()])
        .when(Command::CancelSignUp {
            customer_id: cid(),
            channel: EChannel::InternetBanking,
            on: date!(2024 - 02 - 02),
            now: NOW,
        })
        .then_err(DomainError::NotFound {
            entity: "e-banking sign-up",
        });
}

#[test]
fn it_rejects_a_fact_sent_to_another_customers_stream() {
    given::<BankServices>([signed_up()])
        .when(Command::SignUp {
            customer_id: CustomerId::from_uuid(Uuid::from_u128(2)),
            channel: EChannel::SmsAlerts,
            on: date!(2024 - 01 - 02),
            now: NOW,
        })
        .then_err(DomainError::validation(
            "customer_id",
            "does not match this customer's stream",
        ));
}

fn yuan(y: i64) -> Money {
    Money::from_minor(y * Money::SCALE)
}

fn subscribe(amount: Money, matures_on: Option<Date>) -> Command {
    Command::SubscribeWealth {
        customer_id: cid(),
        product: text("稳盈180天"),
        amount,
        on: date!(2024 - 01 - 05),
        matures_on,
        now: NOW,
    }
}

fn subscribed() -> Event {
    Event::WealthProductSubscribed {
        customer_id: cid(),
        product: text("稳盈180天"),
        amount: yuan(50_000),
        on: date!(2024 - 01 - 05),
        matures_on: Some(date!(2024 - 07 - 03)),
        at: NOW,
    }
}

fn redeem(amount: Money) -> Command {
    Command::RedeemWealth {
        customer_id: cid(),
        product: text("稳盈180天"),
        amount,
        on: date!(2024 - 07 - 03),
        now: NOW,
    }
}

#[test]
fn it_records_a_wealth_product_held() {
    let state = given::<BankServices>([])
        .when(subscribe(yuan(50_000), Some(date!(2024 - 07 - 03))))
        .then([subscribed()]);
    assert_eq!(state.wealth[&text("稳盈180天")], yuan(50_000));
}

#[test]
fn it_rejects_a_subscription_of_no_amount() {
    given::<BankServices>([])
        .when(subscribe(Money::ZERO, None))
        .then_err(DomainError::validation("amount", "must be positive"));
}

#[test]
fn it_rejects_a_maturity_on_the_subscription_day() {
    given::<BankServices>([])
        .when(subscribe(yuan(1), Some(date!(2024 - 01 - 05))))
        .then_err(DomainError::validation(
            "matures_on",
            "must be after the subscription day",
        ));
}

#[test]
fn it_redeems_what_is_held() {
    let state = given::<BankServices>([subscribed()])
        .when(redeem(yuan(50_000)))
        .then([Event::WealthProductRedeemed {
            customer_id: cid(),
            product: text("稳盈180天"),
            amount: yuan(50_000),
            on: date!(2024 - 07 - 03),
            at: NOW,
        }]);
    assert!(state.wealth.is_empty());
}

#[test]
fn it_rejects_redeeming_more_than_is_held() {
    given::<BankServices>([subscribed()])
        .when(redeem(yuan(50_001)))
        .then_err(DomainError::conflict(
            "redeeming 50001.0000 of 稳盈180天, but the customer holds 50000.0000",
        ));
}

#[test]
fn it_rejects_a_negative_redemption() {
    given::<BankServices>([subscribed()])
        .when(redeem(yuan(-1)))
        .then_err(DomainError::validation("amount", "must be positive"));
}
