//! The core banking system's CSV formats (核心系统数据): deposit accounts and their daily
//! balances, loans with their daily positions and five-category classifications, fee income
//! and external data (征信, 工商, 税务). Documented for the bank's teams in
//! `schema/import/<kind>.md`; the shared rules (cells, dates, amounts, documents) are those of
//! [`super::formats`], whose row helpers this module uses.
//!
//! Accounts and loans are identified by the core system's numbers, from which their ids are
//! derived ([`crate::ids::deposit_account_id`], [`crate::ids::loan_id`]); the customer by
//! identity document, as in every other kind.

use crm_app::AppCommand;
use crm_domain::customer::{
    self, CreditReportSummary, ExternalFact, ExternalFactRecord, RegistrationStatus,
    RegistryRecord, TaxCreditRating, TaxRecord,
};
use crm_domain::deposit::{self, Currency, DepositDay, DepositKind};
use crm_domain::fee_income::{self, FeeDay, FeeType};
use crm_domain::ids::StaffId;
use crm_domain::loan::{
    self, GuaranteeType, Instalment, LoanClass, LoanClosure, LoanContract, LoanDay,
};
use crm_domain::values::ShortText;
use crm_domain::{Money, Rate};
use time::Date;

use super::formats::{
    bad, close_of, document, morning, parse_date, Bad, Planned, PlannedStep, Row, Spec,
};
use super::ImportKind;
use crate::ids;

/// The columns of the bank's kinds (the other kinds' are in [`super::formats::spec`]).
pub(crate) fn spec(kind: ImportKind) -> Spec {
    match kind {
        ImportKind::DepositAccounts => Spec {
            required: &[
                "account_no",
                "id_type",
                "id_number",
                "branch_code",
                "product",
                "deposit_kind",
                "rate",
                "opened_on",
            ],
            optional: &[
                "id_country",
                "currency",
                "term_months",
                "maturity",
                "closed_on",
            ],
        },
        ImportKind::DepositBalances => Spec {
            required: &["account_no", "date", "balance"],
            optional: &[],
        },
        ImportKind::LoanAccounts => Spec {
            required: LOAN_CONTRACT_REQUIRED,
            optional: &[
                "id_country",
                "disbursed_amount",
                "disbursed_on",
                "schedule",
                "closed_on",
                "closure",
            ],
        },
        ImportKind::LoanPositions => Spec {
            required: &["loan_no", "date", "balance", "days_overdue"],
            optional: &[],
        },
        ImportKind::LoanClassifications => Spec {
            required: &[
                "loan_no",
                "from_class",
                "to_class",
                "reason",
                "classified_on",
            ],
            optional: &[],
        },
        ImportKind::FeeIncome => Spec {
            required: &["id_type", "id_number", "date", "fee_type", "amount"],
            optional: &["id_country"],
        },
        ImportKind::ExternalFacts => Spec {
            required: &["id_type", "id_number", "fact", "source", "as_of"],
            optional: EXTERNAL_FACT_OPTIONAL,
        },
        // The other kinds are formats.rs's and bank_service_formats.rs's; they are never asked
        // here.
        ImportKind::Organisation
        | ImportKind::Customers
        | ImportKind::Accounts
        | ImportKind::DailySummaries
        | ImportKind::MarketTotals
        | ImportKind::Interactions
        | ImportKind::Cards
        | ImportKind::EBankingSignUps
        | ImportKind::WealthTransactions => Spec {
            required: &[],
            optional: &[],
        },
    }
}

const LOAN_CONTRACT_REQUIRED: &[&str] = &[
    "loan_no",
    "id_type",
    "id_number",
    "branch_code",
    "product",
    "amount",
    "rate",
    "start_on",
    "maturity",
    "guarantee",
    "purpose",
];

