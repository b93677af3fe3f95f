//! Every command exactly once by its command id: a resend answers with the first result, and a
//! command id reused for another command, on the same stream or any other, is a conflict.
#![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed

mod common;
use common::*;

use crm_app::{App, AppCommand, AppError, CommandEnvelope};
use crm_domain::customer::{self, CustomerKind};
use crm_domain::values::{Channel, LongText, OrgName, ShortText};
use crm_domain::{article, campaign, interaction, opportunity, ticket, Money};
use time::macros::{date, datetime};
use uuid::Uuid;

#[tokio::test]
async fn the_same_command_id_twice_writes_once_and_answers_twice_alike() {
    let w = World::new().await;
    let env = envelope(hq(), mark_key(1));
    let first = w.app.execute(env.clone()).await.unwrap();
    let head = w.app.store().head();
    let second = w.app.execute(env).await.unwrap();
    assert_eq!(w.app.store().head(), head, "nothing more was written");
    assert_eq!(first.events, second.events);
    assert!(second.already_handled && !first.already_handled);
}

#[tokio::test]
async fn a_command_id_resent_by_someone_else_gets_no_result_back() {
    let w = World::new().await;
    let env = envelope(customer_manager(1, 1), mark_key(1));
    w.app.execute(env.clone()).await.unwrap();
    // Another staff member with the same command id (leaked or guessed): refused, even one
    // with rights over the customer, and nothing of the first result is returned.
    for other in [customer_manager(2, 2), hq()] {
        let resent = CommandEnvelope {
            actor: other,
            ..env.clone()
        };
        assert!(matches!(
            w.app.execute(resent).await,
            Err(AppError::CommandIdReused { .. })
        ));
    }
}

#[tokio::test]
async fn a_retried_command_returns_its_first_result_even_after_the_state_moved_on() {
    let w = World::new().await;
    let mark = envelope(hq(), mark_key(1));
    let first = w.app.execute(mark.clone()).await.unwrap();
    w.ok(
        hq(),
        AppCommand::Customer {
            customer: customer_id(1),
            command: customer::Command::MarkKeyCustomer {
                is_key: false,
                now: NOW,
            },
        },
    )
    .await;
    let retry = w.app.execute(mark).await.unwrap();
    assert!(retry.already_handled);
    assert_eq!(retry.events, first.events);
    assert!(
        !w.customer(1).key_customer,
        "the retry did not apply the command a second time"
    );
}

// Exactly once by command id: a command that creates an entity mints the entity's id from its
// command id (as the API does), so sending it again creates nothing new, and the command id sent
// with a different request is a conflict.

/// An entity-creating command for the entity `id`, in its first form or a changed one.
type Creating = fn(Uuid, bool) -> AppCommand;

fn open_ticket(id: Uuid, changed: bool) -> AppCommand {
    AppCommand::Ticket {
        ticket: id.into(),
        command: ticket::Command::Open {
            ticket_id: id.into(),
            customer_id: Some(customer_id(1)),
            branch: Some(branch_id(1)),
            kind: ticket::TicketKind::Complaint,
            priority: ticket::Priority::Normal,
            channel: Channel::Phone,
            subject: ShortText::parse(if changed {
                "另一件事"
            } else {
                "转账失败"
            })
            .unwrap(),
            description: LongText::parse("客户来电").unwrap(),
            now: NOW,
        },
    }
}

fn record_contact(id: Uuid, changed: bool) -> AppCommand {
    AppCommand::Interaction {
        interaction: id.into(),
        command: interaction::Command::RecordContact {
            interaction_id: id.into(),
            customer_id: customer_id(1),
            staff_id: staff(1),
            channel: Channel::Phone,
            direction: interaction::Direction::Outbound,
            topic: ShortText::parse("回访").unwrap(),
            outcome: if changed {
                interaction::Outcome::NotReached
            } else {
                interaction::Outcome::Reached
            },
            notes: LongText::parse("已联系").unwrap(),
            follow_up_on: None,
            now: NOW,
        },
    }
}

fn record_care_contact(id: Uuid, changed: bool) -> AppCommand {
    AppCommand::Interaction {
        interaction: id.into(),
        command: interaction::Command::RecordCareContact {
            interaction_id: id.into(),
            customer_id: customer_id(1),
            staff_id: staff(1),
            occasion: if changed {
                interaction::CareOccasion::Holiday
            } else {
                interaction::CareOccasion::Birthday
            },
            channel: Channel::WeChat,
            notes: LongText::parse("生日问候").unwrap(),
            now: NOW,
        },
    }
}

