//! The command loop: load the aggregate, authorize, decide, append at the expected revision,
//! retry on a concurrent change, and answer a repeated command id with its first result.

use std::sync::Arc;

use crm_domain::auth::{authorize, Action, Actor, CustomerTarget, OrgTree, Scope};
use crm_domain::ids::{BranchId, CustomerId, StreamId};
use crm_domain::{
    access, account, article, branch, customer, interaction, market, opportunity, product, region,
    rules, staff, ticket, Aggregate, DomainError, DomainEvent,
};
use crm_eventstore::{
    Appender, EventMetadata, EventStore, ExpectedRevision, NewEvent, StoreError, StreamName,
};
use tokio::sync::Mutex;
use uuid::Uuid;

use crate::command::{acting_staff, AppCommand, CommandEnvelope, CommandOutcome, CommittedEvent};
use crate::directory::Directory;
use crate::error::AppError;
use crate::resend::{append_event_id, Part};
use crate::state_cache::StateCache;

/// How many times a command is re-decided after another writer changed its stream.
pub const RETRIES_MAX: u32 = 8;

/// The [`Appender::enter`] section identity changes (registrations, profile changes) are
/// decided and appended in, one at a time across every node.
pub const IDENTITY_SECTION: &str = "crm.customer-identity";

/// Handles commands against one event store. Cheap to clone.
#[derive(Debug, Clone)]
pub struct App {
    /// The local log: loads, the directory and resends read it.
    pub(crate) store: EventStore,
    /// Where appends go: the local log itself on a single node, the log of record (whose
    /// copy the local log is) otherwise.
    appender: Arc<dyn Appender>,
    directory: Arc<Mutex<Directory>>,
    pub(crate) cache: Arc<StateCache>,
}

impl App {
    /// Builds the command side over `store`, catching its lookup tables up with the log.
    pub fn new(store: EventStore) -> Result<App, AppError> {
        let started = std::time::Instant::now();
        let mut directory = Directory::new(&store);
        directory.sync()?;
        tracing::info!(
            events = directory.applied,
            seconds = started.elapsed().as_secs_f64(),
            "command side's directory caught up with the log"
        );
        Ok(App {
            appender: Arc::new(store.clone()),
            store,
            directory: Arc::new(Mutex::new(directory)),
            cache: Arc::default(),
        })
    }

    /// The same command side keeping the states of up to `streams` streams between commands
    /// (default [`crate::STATE_CACHE_STREAMS_DEFAULT`]). A load that touches every stream in turn,
    /// such as a demo's trading day over all its accounts, gains from the cache only when it
    /// holds them all; each kept state is bounded (an account keeps its newest days in full).
    /// Starts with an empty cache.
    pub fn with_state_cache(self, streams: usize) -> App {
        App {
            cache: Arc::new(StateCache::new(streams)),
            ..self
        }
    }

    /// The same command side appending through `appender` (the log of record, when `store`
    /// is a local copy of it: see `crm_eventstore::Appender`). Loads still read `store`; after
    /// a concurrent change the command side waits for the copy to catch up before it decides
    /// again.
    pub fn with_appender(self, appender: Arc<dyn Appender>) -> App {
        App { appender, ..self }
    }

    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Handles one command. See [`CommandOutcome`].
    pub async fn execute(&self, envelope: CommandEnvelope) -> Result<CommandOutcome, AppError> {
        for staff in acting_staff(&envelope.command) {
            if staff != envelope.actor.staff_id {
                return Err(DomainError::Validation {
                    field: "by",
                    reason: format!(
                        "names staff {staff}, but the command is sent by {}",
                        envelope.actor.staff_id
                    ),
                }
                .into());
            }
        }
        if let Some(stream) =
            crate::resend::created_elsewhere(&self.store, envelope.command_id, &envelope.command)?
        {
            return Err(AppError::CommandIdReused {
                command_id: envelope.command_id,
                stream: stream.to_string(),
            });
        }
        let org = self.org().await?;
        match self.dispatch(&envelope, &org).await {
            Err(AppError::Domain(refusal)) => Err(self.refusal(&envelope, refusal, &org).await),
            outcome => outcome,
        }
    }