/// The columns of a loan's contract: its command id hashes only these, so a row that later
/// gains its closing re-sends the contract unchanged.
const LOAN_CONTRACT_COLUMNS: &[&str] = &[
    "loan_no",
    "id_type",
    "id_number",
    "id_country",
    "branch_code",
    "product",
    "amount",
    "rate",
    "start_on",
    "maturity",
    "guarantee",
    "purpose",
];

const CREDIT_REPORT_COLUMNS: &[&str] = &[
    "loans_outstanding",
    "balance_outstanding",
    "accounts_overdue",
    "max_days_overdue",
    "guarantees_given",
    "queries_last_six_months",
];
const REGISTRY_COLUMNS: &[&str] = &[
    "registration_number",
    "registration_status",
    "registered_capital",
    "established_on",
];
const TAX_COLUMNS: &[&str] = &["tax_year", "tax_paid", "tax_rating"];

const EXTERNAL_FACT_OPTIONAL: &[&str] = &[
    "id_country",
    "loans_outstanding",
    "balance_outstanding",
    "accounts_overdue",
    "max_days_overdue",
    "guarantees_given",
    "queries_last_six_months",
    "registration_number",
    "registration_status",
    "registered_capital",
    "established_on",
    "tax_year",
    "tax_paid",
    "tax_rating",
];

/// Parses one data row of a bank kind into its commands.
pub(crate) fn plan(
    kind: ImportKind,
    row: &Row<'_>,
    correction: bool,
    actor_staff: StaffId,
) -> Result<Planned, Bad> {
    match kind {
        ImportKind::DepositAccounts => deposit_account_row(row),
        ImportKind::DepositBalances => deposit_balance_row(row, correction),
        ImportKind::LoanAccounts => loan_account_row(row),
        ImportKind::LoanPositions => loan_position_row(row, correction),
        ImportKind::LoanClassifications => classification_row(row, actor_staff),
        ImportKind::FeeIncome => fee_row(row, correction),
        ImportKind::ExternalFacts => external_fact_row(row),
        ImportKind::Organisation
        | ImportKind::Customers
        | ImportKind::Accounts
        | ImportKind::DailySummaries
        | ImportKind::MarketTotals
        | ImportKind::Interactions
        | ImportKind::Cards
        | ImportKind::EBankingSignUps
        | ImportKind::WealthTransactions => Err(Bad {
            column: None,
            reason: format!("{kind} is not a core banking format"),
        }),
    }
}

pub(super) fn step(
    label: &'static str,
    command: AppCommand,
    at: time::OffsetDateTime,
    columns: Option<&'static [&'static str]>,
) -> PlannedStep {
    PlannedStep {
        label,
        command,
        at,
        if_exists: None,
        columns,
    }
}

/// An annual rate (执行利率) as a fraction (`0.0145`) or a percentage (`1.45%`).
fn rate(row: &Row<'_>, column: &'static str) -> Result<Rate, Bad> {
    let s = row.required(column)?;
    let fraction = match s.strip_suffix('%') {
        Some(percent) => percent_to_fraction(percent.trim())
            .ok_or_else(|| bad(column, format!("'{s}' is not a rate like 1.45% or 0.0145")))?,
        None => s.to_owned(),
    };
    Rate::parse(&fraction).map_err(|e| bad(column, format!("'{s}' {}", e.reason)))
}

/// `1.45` (per cent) as the decimal string `0.0145`, by moving the point two places.
fn percent_to_fraction(percent: &str) -> Option<String> {
    let (int, frac) = percent.split_once('.').unwrap_or((percent, ""));
    let digits_only = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() || !digits_only(int) || !digits_only(frac) {
        return None;
    }
    let digits = format!("{int}{frac}");
    let point = int.len();
    Some(if point > 2 {
        let (whole, rest) = digits.split_at(point - 2);
        format!("{whole}.{rest}")
    } else {
        format!("0.{}{digits}", "0".repeat(2 - point))
    })
}

