//! Who is asking (`me`) and refetching any object by its global id (`node`).

use async_graphql::{Context, Enum, Interface, Object, ID};
use crm_domain::auth::{Actor, Role, Scope};
use crm_eventstore::Position;
use uuid::Uuid;

use super::customers::Customer;
use super::eventlog::{EventNode, LogStatus, VerifyReportNode};
use super::scalars::{global_id, parse_global_id};
use super::{caller, require_history, store};
use crate::error::{gql, ApiError};

/// A staff member's role (岗位).
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(remote = "crm_domain::auth::Role", name = "Role")]
pub enum RoleKind {
    /// 总部
    Headquarters,
    /// 分公司 / 地区负责人
    RegionManager,
    /// 营业部负责人
    BranchManager,
    /// 客户经理
    CustomerManager,
    /// 经纪人
    Broker,
    /// 坐席 / 客服
    ServiceAgent,
    /// 审计
    Auditor,
    /// 运维 / 管理员
    Operator,
}

/// Which part of the organisation a scope covers.
#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
pub enum ScopeKind {
    Company,
    Region,
    Branch,
    /// A customer manager's or broker's own book.
    Book,
}

/// The part of the organisation an actor works in.
#[derive(Debug, Clone, Copy)]
pub struct ScopeView(Scope);

#[Object(name = "Scope")]
impl ScopeView {
    async fn kind(&self) -> ScopeKind {
        match self.0 {
            Scope::Company => ScopeKind::Company,
            Scope::Region { .. } => ScopeKind::Region,
            Scope::Branch { .. } => ScopeKind::Branch,
            Scope::Book { .. } => ScopeKind::Book,
        }
    }

    async fn region_id(&self) -> Option<Uuid> {
        match self.0 {
            Scope::Region { region } => Some(region.as_uuid()),
            _ => None,
        }
    }

    async fn branch_id(&self) -> Option<Uuid> {
        match self.0 {
            Scope::Branch { branch } | Scope::Book { branch, .. } => Some(branch.as_uuid()),
            _ => None,
        }
    }

    async fn team_id(&self) -> Option<Uuid> {
        match self.0 {
            Scope::Book { team, .. } => team.map(|t| t.as_uuid()),
            _ => None,
        }
    }
}

/// A member of staff as the token describes them.
#[derive(Debug, Clone, Copy)]
pub struct Staff(pub Actor);

#[Object]
impl Staff {
    pub async fn id(&self) -> ID {
        global_id("Staff", self.0.staff_id)
    }

    async fn staff_id(&self) -> Uuid {
        self.0.staff_id.as_uuid()
    }

    async fn role(&self) -> RoleKind {
        let role: Role = self.0.role;
        role.into()
    }

    async fn scope(&self) -> ScopeView {
        ScopeView(self.0.scope)
    }
}

/// An object with a global id, refetchable with `node(id:)`.
#[derive(Interface)]
#[graphql(field(name = "id", ty = "ID"))]
pub enum Node {
    Event(EventNode),
    Staff(Staff),
    LogStatus(LogStatus),
    LogVerification(VerifyReportNode),
    Customer(Customer),
}

#[derive(Default, Debug)]
pub struct SystemQuery;

#[Object]
impl SystemQuery {
    /// The caller: staff id, role and scope from the bearer token.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Staff> {
        Ok(Staff(*caller(ctx).map_err(gql)?))
    }

    /// Any object by its global id. Each kind is authorized as its own query is; a customer
    /// the caller may not read is null, as one that does not exist.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Node>> {
        node(ctx, id).await.map_err(gql)
    }
}

async fn node(ctx: &Context<'_>, id: ID) -> Result<Option<Node>, ApiError> {
    let actor = *caller(ctx)?;
    let Some((kind, local)) = parse_global_id(&id) else {
        return Err(ApiError::validation("id", "not a global id"));
    };
    match kind.as_str() {
        "Staff" => {
            // Only the caller's own record exists here until the staff directory does.
            let own = actor.staff_id.to_string() == local;
            Ok(own.then_some(Node::Staff(Staff(actor))))
        }
        "Event" => {
            require_history(&actor)?;
            let position = local
                .parse::<u64>()
                .map_err(|_| ApiError::validation("id", "not an event id"))?;
            let store = store(ctx)?.clone();
            if position == 0 || position > store.head().0 {
                return Ok(None);
            }
            let event =
                tokio::task::spawn_blocking(move || store.read_position(Position(position)))
                    .await
                    .map_err(|e| ApiError::Internal(format!("joining a read: {e}")))??;
            Ok(Some(Node::Event(EventNode(event))))
        }
        "LogStatus" => {
            require_history(&actor)?;
            Ok(Some(Node::LogStatus(LogStatus)))
        }
        "Customer" => {
            let id = uuid::Uuid::parse_str(&local)
                .map(crm_domain::ids::CustomerId::from)
                .map_err(|_| ApiError::validation("id", "not a customer id"))?;
            super::customer_list::customer_by_id(ctx, &actor, id).map(|c| c.map(Node::Customer))
        }
        // A verification is a result computed on request, not a stored object.
        "LogVerification" => Ok(None),
        _ => Err(ApiError::validation("id", "unknown kind of object")),
    }
}
