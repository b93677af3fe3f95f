//! Content: knowledge articles, announcements and news (知识库 / 公告) as last revised.

use crate::model::Model;
use crm_domain::ids::{ArticleId, BranchId, StaffId};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A knowledge article, announcement or news item (知识库 / 公告), as last revised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArticleRecord {
    pub id: ArticleId,
    pub kind: crm_domain::article::ArticleKind,
    /// The branch it is for; `None`: the whole company.
    pub audience: Option<BranchId>,
    pub title: String,
    pub body: String,
    pub revision: u32,
    pub published_by: StaffId,
    pub published_at: OffsetDateTime,
    pub updated_at: OffsetDateTime,
    pub withdrawn: bool,
    pub position: u64,
}

pub(crate) fn apply_article(m: &mut Model, p: u64, e: &crm_domain::article::Event) {
    use crm_domain::article::Event;
    match e {
        Event::ArticlePublished {
            article_id,
            kind,
            audience,
            title,
            body,
            by,
            at,
        } => m.articles.insert(
            *article_id,
            ArticleRecord {
                id: *article_id,
                kind: *kind,
                audience: *audience,
                title: title.as_str().to_string(),
                body: body.as_str().to_string(),
                revision: 1,
                published_by: *by,
                published_at: *at,
                updated_at: *at,
                withdrawn: false,
                position: p,
            },
        ),
        Event::ArticleRevised {
            article_id,
            revision,
            title,
            body,
            at,
            ..
        } => {
            if let Some(a) = m.articles.get_mut(article_id) {
                a.revision = *revision;
                a.title = title.as_str().to_string();
                a.body = body.as_str().to_string();
                a.updated_at = *at;
                a.position = p;
            }
        }
        Event::ArticleWithdrawn { article_id, at, .. } => {
            if let Some(a) = m.articles.get_mut(article_id) {
                a.withdrawn = true;
                a.updated_at = *at;
                a.position = p;
            }
        }
    }
}

/// Every article, in no particular order.
pub fn articles(m: &Model) -> impl Iterator<Item = &ArticleRecord> {
    m.articles.values()
}