/// A whole number of `T` (a count, days, a year).
fn whole<T: TryFrom<u64>>(row: &Row<'_>, column: &'static str) -> Result<T, Bad> {
    let s = row.required(column)?;
    s.parse::<u64>()
        .ok()
        .filter(|_| s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| T::try_from(n).ok())
        .ok_or_else(|| bad(column, format!("'{s}' is not a whole number in range")))
}

pub(super) fn text(row: &Row<'_>, column: &'static str) -> Result<ShortText, Bad> {
    row.value(column, ShortText::parse)
}

const DEPOSIT_KINDS: &[(&[&str], DepositKind)] = &[
    (&["demand", "活期"], DepositKind::Demand),
    (&["time", "定期"], DepositKind::Time),
];

fn deposit_account_row(row: &Row<'_>) -> Result<Planned, Bad> {
    let number = text(row, "account_no")?;
    let account_id = ids::deposit_account_id(number.as_str());
    let opened_on = row.date("opened_on")?;
    let currency = match row.optional("currency") {
        None => Currency::Cny,
        Some(_) => row.code("currency", &[(&["cny", "rmb", "人民币"], Currency::Cny)])?,
    };
    let term_months = match row.optional("term_months") {
        None => None,
        Some(_) => Some(whole::<u16>(row, "term_months")?),
    };
    let now = morning(opened_on);
    let open = deposit::Command::Open {
        account_id,
        customer_id: ids::customer_id(&document(row)?),
        branch: ids::branch_id(row.required("branch_code")?),
        product: text(row, "product")?,
        kind: row.code("deposit_kind", DEPOSIT_KINDS)?,
        currency,
        term_months,
        maturity: row.optional_date("maturity")?,
        rate: rate(row, "rate")?,
        opened_on,
        now,
    };
    let cmd = |command| AppCommand::Deposit {
        account: account_id,
        command,
    };
    let mut steps = vec![step(
        "open",
        cmd(open),
        now,
        Some(&[
            "account_no",
            "id_type",
            "id_number",
            "id_country",
            "branch_code",
            "product",
            "deposit_kind",
            "currency",
            "term_months",
            "maturity",
            "rate",
            "opened_on",
        ]),
    )];
    if let Some(closed_on) = row.optional_date("closed_on")? {
        let now = morning(closed_on);
        steps.push(step(
            "close",
            cmd(deposit::Command::Close { closed_on, now }),
            now,
            Some(&["account_no", "closed_on"]),
        ));
    }
    Ok(Planned {
        phase: 0,
        lane: format!("deposit:{}", number.as_str()),
        key: format!("deposit:{}", number.as_str()),
        steps,
    })
}

fn deposit_balance_row(row: &Row<'_>, correction: bool) -> Result<Planned, Bad> {
    let number = text(row, "account_no")?;
    let account_id = ids::deposit_account_id(number.as_str());
    let date = row.date("date")?;
    let now = close_of(date);
    let command = deposit::Command::RecordDailyBalance {
        account_id,
        day: DepositDay {
            date,
            balance: row.money("balance")?,
        },
        correction,
        now,
    };
    Ok(Planned {
        phase: 0,
        lane: format!("deposit:{}", number.as_str()),
        key: format!("{}:{date}", number.as_str()),
        steps: vec![step(
            "balance",
            AppCommand::Deposit {
                account: account_id,
                command,
            },
            now,
            None,
        )],
    })
}

const GUARANTEES: &[(&[&str], GuaranteeType)] = &[
    (&["credit", "信用"], GuaranteeType::Credit),
    (&["guarantee", "保证"], GuaranteeType::Guarantee),
    (&["mortgage", "抵押"], GuaranteeType::Mortgage),
    (&["pledge", "质押"], GuaranteeType::Pledge),
];

const CLOSURES: &[(&[&str], LoanClosure)] = &[
    (&["repaid", "结清"], LoanClosure::Repaid),
    (&["written_off", "核销"], LoanClosure::WrittenOff),
];

