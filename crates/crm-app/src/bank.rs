//! The bank business's commands (issue 17): deposit accounts, loans, a customer's bank
//! services and fee income. Each runs through the same loop as every other command
//! ([`App::run`]: load, authorize, decide, append at the loaded revision, idempotent by
//! command id); what is particular to banks is gathered here: who may send what
//! (`Action::RecordBankFacts` for the core system's facts, `Action::ClassifyLoan` for the
//! outlet of the loan being reclassified), that a new account or a service names a customer
//! who exists, and that a new account's outlet is one the organisation has.
//!
//! Fee income, like the securities trade summaries, is not checked against the customer: it
//! is the daily flow, and the core system is its source; a read model ignores a fee of a
//! customer it does not know.

use crm_domain::auth::{Action, OrgTree};
use crm_domain::ids::{BranchId, CustomerId, DepositAccountId, LoanId};
use crm_domain::{bank_services, deposit, fee_income, loan, DomainError};

use crate::app::{validation, App};
use crate::command::{CommandEnvelope, CommandOutcome};
use crate::error::AppError;

impl App {
    pub(crate) async fn deposit(
        &self,
        env: &CommandEnvelope,
        account: DepositAccountId,
        command: deposit::Command,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        if let deposit::Command::Open {
            account_id,
            customer_id,
            branch,
            ..
        } = &command
        {
            if *account_id != account {
                return Err(validation(
                    "accountId",
                    "differs from the command's target account",
                ));
            }
            known_outlet(org, *branch)?;
            self.customer_target(Some(*customer_id))?;
        }
        self.run::<deposit::Deposit>(env, &account, command, |_| Ok(Action::RecordBankFacts), org)
            .await
    }

    pub(crate) async fn loan(
        &self,
        env: &CommandEnvelope,
        loan_id: LoanId,
        command: loan::Command,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        if let loan::Command::SignContract {
            loan_id: contracted,
            contract,
            ..
        } = &command
        {
            if *contracted != loan_id {
                return Err(validation(
                    "loanId",
                    "differs from the command's target loan",
                ));
            }
            known_outlet(org, contract.branch)?;
            self.customer_target(Some(contract.customer_id))?;
        }
        let reclassify = matches!(command, loan::Command::Reclassify { .. });
        self.run::<loan::Loan>(
            env,
            &loan_id,
            command,
            |state| {
                if !reclassify {
                    return Ok(Action::RecordBankFacts);
                }
                // Judged by the management of the outlet that granted the loan.
                match &state.contract {
                    Some(contract) => Ok(Action::ClassifyLoan {
                        branch: contract.branch,
                    }),
                    None => Err(DomainError::NotFound { entity: "loan" }.into()),
                }
            },
            org,
        )
        .await
    }

    pub(crate) async fn bank_services(
        &self,
        env: &CommandEnvelope,
        customer: CustomerId,
        command: bank_services::Command,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        if command.customer_id() != customer {
            return Err(validation(
                "customerId",
                "differs from the command's target customer",
            ));
        }
        self.customer_target(Some(customer))?;
        self.run::<bank_services::BankServices>(
            env,
            &customer,
            command,
            |_| Ok(Action::RecordBankFacts),
            org,
        )
        .await
    }

    pub(crate) async fn fee_income(
        &self,
        env: &CommandEnvelope,
        customer: CustomerId,
        command: fee_income::Command,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        let fee_income::Command::RecordFeeIncome { customer_id, .. } = &command;
        if *customer_id != customer {
            return Err(validation(
                "customerId",
                "differs from the command's target customer",
            ));
        }
        self.run::<fee_income::FeeIncome>(
            env,
            &customer,
            command,
            |_| Ok(Action::RecordBankFacts),
            org,
        )
        .await
    }
}

/// Every opened branch (outlet) is in the org tree: an account at any other would be one no
/// outlet manager could ever be asked about.
fn known_outlet(org: &OrgTree, branch: BranchId) -> Result<(), AppError> {
    if org.branch_regions.contains_key(&branch) {
        Ok(())
    } else {
        Err(DomainError::NotFound { entity: "branch" }.into())
    }
}
