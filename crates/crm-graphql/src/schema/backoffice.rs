//! Mutations of the organisation (regions, branches, service points, teams, staff), the
//! product catalogue, accounts and group customers, and the back-office feeds (daily trade
//! summaries, market totals). Thin translations into `AppCommand`s sent as the caller; the
//! command layer authorizes (HQ, region and branch managers within their part of the
//! organisation, back-office feeds for operators and HQ).

use async_graphql::{Context, Enum, InputObject, Object, OneofObject, ID};
use crm_app::AppCommand;
use crm_domain::account::{self, DailyTradeSummary, HoldingLine, TurnoverLine};
use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::customer::{self, AccountKind};
use crm_domain::ids::{
    AccountId, BranchId, CustomerId, ProductId, RegionId, ServicePointId, StaffId, TeamId,
};
use crm_domain::market::{self, MarketTotals};
use crm_domain::values::{OrgName, PersonName, ShortText};
use crm_domain::{branch, product, region, staff};
use uuid::Uuid;

use super::commands::{
    customer_command, date, money, now, run, run_creating, text, uuid, CommandResult, NewIds,
    ProductRiskInput,
};
use super::readside::read_models;
use crate::ApiError;

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::branch::BranchKind")]
pub enum BranchKindInput {
    BrokerageBranch,
    BankOutlet,
    CreditCooperative,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::product::ProductKind")]
pub enum ProductKindInput {
    StockTrading,
    Fund,
    Bond,
    WealthManagement,
    MarginTrading,
    Options,
    Deposit,
    Insurance,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::values::Market")]
pub enum MarketInput {
    Shanghai,
    Shenzhen,
    Beijing,
    HongKongConnect,
    OverTheCounter,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::account::SecurityType")]
pub enum SecurityTypeInput {
    Stock,
    Fund,
    Bond,
    Repo,
    Margin,
    Option,
    WealthProduct,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::account::TradeChannel")]
pub enum TradeChannelInput {
    Counter,
    Phone,
    Internet,
    Mobile,
    SelfService,
    Api,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::account::AssetClass")]
pub enum AssetClassInput {
    Cash,
    Stocks,
    Funds,
    Bonds,
    WealthProducts,
    Other,
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::auth::Role")]
pub enum RoleInput {
    Headquarters,
    RegionManager,
    BranchManager,
    CustomerManager,
    Broker,
    ServiceAgent,
    Auditor,
    Operator,
}

/// Where a staff member works: exactly one of company, region, branch or book.
#[derive(OneofObject, Debug)]
pub enum ScopeInput {
    Company(bool),
    RegionId(ID),
    BranchId(ID),
    Book(BookInput),
}

/// A customer manager's or broker's book: a branch and optionally a team.
#[derive(InputObject, Debug)]
pub struct BookInput {
    pub branch_id: ID,
    pub team_id: Option<ID>,
}

impl ScopeInput {
    fn parse(&self) -> Result<Scope, ApiError> {
        Ok(match self {
            ScopeInput::Company(_) => Scope::Company,
            ScopeInput::RegionId(r) => Scope::Region {
                region: RegionId::from(uuid("scope.regionId", r)?),
            },
            ScopeInput::BranchId(b) => Scope::Branch {
                branch: BranchId::from(uuid("scope.branchId", b)?),
            },
            ScopeInput::Book(book) => Scope::Book {
                branch: BranchId::from(uuid("scope.book.branchId", &book.branch_id)?),
                team: book
                    .team_id
                    .as_ref()
                    .map(|t| uuid("scope.book.teamId", t).map(TeamId::from))
                    .transpose()?,
            },
        })
    }
}

/// The kind of an account: exactly one.
#[derive(OneofObject, Debug)]
pub enum AccountKindInput {
    /// 资金账户
    Fund(bool),
    /// 证券账户 on a market
    Securities(MarketInput),
    /// 信用账户 (margin)
    Credit(bool),
}

impl From<&AccountKindInput> for AccountKind {
    fn from(k: &AccountKindInput) -> Self {
        match k {
            AccountKindInput::Fund(_) => AccountKind::Fund,
            AccountKindInput::Securities(m) => AccountKind::Securities {
                market: (*m).into(),
            },
            AccountKindInput::Credit(_) => AccountKind::Credit,
        }
    }
}

#[derive(InputObject, Debug)]
pub struct TurnoverLineInput {
    pub market: MarketInput,
    pub security_type: SecurityTypeInput,
    pub channel: TradeChannelInput,
    /// Yuan, up to 4 decimals.
    pub amount: String,
}

#[derive(InputObject, Debug)]
pub struct HoldingLineInput {
    pub asset_class: AssetClassInput,
    pub market_value: String,
}

/// One account's figures for one trade date (日终数据), as the back office sends them.
#[derive(InputObject, Debug)]
pub struct DailyTradeSummaryInput {
    pub account_id: ID,
    pub customer_id: ID,
    /// YYYY-MM-DD.
    pub trade_date: String,
    pub turnover: Vec<TurnoverLineInput>,
    pub commission: String,
    pub deposits: String,
    pub withdrawals: String,
    pub end_of_day_assets: String,
    pub holdings: Vec<HoldingLineInput>,
    pub realised_pnl: String,
    pub unrealised_pnl: String,
    /// A correction of a summary already recorded for that date.
    #[graphql(default)]
    pub correction: bool,
}

fn region_command(id: &ID, command: region::Command) -> Result<AppCommand, ApiError> {
    Ok(AppCommand::Region {
        region: RegionId::from(uuid("regionId", id)?),
        command,
    })
}

fn branch_command(id: &ID, command: branch::Command) -> Result<AppCommand, ApiError> {
    Ok(AppCommand::Branch {
        branch: BranchId::from(uuid("branchId", id)?),
        command,
    })
}

fn staff_command(id: &ID, command: staff::Command) -> Result<AppCommand, ApiError> {
    Ok(AppCommand::Staff {
        staff: StaffId::from(uuid("staffId", id)?),
        command,
    })
}

fn product_command(id: &ID, command: product::Command) -> Result<AppCommand, ApiError> {
    Ok(AppCommand::Product {
        product: ProductId::from(uuid("productId", id)?),
        command,
    })
}

/// The id the caller gave in `field`, or else the one minted from the command id.
fn new_or(field: &str, id: Option<&ID>, minted: Uuid) -> Result<Uuid, ApiError> {
    id.map_or(Ok(minted), |i| uuid(field, i))
}

fn count(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Waits until the read models have applied everything committed so far, so a count taken
/// from them includes the caller's own earlier writes.
async fn caught_up(ctx: &Context<'_>) -> Result<(), ApiError> {
    let head = super::store(ctx)?.head().0;
    super::readside::reach(ctx, Some(super::scalars::Long(head))).await
}

#[derive(Default, Debug)]
pub struct BackOfficeMutation;

#[Object]
impl BackOfficeMutation {
    /// 设立分公司 / 区域: establish a region.
    async fn establish_region(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        region_id: Option<ID>,
        name: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let id = RegionId::from(new_or(
                "regionId",
                region_id.as_ref(),
                new.of::<region::Region>(),
            )?);
            Ok(AppCommand::Region {
                region: id,
                command: region::Command::Establish {
                    region_id: id,
                    name: text("name", &name, OrgName::parse)?,
                    now: now(),
                },
            })
        })
        .await
    }

