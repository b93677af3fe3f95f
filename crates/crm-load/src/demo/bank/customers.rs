//! The cooperative's customers, registered when the CRM went live: farm households, sole
//! proprietors, small businesses and salaried individuals, with their bank segment and the
//! 跨行 flag; one lane each.

use super::org::Outlet;
use super::*;

const VILLAGES: &[&str] = &[
    "瑞洪镇康山村",
    "瑞洪镇西岗村",
    "康山乡大山村",
    "黄金埠镇胡家村",
    "古埠镇洪家嘴村",
    "石口镇马背嘴村",
    "乌泥镇白马村",
    "玉亭镇枫林村",
];
const FARM_BUSINESS: &[&str] = &[
    "水稻种植",
    "水产养殖",
    "生猪养殖",
    "家禽养殖",
    "油菜种植",
    "蔬菜种植",
    "茶叶种植",
];
const TRADES: &[(&str, &str)] = &[
    ("农资商店", "批发和零售业"),
    ("小吃店", "住宿和餐饮业"),
    ("五金建材店", "批发和零售业"),
    ("汽车修理部", "居民服务、修理和其他服务业"),
    ("水产批发部", "批发和零售业"),
];
const COMPANIES: &[(&str, &str)] = &[
    ("农业开发有限公司", "农、林、牧、渔业"),
    ("米业有限公司", "制造业"),
    ("水产食品有限公司", "制造业"),
    ("商贸有限公司", "批发和零售业"),
    ("建筑工程有限公司", "建筑业"),
];

/// The customers registered so far, and the resident ids they drew (no two alike).
#[derive(Default)]
pub(super) struct Registered {
    pub(super) customers: Vec<BankCustomer>,
    used_ids: HashSet<String>,
}

/// Queues the registrations of customers `range` (numbered from 0) onto `registered` (the
/// caller flushes them).
pub(super) fn customers<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    ids: Ids,
    org: &BankOrg,
    range: std::ops::Range<u64>,
    first_day: Date,
    registered: &mut Registered,
) -> Result<(), LoadError> {
    let Registered {
        customers,
        used_ids,
    } = registered;
    for n in range {
        let outlet = rng.below(org.outlets.len() as u64) as usize;
        let o = org
            .outlets
            .get(outlet)
            .ok_or_else(|| LoadError::Demo("no outlet".into()))?;
        let draw = rng.below(100);
        let segment = match (o.town, draw) {
            (false, 0..=64) | (true, 0..=24) => Segment::Farm,
            (false, 65..=79) | (true, 25..=49) => Segment::SoleProprietor,
            (false, 80..=85) | (true, 50..=61) => Segment::SmallBusiness,
            _ => Segment::Salaried,
        };
        let team = match segment {
            Segment::Farm => &o.farm_managers,
            Segment::SoleProprietor | Segment::SmallBusiness => &o.business_managers,
            Segment::Salaried if rng.below(2) == 0 => &o.farm_managers,
            Segment::Salaried => &o.business_managers,
        };
        let manager = *pick(rng, team, "customer manager")?;
        let id = CustomerId::from(ids.get(b"bank-customer", n));
        let registered = at(
            first_day - Duration::days(rng.between(2, 33)),
            8 * 60 + rng.between(0, 540),
        );
        let customer = BankCustomer {
            id,
            n,
            outlet,
            manager,
            segment,
            registered,
            sms: false,
            card_month: None,
            demand: None,
            pending_credit: 0,
        };
        register(out, rng, org.hq, o, &customer, used_ids)?;
        customers.push(customer);
    }
    Ok(())
}

/// Registers, assigns and segments one customer.
fn register<P: FnMut(DemoProgress)>(
    out: &mut Sender<'_, P>,
    rng: &mut Rng,
    hq: Actor,
    outlet: &Outlet,
    c: &BankCustomer,
    used_ids: &mut HashSet<String>,
) -> Result<(), LoadError> {
    let (kind, profile, segment) = profile(rng, c, used_ids)?;
    let lane = format!("customer:{}", c.id);
    let key = |what: &str| format!("bank-customer:{}:{what}", c.n);
    let now = c.registered;
    let cmd = |command| AppCommand::Customer {
        customer: c.id,
        command,
    };
    out.push(
        &lane,
        &key("register"),
        hq,
        now,
        cmd(customer::Command::Register {
            customer_id: c.id,
            kind,
            profile,
            as_prospect: false,
            existing_customer_with_same_document: None,
            now,
        }),
    );
    let team = match c.manager.scope {
        Scope::Book { team, .. } => team,
        _ => None,
    };
    out.push(
        &lane,
        &key("assign"),
        hq,
        now,
        cmd(customer::Command::Assign {
            to: Assignment {
                branch: outlet.id,
                manager: Some(c.manager.staff_id),
                team,
            },
            by: hq.staff_id,
            now,
        }),
    );
    // The serving customer manager records what the bank knows of the customer.
    let later = now + Duration::minutes(30);
    if let Some(segment) = segment {
        out.push(
            &lane,
            &key("segment"),
            c.manager,
            later,
            cmd(customer::Command::RecordBankSegment {
                segment,
                now: later,
            }),
        );
    }
    if rng.chance(180_000) {
        out.push(
            &lane,
            &key("multi-bank"),
            c.manager,
            later,
            cmd(customer::Command::MarkMultiBank {
                is_multi_bank: true,
                now: later,
            }),
        );
    }
    Ok(())
}

