//! The demo's customers: registered, assigned, with accounts and a suitability assessment,
//! one lane each; and the duplicates registered under a passport, merged later.

use super::*;

/// A customer registered twice: the survivor, the duplicate, and when they are merged.
pub(super) type Duplicate = (CustomerId, CustomerId, OffsetDateTime);

/// The customers generated so far: what the daily data needs of each, the duplicates to
/// merge, and the ID numbers already given out (unique in the run).
#[derive(Default)]
pub(super) struct Book {
    pub holders: Vec<Holder>,
    pub duplicates: Vec<Duplicate>,
    used_ids: HashSet<String>,
}

/// Queues the commands of customers number `range` (the caller flushes them) and adds them to
/// `book`. Called for consecutive ranges, it generates what one call over them all would.
pub(super) fn customers<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    org: &Org,
    first_day: Date,
    range: std::ops::Range<u64>,
    book: &mut Book,
) -> Result<(), LoadError> {
    let id = |kind: &[u8], n: u64| ids.get(kind, n);
    let (hq, branches) = (org.hq, &org.branches);
    // Customers: register, assign, open accounts, assess suitability; one lane each.
    let Book {
        holders,
        duplicates,
        used_ids,
    } = book;
    let registration_days = 170;
    for c in range {
        let b = rng.below(branches.len() as u64) as usize;
        let branch = branches
            .get(b)
            .ok_or_else(|| LoadError::Demo("no branch".into()))?;
        let manager = *pick(rng, &branch.book_holders, "customer manager")?;
        let customer_id = CustomerId::from(id(b"customer", c));
        let account_id = AccountId::from(id(b"account", c));
        let registered = at(
            first_day - Duration::days(registration_days - rng.between(0, registration_days - 10)),
            9 * 60 + rng.between(0, 420),
        );
        let (institutional, kind, profile) = profile(rng, branch, c, used_ids)?;
        let birthday = profile.birthday;
        let lane = format!("customer:{customer_id}");
        let key = |what: &str| format!("customer:{c}:{what}");
        // About 4% of individuals are prospects when the daily data starts.
        let prospect = !institutional && rng.below(1000) < 40;
        let cmd = |command| AppCommand::Customer {
            customer: customer_id,
            command,
        };
        out.push(
            &lane,
            &key("register"),
            hq,
            registered,
            cmd(customer::Command::Register {
                customer_id,
                kind,
                profile: profile.clone(),
                as_prospect: prospect,
                existing_customer_with_same_document: None,
                now: registered,
            }),
        );
        let team = match manager.scope {
            Scope::Book { team, .. } => team,
            _ => None,
        };
        out.push(
            &lane,
            &key("assign"),
            hq,
            registered,
            cmd(customer::Command::Assign {
                to: Assignment {
                    branch: branch.id,
                    manager: Some(manager.staff_id),
                    team,
                },
                by: hq.staff_id,
                now: registered,
            }),
        );
        let accounts = [
            (account_id, AccountKind::Fund, format!("F{:010}", c)),
            (
                AccountId::from(id(b"account-sh", c)),
                AccountKind::Securities {
                    market: Market::Shanghai,
                },
                format!("{}{:09}", if institutional { "B" } else { "A" }, c),
            ),
            (
                AccountId::from(id(b"account-sz", c)),
                AccountKind::Securities {
                    market: Market::Shenzhen,
                },
                format!("0{:09}", c),
            ),
        ];
        for (account, kind, number) in accounts {
            out.push(
                &lane,
                &key(&number),
                hq,
                registered,
                cmd(customer::Command::OpenAccount {
                    account_id: account,
                    kind,
                    number: value("account number", ShortText::parse(&number))?,
                    now: registered,
                }),
            );
        }
        let level = *pick(
            rng,
            &[
                RiskTolerance::C1,
                RiskTolerance::C2,
                RiskTolerance::C2,
                RiskTolerance::C3,
                RiskTolerance::C3,
                RiskTolerance::C3,
                RiskTolerance::C4,
                RiskTolerance::C4,
                RiskTolerance::C5,
            ],
            "risk level",
        )?;
        let assessed_on = registered.date();
        out.push(
            &lane,
            &key("suitability"),
            hq,
            registered,
            cmd(customer::Command::RecordSuitability {
                level,
                assessed_on,
                // Valid for three years: past the end of any demo's daily data.
                expires_on: assessed_on + Duration::days(3 * 365),
                now: registered,
            }),
        );
        // Institutions start higher: x_min 1 million yuan rather than 10,000.
        let yuan = if institutional {
            rng.pareto_yuan(1_000_000, 5_000_000_000)
        } else {
            rng.pareto_yuan(10_000, 2_000_000_000)
        };
        let assets = yuan.saturating_mul(Money::SCALE);
        let key_customer = yuan >= 5_000_000;
        if key_customer {
            out.push(
                &lane,
                &key("key"),
                hq,
                registered,
                cmd(customer::Command::MarkKeyCustomer {
                    is_key: true,
                    now: registered,
                }),
            );
        }
        let cash = rng.between(5, 40);
        let stocks = rng.between(0, 100 - cash);
        let funds = rng.between(0, 100 - cash - stocks);
        let bonds = rng.between(0, 100 - cash - stocks - funds);
        let wealth = 100 - cash - stocks - funds - bonds;
        holders.push(Holder {
            customer: customer_id,
            account: account_id,
            branch: branch.id,
            manager,
            institutional,
            assets,
            weights: [cash, stocks, funds, bonds, wealth],
            activity: 20_000 + rng.below(400_000),
            rate: rng.between(20_000, 300_000),
            level,
            life: if prospect {
                Life::Prospect
            } else {
                Life::Active
            },
            birthday: birthday.map(|d| (d.month(), d.day())),
            key: key_customer,
        });
        // About 1.5% of individuals were also registered under a passport, by another channel
        // and later: the duplicate the identity-resolution step merges.
        if let (false, true) = (institutional, rng.below(1000) < 15) {
            let merge = duplicate(
                out,
                rng,
                ids,
                hq,
                c,
                customer_id,
                kind,
                &profile,
                registered,
                first_day,
            )?;
            duplicates.push(merge);
        }
    }
    Ok(())
}