    async fn rename_region(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        region_id: ID,
        name: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = region::Command::Rename {
                name: text("name", &name, OrgName::parse)?,
                now: now(),
            };
            region_command(&region_id, command)
        })
        .await
    }

    /// Close a region; refused while it still has open branches (counted in the read models).
    async fn close_region(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        region_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        caught_up(ctx).await.map_err(crate::error::gql)?;
        let open = read_models(ctx)
            .map(|models| {
                let region = uuid("regionId", &region_id).map(RegionId::from);
                models.read(|m, _| {
                    region.map(|r| crm_projections::views::open_branches_in_region(m, r))
                })
            })
            .and_then(|r| r);
        run(ctx, command_id, move |_: &Actor| {
            let command = region::Command::Close {
                open_branch_count: count(open?),
                now: now(),
            };
            region_command(&region_id, command)
        })
        .await
    }

    /// 开设营业部: open a branch in a region.
    async fn open_branch(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: Option<ID>,
        region_id: ID,
        name: String,
        kind: BranchKindInput,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let id = BranchId::from(new_or(
                "branchId",
                branch_id.as_ref(),
                new.of::<branch::Branch>(),
            )?);
            Ok(AppCommand::Branch {
                branch: id,
                command: branch::Command::Open {
                    branch_id: id,
                    region_id: RegionId::from(uuid("regionId", &region_id)?),
                    name: text("name", &name, OrgName::parse)?,
                    kind: kind.into(),
                    now: now(),
                },
            })
        })
        .await
    }