/// A customer's kind, profile and bank segment (none for a salaried individual).
fn profile(
    rng: &mut Rng,
    c: &BankCustomer,
    used_ids: &mut HashSet<String>,
) -> Result<(CustomerKind, Profile, Option<BankSegment>), LoadError> {
    let person = format!(
        "{}{}",
        pick(rng, SURNAMES, "surname")?,
        pick(rng, GIVEN, "given name")?
    );
    let phone = value(
        "phone",
        Phone::parse(&format!(
            "1{}{:09}",
            3 + rng.below(7),
            rng.below(1_000_000_000)
        )),
    )?;
    let village = *pick(rng, VILLAGES, "village")?;
    let (kind, name, document, birthday, segment) = match c.segment {
        Segment::SmallBusiness => {
            let (what, industry) = *pick(rng, COMPANIES, "company")?;
            let code = credit_code(COUNTY_AREA, 500_000 + c.n)?;
            let segment = BankSegment::SmallBusiness(Business {
                registration_number: text(code.as_str())?,
                industry: text(industry)?,
                size: if rng.below(3) == 0 {
                    SizeClass::Small
                } else {
                    SizeClass::Micro
                },
            });
            let name = format!("余干县{}{what}", pick(rng, COMPANY_WORDS, "company word")?);
            let document = IdDocument::BusinessLicence { code };
            (
                CustomerKind::Institutional,
                name,
                document,
                None,
                Some(segment),
            )
        }
        other => {
            let (number, birth) = resident_id(rng, c.n, used_ids)?;
            let segment = match other {
                Segment::Farm => Some(BankSegment::FarmHousehold(FarmHousehold {
                    members: rng.between(2, 7) as u16,
                    land_area: LandArea::from_hundredths_mu(rng.between(150, 3_000) as u32),
                    village: text(village)?,
                    main_business: text(pick(rng, FARM_BUSINESS, "main business")?)?,
                })),
                Segment::SoleProprietor => {
                    let (_, industry) = *pick(rng, TRADES, "trade")?;
                    Some(BankSegment::SoleProprietor(Business {
                        registration_number: text(&format!("{COUNTY_AREA}600{:06}", c.n))?,
                        industry: text(industry)?,
                        size: SizeClass::Micro,
                    }))
                }
                _ => None,
            };
            let document = IdDocument::ResidentId { number };
            (
                CustomerKind::Individual,
                person,
                document,
                Some(birth),
                segment,
            )
        }
    };
    let occupation = match c.segment {
        Segment::Farm => Some("农民"),
        Segment::SoleProprietor => Some("个体经营"),
        Segment::Salaried => Some(*pick(rng, &["教师", "医生", "公务员", "企业职员"], "job")?),
        Segment::SmallBusiness => None,
    };
    let profile = Profile {
        name: value("customer name", OrgName::parse(&name))?,
        document,
        phone: Some(phone),
        address: Some(value(
            "address",
            Address::parse(&format!(
                "江西省上饶市余干县{village}{}号",
                rng.between(1, 200)
            )),
        )?),
        region: None,
        birthday,
        occupation: occupation.map(text).transpose()?,
        source_channel: Channel::Counter,
    };
    Ok((kind, profile, segment))
}

/// A valid resident ID number of the county, unique in the run, and its birth date.
fn resident_id(
    rng: &mut Rng,
    n: u64,
    used_ids: &mut HashSet<String>,
) -> Result<(ResidentIdNumber, Date), LoadError> {
    let mut birth = Date::from_calendar_date(1955, Month::January, 1).unwrap_or(Date::MIN)
        + Duration::days(rng.between(0, 45 * 365));
    loop {
        let first17 = format!(
            "{COUNTY_AREA}{:04}{:02}{:02}{:03}",
            birth.year(),
            u8::from(birth.month()),
            birth.day(),
            n % 1000
        );
        if used_ids.insert(first17.clone()) {
            let number = value(
                "resident id",
                ResidentIdNumber::with_check_character(&first17),
            )?;
            return Ok((number, birth));
        }
        birth = birth.next_day().unwrap_or(birth);
    }
}