/// `2024-02-15:10000:412.50; 2024-03-15:10000:380`: each instalment's due date, principal and
/// interest.
fn schedule(row: &Row<'_>) -> Result<Vec<Instalment>, Bad> {
    let column = "schedule";
    let mut instalments = Vec::new();
    for item in row.get(column).split(';').map(str::trim) {
        if item.is_empty() {
            continue;
        }
        let shape = || {
            bad(
                column,
                format!("'{item}' is not due_date:principal:interest"),
            )
        };
        let mut parts = item.split(':').map(str::trim);
        let (Some(due), Some(principal), Some(interest), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(shape());
        };
        let due = parse_date(due).ok_or_else(shape)?;
        let amount = |s: &str| {
            Money::parse(s).map_err(|e| bad(column, format!("in '{item}': '{s}' {}", e.reason)))
        };
        instalments.push(Instalment {
            due,
            principal: amount(principal)?,
            interest: amount(interest)?,
        });
    }
    Ok(instalments)
}

fn loan_account_row(row: &Row<'_>) -> Result<Planned, Bad> {
    let number = text(row, "loan_no")?;
    let loan_id = ids::loan_id(number.as_str());
    let contract = LoanContract {
        customer_id: ids::customer_id(&document(row)?),
        branch: ids::branch_id(row.required("branch_code")?),
        product: text(row, "product")?,
        amount: row.money("amount")?,
        rate: rate(row, "rate")?,
        start: row.date("start_on")?,
        maturity: row.date("maturity")?,
        guarantee: row.code("guarantee", GUARANTEES)?,
        purpose: text(row, "purpose")?,
    };
    let now = morning(contract.start);
    let cmd = |command| AppCommand::Loan {
        loan: loan_id,
        command,
    };
    let mut steps = Vec::new();
    let disbursement = match row.optional_date("disbursed_on")? {
        Some(on) => Some(Disbursement {
            on,
            amount: match row.optional("disbursed_amount") {
                Some(_) => row.money("disbursed_amount")?,
                None => contract.amount,
            },
        }),
        None if row.optional("disbursed_amount").is_some() => {
            return Err(bad(
                "disbursed_on",
                "is needed when disbursed_amount is given",
            ));
        }
        None => None,
    };
    let instalments = schedule(row)?;
    let closing = match row.optional_date("closed_on")? {
        Some(on) => Some((
            on,
            match row.optional("closure") {
                Some(_) => row.code("closure", CLOSURES)?,
                None => LoanClosure::Repaid,
            },
        )),
        None if row.optional("closure").is_some() => {
            return Err(bad("closed_on", "is needed when closure is given"));
        }
        None => None,
    };
    steps.push(step(
        "contract",
        cmd(loan::Command::SignContract {
            loan_id,
            contract,
            now,
        }),
        now,
        Some(LOAN_CONTRACT_COLUMNS),
    ));
    if let Some(Disbursement { on, amount }) = disbursement {
        let now = morning(on);
        // Keyed on the loan alone: a loan's disbursement is sent once, so a later file with
        // other figures can never disburse it a second time.
        steps.push(step(
            "disburse",
            cmd(loan::Command::Disburse { amount, on, now }),
            now,
            Some(&["loan_no"]),
        ));
    }
    if !instalments.is_empty() {
        steps.push(step(
            "schedule",
            cmd(loan::Command::SetRepaymentSchedule { instalments, now }),
            now,
            Some(&["loan_no", "schedule"]),
        ));
    }
    if let Some((on, how)) = closing {
        let now = morning(on);
        steps.push(step(
            "close",
            cmd(loan::Command::Close { on, how, now }),
            now,
            Some(&["loan_no", "closed_on", "closure"]),
        ));
    }
    Ok(Planned {
        phase: 0,
        lane: format!("loan:{}", number.as_str()),
        key: format!("loan:{}", number.as_str()),
        steps,
    })
}

struct Disbursement {
    on: Date,
    amount: Money,
}