    async fn rename_branch(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: ID,
        name: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = branch::Command::Rename {
                name: text("name", &name, OrgName::parse)?,
                now: now(),
            };
            branch_command(&branch_id, command)
        })
        .await
    }

    async fn move_branch_to_region(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: ID,
        region_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = branch::Command::MoveToRegion {
                region_id: RegionId::from(uuid("regionId", &region_id)?),
                now: now(),
            };
            branch_command(&branch_id, command)
        })
        .await
    }

    /// 服务网点: add a service point to a branch.
    async fn add_service_point(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: ID,
        service_point_id: Option<ID>,
        name: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let command = branch::Command::AddServicePoint {
                service_point_id: ServicePointId::from(new_or(
                    "servicePointId",
                    service_point_id.as_ref(),
                    new.part("service-point"),
                )?),
                name: text("name", &name, OrgName::parse)?,
                now: now(),
            };
            branch_command(&branch_id, command)
        })
        .await
    }

    async fn close_service_point(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: ID,
        service_point_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = branch::Command::CloseServicePoint {
                service_point_id: ServicePointId::from(uuid("servicePointId", &service_point_id)?),
                now: now(),
            };
            branch_command(&branch_id, command)
        })
        .await
    }

    /// 组建团队: form a team in a branch, optionally with its lead.
    async fn form_team(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: ID,
        team_id: Option<ID>,
        name: String,
        lead: Option<ID>,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let command = branch::Command::FormTeam {
                team_id: TeamId::from(new_or("teamId", team_id.as_ref(), new.part("team"))?),
                name: text("name", &name, OrgName::parse)?,
                lead: lead
                    .as_ref()
                    .map(|l| uuid("lead", l).map(StaffId::from))
                    .transpose()?,
                now: now(),
            };
            branch_command(&branch_id, command)
        })
        .await
    }

    async fn change_team_lead(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: ID,
        team_id: ID,
        lead: Option<ID>,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = branch::Command::ChangeTeamLead {
                team_id: TeamId::from(uuid("teamId", &team_id)?),
                lead: lead
                    .as_ref()
                    .map(|l| uuid("lead", l).map(StaffId::from))
                    .transpose()?,
                now: now(),
            };
            branch_command(&branch_id, command)
        })
        .await
    }

    async fn dissolve_team(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: ID,
        team_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = branch::Command::DissolveTeam {
                team_id: TeamId::from(uuid("teamId", &team_id)?),
                now: now(),
            };
            branch_command(&branch_id, command)
        })
        .await
    }

    /// Close a branch; refused while customers are still assigned to it (counted in the read
    /// models).
    async fn close_branch(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        branch_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        caught_up(ctx).await.map_err(crate::error::gql)?;
        let assigned = read_models(ctx)
            .map(|models| {
                let branch = uuid("branchId", &branch_id).map(BranchId::from);
                models
                    .read(|m, _| branch.map(|b| crm_projections::views::customers_in_branch(m, b)))
            })
            .and_then(|r| r);
        run(ctx, command_id, move |_: &Actor| {
            let command = branch::Command::Close {
                assigned_customer_count: count(assigned?),
                now: now(),
            };
            branch_command(&branch_id, command)
        })
        .await
    }

    /// 员工入职: a staff member joins with a role and where they work.
    async fn join_staff(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        staff_id: Option<ID>,
        name: String,
        role: RoleInput,
        scope: ScopeInput,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let id = StaffId::from(new_or(
                "staffId",
                staff_id.as_ref(),
                new.of::<staff::Staff>(),
            )?);
            Ok(AppCommand::Staff {
                staff: id,
                command: staff::Command::Join {
                    staff_id: id,
                    name: text("name", &name, PersonName::parse)?,
                    role: Role::from(role),
                    scope: scope.parse()?,
                    now: now(),
                },
            })
        })
        .await
    }

    /// 调岗: move a staff member to another part of the organisation.
    async fn move_staff(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        staff_id: ID,
        to: ScopeInput,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = staff::Command::Move {
                to: to.parse()?,
                now: now(),
            };
            staff_command(&staff_id, command)
        })
        .await
    }

    async fn change_staff_role(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        staff_id: ID,
        role: RoleInput,
        scope: ScopeInput,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = staff::Command::ChangeRole {
                role: Role::from(role),
                scope: scope.parse()?,
                now: now(),
            };
            staff_command(&staff_id, command)
        })
        .await
    }

    /// 离职: a staff member leaves.
    async fn leave_staff(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        staff_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = staff::Command::Leave {
                reason: text("reason", &reason, ShortText::parse)?,
                now: now(),
            };
            staff_command(&staff_id, command)
        })
        .await
    }

    /// Revokes every token issued to the staff member until now (a lost device, a suspected
    /// leak, signing out everywhere): the API refuses them from the next request on, and their
    /// WebSockets close (4403) at their next operation. The staff member themselves, or whoever
    /// manages them.
    async fn revoke_staff_tokens(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        staff_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = staff::Command::RevokeTokens {
                reason: text("reason", &reason, ShortText::parse)?,
                now: now(),
            };
            staff_command(&staff_id, command)
        })
        .await
    }

    /// 产品上架: launch a product with its risk level (R1–R5).
    async fn launch_product(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        product_id: Option<ID>,
        name: String,
        kind: ProductKindInput,
        risk: ProductRiskInput,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let id = ProductId::from(new_or(
                "productId",
                product_id.as_ref(),
                new.of::<product::Product>(),
            )?);
            Ok(AppCommand::Product {
                product: id,
                command: product::Command::Launch {
                    product_id: id,
                    name: text("name", &name, OrgName::parse)?,
                    kind: kind.into(),
                    risk: risk.into(),
                    now: now(),
                },
            })
        })
        .await
    }

    async fn change_product_risk_level(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        product_id: ID,
        risk: ProductRiskInput,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = product::Command::ChangeRiskLevel {
                risk: risk.into(),
                reason: text("reason", &reason, ShortText::parse)?,
                now: now(),
            };
            product_command(&product_id, command)
        })
        .await
    }

    async fn withdraw_product(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        product_id: ID,
        reason: String,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = product::Command::Withdraw {
                reason: text("reason", &reason, ShortText::parse)?,
                now: now(),
            };
            product_command(&product_id, command)
        })
        .await
    }

    /// 开立账户: open a fund, securities or credit account for a customer.
    async fn open_account(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        account_id: Option<ID>,
        kind: AccountKindInput,
        number: String,
    ) -> async_graphql::Result<CommandResult> {
        run_creating(ctx, command_id, |_: &Actor, new: &NewIds| {
            let command = customer::Command::OpenAccount {
                account_id: AccountId::from(new_or(
                    "accountId",
                    account_id.as_ref(),
                    new.of::<account::Account>(),
                )?),
                kind: AccountKind::from(&kind),
                number: text("number", &number, ShortText::parse)?,
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    async fn close_account(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        account_id: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = customer::Command::CloseAccount {
                account_id: AccountId::from(uuid("accountId", &account_id)?),
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    /// 集团客户: mark or unmark a customer as a group.
    async fn mark_group_customer(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        is_group: bool,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = customer::Command::MarkGroupCustomer {
                is_group,
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    async fn link_group_member(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        member: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = customer::Command::LinkGroupMember {
                member: CustomerId::from(uuid("member", &member)?),
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    async fn unlink_group_member(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        customer_id: ID,
        member: ID,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let command = customer::Command::UnlinkGroupMember {
                member: CustomerId::from(uuid("member", &member)?),
                now: now(),
            };
            customer_command(&customer_id, command)
        })
        .await
    }

    /// 日终数据: one account's daily trade summary from the back office.
    async fn record_daily_trade_summary(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        summary: DailyTradeSummaryInput,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let s = &summary;
            let account_id = AccountId::from(uuid("summary.accountId", &s.account_id)?);
            let turnover = s
                .turnover
                .iter()
                .map(|l| {
                    Ok(TurnoverLine {
                        market: l.market.into(),
                        security_type: l.security_type.into(),
                        channel: l.channel.into(),
                        amount: money("summary.turnover.amount", &l.amount)?,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            let holdings = s
                .holdings
                .iter()
                .map(|h| {
                    Ok(HoldingLine {
                        asset_class: h.asset_class.into(),
                        market_value: money("summary.holdings.marketValue", &h.market_value)?,
                    })
                })
                .collect::<Result<Vec<_>, ApiError>>()?;
            Ok(AppCommand::Account {
                account: account_id,
                command: account::Command::RecordDailySummary {
                    account_id,
                    summary: DailyTradeSummary {
                        trade_date: date("summary.tradeDate", &s.trade_date)?,
                        customer_id: CustomerId::from(uuid("summary.customerId", &s.customer_id)?),
                        turnover,
                        commission: money("summary.commission", &s.commission)?,
                        deposits: money("summary.deposits", &s.deposits)?,
                        withdrawals: money("summary.withdrawals", &s.withdrawals)?,
                        end_of_day_assets: money("summary.endOfDayAssets", &s.end_of_day_assets)?,
                        holdings,
                        realised_pnl: money("summary.realisedPnl", &s.realised_pnl)?,
                        unrealised_pnl: money("summary.unrealisedPnl", &s.unrealised_pnl)?,
                    },
                    correction: s.correction,
                    now: now(),
                },
            })
        })
        .await
    }

    /// 市场成交额: a market's total turnover for a trade date (for market share).
    async fn record_market_totals(
        &self,
        ctx: &Context<'_>,
        command_id: Option<ID>,
        trade_date: String,
        market: MarketInput,
        turnover: String,
        #[graphql(default)] correction: bool,
    ) -> async_graphql::Result<CommandResult> {
        run(ctx, command_id, |_: &Actor| {
            let trade_date = date("tradeDate", &trade_date)?;
            Ok(AppCommand::Market {
                trade_date,
                command: market::Command::RecordMarketTotals {
                    trade_date,
                    market: market.into(),
                    totals: MarketTotals {
                        turnover: money("turnover", &turnover)?,
                    },
                    correction,
                    now: now(),
                },
            })
        })
        .await
    }
}