/// A customer's kind and profile: an individual with a valid resident ID number (unique in
/// the run: `used_ids`), or now and then an institution with a credit code.
fn profile(
    rng: &mut Rng,
    branch: &BranchInfo,
    c: u64,
    used_ids: &mut HashSet<String>,
) -> Result<(bool, CustomerKind, Profile), LoadError> {
    let institutional = rng.below(100) < 6;
    let surname = *pick(rng, SURNAMES, "surname")?;
    let given = *pick(rng, GIVEN, "given name")?;
    let (kind, name, document, birthday) = if institutional {
        let name = format!(
            "{}{}{}",
            &branch.area_city(),
            pick(rng, COMPANY_WORDS, "company word")?,
            pick(rng, COMPANY_KINDS, "company kind")?
        );
        (
            CustomerKind::Institutional,
            name,
            IdDocument::BusinessLicence {
                code: credit_code(branch.area, c)?,
            },
            None,
        )
    } else {
        let mut birth = Date::from_calendar_date(1950, Month::January, 1).unwrap_or(Date::MIN)
            + Duration::days(rng.between(0, 50 * 365));
        let number = loop {
            let first17 = format!(
                "{}{:04}{:02}{:02}{:03}",
                branch.area,
                birth.year(),
                u8::from(birth.month()),
                birth.day(),
                c % 1000
            );
            // Two customers may draw the same area, birth date and sequence: move the
            // later one's birthday by a day so every ID number is unique.
            if used_ids.insert(first17.clone()) {
                break value(
                    "resident id",
                    ResidentIdNumber::with_check_character(&first17),
                )?;
            }
            birth = birth.next_day().unwrap_or(birth);
        };
        (
            CustomerKind::Individual,
            format!("{surname}{given}"),
            IdDocument::ResidentId { number },
            Some(birth),
        )
    };
    let phone = value(
        "phone",
        Phone::parse(&format!(
            "1{}{:09}",
            3 + rng.below(7),
            rng.below(1_000_000_000)
        )),
    )?;
    let occupation = if institutional {
        None
    } else {
        Some(value(
            "occupation",
            ShortText::parse(pick(rng, OCCUPATIONS, "occupation")?),
        )?)
    };
    let source_channel = *pick(
        rng,
        &[
            Channel::Counter,
            Channel::App,
            Channel::App,
            Channel::Internet,
            Channel::BankCounter,
            Channel::Phone,
        ],
        "channel",
    )?;
    let profile = Profile {
        name: value("customer name", OrgName::parse(&name))?,
        document,
        phone: Some(phone),
        address: Some(value(
            "address",
            Address::parse(&format!("{}{}号", branch.area_city(), rng.between(1, 999))),
        )?),
        region: None,
        birthday,
        occupation,
        source_channel,
    };
    Ok((institutional, kind, profile))
}

/// The duplicate of customer `c`, registered under a passport: queued, and returned with its
/// merge.
#[allow(clippy::too_many_arguments)] // the generator's state, passed as the loop had it
fn duplicate<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    hq: Actor,
    c: u64,
    customer_id: CustomerId,
    kind: CustomerKind,
    profile: &Profile,
    registered: OffsetDateTime,
    first_day: Date,
) -> Result<Duplicate, LoadError> {
    let id = |kind: &[u8], n: u64| ids.get(kind, n);
    let duplicate = CustomerId::from(id(b"customer-duplicate", c));
    // Registered before the daily data starts, so merged before it too.
    let later = (registered + Duration::days(rng.between(1, 60)))
        .min(at(first_day - Duration::days(4), 10 * 60));
    let passport = value(
        "passport",
        PassportNumber::parse(&format!("E{:08}", c % 100_000_000)),
    )?;
    let mut profile = profile.clone();
    profile.document = IdDocument::Passport {
        country: value("country", ShortText::parse("CHN"))?,
        number: passport,
    };
    profile.source_channel = Channel::Internet;
    profile.address = None;
    out.push(
        &format!("customer:{duplicate}"),
        &format!("customer-duplicate:{c}"),
        hq,
        later,
        AppCommand::Customer {
            customer: duplicate,
            command: customer::Command::Register {
                customer_id: duplicate,
                kind,
                profile,
                as_prospect: true,
                existing_customer_with_same_document: None,
                now: later,
            },
        },
    );
    Ok((customer_id, duplicate, later + Duration::days(3)))
}

/// Queues the merges of the duplicates into their resident-ID records.
pub(super) fn merges<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    hq: Actor,
    duplicates: &[Duplicate],
) {
    // Merges of the duplicates into their resident-ID records.
    for (n, (survivor, merged, when)) in duplicates.iter().enumerate() {
        // Two streams: the lane is the survivor's (no other command touches either here).
        out.push(
            &format!("customer:{survivor}"),
            &format!("merge:{n}"),
            hq,
            *when,
            AppCommand::MergeCustomers {
                survivor: *survivor,
                merged: *merged,
            },
        );
    }
}