fn plan_visit(id: Uuid, changed: bool) -> AppCommand {
    AppCommand::Interaction {
        interaction: id.into(),
        command: interaction::Command::PlanVisit {
            interaction_id: id.into(),
            customer_id: customer_id(1),
            staff_id: staff(1),
            planned_for: if changed {
                datetime!(2024-03-09 10:00 +8)
            } else {
                datetime!(2024-03-08 10:00 +8)
            },
            purpose: ShortText::parse("资产配置").unwrap(),
            now: NOW,
        },
    }
}

fn create_lead(id: Uuid, changed: bool) -> AppCommand {
    AppCommand::Opportunity {
        opportunity: id.into(),
        command: opportunity::Command::CreateLead {
            opportunity_id: id.into(),
            customer_id: customer_id(1),
            product_id: None,
            expected_amount: Money::parse(if changed { "20000" } else { "10000" }).unwrap(),
            owner: staff(1),
            source: Channel::Counter,
            title: ShortText::parse("理财需求").unwrap(),
            now: NOW,
        },
    }
}

fn publish_article(id: Uuid, changed: bool) -> AppCommand {
    AppCommand::Article {
        article: id.into(),
        command: article::Command::Publish {
            article_id: id.into(),
            kind: article::ArticleKind::Knowledge,
            audience: None,
            title: ShortText::parse("开户须知").unwrap(),
            body: LongText::parse(if changed { "第二版" } else { "第一版" }).unwrap(),
            by: staff(1),
            now: NOW,
        },
    }
}

fn register_customer(id: Uuid, changed: bool) -> AppCommand {
    AppCommand::Customer {
        customer: id.into(),
        command: customer::Command::Register {
            customer_id: id.into(),
            kind: CustomerKind::Individual,
            profile: profile(if changed { 51 } else { 50 }),
            as_prospect: false,
            existing_customer_with_same_document: None,
            now: NOW,
        },
    }
}

fn plan_campaign(id: Uuid, changed: bool) -> AppCommand {
    AppCommand::Campaign {
        campaign: id.into(),
        command: campaign::Command::Plan {
            campaign_id: id.into(),
            name: OrgName::parse("春季理财节").unwrap(),
            branch: None,
            target_segment: LongText::parse("全部客户").unwrap(),
            product_id: None,
            starts_on: date!(2024 - 04 - 01),
            ends_on: if changed {
                date!(2024 - 05 - 31)
            } else {
                date!(2024 - 04 - 30)
            },
            budget: Money::parse("50000").unwrap(),
            now: NOW,
        },
    }
}

const CREATING: [(&str, Creating); 8] = [
    ("ticket", open_ticket),
    ("interaction", record_contact),
    ("interaction", record_care_contact),
    ("interaction", plan_visit),
    ("opportunity", create_lead),
    ("article", publish_article),
    ("customer", register_customer),
    ("campaign", plan_campaign),
];

/// The streams of `category`.
fn streams(app: &App, category: &str) -> std::collections::BTreeSet<String> {
    app.store()
        .read_filtered(
            &crm_eventstore::Filter::Category(category.into()),
            crm_eventstore::AllStart::Start,
            crm_eventstore::Direction::Forwards,
            10_000,
        )
        .unwrap()
        .into_iter()
        .map(|e| e.stream)
        .collect()
}

#[tokio::test]
async fn a_creating_command_sent_twice_with_one_command_id_creates_one_entity() {
    let w = World::new().await;
    for (kind, make) in CREATING {
        let before = streams(&w.app, kind);
        // Each attempt mints the id from the command id, as a retrying client's request does.
        let command_id = Uuid::now_v7();
        let attempt = || CommandEnvelope {
            command_id,
            ..envelope(hq(), make(crm_app::new_entity_id(command_id, kind), false))
        };
        let first = w.app.execute(attempt()).await.unwrap();
        let second = w.app.execute(attempt()).await.unwrap();
        let created: Vec<_> = streams(&w.app, kind).difference(&before).cloned().collect();
        assert_eq!(created.len(), 1, "{kind}: one entity, not {created:?}");
        assert!(!first.already_handled, "{kind}");
        assert!(second.already_handled, "{kind}: the resend is recognised");
        assert_eq!(first.events, second.events, "{kind}: answered alike");
        assert_eq!(
            first.events[0].stream, created[0],
            "{kind}: the same entity"
        );
    }
}