    /// A refusal as the sender may be told it: one naming another customer (an identity
    /// document's holder, a merge's survivor) names them only if the sender may read them
    /// (`auth::disclose` decides). A refused duplicate identity is recorded in the sender's
    /// access log either way, since the answer tells whether the document is registered.
    async fn refusal(
        &self,
        env: &CommandEnvelope,
        refusal: DomainError,
        org: &OrgTree,
    ) -> AppError {
        let Some(other) = refusal.other_customer() else {
            return refusal.into();
        };
        // A holder or survivor that cannot be loaded is treated as unassigned: only those who
        // may read every customer are told who it is.
        let target = self.customer_target(Some(other)).unwrap_or_default();
        let told = crm_domain::auth::disclose(&env.actor, refusal.clone(), &target, org);
        if let DomainError::DuplicateIdentity { existing } = refusal {
            let disclosed = told == refusal;
            if let Err(e) = self
                .record_duplicate_attempt(env, existing, disclosed, org)
                .await
            {
                return e;
            }
        }
        told.into()
    }

    /// Appends a refused duplicate identity to the sender's access log, once per command id
    /// (the record's command id follows from the refused command's).
    async fn record_duplicate_attempt(
        &self,
        env: &CommandEnvelope,
        holder: CustomerId,
        disclosed: bool,
        org: &OrgTree,
    ) -> Result<(), AppError> {
        let AppCommand::Customer {
            customer: attempted_for,
            command,
        } = &env.command
        else {
            // Only customer commands check identities; nothing else to record.
            return Ok(());
        };
        let actor = env.actor;
        // The sender was authorized for the refused command; recording its refusal asks for
        // the same right.
        let action = match command {
            customer::Command::Register { .. } => Action::RegisterCustomer {
                branch: home_branch(&actor),
            },
            _ => Action::UpdateCustomer(self.customer_target(Some(*attempted_for))?),
        };
        let record = access::Command::RecordDuplicateIdentityAttempt {
            staff_id: actor.staff_id,
            holder,
            attempted_for: *attempted_for,
            disclosed,
            purpose: command.name().to_string(),
            now: env.occurred_at,
        };
        let envelope = CommandEnvelope {
            command_id: crate::resend::new_entity_id(env.command_id, "duplicate-identity"),
            causation_id: Some(env.command_id),
            command: AppCommand::Access {
                staff: actor.staff_id,
                command: record.clone(),
            },
            ..env.clone()
        };
        self.run::<access::AccessLog>(
            &envelope,
            &actor.staff_id,
            record,
            |_| Ok(action.clone()),
            org,
        )
        .await
        .map(|_| ())
    }

