//! What callers send: one command for one aggregate instance, with who sends it and why.

use crm_domain::appraisal::{self, AppraisalPeriod};
use crm_domain::auth::Actor;
use crm_domain::ids::{
    AccountId, ArticleId, BranchId, CampaignId, CustomerId, DepositAccountId, InteractionId,
    LoanId, OpportunityId, ProductId, RegionId, RuleSetId, SegmentId, StaffId, TicketId,
};
use crm_domain::{
    access, account, article, bank_services, branch, campaign, customer, deposit, fee_income,
    interaction, loan, market, opportunity, product, region, rules, segment, staff, ticket,
};
use time::{Date, OffsetDateTime};
use uuid::Uuid;

/// A command addressed to one aggregate instance (or, for a merge, to two).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AppCommand {
    Customer {
        customer: CustomerId,
        command: customer::Command,
    },
    /// Merge `merged` (a duplicate) into `survivor`: recorded on both streams.
    MergeCustomers {
        survivor: CustomerId,
        merged: CustomerId,
    },
    Account {
        account: AccountId,
        command: account::Command,
    },
    Market {
        trade_date: Date,
        command: market::Command,
    },
    Ticket {
        ticket: TicketId,
        command: ticket::Command,
    },
    Region {
        region: RegionId,
        command: region::Command,
    },
    Branch {
        branch: BranchId,
        command: branch::Command,
    },
    Staff {
        staff: StaffId,
        command: staff::Command,
    },
    Interaction {
        interaction: InteractionId,
        command: interaction::Command,
    },
    Opportunity {
        opportunity: OpportunityId,
        command: opportunity::Command,
    },
    Campaign {
        campaign: CampaignId,
        command: campaign::Command,
    },
    /// A saved segment (客户分群), saved or redefined by whoever manages the campaigns of its
    /// branch (or, company-wide, headquarters).
    Segment {
        segment: SegmentId,
        command: segment::Command,
    },
    Product {
        product: ProductId,
        command: product::Command,
    },
    Article {
        article: ArticleId,
        command: article::Command,
    },
    Rules {
        rule_set: RuleSetId,
        command: rules::Command,
    },
    /// A staff member's own access log of personal data.
    Access {
        staff: StaffId,
        command: access::Command,
    },
    /// Sealing an appraisal period (proposal and four-eyes approval).
    Appraisal {
        period: AppraisalPeriod,
        command: appraisal::Command,
    },
    /// A bank deposit account (`deposit-<id>`).
    Deposit {
        account: DepositAccountId,
        command: deposit::Command,
    },
    /// A bank loan (`loan-<id>`).
    Loan {
        loan: LoanId,
        command: loan::Command,
    },
    /// A bank customer's cards, e-banking sign-ups and wealth products (`banking-<customer>`).
    BankServices {
        customer: CustomerId,
        command: bank_services::Command,
    },
    /// A bank customer's daily fee income (`fees-<customer>`).
    FeeIncome {
        customer: CustomerId,
        command: fee_income::Command,
    },
}

/// A command with its sender and tracing ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandEnvelope {
    /// Chosen by the caller; sending the same command id again returns the first result.
    pub command_id: Uuid,
    pub actor: Actor,
    /// Groups the commands of one business flow (an import, a workflow); defaults to the
    /// command id.
    pub correlation_id: Option<Uuid>,
    /// The event or command that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// Business time of the command, recorded as each event's occurred-at.
    pub occurred_at: OffsetDateTime,
    pub command: AppCommand,
}

/// What a command committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutcome {
    /// Log position of the last event written (or, when the command changed nothing, the
    /// log head when it was decided): pass it to a query to read your own write.
    pub position: u64,
    /// Events this command appended, per stream, in order.
    pub events: Vec<CommittedEvent>,
    /// True when this command id had already been handled and its first result is returned.
    pub already_handled: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedEvent {
    pub stream: String,
    pub event_type: String,
    pub position: u64,
    pub revision: u64,
}

/// Whoever acts on another's behalf in a command must be the sender: commands name the acting
/// staff member (`by`, `approver`, `staff_id`), and a caller may not put someone else there.
pub(crate) fn acting_staff(command: &AppCommand) -> Vec<StaffId> {
    use AppCommand as A;
    match command {
        A::Customer { command, .. } => match command {
            customer::Command::RecordWinBackAttempt { by, .. }
            | customer::Command::RecommendProduct { by, .. }
            | customer::Command::RecordProductSale { by, .. }
            | customer::Command::Assign { by, .. }
            | customer::Command::Reassign { by, .. }
            | customer::Command::RequestTransfer { by, .. } => vec![*by],
            customer::Command::ApproveTransfer { approver, .. }
            | customer::Command::RejectTransfer { approver, .. } => vec![approver.staff_id],
            _ => vec![],
        },
        A::Ticket {
            command:
                ticket::Command::Assign { by, .. }
                | ticket::Command::Escalate { by, .. }
                | ticket::Command::Resolve { by, .. },
            ..
        } => vec![*by],
        A::Article {
            command: article::Command::Publish { by, .. },
            ..
        } => vec![*by],
        A::Loan {
            command: loan::Command::Reclassify { by, .. },
            ..
        } => vec![*by],
        A::Rules { command, .. } => match command {
            rules::Command::Propose { by, .. }
            | rules::Command::Approve { by, .. }
            | rules::Command::Reject { by, .. }
            | rules::Command::Activate { by, .. } => vec![*by],
        },
        _ => vec![],
    }
}