#[tokio::test]
async fn a_creating_command_id_sent_again_with_other_content_is_a_conflict() {
    let w = World::new().await;
    for (kind, make) in CREATING {
        let command_id = Uuid::now_v7();
        let send = |changed| CommandEnvelope {
            command_id,
            ..envelope(
                hq(),
                make(crm_app::new_entity_id(command_id, kind), changed),
            )
        };
        w.app.execute(send(false)).await.unwrap();
        let head = w.app.store().head();
        match w.app.execute(send(true)).await {
            Err(AppError::CommandIdReused { command_id: c, .. }) => assert_eq!(c, command_id),
            other => panic!("{kind}: expected a conflict, got {other:?}"),
        }
        assert_eq!(w.app.store().head(), head, "{kind}: nothing was written");
    }
}

#[tokio::test]
async fn a_command_id_that_created_one_kind_of_entity_cannot_create_another() {
    let w = World::new().await;
    let command_id = Uuid::now_v7();
    let send = |kind, make: Creating| CommandEnvelope {
        command_id,
        ..envelope(hq(), make(crm_app::new_entity_id(command_id, kind), false))
    };
    w.app.execute(send("ticket", open_ticket)).await.unwrap();
    // Another kind of entity: another stream, but the same command id.
    match w.app.execute(send("opportunity", create_lead)).await {
        Err(AppError::CommandIdReused { stream, .. }) => assert!(stream.starts_with("ticket-")),
        other => panic!("expected a conflict, got {other:?}"),
    }
    // The same kind, another command: the interaction's first command decides.
    let interaction = Uuid::now_v7();
    let send = |make: Creating| CommandEnvelope {
        command_id: interaction,
        ..envelope(
            hq(),
            make(crm_app::new_entity_id(interaction, "interaction"), false),
        )
    };
    w.app.execute(send(record_contact)).await.unwrap();
    assert!(matches!(
        w.app.execute(send(plan_visit)).await,
        Err(AppError::CommandIdReused { .. })
    ));
    // A later command on the created entity under the creating command's id.
    let assign = CommandEnvelope {
        command_id,
        ..envelope(
            hq(),
            AppCommand::Ticket {
                ticket: crm_app::new_entity_id(command_id, "ticket").into(),
                command: ticket::Command::Assign {
                    assignee: staff(1),
                    by: staff(1),
                    now: NOW,
                },
            },
        )
    };
    assert!(matches!(
        w.app.execute(assign).await,
        Err(AppError::CommandIdReused { .. })
    ));
}

// ------------------------------------------------- a command id reused on another existing stream

fn mark_key(n: u128) -> AppCommand {
    AppCommand::Customer {
        customer: customer_id(n),
        command: customer::Command::MarkKeyCustomer {
            is_key: true,
            now: NOW,
        },
    }
}

