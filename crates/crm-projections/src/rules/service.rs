//! `[service.<tier>]` — 分层服务 standards: how often a customer of each tier must be reached
//! and visited, through which channels a contact counts, and on which care occasions (客户关怀)
//! the customer is greeted. Format in `schema/rules.md`.

use std::collections::BTreeMap;

use crm_domain::interaction::CareOccasion;
use crm_domain::values::Channel;
use serde::{Deserialize, Serialize};

use crate::derive::Tier;
use crate::error::ProjectionError;

/// A tier's service standard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceStandard {
    /// A contact that reaches the customer through one of `channels` is due this many days
    /// after the last one (or after registration).
    pub contact_every_days: u32,
    /// A visit is due this many days after the last one; None: no visit standard.
    pub visit_every_days: Option<u32>,
    /// The channels a contact counts through, sorted, no repeats.
    pub channels: Vec<Channel>,
    /// The care occasions a customer of the tier is greeted on (birthday, the `[care]`
    /// holidays and market events), in the order birthday, holiday, market event, no repeats.
    #[serde(default)]
    pub care: Vec<CareOccasion>,
}

/// The standards of every tier (a tier not in the file keeps its default).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServiceRules {
    pub tiers: BTreeMap<Tier, ServiceStandard>,
}

/// Longest accepted interval: ten years.
pub const SERVICE_DAYS_MAX: u32 = 3660;

/// Days ahead of a due contact or visit its to-do appears, when `[reminders]` does not say.
pub const SERVICE_DAYS_AHEAD: u32 = 7;

/// The care occasions, in the order a standard lists them.
const OCCASIONS: [(CareOccasion, &str); 3] = [
    (CareOccasion::Birthday, "birthday"),
    (CareOccasion::Holiday, "holiday"),
    (CareOccasion::MarketEvent, "market_event"),
];

/// The name a rules file gives an occasion.
pub fn occasion_name(o: CareOccasion) -> &'static str {
    match o {
        CareOccasion::Birthday => "birthday",
        CareOccasion::Holiday => "holiday",
        CareOccasion::MarketEvent => "market_event",
    }
}

fn standard(
    contact: u32,
    visit: Option<u32>,
    channels: &[Channel],
    care: &[CareOccasion],
) -> ServiceStandard {
    let mut channels = channels.to_vec();
    channels.sort();
    ServiceStandard {
        contact_every_days: contact,
        visit_every_days: visit,
        channels,
        care: care.to_vec(),
    }
}

impl Default for ServiceRules {
    /// Diamond: a contact a month and a visit a quarter; gold: every 60 days and twice a year;
    /// silver: a quarter, no visits; standard: every 180 days through any remote channel.
    /// Diamond customers are greeted on their birthday, the holidays and market events, gold
    /// ones on their birthday and the holidays; silver and standard on no occasion (a
    /// greeting to every customer is a campaign, not a service standard).
    fn default() -> Self {
        use CareOccasion::{Birthday, Holiday, MarketEvent};
        use Channel::*;
        let personal = [Phone, CallCentre, WeChat, Counter, BankCounter, Visit];
        let remote = [
            Phone,
            CallCentre,
            WeChat,
            Counter,
            BankCounter,
            Visit,
            Email,
            App,
            Internet,
        ];
        ServiceRules {
            tiers: BTreeMap::from([
                (
                    Tier::Diamond,
                    standard(30, Some(90), &personal, &[Birthday, Holiday, MarketEvent]),
                ),
                (
                    Tier::Gold,
                    standard(60, Some(180), &personal, &[Birthday, Holiday]),
                ),
                (Tier::Silver, standard(90, None, &personal, &[])),
                (Tier::Standard, standard(180, None, &remote, &[])),
            ]),
        }
    }
}