    async fn dispatch(
        &self,
        envelope: &CommandEnvelope,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        let env = envelope;
        let actor = envelope.actor;
        match envelope.command.clone() {
            AppCommand::Customer { customer, command } => {
                self.customer(env, customer, command, org).await
            }
            AppCommand::MergeCustomers { survivor, merged } => {
                self.merge(env, survivor, merged, org).await
            }
            AppCommand::Account { account, command } => {
                self.run::<account::Account>(
                    env,
                    &account,
                    command,
                    |_| Ok(Action::ImportBackOffice),
                    org,
                )
                .await
            }
            AppCommand::Market {
                trade_date,
                command,
            } => {
                self.run::<market::MarketDay>(
                    env,
                    &trade_date,
                    command,
                    |_| Ok(Action::ImportBackOffice),
                    org,
                )
                .await
            }
            AppCommand::Ticket { ticket, command } => {
                let open_branch = match &command {
                    ticket::Command::Open { branch, .. } => Some(*branch),
                    _ => None,
                };
                self.run::<ticket::Ticket>(
                    env,
                    &ticket,
                    command,
                    |s| {
                        Ok(Action::HandleTicket {
                            branch: open_branch.unwrap_or(s.branch),
                        })
                    },
                    org,
                )
                .await
            }
            AppCommand::Region { region, command } => {
                self.run::<region::Region>(
                    env,
                    &region,
                    command,
                    |_| {
                        Ok(Action::ManageOrganisation {
                            region: Some(region),
                            branch: None,
                        })
                    },
                    org,
                )
                .await
            }
            AppCommand::Branch { branch, command } => {
                let opening_region = match &command {
                    branch::Command::Open { region_id, .. } => Some(*region_id),
                    _ => None,
                };
                let moving_to = match &command {
                    branch::Command::MoveToRegion { region_id, .. } => Some(*region_id),
                    _ => None,
                };
                let policy = org.clone();
                self.run::<branch::Branch>(
                    env,
                    &branch,
                    command,
                    |s| {
                        if let Some(to) = moving_to {
                            // A move changes two regions: the caller needs the branch where it
                            // is, and the receiving region at region level (a branch manager
                            // cannot hand their branch to another region).
                            authorize(
                                &actor,
                                &Action::ManageOrganisation {
                                    region: s.region,
                                    branch: Some(branch),
                                },
                                &policy,
                            )?;
                            return Ok(Action::ManageOrganisation {
                                region: Some(to),
                                branch: None,
                            });
                        }
                        Ok(match opening_region {
                            Some(region) => Action::ManageOrganisation {
                                region: Some(region),
                                branch: None,
                            },
                            None => Action::ManageOrganisation {
                                region: s.region,
                                branch: Some(branch),
                            },
                        })
                    },
                    org,
                )
                .await
            }
            AppCommand::Staff { staff, command } => {
                let joining_scope = match &command {
                    staff::Command::Join { scope, .. } => Some(*scope),
                    _ => None,
                };
                // What the command gives: a role in a scope (hiring, a role change) or a scope
                // (a move, same role).
                let grants = match &command {
                    staff::Command::Join { role, scope, .. }
                    | staff::Command::ChangeRole { role, scope, .. } => Some((Some(*role), *scope)),
                    staff::Command::Move { to, .. } => Some((None, *to)),
                    staff::Command::Leave { .. } | staff::Command::RevokeTokens { .. } => None,
                };
                let revoking = matches!(command, staff::Command::RevokeTokens { .. });
                let policy = org.clone();
                self.run::<staff::Staff>(
                    env,
                    &staff,
                    command,
                    |s| {
                        if let Some((role, scope)) = grants {
                            if let Some(role) = role.or(s.role) {
                                crm_domain::auth::check_grant(&actor, role, scope, &policy)?;
                            }
                        }
                        let scope = joining_scope.or(s.scope);
                        let branch = scope.and_then(branch_of);
                        Ok(if revoking {
                            Action::RevokeTokens { staff, branch }
                        } else {
                            Action::ManageStaff { branch }
                        })
                    },
                    org,
                )
                .await
            }
            AppCommand::Interaction {
                interaction,
                command,
            } => {
                let customer = match &command {
                    interaction::Command::RecordContact { customer_id, .. }
                    | interaction::Command::RecordCareContact { customer_id, .. }
                    | interaction::Command::PlanVisit { customer_id, .. } => Some(*customer_id),
                    _ => {
                        self.load::<interaction::Interaction>(&stream_of::<
                            interaction::Interaction,
                        >(
                            &interaction
                        )?)?
                        .0
                        .customer_id
                    }
                };
                let target = self.customer_target(customer)?;
                self.run::<interaction::Interaction>(
                    env,
                    &interaction,
                    command,
                    |_| Ok(Action::RecordInteraction(target)),
                    org,
                )
                .await
            }
            AppCommand::Opportunity {
                opportunity,
                command,
            } => {
                let (customer, owner) = match &command {
                    opportunity::Command::CreateLead {
                        customer_id, owner, ..
                    } => (Some(*customer_id), Some(*owner)),
                    _ => {
                        let (s, _) = self.load::<opportunity::Opportunity>(&stream_of::<
                            opportunity::Opportunity,
                        >(
                            &opportunity
                        )?)?;
                        (s.customer_id, s.owner)
                    }
                };
                let target = self.customer_target(customer)?;
                if customer.is_some() {
                    // A lead is about one customer: only a caller who may read them.
                    authorize(&actor, &Action::ReadCustomer(target), org)?;
                }
                let owner = owner.unwrap_or(actor.staff_id);
                self.run::<opportunity::Opportunity>(
                    env,
                    &opportunity,
                    command,
                    |_| {
                        Ok(Action::ManageOpportunity {
                            owner,
                            branch: target.branch,
                        })
                    },
                    org,
                )
                .await
            }
            AppCommand::Campaign { campaign, command } => {
                self.campaign(env, campaign, command, org).await
            }
            AppCommand::Segment { segment, command } => {
                self.segment(env, segment, command, org).await
            }
            AppCommand::Product { product, command } => {
                self.run::<product::Product>(
                    env,
                    &product,
                    command,
                    |_| Ok(Action::ManageProducts),
                    org,
                )
                .await
            }
            AppCommand::Article { article, command } => {
                let branch = match &command {
                    article::Command::Publish { audience, .. } => *audience,
                    _ => None,
                };
                self.run::<article::Article>(
                    env,
                    &article,
                    command,
                    |_| Ok(Action::PublishContent { branch }),
                    org,
                )
                .await
            }
            AppCommand::Access { staff, command } => {
                if staff != actor.staff_id {
                    return Err(validation(
                        "staff",
                        "an access log records its own staff member's views",
                    ));
                }
                if let access::Command::RecordLookup { found, .. } = &command {
                    // A lookup records only customers the sender may read.
                    for customer in found {
                        let target = self.customer_target(Some(*customer))?;
                        crm_domain::auth::authorize(&actor, &Action::ReadCustomer(target), org)?;
                    }
                    return self
                        .run::<access::AccessLog>(
                            env,
                            &staff,
                            command,
                            |_| Ok(Action::LookupCustomer),
                            org,
                        )
                        .await;
                }
                let access::Command::RecordPiiView { customer_id, .. } = command.clone() else {
                    return Err(validation(
                        "command",
                        "duplicate identities are recorded by the command side only",
                    ));
                };
                // Only views of a customer the sender may read can be recorded.
                let target = self.customer_target(Some(customer_id))?;
                self.run::<access::AccessLog>(
                    env,
                    &staff,
                    command,
                    |_| Ok(Action::ReadCustomer(target)),
                    org,
                )
                .await
            }
            AppCommand::Rules { rule_set, command } => {
                // Rules are signed by real people: the directory must back the sender's
                // credentials now (joined, not left, still an operator), and versions live in
                // the company's one rule set.
                let (standing, company) = {
                    let mut directory = self.directory.lock().await;
                    directory.sync()?;
                    (directory.standing(&actor.staff_id), directory.rule_set())
                };
                crm_domain::auth::check_standing(&actor, standing.as_ref())?;
                if matches!(command, rules::Command::Propose { .. }) {
                    rules::check_rule_set(company, rule_set)?;
                }
                let action = match &command {
                    rules::Command::Propose { .. } => Action::ProposeRules,
                    _ => Action::ApproveRules,
                };
                self.run::<rules::RuleSet>(
                    env,
                    &rule_set,
                    command,
                    move |_| Ok(action.clone()),
                    org,
                )
                .await
            }
            AppCommand::Deposit { account, command } => {
                self.deposit(env, account, command, org).await
            }
            AppCommand::Loan { loan, command } => self.loan(env, loan, command, org).await,
            AppCommand::BankServices { customer, command } => {
                self.bank_services(env, customer, command, org).await
            }
            AppCommand::FeeIncome { customer, command } => {
                self.fee_income(env, customer, command, org).await
            }
            AppCommand::Appraisal { period, command } => {
                // Pay follows a seal: both signatures are real people the directory backs
                // now, as for rules.
                let standing = {
                    let mut directory = self.directory.lock().await;
                    directory.sync()?;
                    directory.standing(&actor.staff_id)
                };
                crm_domain::auth::check_standing(&actor, standing.as_ref())?;
                let by = match &command {
                    crm_domain::appraisal::Command::ProposeSeal { by, .. }
                    | crm_domain::appraisal::Command::ApproveSeal { by, .. } => *by,
                };
                if by != actor.staff_id {
                    return Err(validation(
                        "by",
                        "a seal is proposed or approved by its sender",
                    ));
                }
                self.run::<crm_domain::appraisal::Appraisal>(
                    env,
                    &period,
                    command,
                    |_| Ok(Action::SealAppraisal),
                    org,
                )
                .await
            }
        }
    }

