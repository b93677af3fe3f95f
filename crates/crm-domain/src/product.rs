//! The product catalogue (产品), stream `product-<id>`: each product has a type and a risk
//! level R1–R5 used by the suitability check, and is launched, re-rated or withdrawn.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::ProductId;
use crate::risk::ProductRisk;
use crate::values::{OrgName, ShortText};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProductKind {
    /// 股票交易 (brokerage service itself)
    StockTrading,
    Fund,
    Bond,
    /// 理财产品
    WealthManagement,
    /// 融资融券
    MarginTrading,
    Options,
    /// 存款 (banks)
    Deposit,
    Insurance,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<ProductId>,
    pub name: Option<OrgName>,
    pub kind: Option<ProductKind>,
    pub risk: Option<ProductRisk>,
    pub withdrawn: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Launch {
        product_id: ProductId,
        name: OrgName,
        kind: ProductKind,
        risk: ProductRisk,
        now: OffsetDateTime,
    },
    ChangeRiskLevel {
        risk: ProductRisk,
        reason: ShortText,
        now: OffsetDateTime,
    },
    Withdraw {
        reason: ShortText,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    ProductLaunched {
        product_id: ProductId,
        name: OrgName,
        kind: ProductKind,
        risk: ProductRisk,
        at: OffsetDateTime,
    },
    ProductRiskLevelChanged {
        product_id: ProductId,
        from: ProductRisk,
        to: ProductRisk,
        reason: ShortText,
        at: OffsetDateTime,
    },
    ProductWithdrawn {
        product_id: ProductId,
        reason: ShortText,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Product, category: "product", id: product_id, events: [
    ProductLaunched, ProductRiskLevelChanged, ProductWithdrawn,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let (Some(product_id), Some(risk)) = (state.id, state.risk) else {
        return match command {
            Command::Launch {
                product_id,
                name,
                kind,
                risk,
                now,
            } => Ok(vec![Event::ProductLaunched {
                product_id,
                name,
                kind,
                risk,
                at: now,
            }]),
            _ => Err(DomainError::NotFound { entity: "product" }),
        };
    };
    match command {
        Command::Launch { .. } => Err(DomainError::AlreadyExists { entity: "product" }),
        _ if state.withdrawn => Err(DomainError::InvalidTransition {
            from: "withdrawn",
            command: "change a product",
        }),
        Command::ChangeRiskLevel {
            risk: to,
            reason,
            now,
        } => {
            if to == risk {
                return Ok(vec![]);
            }
            Ok(vec![Event::ProductRiskLevelChanged {
                product_id,
                from: risk,
                to,
                reason,
                at: now,
            }])
        }
        Command::Withdraw { reason, now } => Ok(vec![Event::ProductWithdrawn {
            product_id,
            reason,
            at: now,
        }]),
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::ProductLaunched {
            product_id,
            name,
            kind,
            risk,
            ..
        } => {
            state.id = Some(*product_id);
            state.name = Some(name.clone());
            state.kind = Some(*kind);
            state.risk = Some(*risk);
        }
        Event::ProductRiskLevelChanged { to, .. } => state.risk = Some(*to),
        Event::ProductWithdrawn { .. } => state.withdrawn = true,
    }
    state
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;
    use uuid::Uuid;

    use super::*;
    use crate::testing::given;

    const NOW: OffsetDateTime = datetime!(2024-03-01 10:00 +8);

    fn pid() -> ProductId {
        ProductId::from_uuid(Uuid::from_u128(1))
    }
    fn text(s: &str) -> ShortText {
        ShortText::parse(s).expect("valid")
    }
    fn launched() -> Event {
        Event::ProductLaunched {
            product_id: pid(),
            name: OrgName::parse("稳健增利债券基金").expect("valid"),
            kind: ProductKind::Fund,
            risk: ProductRisk::R2,
            at: NOW,
        }
    }

    #[test]
    fn it_launches_a_product_with_a_risk_level() {
        given::<Product>([])
            .when(Command::Launch {
                product_id: pid(),
                name: OrgName::parse("稳健增利债券基金").expect("valid"),
                kind: ProductKind::Fund,
                risk: ProductRisk::R2,
                now: NOW,
            })
            .then([launched()]);
    }

    #[test]
    fn it_re_rates_a_product() {
        given::<Product>([launched()])
            .when(Command::ChangeRiskLevel {
                risk: ProductRisk::R3,
                reason: text("more equity"),
                now: NOW,
            })
            .then([Event::ProductRiskLevelChanged {
                product_id: pid(),
                from: ProductRisk::R2,
                to: ProductRisk::R3,
                reason: text("more equity"),
                at: NOW,
            }]);
    }

    #[test]
    fn it_withdraws_a_product_and_then_refuses_changes() {
        let withdrawn = Event::ProductWithdrawn {
            product_id: pid(),
            reason: text("closed"),
            at: NOW,
        };
        given::<Product>([launched()])
            .when(Command::Withdraw {
                reason: text("closed"),
                now: NOW,
            })
            .then([withdrawn.clone()]);
        given::<Product>([launched(), withdrawn])
            .when(Command::ChangeRiskLevel {
                risk: ProductRisk::R5,
                reason: text("x"),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "withdrawn",
                command: "change a product",
            });
    }
}