fn loan_position_row(row: &Row<'_>, correction: bool) -> Result<Planned, Bad> {
    let number = text(row, "loan_no")?;
    let loan_id = ids::loan_id(number.as_str());
    let date = row.date("date")?;
    let now = close_of(date);
    let command = loan::Command::RecordDailyPosition {
        loan_id,
        day: LoanDay {
            date,
            balance: row.money("balance")?,
            days_overdue: whole(row, "days_overdue")?,
        },
        correction,
        now,
    };
    Ok(Planned {
        phase: 0,
        lane: format!("loan:{}", number.as_str()),
        key: format!("{}:{date}", number.as_str()),
        steps: vec![step(
            "position",
            AppCommand::Loan {
                loan: loan_id,
                command,
            },
            now,
            None,
        )],
    })
}

const CLASSES: &[(&[&str], LoanClass)] = &[
    (&["pass", "正常"], LoanClass::Pass),
    (&["special_mention", "关注"], LoanClass::SpecialMention),
    (&["substandard", "次级"], LoanClass::Substandard),
    (&["doubtful", "可疑"], LoanClass::Doubtful),
    (&["loss", "损失"], LoanClass::Loss),
];

fn classification_row(row: &Row<'_>, actor_staff: StaffId) -> Result<Planned, Bad> {
    let number = text(row, "loan_no")?;
    let loan_id = ids::loan_id(number.as_str());
    let from = row.code("from_class", CLASSES)?;
    let to = row.code("to_class", CLASSES)?;
    let on = row.date("classified_on")?;
    let now = morning(on);
    let command = loan::Command::Reclassify {
        from,
        to,
        reason: text(row, "reason")?,
        // The domain records the sender as the one who judged: the person running the
        // import (`--by`), or the import's headquarters identity.
        by: actor_staff,
        now,
    };
    Ok(Planned {
        phase: 0,
        // One loan's moves keep their file order: each names the class the previous left.
        lane: format!("loan:{}", number.as_str()),
        key: format!("{}:{on}:{from:?}:{to:?}", number.as_str()),
        steps: vec![step(
            "reclassify",
            AppCommand::Loan {
                loan: loan_id,
                command,
            },
            now,
            None,
        )],
    })
}

const FEE_TYPES: &[(&[&str], FeeType)] = &[
    (&["settlement", "结算", "结算类"], FeeType::Settlement),
    (&["bank_card", "银行卡", "银行卡类"], FeeType::BankCard),
    (&["agency", "代理", "代理类"], FeeType::Agency),
    (
        &["electronic_banking", "电子银行", "电子银行类"],
        FeeType::ElectronicBanking,
    ),
    (
        &["wealth_management", "理财", "理财类"],
        FeeType::WealthManagement,
    ),
    (&["guarantee", "担保承诺", "担保承诺类"], FeeType::Guarantee),
    (&["advisory", "咨询顾问", "咨询顾问类"], FeeType::Advisory),
    (&["other", "其他"], FeeType::Other),
];