    /// The organisation tree as of now.
    async fn org(&self) -> Result<OrgTree, AppError> {
        let mut directory = self.directory.lock().await;
        directory.sync()?;
        Ok(directory.org().clone())
    }

    async fn customer(
        &self,
        env: &CommandEnvelope,
        id: CustomerId,
        mut command: customer::Command,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        let actor = env.actor;
        if let customer::Command::ApproveTransfer { approver, .. }
        | customer::Command::RejectTransfer { approver, .. } = &command
        {
            if *approver != actor {
                return Err(validation("approver", "must be the sender of the command"));
            }
        }
        // Identity resolution must see every registration before it, so registrations and
        // profile changes run one at a time, under the directory's lock, caught up to the log.
        let identity_change = matches!(
            command,
            customer::Command::Register { .. } | customer::Command::UpdateProfile { .. }
        );
        let mut guard = None;
        let mut section = None;
        if identity_change {
            // The lock is held across the append, so in an ordered load it is taken in turn.
            crm_eventstore::wait_for_turn().await;
            // With several nodes on one log of record, the same across nodes: the section
            // waits for every other node's identity change and for the local copy to hold it.
            section = Some(self.appender.enter(IDENTITY_SECTION).await?);
            let mut directory = self.directory.lock().await;
            directory.sync()?;
            match &mut command {
                customer::Command::Register {
                    customer_id,
                    profile,
                    existing_customer_with_same_document,
                    ..
                } => {
                    if *customer_id != id {
                        return Err(validation(
                            "customerId",
                            "differs from the command's target customer",
                        ));
                    }
                    *existing_customer_with_same_document =
                        directory.customer_with_document(&profile.document);
                }
                customer::Command::UpdateProfile {
                    profile,
                    existing_customer_with_same_document,
                    ..
                } => {
                    *existing_customer_with_same_document = directory
                        .customer_with_document(&profile.document)
                        .filter(|other| *other != id);
                }
                _ => {}
            }
            guard = Some(directory);
        }
        // A product's risk level is the catalogue's, never the request's: the suitability
        // check below must compare the customer with what the product really is.
        if let customer::Command::RecommendProduct {
            product_id,
            product_risk,
            ..
        }
        | customer::Command::RecordProductSale {
            product_id,
            product_risk,
            ..
        } = &mut command
        {
            let (product, _) =
                self.load::<product::Product>(&stream_of::<product::Product>(product_id)?)?;
            let catalogue = product
                .risk
                .ok_or(DomainError::NotFound { entity: "product" })?;
            if *product_risk != catalogue {
                return Err(validation(
                    "productRisk",
                    &format!(
                        "the catalogue rates product {product_id} {catalogue:?}, the request \
                         says {product_risk:?}"
                    ),
                ));
            }
            *product_risk = catalogue;
        }
        let kind = match &command {
            customer::Command::Register { .. } => CustomerAction::Register,
            customer::Command::Assign { to, .. }
            | customer::Command::Reassign { to, .. }
            | customer::Command::RequestTransfer { to, .. } => CustomerAction::Assign {
                to_branch: to.branch,
            },
            customer::Command::ApproveTransfer { .. }
            | customer::Command::RejectTransfer { .. } => CustomerAction::DecideTransfer,
            customer::Command::RecordSuitability { .. } => CustomerAction::AssessSuitability,
            customer::Command::MarkChurned { .. } => CustomerAction::RecordChurn,
            customer::Command::RecordExternalFact { .. } => CustomerAction::RecordBankFacts,
            customer::Command::FlagAtRisk { .. } | customer::Command::ClearAtRiskFlag { .. } => {
                CustomerAction::FlagAtRisk
            }
            customer::Command::MergeInto { .. } | customer::Command::AbsorbMerged { .. } => {
                return Err(validation(
                    "command",
                    "merges are sent as MergeCustomers, which records both halves",
                ));
            }
            _ => CustomerAction::Update,
        };
        let outcome = self
            .run::<customer::Customer>(
                env,
                &id,
                command,
                |state| {
                    let target = target_of(state);
                    Ok(match kind {
                        CustomerAction::Register => Action::RegisterCustomer {
                            branch: home_branch(&actor),
                        },
                        CustomerAction::Update => Action::UpdateCustomer(target),
                        CustomerAction::AssessSuitability => Action::AssessSuitability(target),
                        CustomerAction::RecordChurn => Action::RecordChurn(target),
                        CustomerAction::RecordBankFacts => Action::RecordBankFacts,
                        CustomerAction::FlagAtRisk => Action::FlagAtRisk(target),
                        CustomerAction::Assign { to_branch } => Action::AssignCustomer {
                            customer: target,
                            to_branch,
                        },
                        CustomerAction::DecideTransfer => match &state.pending_transfer {
                            Some(request) => Action::ApproveTransfer {
                                to_branch: request.to.branch,
                            },
                            None => {
                                return Err(DomainError::NotFound {
                                    entity: "pending transfer",
                                }
                                .into())
                            }
                        },
                    })
                },
                org,
            )
            .await;
        if let Some(mut directory) = guard {
            directory.sync()?;
        }
        // The section ends after the append (its copy is local by now).
        drop(section);
        outcome
    }