impl ServiceRules {
    /// The standard of a tier.
    pub fn for_tier(&self, tier: Tier) -> Option<&ServiceStandard> {
        self.tiers.get(&tier)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct StandardFile {
    contact_every_days: Option<u32>,
    visit_every_days: Option<u32>,
    channels: Option<Vec<String>>,
    care: Option<Vec<String>>,
}

fn invalid(reason: impl Into<String>) -> ProjectionError {
    ProjectionError::Rules(reason.into())
}

fn channel(table: &str, name: &str) -> Result<Channel, ProjectionError> {
    use Channel::*;
    Ok(match name {
        "Counter" => Counter,
        "Phone" => Phone,
        "CallCentre" => CallCentre,
        "App" => App,
        "Internet" => Internet,
        "Email" => Email,
        "WeChat" => WeChat,
        "BankCounter" => BankCounter,
        "SelfService" => SelfService,
        "Visit" => Visit,
        other => {
            return Err(invalid(format!(
                "{table}.channels: unknown channel '{other}' (the channels are Counter, Phone, \
                 CallCentre, App, Internet, Email, WeChat, BankCounter, SelfService, Visit)"
            )))
        }
    })
}

/// The occasions a `care` list names, in [`OCCASIONS`] order; an unknown one is refused by
/// name. An empty list greets on no occasion.
fn occasions(table: &str, names: &[String]) -> Result<Vec<CareOccasion>, ProjectionError> {
    for name in names {
        if !OCCASIONS.iter().any(|(_, n)| n == name) {
            return Err(invalid(format!(
                "{table}.care: unknown occasion '{name}' (the occasions are birthday, holiday, \
                 market_event)"
            )));
        }
    }
    Ok(OCCASIONS
        .iter()
        .filter(|(_, n)| names.iter().any(|given| given == n))
        .map(|(o, _)| *o)
        .collect())
}

fn days(field: &str, n: u32) -> Result<u32, ProjectionError> {
    if n == 0 || n > SERVICE_DAYS_MAX {
        return Err(invalid(format!(
            "{field} must be 1 to {SERVICE_DAYS_MAX} days, got {n}"
        )));
    }
    Ok(n)
}

/// `[service]` with its tier sub-tables; None (no `[service]`) gives the defaults. A sub-table
/// that names no tier, a key that is no standard's, an unknown channel or an interval out of
/// range is refused by name.
pub(crate) fn service_rules(table: Option<toml::Table>) -> Result<ServiceRules, ProjectionError> {
    let mut rules = ServiceRules::default();
    let Some(table) = table else {
        return Ok(rules);
    };
    for (key, value) in table {
        let tier = Tier::ALL.into_iter().find(|t| t.name() == key);
        let Some(tier) = tier else {
            return Err(invalid(format!(
                "service.{key}: unknown tier (the tiers are diamond, gold, silver, standard)"
            )));
        };
        let name = format!("service.{key}");
        if !value.is_table() {
            return Err(invalid(format!("{name} must be a table")));
        }
        let f: StandardFile = value
            .try_into()
            .map_err(|e: toml::de::Error| invalid(format!("{name}: {}", e.message())))?;
        let mut s = rules.tiers.get(&tier).cloned().unwrap_or(ServiceStandard {
            contact_every_days: SERVICE_DAYS_MAX,
            visit_every_days: None,
            channels: Vec::new(),
            care: Vec::new(),
        });
        if let Some(n) = f.contact_every_days {
            s.contact_every_days = days(&format!("{name}.contact_every_days"), n)?;
        }
        // An explicit 0 switches the visit standard off.
        if let Some(n) = f.visit_every_days {
            s.visit_every_days = match n {
                0 => None,
                n => Some(days(&format!("{name}.visit_every_days"), n)?),
            };
        }
        if let Some(list) = f.channels {
            let mut channels = list
                .iter()
                .map(|c| channel(&name, c))
                .collect::<Result<Vec<_>, _>>()?;
            channels.sort();
            channels.dedup();
            if channels.is_empty() {
                return Err(invalid(format!(
                    "{name}.channels must list at least one channel"
                )));
            }
            s.channels = channels;
        }
        if let Some(list) = f.care {
            s.care = occasions(&name, &list)?;
        }
        rules.tiers.insert(tier, s);
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parse(text: &str) -> Result<ServiceRules, ProjectionError> {
        let table: toml::Table = toml::from_str(text).unwrap();
        service_rules(table.get("service").and_then(|v| v.as_table()).cloned())
    }

    fn refused(text: &str) -> String {
        match parse(text) {
            Err(ProjectionError::Rules(reason)) => reason,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn absent_service_gives_the_defaults_for_every_tier() {
        let r = service_rules(None).unwrap();
        assert_eq!(r, ServiceRules::default());
        for t in Tier::ALL {
            assert!(r.for_tier(t).is_some(), "{t:?}");
        }
        let d = r.for_tier(Tier::Diamond).unwrap();
        assert_eq!((d.contact_every_days, d.visit_every_days), (30, Some(90)));
        assert!(d.channels.contains(&Channel::Phone));
        assert!(!d.channels.contains(&Channel::Email));
    }

    #[test]
    fn a_tier_table_overrides_the_keys_it_gives() {
        let r = parse(
            "[service.gold]\ncontact_every_days = 14\nchannels = [\"WeChat\", \"Phone\", \"Phone\"]\n\
             [service.silver]\nvisit_every_days = 365\n[service.diamond]\nvisit_every_days = 0\n",
        )
        .unwrap();
        let g = r.for_tier(Tier::Gold).unwrap();
        assert_eq!(g.contact_every_days, 14);
        assert_eq!(g.visit_every_days, Some(180));
        assert_eq!(g.channels, vec![Channel::Phone, Channel::WeChat]);
        let s = r.for_tier(Tier::Silver).unwrap();
        assert_eq!((s.contact_every_days, s.visit_every_days), (90, Some(365)));
        assert_eq!(r.for_tier(Tier::Diamond).unwrap().visit_every_days, None);
        assert_eq!(
            r.for_tier(Tier::Standard),
            ServiceRules::default().for_tier(Tier::Standard)
        );
    }

    #[test]
    fn a_tier_greets_on_the_occasions_its_care_list_names() {
        // Given the defaults: diamond and gold are greeted, silver and standard are not.
        let d = ServiceRules::default();
        use CareOccasion::*;
        assert_eq!(
            d.for_tier(Tier::Diamond).unwrap().care,
            [Birthday, Holiday, MarketEvent]
        );
        assert_eq!(d.for_tier(Tier::Gold).unwrap().care, [Birthday, Holiday]);
        assert!(d.for_tier(Tier::Silver).unwrap().care.is_empty());
        assert!(d.for_tier(Tier::Standard).unwrap().care.is_empty());
        // When a file lists occasions (in any order, repeated) or none, then the tier greets
        // on exactly those; a tier without a `care` key keeps its default.
        let r = parse(
            "[service.silver]\ncare = [\"holiday\", \"birthday\", \"holiday\"]\n\
             [service.diamond]\ncare = []\n[service.gold]\ncontact_every_days = 20\n",
        )
        .unwrap();
        assert_eq!(r.for_tier(Tier::Silver).unwrap().care, [Birthday, Holiday]);
        assert!(r.for_tier(Tier::Diamond).unwrap().care.is_empty());
        assert_eq!(r.for_tier(Tier::Gold).unwrap().care, [Birthday, Holiday]);
        // An unknown occasion is refused by name.
        let reason = refused("[service.gold]\ncare = [\"birthday\", \"easter\"]\n");
        assert!(
            reason.contains("service.gold.care") && reason.contains("easter"),
            "{reason}"
        );
    }

    #[test]
    fn unknown_tiers_keys_and_channels_and_bad_intervals_are_named() {
        let reason = refused("[service.platinum]\ncontact_every_days = 10\n");
        assert!(
            reason.contains("service.platinum") && reason.contains("unknown tier"),
            "{reason}"
        );
        let reason = refused("[service.gold]\ncontact_every_dayz = 10\n");
        assert!(
            reason.contains("service.gold") && reason.contains("contact_every_dayz"),
            "{reason}"
        );
        let reason = refused("[service.gold]\nchannels = [\"Pigeon\"]\n");
        assert!(
            reason.contains("service.gold.channels") && reason.contains("Pigeon"),
            "{reason}"
        );
        let reason = refused("[service.gold]\nchannels = []\n");
        assert!(reason.contains("service.gold.channels"), "{reason}");
        let reason = refused("[service.silver]\ncontact_every_days = 0\n");
        assert!(
            reason.contains("service.silver.contact_every_days"),
            "{reason}"
        );
        let reason = refused("[service.silver]\nvisit_every_days = 4000\n");
        assert!(
            reason.contains("service.silver.visit_every_days"),
            "{reason}"
        );
        let reason = refused("[service]\ngold = 3\n");
        assert!(reason.contains("service.gold"), "{reason}");
    }
}
