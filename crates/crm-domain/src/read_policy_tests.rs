//! Given/when/then tests of the read policy (`super`): given the organisation below and a staff
//! member of each role, in scope and out of it, when each asks one read question, then exactly
//! the named ones may.
//!
//! Region 1 holds branches A and B, region 2 branch C. Team T works in branch A; `lead` leads
//! it, `cm` is a member.
use std::collections::BTreeSet;

use uuid::Uuid;

use super::*;

fn branch(n: u128) -> BranchId {
    BranchId::from_uuid(Uuid::from_u128(n))
}

fn staff(n: u128) -> StaffId {
    StaffId::from_uuid(Uuid::from_u128(n))
}

fn region(n: u128) -> RegionId {
    RegionId::from_uuid(Uuid::from_u128(n))
}

fn team_t() -> TeamId {
    TeamId::from_uuid(Uuid::from_u128(30))
}

const A: u128 = 10;
const B: u128 = 11;
const C: u128 = 20;

struct World {
    org: OrgTree,
    actors: Vec<(&'static str, Actor)>,
}

impl World {
    fn actor(&self, name: &str) -> Actor {
        self.actors
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no actor {name}"))
    }
}

fn world() -> World {
    let mut org = OrgTree::default();
    org.branch_regions.insert(branch(A), region(1));
    org.branch_regions.insert(branch(B), region(1));
    org.branch_regions.insert(branch(C), region(2));
    org.team_leads.insert(team_t(), staff(141));
    let a = |n: u128, role: Role, scope: Scope| Actor {
        staff_id: staff(n),
        role,
        scope,
    };
    let book = |b: u128, team: Option<TeamId>| Scope::Book {
        branch: branch(b),
        team,
    };
    let actors = vec![
        ("hq", a(101, Role::Headquarters, Scope::Company)),
        (
            "rm",
            a(
                102,
                Role::RegionManager,
                Scope::Region { region: region(1) },
            ),
        ),
        (
            "rm2",
            a(
                103,
                Role::RegionManager,
                Scope::Region { region: region(2) },
            ),
        ),
        (
            "bm",
            a(
                104,
                Role::BranchManager,
                Scope::Branch { branch: branch(A) },
            ),
        ),
        (
            "bm_b",
            a(
                105,
                Role::BranchManager,
                Scope::Branch { branch: branch(B) },
            ),
        ),
        ("cm", a(106, Role::CustomerManager, book(A, Some(team_t())))),
        (
            "lead",
            a(141, Role::CustomerManager, book(A, Some(team_t()))),
        ),
        ("broker", a(107, Role::Broker, book(A, None))),
        ("cm_c", a(108, Role::CustomerManager, book(C, None))),
        (
            "agent",
            a(109, Role::ServiceAgent, Scope::Branch { branch: branch(A) }),
        ),
        ("agent_hq", a(112, Role::ServiceAgent, Scope::Company)),
        ("auditor", a(113, Role::Auditor, Scope::Company)),
        (
            "auditor_a",
            a(114, Role::Auditor, Scope::Branch { branch: branch(A) }),
        ),
        (
            "auditor_r",
            a(115, Role::Auditor, Scope::Region { region: region(1) }),
        ),
        ("operator", a(116, Role::Operator, Scope::Company)),
    ];
    World { org, actors }
}

/// `given(world).when(question).then(names)`: the question is asked by every actor; exactly
/// `names` get yes.
struct Given {
    world: World,
}

struct When {
    answers: Vec<(&'static str, bool)>,
}

fn given(world: World) -> Given {
    Given { world }
}

impl Given {
    fn when(self, question: impl Fn(&Actor, &OrgTree) -> bool) -> When {
        let answers = self
            .world
            .actors
            .iter()
            .map(|(name, a)| (*name, question(a, &self.world.org)))
            .collect();
        When { answers }
    }
}

impl When {
    #[track_caller]
    fn then(self, allowed: &[&str]) {
        let expected: BTreeSet<&str> = allowed.iter().copied().collect();
        let got: BTreeSet<&str> = self
            .answers
            .iter()
            .filter(|(_, yes)| *yes)
            .map(|(n, _)| *n)
            .collect();
        assert_eq!(got, expected, "who may (left) vs who should (right)");
    }
}

fn customer(b: u128, manager: Option<u128>, team: Option<TeamId>) -> CustomerTarget {
    CustomerTarget {
        branch: Some(branch(b)),
        manager: manager.map(staff),
        team,
    }
}

const EVERYONE: [&str; 15] = [
    "hq",
    "rm",
    "rm2",
    "bm",
    "bm_b",
    "cm",
    "lead",
    "broker",
    "cm_c",
    "agent",
    "agent_hq",
    "auditor",
    "auditor_a",
    "auditor_r",
    "operator",
];

/// Branch A's readers: those who read its customers branch-wide.
const READS_A: [&str; 8] = [
    "hq",
    "rm",
    "bm",
    "agent",
    "agent_hq",
    "auditor",
    "auditor_a",
    "auditor_r",
];

const COMPANY_READERS: [&str; 3] = ["hq", "agent_hq", "auditor"];

fn with(base: &[&'static str], more: &[&'static str]) -> Vec<&'static str> {
    base.iter().chain(more).copied().collect()
}

#[test]
fn a_customer_is_read_by_their_book_and_by_whoever_covers_their_branch() {
    // Given a customer of branch A managed by `cm` in team T: their manager, the team's lead,
    // and branch A's readers; not a teammate's broker, another branch or region, the operator.
    given(world())
        .when(|a, org| may_read_customer(a, &customer(A, Some(106), Some(team_t())), org))
        .then(&with(&READS_A, &["cm", "lead"]));
    // A customer of branch A in no team, managed by the broker: the lead does not see them.
    given(world())
        .when(|a, org| may_read_customer(a, &customer(A, Some(107), None), org))
        .then(&with(&READS_A, &["broker"]));
    // A customer of branch C with no manager: region 2 and the company-wide readers.
    given(world())
        .when(|a, org| may_read_customer(a, &customer(C, None, None), org))
        .then(&["hq", "rm2", "agent_hq", "auditor"]);
    // An unassigned (or unknown) customer: company-wide readers only.
    given(world())
        .when(|a, org| may_read_customer(a, &CustomerTarget::default(), org))
        .then(&COMPANY_READERS);
}

#[test]
fn a_branch_s_figures_are_read_branch_wide_never_from_a_book() {
    // Given branch A: its readers, not its customer managers, brokers or team lead.
    given(world())
        .when(|a, org| may_read_branch(a, branch(A), org))
        .then(&READS_A);
    // Branch C, in region 2.
    given(world())
        .when(|a, org| may_read_branch(a, branch(C), org))
        .then(&["hq", "rm2", "agent_hq", "auditor"]);
    // The company's figures: company readers, never a region manager nor the operator.
    given(world())
        .when(|a, org| may_read_figures(a, None, org))
        .then(&COMPANY_READERS);
    given(world())
        .when(|a, _| is_company_reader(a))
        .then(&COMPANY_READERS);
    given(world())
        .when(|a, org| may_read_figures(a, Some(branch(B)), org))
        .then(&["hq", "rm", "bm_b", "agent_hq", "auditor", "auditor_r"]);
}

#[test]
fn a_region_s_figures_are_read_by_its_own_staff_and_company_readers() {
    // Given region 1 (branches A and B): its manager and auditor and the company readers; not
    // the branch managers or staff inside it, not region 2's manager, not the operator.
    given(world())
        .when(|a, _| may_read_region(a, region(1)))
        .then(&with(&COMPANY_READERS, &["rm", "auditor_r"]));
    // Region 2: its manager and the company readers.
    given(world())
        .when(|a, _| may_read_region(a, region(2)))
        .then(&with(&COMPANY_READERS, &["rm2"]));
    // Whoever reads a region reads each of its branches.
    let w = world();
    for (_, a) in &w.actors {
        if may_read_region(a, region(1)) {
            assert!(may_read_branch(a, branch(A), &w.org), "{a:?}");
            assert!(may_read_branch(a, branch(B), &w.org), "{a:?}");
        }
    }
}

#[test]
fn a_branch_is_listed_to_its_readers_and_to_whoever_keeps_a_book_in_it() {
    given(world())
        .when(|a, org| may_list_branch(a, branch(A), org))
        .then(&with(&READS_A, &["cm", "lead", "broker"]));
    given(world())
        .when(|a, org| may_list_branch(a, branch(C), org))
        .then(&["hq", "rm2", "cm_c", "agent_hq", "auditor"]);
}

#[test]
fn the_staff_directory_shows_each_their_part_of_the_organisation() {
    // Given a staff member of branch A: its readers and its books.
    given(world())
        .when(|a, org| may_see_staff(a, org, Some(branch(A)), Scope::Branch { branch: branch(A) }))
        .then(&with(&READS_A, &["cm", "lead", "broker"]));
    // Region 1's own staff (no branch): company readers and that region's manager only, not
    // a region auditor.
    given(world())
        .when(|a, org| may_see_staff(a, org, None, Scope::Region { region: region(1) }))
        .then(&with(&COMPANY_READERS, &["rm"]));
    // Head office staff: company readers.
    given(world())
        .when(|a, org| may_see_staff(a, org, None, Scope::Company))
        .then(&COMPANY_READERS);
    // Customer managers and brokers see names, roles and organisation only.
    given(world())
        .when(|a, _| directory_limited(a))
        .then(&["cm", "lead", "broker", "cm_c"]);
    assert_eq!(
        book_branch(&world().actor("cm_c")),
        Some(branch(C)),
        "a book's branch"
    );
}

#[test]
fn a_ticket_is_seen_by_its_assignee_and_by_whoever_reads_its_customer_or_branch() {
    let w = world();
    let agent = w.actor("agent").staff_id;
    // Given a ticket of branch C assigned to branch A's agent, with no customer: its assignee
    // and branch C's readers.
    given(world())
        .when(|a, org| {
            let t = TicketTarget {
                assignee: Some(agent),
                customer: None,
                branch: Some(branch(C)),
            };
            may_see_ticket(a, &t, org)
        })
        .then(&["hq", "rm2", "agent", "agent_hq", "auditor"]);
    // A ticket of `cm`'s customer in branch A: the customer's readers (their book, the lead)
    // and the branch's.
    given(world())
        .when(|a, org| {
            let t = TicketTarget {
                assignee: None,
                customer: Some(customer(A, Some(106), Some(team_t()))),
                branch: Some(branch(A)),
            };
            may_see_ticket(a, &t, org)
        })
        .then(&with(&READS_A, &["cm", "lead"]));
    // A ticket tied to no branch and no known customer: company-scoped readers of customer
    // data, not the operator.
    given(world())
        .when(|a, org| may_see_ticket(a, &TicketTarget::default(), org))
        .then(&COMPANY_READERS);
}

#[test]
fn an_opportunity_is_seen_by_its_owner_and_by_whoever_reads_its_customer() {
    let broker = world().actor("broker").staff_id;
    // Given the broker's opportunity with `cm`'s customer: the broker, and the customer's
    // readers.
    given(world())
        .when(|a, org| {
            let c = customer(A, Some(106), Some(team_t()));
            may_see_opportunity(a, broker, Some(&c), org)
        })
        .then(&with(&READS_A, &["cm", "lead", "broker"]));
    // With a customer the read side does not know: its owner only.
    given(world())
        .when(|a, org| may_see_opportunity(a, broker, None, org))
        .then(&["broker"]);
}

#[test]
fn an_article_reaches_the_company_or_who_works_in_or_oversees_its_branch() {
    // Given a company-wide article: everyone.
    given(world())
        .when(|a, org| may_see_article(a, None, org))
        .then(&EVERYONE);
    // An article for branch A: who works there (its books, manager, agent, auditor), who
    // oversees it, and everyone at company scope (the operator too).
    given(world())
        .when(|a, org| may_see_article(a, Some(branch(A)), org))
        .then(&with(&READS_A, &["cm", "lead", "broker", "operator"]));
}

#[test]
fn performance_is_one_s_own_or_read_by_whoever_reads_one_s_branch() {
    let cm = world().actor("cm").staff_id;
    // Given `cm` of branch A: themselves and branch A's readers; not their team's lead.
    given(world())
        .when(|a, org| may_read_staff_performance(a, cm, Some(branch(A)), org))
        .then(&with(&READS_A, &["cm"]));
    // A staff member with no branch (head office): themselves and company readers.
    let hq = world().actor("hq").staff_id;
    given(world())
        .when(|a, org| may_read_staff_performance(a, hq, None, org))
        .then(&COMPANY_READERS);
    let operator = world().actor("operator").staff_id;
    given(world())
        .when(|a, org| may_read_staff_performance(a, operator, None, org))
        .then(&with(&COMPANY_READERS, &["operator"]));
}

#[test]
fn service_compliance_of_a_book_is_its_holder_s_their_lead_s_and_their_branch_s() {
    let w = world();
    let cm = w.actor("cm").staff_id;
    let broker = w.actor("broker").staff_id;
    let hq = w.actor("hq").staff_id;
    // Given `cm` of branch A in team T: themselves, the team's lead and branch A's readers.
    let book = ServiceScope::Staff {
        staff: cm,
        branch: Some(branch(A)),
        team: Some(team_t()),
    };
    given(world())
        .when(|a, org| may_read_service_compliance(a, book, org))
        .then(&with(&READS_A, &["cm", "lead"]));
    // The broker of branch A in no team: the lead is not theirs.
    let book = ServiceScope::Staff {
        staff: broker,
        branch: Some(branch(A)),
        team: None,
    };
    given(world())
        .when(|a, org| may_read_service_compliance(a, book, org))
        .then(&with(&READS_A, &["broker"]));
    // A staff member without a branch: themselves and the company's readers.
    let book = ServiceScope::Staff {
        staff: hq,
        branch: None,
        team: None,
    };
    given(world())
        .when(|a, org| may_read_service_compliance(a, book, org))
        .then(&COMPANY_READERS);
}

#[test]
fn service_compliance_of_a_branch_is_read_branch_wide_never_from_a_book() {
    given(world())
        .when(|a, org| may_read_service_compliance(a, ServiceScope::Branch(branch(A)), org))
        .then(&READS_A);
    given(world())
        .when(|a, org| may_read_service_compliance(a, ServiceScope::Branch(branch(C)), org))
        .then(&["hq", "rm2", "agent_hq", "auditor"]);
}

#[test]
fn a_ranking_is_read_by_the_scope_it_ranks() {
    given(world())
        .when(|a, org| may_read_ranking(a, Ranking::Company, org))
        .then(&COMPANY_READERS);
    // Region 1's: its manager and company readers (not a region auditor).
    given(world())
        .when(|a, org| may_read_ranking(a, Ranking::Region(region(1)), org))
        .then(&with(&COMPANY_READERS, &["rm"]));
    given(world())
        .when(|a, org| may_read_ranking(a, Ranking::Branch(branch(A)), org))
        .then(&with(&READS_A, &["cm", "lead", "broker"]));
    // Team T's: its branch's readers and its members, not a broker of the same branch.
    let team = |branch| Ranking::Team {
        team: team_t(),
        branch,
    };
    given(world())
        .when(|a, org| may_read_ranking(a, team(Some(branch(A))), org))
        .then(&with(&READS_A, &["cm", "lead"]));
    // A team the read side does not know: its members only.
    given(world())
        .when(|a, org| may_read_ranking(a, team(None), org))
        .then(&["cm", "lead"]);
}

#[test]
fn sealed_appraisals_are_read_by_headquarters_and_company_auditors() {
    given(world())
        .when(|a, _| may_read_sealed_appraisals(a))
        .then(&["hq", "auditor"]);
}

#[test]
fn operations_are_overseen_by_headquarters_company_auditors_and_operators() {
    // Given every role: those who read the whole log or run rebuilds; not a region or branch
    // auditor, whose history is their customers'.
    given(world())
        .when(|a, _| may_oversee_operations(a))
        .then(&["hq", "auditor", "operator"]);
}

#[test]
fn identity_and_phone_numbers_are_shown_in_full_to_who_serves_the_customer() {
    // Given the roles alone: headquarters, branch managers, customer managers and brokers.
    given(world())
        .when(|a, _| sees_pii(a))
        .then(&["hq", "bm", "bm_b", "cm", "lead", "broker", "cm_c"]);
    // For a customer: those of them who may read the customer.
    given(world())
        .when(|a, org| sees_pii_of(a, &customer(A, Some(106), Some(team_t())), org))
        .then(&["hq", "bm", "cm", "lead"]);
}

#[test]
fn the_access_log_is_read_whole_by_company_auditors_only() {
    given(world())
        .when(|a, _| access_log_sees_all(a))
        .then(&["auditor"]);
    // A branch auditor reads the entries about their branch's customers, entry by entry.
    given(world())
        .when(|a, org| {
            authorize(
                a,
                &Action::ReadAccessLog {
                    about: Some(customer(A, None, None)),
                },
                org,
            )
            .is_ok()
        })
        .then(&["auditor", "auditor_a", "auditor_r"]);
}

/// The org tree with only the parts `actor`'s decisions need (what the API loads).
fn trimmed(org: &OrgTree, actor: &Actor) -> OrgTree {
    let needs = org_tree_needs(actor);
    OrgTree {
        branch_regions: if needs.branch_regions {
            org.branch_regions.clone()
        } else {
            Default::default()
        },
        team_leads: if needs.team_leads {
            org.team_leads.clone()
        } else {
            Default::default()
        },
    }
}

#[test]
fn the_part_of_the_org_tree_a_caller_needs_decides_as_the_whole_tree_does() {
    let w = world();
    // Given every actor, when every question is asked with every target against the trimmed
    // tree and the whole tree, then the answers agree.
    let targets: Vec<CustomerTarget> = [A, B, C]
        .into_iter()
        .flat_map(|b| {
            [
                customer(b, None, None),
                customer(b, Some(106), Some(team_t())),
                customer(b, Some(999), Some(team_t())),
                customer(b, Some(107), None),
            ]
        })
        .chain([CustomerTarget::default()])
        .collect();
    let branches = [branch(A), branch(B), branch(C)];
    for (name, a) in &w.actors {
        let part = trimmed(&w.org, a);
        let ask = |org: &OrgTree| -> Vec<bool> {
            let mut out = Vec::new();
            for t in &targets {
                out.push(may_read_customer(a, t, org));
                out.push(sees_pii_of(a, t, org));
                out.push(may_see_ticket(
                    a,
                    &TicketTarget {
                        assignee: None,
                        customer: Some(*t),
                        branch: t.branch,
                    },
                    org,
                ));
            }
            for b in branches {
                out.push(may_read_branch(a, b, org));
                out.push(may_list_branch(a, b, org));
                out.push(may_see_article(a, Some(b), org));
                out.push(may_see_staff(a, org, Some(b), Scope::Branch { branch: b }));
                out.push(may_read_ranking(
                    a,
                    Ranking::Team {
                        team: team_t(),
                        branch: Some(b),
                    },
                    org,
                ));
            }
            out
        };
        assert_eq!(ask(&part), ask(&w.org), "{name}");
    }
    // And the trimming is real: region-scoped callers need the regions, books the leads.
    assert_eq!(
        org_tree_needs(&w.actor("auditor_r")),
        OrgNeeds {
            branch_regions: true,
            team_leads: false
        }
    );
    assert_eq!(
        org_tree_needs(&w.actor("lead")),
        OrgNeeds {
            branch_regions: false,
            team_leads: true
        }
    );
    assert_eq!(org_tree_needs(&w.actor("bm")), OrgNeeds::default());
}

#[test]
fn a_call_list_holds_the_targets_the_caller_serves() {
    given(world())
        .when(|a, org| on_call_list(a, &customer(A, Some(106), Some(team_t())), org))
        .then(&["hq", "rm", "bm", "cm", "lead", "agent", "agent_hq"]);
    given(world())
        .when(|a, org| on_call_list(a, &customer(C, Some(108), None), org))
        .then(&["hq", "rm2", "cm_c", "agent_hq"]);
}

#[test]
fn saved_segments_are_seen_by_the_readers_of_their_campaigns_figures() {
    given(world())
        .when(|a, org| may_see_segment(a, Some(branch(A)), org))
        .then(&READS_A);
    given(world())
        .when(|a, org| may_see_segment(a, None, org))
        .then(&["hq", "agent_hq", "auditor"]);
}