    async fn merge(
        &self,
        env: &CommandEnvelope,
        survivor: CustomerId,
        merged: CustomerId,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        let survivor_stream = stream_of::<customer::Customer>(&survivor)?;
        let merged_stream = stream_of::<customer::Customer>(&merged)?;
        // A retried merge: both halves already recorded under this command id.
        if let Some(done) = self.already_handled(env, &survivor_stream, Part::Further)? {
            return Ok(done);
        }
        let (survivor_state, _) = self.load::<customer::Customer>(&survivor_stream)?;
        let (merged_state, _) = self.load::<customer::Customer>(&merged_stream)?;
        let action = Action::MergeCustomers {
            survivor: target_of(&survivor_state),
            merged: target_of(&merged_state),
        };
        authorize(&env.actor, &action, org)?;
        let first = match self.already_handled(env, &merged_stream, Part::First)? {
            // The duplicate was merged but the survivor not yet updated (a crash in between):
            // finish the merge from the recorded half.
            Some(done) => done,
            None => {
                let (_, merge_into) =
                    customer::plan_merge(&survivor_state, &merged_state, env.occurred_at)?;
                self.run::<customer::Customer>(
                    env,
                    &merged,
                    merge_into,
                    |_| Ok(action.clone()),
                    org,
                )
                .await?
            }
        };
        // Plan the survivor's half from the merged customer as it is now.
        let (merged_now, _) = self.load::<customer::Customer>(&merged_stream)?;
        let accounts = merged_now
            .accounts
            .iter()
            .filter(|(_, a)| a.is_open())
            .map(|(id, a)| (*id, a.clone()))
            .collect();
        let absorb = customer::Command::AbsorbMerged {
            merged,
            accounts,
            now: env.occurred_at,
        };
        // The survivor's half is the command's further append: the command id's first event is
        // the merged customer's.
        let second = self
            .run_part::<customer::Customer>(
                env,
                &survivor,
                absorb,
                |_| Ok(action.clone()),
                org,
                Part::Further,
            )
            .await?;
        self.directory.lock().await.sync()?;
        let mut events = first.events;
        events.extend(second.events);
        Ok(CommandOutcome {
            position: second.position.max(first.position),
            events,
            already_handled: false,
        })
    }

