//! Knowledge-base articles (知识库), announcements (公告) and news (资讯) for staff, stream
//! `article-<id>`: published, revised (each revision numbered), withdrawn.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::DomainError;
use crate::ids::{ArticleId, BranchId, StaffId};
use crate::values::{LongText, ShortText};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ArticleKind {
    Knowledge,
    Announcement,
    News,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct State {
    pub id: Option<ArticleId>,
    pub kind: Option<ArticleKind>,
    pub title: Option<ShortText>,
    pub body: Option<LongText>,
    pub revision: u32,
    pub withdrawn: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Publish {
        article_id: ArticleId,
        kind: ArticleKind,
        /// None: the whole company; Some: one branch's staff.
        audience: Option<BranchId>,
        title: ShortText,
        body: LongText,
        by: StaffId,
        now: OffsetDateTime,
    },
    Revise {
        title: ShortText,
        body: LongText,
        by: StaffId,
        now: OffsetDateTime,
    },
    Withdraw {
        reason: ShortText,
        by: StaffId,
        now: OffsetDateTime,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Event {
    ArticlePublished {
        article_id: ArticleId,
        kind: ArticleKind,
        audience: Option<BranchId>,
        title: ShortText,
        body: LongText,
        by: StaffId,
        at: OffsetDateTime,
    },
    ArticleRevised {
        article_id: ArticleId,
        revision: u32,
        title: ShortText,
        body: LongText,
        by: StaffId,
        at: OffsetDateTime,
    },
    ArticleWithdrawn {
        article_id: ArticleId,
        reason: ShortText,
        by: StaffId,
        at: OffsetDateTime,
    },
}

crate::aggregate!(Article, category: "article", id: article_id, events: [
    ArticlePublished, ArticleRevised, ArticleWithdrawn,
]);

pub fn decide(state: &State, command: Command) -> Result<Vec<Event>, DomainError> {
    let Some(article_id) = state.id else {
        return match command {
            Command::Publish {
                article_id,
                kind,
                audience,
                title,
                body,
                by,
                now,
            } => Ok(vec![Event::ArticlePublished {
                article_id,
                kind,
                audience,
                title,
                body,
                by,
                at: now,
            }]),
            _ => Err(DomainError::NotFound { entity: "article" }),
        };
    };
    match command {
        Command::Publish { .. } => Err(DomainError::AlreadyExists { entity: "article" }),
        _ if state.withdrawn => Err(DomainError::InvalidTransition {
            from: "withdrawn",
            command: "change an article",
        }),
        Command::Revise {
            title,
            body,
            by,
            now,
        } => {
            if state.title.as_ref() == Some(&title) && state.body.as_ref() == Some(&body) {
                return Ok(vec![]);
            }
            let revision = state.revision.saturating_add(1);
            Ok(vec![Event::ArticleRevised {
                article_id,
                revision,
                title,
                body,
                by,
                at: now,
            }])
        }
        Command::Withdraw { reason, by, now } => Ok(vec![Event::ArticleWithdrawn {
            article_id,
            reason,
            by,
            at: now,
        }]),
    }
}

pub fn evolve(mut state: State, event: &Event) -> State {
    match event {
        Event::ArticlePublished {
            article_id,
            kind,
            title,
            body,
            ..
        } => {
            state.id = Some(*article_id);
            state.kind = Some(*kind);
            state.title = Some(title.clone());
            state.body = Some(body.clone());
            state.revision = 1;
        }
        Event::ArticleRevised {
            revision,
            title,
            body,
            ..
        } => {
            state.revision = *revision;
            state.title = Some(title.clone());
            state.body = Some(body.clone());
        }
        Event::ArticleWithdrawn { .. } => state.withdrawn = true,
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

    fn aid() -> ArticleId {
        ArticleId::from_uuid(Uuid::from_u128(1))
    }
    fn sid() -> StaffId {
        StaffId::from_uuid(Uuid::from_u128(2))
    }
    fn title(s: &str) -> ShortText {
        ShortText::parse(s).expect("valid")
    }
    fn body(s: &str) -> LongText {
        LongText::parse(s).expect("valid")
    }
    fn published() -> Event {
        Event::ArticlePublished {
            article_id: aid(),
            kind: ArticleKind::Announcement,
            audience: None,
            title: title("春节休市安排"),
            body: body("2月9日至2月17日休市"),
            by: sid(),
            at: NOW,
        }
    }

    #[test]
    fn it_publishes_an_announcement() {
        given::<Article>([])
            .when(Command::Publish {
                article_id: aid(),
                kind: ArticleKind::Announcement,
                audience: None,
                title: title("春节休市安排"),
                body: body("2月9日至2月17日休市"),
                by: sid(),
                now: NOW,
            })
            .then([published()]);
    }

    #[test]
    fn it_revises_an_article_with_a_new_revision_number() {
        let state = given::<Article>([published()])
            .when(Command::Revise {
                title: title("春节休市安排"),
                body: body("更正"),
                by: sid(),
                now: NOW,
            })
            .then([Event::ArticleRevised {
                article_id: aid(),
                revision: 2,
                title: title("春节休市安排"),
                body: body("更正"),
                by: sid(),
                at: NOW,
            }]);
        assert_eq!(state.revision, 2);
    }

    #[test]
    fn it_withdraws_an_article_and_then_refuses_revisions() {
        let withdrawn = Event::ArticleWithdrawn {
            article_id: aid(),
            reason: title("outdated"),
            by: sid(),
            at: NOW,
        };
        given::<Article>([published()])
            .when(Command::Withdraw {
                reason: title("outdated"),
                by: sid(),
                now: NOW,
            })
            .then([withdrawn.clone()]);
        given::<Article>([published(), withdrawn])
            .when(Command::Revise {
                title: title("x"),
                body: body("y"),
                by: sid(),
                now: NOW,
            })
            .then_err(DomainError::InvalidTransition {
                from: "withdrawn",
                command: "change an article",
            });
    }
}
