//! The core banking system's CSV formats of a customer's bank services (`bank_services`
//! in the domain): cards issued and cancelled (银行卡), e-banking and mobile-banking sign-ups
//! and their cancellations (电子银行 / 手机银行签约), and subscriptions and redemptions of
//! wealth-management products (理财产品). Documented for the bank's teams in
//! `schema/import/<kind>.md`; the shared rules (cells, dates, amounts, documents) are those of
//! [`super::formats`].
//!
//! Every row addresses the customer's services stream (`banking-<customer id>`), so a
//! customer's rows form one lane and keep their file order (a redemption after the
//! subscription it draws on, a cancellation after its sign-up). The customer is named by
//! identity document and must have been imported.

use crm_app::AppCommand;
use crm_domain::bank_services::{Card, CardKind, Command, EChannel};
use crm_domain::ids::CustomerId;
use crm_domain::values::IdDocument;
use crm_domain::Money;
use time::Date;

use super::bank_formats::{step, text};
use super::formats::{bad, document, morning, Bad, Planned, PlannedStep, Row, Spec};
use super::ImportKind;
use crate::ids;

/// The columns of the bank services' kinds (the other kinds' are in [`super::formats::spec`]
/// and [`super::bank_formats::spec`]).
pub(crate) fn spec(kind: ImportKind) -> Spec {
    match kind {
        ImportKind::Cards => Spec {
            required: &["card_no", "id_type", "id_number", "card_kind", "issued_on"],
            optional: &["id_country", "cancelled_on"],
        },
        ImportKind::EBankingSignUps => Spec {
            required: &["id_type", "id_number", "channel", "signed_up_on"],
            optional: &["id_country", "cancelled_on"],
        },
        ImportKind::WealthTransactions => Spec {
            required: &[
                "txn_no",
                "id_type",
                "id_number",
                "product",
                "direction",
                "amount",
                "date",
            ],
            optional: &["id_country", "matures_on"],
        },
        // The other kinds are formats.rs's and bank_formats.rs's; they are never asked here.
        ImportKind::Organisation
        | ImportKind::Customers
        | ImportKind::Accounts
        | ImportKind::DailySummaries
        | ImportKind::MarketTotals
        | ImportKind::Interactions
        | ImportKind::DepositAccounts
        | ImportKind::DepositBalances
        | ImportKind::LoanAccounts
        | ImportKind::LoanPositions
        | ImportKind::LoanClassifications
        | ImportKind::FeeIncome
        | ImportKind::ExternalFacts => Spec {
            required: &[],
            optional: &[],
        },
    }
}

/// Parses one data row of a bank services kind into its commands.
pub(crate) fn plan(kind: ImportKind, row: &Row<'_>) -> Result<Planned, Bad> {
    match kind {
        ImportKind::Cards => card_row(row),
        ImportKind::EBankingSignUps => sign_up_row(row),
        ImportKind::WealthTransactions => wealth_row(row),
        ImportKind::Organisation
        | ImportKind::Customers
        | ImportKind::Accounts
        | ImportKind::DailySummaries
        | ImportKind::MarketTotals
        | ImportKind::Interactions
        | ImportKind::DepositAccounts
        | ImportKind::DepositBalances
        | ImportKind::LoanAccounts
        | ImportKind::LoanPositions
        | ImportKind::LoanClassifications
        | ImportKind::FeeIncome
        | ImportKind::ExternalFacts => Err(Bad {
            column: None,
            reason: format!("{kind} is not a bank services format"),
        }),
    }
}

/// The row's customer: their document and the id derived from it.
fn customer(row: &Row<'_>) -> Result<(IdDocument, CustomerId), Bad> {
    let document = document(row)?;
    let customer_id = ids::customer_id(&document);
    Ok((document, customer_id))
}

fn services(customer: CustomerId, command: Command) -> AppCommand {
    AppCommand::BankServices { customer, command }
}

/// The rows of a customer keep their order: they all address the customer's services stream.
fn lane(customer_id: CustomerId) -> String {
    format!("banking:{customer_id}")
}

/// The columns of a command whose id is derived from the row's business key alone
/// (`Planned::key`, built from parsed values: the document's identity, a code, a date however
/// written), so the same fact re-exported in another spelling is the same command.
const KEY_ONLY: &[&str] = &[];