    pub(crate) fn customer_target(
        &self,
        customer: Option<CustomerId>,
    ) -> Result<CustomerTarget, AppError> {
        match customer {
            None => Ok(CustomerTarget::default()),
            Some(id) => {
                let (state, _) =
                    self.load::<customer::Customer>(&stream_of::<customer::Customer>(&id)?)?;
                if state.id.is_none() {
                    return Err(DomainError::NotFound { entity: "customer" }.into());
                }
                Ok(target_of(&state))
            }
        }
    }

    /// Runs a command's (first and only) append: see [`App::run_part`].
    pub(crate) async fn run<A: Aggregate>(
        &self,
        env: &CommandEnvelope,
        id: &impl StreamId,
        command: A::Command,
        action: impl Fn(&A::State) -> Result<Action, AppError>,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError>
    where
        A::Command: Clone,
        A::State: Send + Sync + 'static,
    {
        self.run_part::<A>(env, id, command, action, org, Part::First)
            .await
    }

    /// Loads, authorizes, decides and appends one part of a command, re-deciding after a
    /// concurrent change; a command id handled before is answered with its first result.
    pub(crate) async fn run_part<A: Aggregate>(
        &self,
        env: &CommandEnvelope,
        id: &impl StreamId,
        command: A::Command,
        action: impl Fn(&A::State) -> Result<Action, AppError>,
        org: &OrgTree,
        part: Part,
    ) -> Result<CommandOutcome, AppError>
    where
        A::Command: Clone,
        A::State: Send + Sync + 'static,
    {
        let stream = stream_of::<A>(id)?;
        if let Some(done) = self.already_handled(env, &stream, part)? {
            return Ok(done);
        }
        let actor = &env.actor;
        for _ in 0..RETRIES_MAX {
            // A journal is decided from nothing and appended anywhere (`Aggregate::JOURNAL`).
            let (state, revision) = if A::JOURNAL {
                (A::State::default(), None)
            } else {
                self.load::<A>(&stream)?
            };
            let state = self.recall::<A>(&stream, state, &command)?;
            let keep = |state: A::State| {
                if let Some(r) = revision {
                    self.cache.put(stream.as_str(), state, r);
                }
            };
            let decided = match action(&state)
                .and_then(|a| authorize(actor, &a, org).map_err(AppError::from))
                .and_then(|()| A::decide(&state, command.clone()).map_err(AppError::from))
            {
                Ok(decided) => decided,
                Err(e) => {
                    keep(state);
                    return Err(e);
                }
            };
            if decided.is_empty() {
                keep(state);
                return Ok(CommandOutcome {
                    position: self.store.head().0,
                    events: vec![],
                    already_handled: false,
                });
            }
            let metadata = EventMetadata {
                actor: format!("staff-{}", env.actor.staff_id),
                occurred_at: env.occurred_at,
                correlation_id: Some(env.correlation_id.unwrap_or(env.command_id)),
                causation_id: env.causation_id,
                command_id: Some(env.command_id),
            };
            let events = decided
                .iter()
                .enumerate()
                .map(|(i, e)| {
                    crm_codec::encode(
                        e,
                        append_event_id(env.command_id, &stream, i as u32, part),
                        metadata.clone(),
                    )
                })
                .collect::<Result<Vec<NewEvent>, _>>()?;
            let expected = match revision {
                _ if A::JOURNAL => ExpectedRevision::Any,
                Some(r) => ExpectedRevision::Exact(r),
                None => ExpectedRevision::NoStream,
            };
            match self.appender.append(&stream, expected, events).await {
                Ok(result) => {
                    // A journal's state is never kept: it was decided from nothing.
                    if !result.already_stored && !A::JOURNAL {
                        let next = decided.iter().fold(state, A::evolve);
                        self.cache
                            .put(stream.as_str(), next, result.stream_revision);
                    }
                    let first_revision = result.stream_revision + 1 - decided.len() as u64;
                    let events = decided
                        .iter()
                        .enumerate()
                        .map(|(i, e)| CommittedEvent {
                            stream: stream.to_string(),
                            event_type: e.event_type().to_string(),
                            position: result.first_position.0 + i as u64,
                            revision: first_revision + i as u64,
                        })
                        .collect();
                    return Ok(CommandOutcome {
                        position: result.last_position.0,
                        events,
                        already_handled: result.already_stored,
                    });
                }
                Err(StoreError::WrongExpectedRevision { .. }) => {
                    tracing::debug!(%stream, "stream changed while deciding; deciding again");
                    // Another node's write may not be in the local copy yet: wait for it, or
                    // the next load would decide from the same old state.
                    self.appender.settle().await?;
                }
                Err(StoreError::EventIdConflict { .. } | StoreError::PartiallyStored { .. }) => {
                    return Err(AppError::CommandIdReused {
                        command_id: env.command_id,
                        stream: stream.to_string(),
                    });
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(AppError::Contention {
            stream: stream.to_string(),
            attempts: RETRIES_MAX,
        })
    }
}

pub(crate) fn validation(field: &'static str, reason: &str) -> AppError {
    DomainError::Validation {
        field,
        reason: reason.into(),
    }
    .into()
}

/// The stream of aggregate `A`'s instance `id`.
pub fn stream_of<A: Aggregate>(id: &impl StreamId) -> Result<StreamName, AppError> {
    Ok(StreamName::parse(crm_domain::stream_name(A::CATEGORY, id))?)
}

fn target_of(state: &customer::State) -> CustomerTarget {
    match &state.assignment {
        Some(a) => CustomerTarget {
            branch: Some(a.branch),
            manager: a.manager,
            team: a.team,
        },
        None => CustomerTarget::default(),
    }
}

fn branch_of(scope: Scope) -> Option<BranchId> {
    match scope {
        Scope::Branch { branch } | Scope::Book { branch, .. } => Some(branch),
        Scope::Company | Scope::Region { .. } => None,
    }
}

/// The branch a new customer registered by `actor` belongs to: the actor's own. HQ may
/// register anywhere; the placeholder branch only reaches `authorize` for HQ, which allows it.
fn home_branch(actor: &Actor) -> BranchId {
    branch_of(actor.scope).unwrap_or_else(|| BranchId::from(Uuid::nil()))
}

/// What a customer command asks permission for, known before the state is loaded.
#[derive(Debug, Clone, Copy)]
enum CustomerAction {
    Register,
    Update,
    AssessSuitability,
    RecordChurn,
    /// Imported external facts (征信 / 工商 / 税务): the import role's.
    RecordBankFacts,
    FlagAtRisk,
    Assign {
        to_branch: BranchId,
    },
    DecideTransfer,
}