fn fee_row(row: &Row<'_>, correction: bool) -> Result<Planned, Bad> {
    let document = document(row)?;
    let customer_id = ids::customer_id(&document);
    let date = row.date("date")?;
    let fee_type = row.code("fee_type", FEE_TYPES)?;
    let now = close_of(date);
    let command = fee_income::Command::RecordFeeIncome {
        customer_id,
        day: FeeDay {
            date,
            fee_type,
            amount: row.money("amount")?,
        },
        correction,
        now,
    };
    Ok(Planned {
        phase: 0,
        lane: format!("fees:{customer_id}"),
        key: format!("{}:{date}:{fee_type:?}", document.identity_key()),
        steps: vec![step(
            "fee-income",
            AppCommand::FeeIncome {
                customer: customer_id,
                command,
            },
            now,
            None,
        )],
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fact {
    CreditReport,
    BusinessRegistry,
    Tax,
}

impl Fact {
    fn name(self) -> &'static str {
        match self {
            Fact::CreditReport => "credit_report",
            Fact::BusinessRegistry => "business_registry",
            Fact::Tax => "tax",
        }
    }
}

const FACTS: &[(&[&str], Fact)] = &[
    (&["credit_report", "征信"], Fact::CreditReport),
    (&["business_registry", "工商"], Fact::BusinessRegistry),
    (&["tax", "税务"], Fact::Tax),
];

fn external_fact_row(row: &Row<'_>) -> Result<Planned, Bad> {
    let document = document(row)?;
    let customer_id = ids::customer_id(&document);
    let which = row.code("fact", FACTS)?;
    // A cell of another kind of fact is a mistake in the export, not something to drop.
    for (other, columns) in [
        (Fact::CreditReport, CREDIT_REPORT_COLUMNS),
        (Fact::BusinessRegistry, REGISTRY_COLUMNS),
        (Fact::Tax, TAX_COLUMNS),
    ] {
        if other == which {
            continue;
        }
        if let Some(column) = columns.iter().find(|c| row.optional(c).is_some()) {
            return Err(bad(
                column,
                format!("is not part of a {} fact", which.name()),
            ));
        }
    }
    let fact = match which {
        Fact::CreditReport => ExternalFact::CreditReport(CreditReportSummary {
            loans_outstanding: whole(row, "loans_outstanding")?,
            balance_outstanding: row.money("balance_outstanding")?,
            accounts_overdue: whole(row, "accounts_overdue")?,
            max_days_overdue: whole(row, "max_days_overdue")?,
            guarantees_given: row.money("guarantees_given")?,
            queries_last_six_months: whole(row, "queries_last_six_months")?,
        }),
        Fact::BusinessRegistry => ExternalFact::BusinessRegistry(RegistryRecord {
            registration_number: text(row, "registration_number")?,
            status: row.code(
                "registration_status",
                &[
                    (
                        &["in_operation", "存续", "在业"][..],
                        RegistrationStatus::InOperation,
                    ),
                    (&["revoked", "吊销"][..], RegistrationStatus::Revoked),
                    (
                        &["deregistered", "注销"][..],
                        RegistrationStatus::Deregistered,
                    ),
                ],
            )?,
            registered_capital: row.money("registered_capital")?,
            established_on: row.date("established_on")?,
        }),
        Fact::Tax => ExternalFact::Tax(TaxRecord {
            year: whole(row, "tax_year")?,
            tax_paid: row.money("tax_paid")?,
            rating: row.code(
                "tax_rating",
                &[
                    (&["a"][..], TaxCreditRating::A),
                    (&["b"][..], TaxCreditRating::B),
                    (&["m"][..], TaxCreditRating::M),
                    (&["c"][..], TaxCreditRating::C),
                    (&["d"][..], TaxCreditRating::D),
                ],
            )?,
        }),
    };
    let as_of = row.date("as_of")?;
    let now = morning(as_of);
    let record = ExternalFactRecord {
        fact,
        source: text(row, "source")?,
        as_of,
    };
    Ok(Planned {
        phase: 0,
        lane: format!("customer:{customer_id}"),
        key: format!("{}:{}:{as_of}", document.identity_key(), which.name()),
        steps: vec![step(
            "external-fact",
            AppCommand::Customer {
                customer: customer_id,
                command: customer::Command::RecordExternalFact { record, now },
            },
            now,
            None,
        )],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_become_fractions_without_floating_point() {
        assert_eq!(percent_to_fraction("1.45").as_deref(), Some("0.0145"));
        assert_eq!(percent_to_fraction("0.35").as_deref(), Some("0.0035"));
        assert_eq!(percent_to_fraction("12").as_deref(), Some("0.12"));
        assert_eq!(percent_to_fraction("100").as_deref(), Some("1.00"));
        assert_eq!(percent_to_fraction("4.350").as_deref(), Some("0.04350"));
        assert_eq!(percent_to_fraction("-1"), None);
        assert_eq!(percent_to_fraction(".5"), None);
    }
}