/// `column`'s date, refused when it is before `earlier` (named by its column): the day a
/// cancellation ends what began on `earlier`.
fn not_before(
    row: &Row<'_>,
    column: &'static str,
    earlier: (&'static str, Date),
) -> Result<Option<Date>, Bad> {
    match row.optional_date(column)? {
        Some(on) if on < earlier.1 => Err(bad(
            column,
            format!(
                "'{}' is before {} {}",
                row.get(column),
                earlier.0,
                earlier.1
            ),
        )),
        on => Ok(on),
    }
}

const CARD_KINDS: &[(&[&str], CardKind)] = &[
    (&["debit", "借记卡"], CardKind::Debit),
    (&["credit", "信用卡", "贷记卡"], CardKind::Credit),
    (
        &["social_security", "社保卡", "金融社保卡"],
        CardKind::SocialSecurity,
    ),
];

/// The columns of a card's issue: its command id hashes only these, so a later export in
/// which the card has gained its `cancelled_on` cancels it and re-sends the issue unchanged.
const CARD_ISSUE_COLUMNS: &[&str] = &[
    "card_no",
    "id_type",
    "id_number",
    "id_country",
    "card_kind",
    "issued_on",
];

fn card_row(row: &Row<'_>) -> Result<Planned, Bad> {
    let number = text(row, "card_no")?;
    let (document, customer_id) = customer(row)?;
    let card_id = ids::card_id(&document, number.as_str());
    let issued_on = row.date("issued_on")?;
    let card = Card {
        kind: row.code("card_kind", CARD_KINDS)?,
        number: number.clone(),
        issued_on,
    };
    let cancelled_on = not_before(row, "cancelled_on", ("issued_on", issued_on))?;
    let now = morning(issued_on);
    let mut steps = vec![step(
        "issue",
        services(
            customer_id,
            Command::IssueCard {
                customer_id,
                card_id,
                card,
                now,
            },
        ),
        now,
        Some(CARD_ISSUE_COLUMNS),
    )];
    if let Some(on) = cancelled_on {
        let now = morning(on);
        steps.push(step(
            "cancel",
            services(
                customer_id,
                Command::CancelCard {
                    customer_id,
                    card_id,
                    on,
                    now,
                },
            ),
            now,
            Some(&[
                "card_no",
                "id_type",
                "id_number",
                "id_country",
                "cancelled_on",
            ]),
        ));
    }
    Ok(Planned {
        phase: 0,
        lane: lane(customer_id),
        key: format!("card:{}:{}", document.identity_key(), number.as_str()),
        steps,
    })
}

const CHANNELS: &[(&[&str], EChannel)] = &[
    (
        &["internet_banking", "网上银行", "网银"],
        EChannel::InternetBanking,
    ),
    (&["mobile_banking", "手机银行"], EChannel::MobileBanking),
    (&["wechat_banking", "微信银行"], EChannel::WeChatBanking),
    (&["phone_banking", "电话银行"], EChannel::PhoneBanking),
    (&["sms_alerts", "短信通知", "动账提醒"], EChannel::SmsAlerts),
];

fn sign_up_row(row: &Row<'_>) -> Result<Planned, Bad> {
    let (document, customer_id) = customer(row)?;
    let channel = row.code("channel", CHANNELS)?;
    let signed_up_on = row.date("signed_up_on")?;
    let cancelled_on = not_before(row, "cancelled_on", ("signed_up_on", signed_up_on))?;
    let now = morning(signed_up_on);
    let mut steps = vec![step(
        "sign-up",
        services(
            customer_id,
            Command::SignUp {
                customer_id,
                channel,
                on: signed_up_on,
                now,
            },
        ),
        now,
        // A sign-up is its customer, channel and day: re-sent in another spelling it must
        // not sign the channel up again after its cancellation.
        Some(KEY_ONLY),
    )];
    if let Some(on) = cancelled_on {
        let now = morning(on);
        // Keyed on the sign-up alone: one sign-up is cancelled once, so a later export with
        // another cancellation day is not refused as a cancellation of a channel not held.
        steps.push(step(
            "cancel",
            services(
                customer_id,
                Command::CancelSignUp {
                    customer_id,
                    channel,
                    on,
                    now,
                },
            ),
            now,
            Some(KEY_ONLY),
        ));
    }
    Ok(Planned {
        phase: 0,
        lane: lane(customer_id),
        key: format!(
            "e-channel:{}:{channel:?}:{signed_up_on}",
            document.identity_key()
        ),
        steps,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    Subscribe,
    Redeem,
}

const DIRECTIONS: &[(&[&str], Direction)] = &[
    (&["subscribe", "申购", "认购", "购买"], Direction::Subscribe),
    (&["redeem", "赎回", "到期", "兑付"], Direction::Redeem),
];

fn wealth_row(row: &Row<'_>) -> Result<Planned, Bad> {
    let number = text(row, "txn_no")?;
    let (_, customer_id) = customer(row)?;
    let product = text(row, "product")?;
    let direction = row.code("direction", DIRECTIONS)?;
    let amount = row.money("amount")?;
    if amount <= Money::ZERO {
        return Err(bad(
            "amount",
            format!("'{}' must be more than 0", row.get("amount")),
        ));
    }
    let on = row.date("date")?;
    let matures_on = row.optional_date("matures_on")?;
    let now = morning(on);
    let command = match direction {
        Direction::Subscribe => {
            if matures_on.is_some_and(|m| m <= on) {
                return Err(bad(
                    "matures_on",
                    format!(
                        "'{}' is not after the subscription's date {on}",
                        row.get("matures_on")
                    ),
                ));
            }
            Command::SubscribeWealth {
                customer_id,
                product,
                amount,
                on,
                matures_on,
                now,
            }
        }
        Direction::Redeem => {
            if matures_on.is_some() {
                return Err(bad("matures_on", "is not part of a redemption"));
            }
            Command::RedeemWealth {
                customer_id,
                product,
                amount,
                on,
                now,
            }
        }
    };
    // A transaction is the core system's number and day (the key), and one label whatever
    // the direction: it is recorded once whatever a later file says of it. The domain's
    // wealth events carry no transaction number to compare a resent row with.
    let steps: Vec<PlannedStep> = vec![step(
        "transaction",
        services(customer_id, command),
        now,
        Some(KEY_ONLY),
    )];
    Ok(Planned {
        phase: 0,
        lane: lane(customer_id),
        key: format!("wealth:{}:{on}", number.as_str()),
        steps,
    })
}