fn customer_stream(n: u128) -> String {
    crm_app::stream_of::<customer::Customer>(&customer_id(n))
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn a_command_id_used_on_one_customer_is_a_conflict_on_another() {
    let w = World::new().await;
    w.register(hq(), 2).await.unwrap();
    let first = envelope(hq(), mark_key(1));
    w.app.execute(first.clone()).await.unwrap();
    let head = w.app.store().head();
    // The same command id for the same kind of command on another existing customer.
    let reused = CommandEnvelope {
        command: mark_key(2),
        ..first.clone()
    };
    match w.app.execute(reused).await {
        Err(AppError::CommandIdReused { command_id, stream }) => {
            assert_eq!(command_id, first.command_id);
            assert_eq!(stream, customer_stream(1), "its sender is told where");
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(w.app.store().head(), head, "nothing was written");
    assert!(!w.customer(2).key_customer);
    // The first command sent again is still answered with its first result.
    let again = w.app.execute(first).await.unwrap();
    assert!(again.already_handled);
    assert_eq!(again.events[0].stream, customer_stream(1));
}

#[tokio::test]
async fn a_command_id_reused_by_someone_else_on_another_stream_is_refused_without_naming_it() {
    let w = World::new().await;
    w.register(hq(), 2).await.unwrap();
    w.ok(
        hq(),
        assign(
            2,
            crm_domain::customer::Assignment {
                branch: branch_id(2),
                manager: Some(customer_manager(2, 2).staff_id),
                team: None,
            },
            staff(1),
        ),
    )
    .await;
    let first = envelope(customer_manager(1, 1), mark_key(1));
    w.app.execute(first.clone()).await.unwrap();
    let other = CommandEnvelope {
        actor: customer_manager(2, 2),
        command: mark_key(2),
        ..first
    };
    match w.app.execute(other).await {
        Err(AppError::CommandIdReused { stream, .. }) => {
            assert_eq!(stream, customer_stream(2), "only the stream it asked for")
        }
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert!(!w.customer(2).key_customer);
}

#[tokio::test]
async fn two_commands_racing_with_one_command_id_on_two_streams_write_one() {
    let w = World::new().await;
    for n in 2..=3 {
        w.register(hq(), n).await.unwrap();
    }
    for _ in 0..20 {
        let command_id = Uuid::now_v7();
        let head = w.app.store().head();
        let send = |n| {
            let app = w.app.clone();
            let env = CommandEnvelope {
                command_id,
                ..envelope(hq(), mark_key(n))
            };
            tokio::spawn(async move { app.execute(env).await })
        };
        let (a, b) = (send(2), send(3));
        let results = [a.await.unwrap(), b.await.unwrap()];
        let won = results.iter().filter(|r| r.is_ok()).count();
        let refused = results
            .iter()
            .filter(|r| matches!(r, Err(AppError::CommandIdReused { .. })))
            .count();
        assert_eq!((won, refused), (1, 1), "{results:?}");
        assert_eq!(w.app.store().head().0, head.0 + 1, "one event written");
        // Reset both for the next round under fresh command ids.
        for n in 2..=3 {
            if w.customer(n).key_customer {
                w.ok(
                    hq(),
                    AppCommand::Customer {
                        customer: customer_id(n),
                        command: customer::Command::MarkKeyCustomer {
                            is_key: false,
                            now: NOW,
                        },
                    },
                )
                .await;
            }
        }
    }
}

#[tokio::test]
async fn a_merge_resent_is_answered_and_its_command_id_is_taken_for_other_commands() {
    let w = World::new().await;
    w.register(hq(), 2).await.unwrap();
    let merge = envelope(
        hq(),
        AppCommand::MergeCustomers {
            survivor: customer_id(1),
            merged: customer_id(2),
        },
    );
    let first = w.app.execute(merge.clone()).await.unwrap();
    assert!(first.events.len() >= 2, "both halves: {first:?}");
    let head = w.app.store().head();
    let again = w.app.execute(merge.clone()).await.unwrap();
    assert!(again.already_handled);
    assert_eq!(w.app.store().head(), head);
    w.register(hq(), 3).await.unwrap();
    let head = w.app.store().head();
    let reused = CommandEnvelope {
        command: mark_key(3),
        ..merge
    };
    assert!(matches!(
        w.app.execute(reused).await,
        Err(AppError::CommandIdReused { .. })
    ));
    assert_eq!(w.app.store().head(), head);
}

#[tokio::test]
async fn a_command_recorded_before_first_event_ids_is_still_recognised_when_resent() {
    // A log written by an earlier build: the command's first event has the per-stream id.
    let w = World::new().await;
    let env = envelope(hq(), mark_key(1));
    let stream = crm_app::stream_of::<customer::Customer>(&customer_id(1)).unwrap();
    let (_, revision) = w.app.load::<customer::Customer>(&stream).unwrap();
    let event = customer::Event::KeyCustomerMarked {
        customer_id: customer_id(1),
        is_key: true,
        at: NOW,
    };
    let metadata = crm_eventstore::EventMetadata {
        actor: format!("staff-{}", hq().staff_id),
        occurred_at: NOW,
        correlation_id: Some(env.command_id),
        causation_id: None,
        command_id: Some(env.command_id),
    };
    let recorded = crm_codec::encode(
        &event,
        crm_app::event_id(env.command_id, &stream, 0),
        metadata,
    )
    .unwrap();
    let expected = crm_eventstore::ExpectedRevision::Exact(revision.unwrap());
    w.app
        .store()
        .append(&stream, expected, vec![recorded])
        .await
        .unwrap();
    let head = w.app.store().head();
    let resent = w.app.execute(env).await.unwrap();
    assert!(resent.already_handled);
    assert_eq!(w.app.store().head(), head, "nothing written again");
}
