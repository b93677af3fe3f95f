//! `customerLookup`: finding a customer at the point of contact (来电弹屏, 柜台查询) by what the
//! counter clerk or the call-centre agent has — an identity document, a phone or an account
//! number — and showing their summary, open tickets, to-dos and last contacts in one request.
//!
//! Exact matches only, through the read side's keyed-hash index
//! (`crm_projections::read_models::lookup`). The answer holds the customers the caller may
//! read; a number nobody holds and a number held only by customers outside the caller's scope
//! answer alike (an empty list). Every lookup, found or not, is recorded in the caller's access
//! log with its purpose before anything is shown, so the field is refused over GET.

use async_graphql::{Context, InputObject, Object};
use crm_domain::access::{self, LookupKey};
use crm_domain::auth::{reads_customer_data, Right};
use crm_domain::values::Phone;
use crm_projections::views::LookupValue;

use super::caller;
use super::commands::IdDocumentInput;
use super::customer_list::customer_by_id;
use super::customers::Customer;
use super::readside::{projection_error, read_models, record_access};
use crate::error::{gql, ApiError};

/// Longest purpose kept (the access log keeps 200 characters).
const PURPOSE_LEN_MAX: usize = 200;

/// What to look a customer up by: exactly one.
#[derive(InputObject)]
pub struct CustomerLookupInput {
    /// The identity document: resident ID, passport or business licence.
    pub id_document: Option<IdDocumentInput>,
    /// A phone number (`13812345678`, `+86 138 1234 5678`, `010-12345678`).
    pub phone: Option<String>,
    /// An account number as the back office issued it.
    pub account_number: Option<String>,
}

impl CustomerLookupInput {
    fn value(&self) -> Result<(LookupKey, LookupValue), ApiError> {
        match (&self.id_document, &self.phone, &self.account_number) {
            (Some(d), None, None) => {
                Ok((LookupKey::IdDocument, LookupValue::id_document(&d.parse()?)))
            }
            (None, Some(p), None) => {
                let phone =
                    Phone::parse(p).map_err(|e| ApiError::validation("by.phone", e.to_string()))?;
                Ok((LookupKey::Phone, LookupValue::phone(&phone)))
            }
            (None, None, Some(n)) => {
                let n = n.trim();
                if n.is_empty() || n.chars().count() > 64 {
                    return Err(ApiError::validation(
                        "by.accountNumber",
                        "must be 1 to 64 characters",
                    ));
                }
                Ok((LookupKey::AccountNumber, LookupValue::account_number(n)))
            }
            _ => Err(ApiError::validation(
                "by",
                "give exactly one of idDocument, phone, accountNumber",
            )),
        }
    }
}

#[derive(Default, Debug)]
pub struct LookupQuery;

#[Object]
impl LookupQuery {
    /// The customers the caller may read who hold this identity document, phone or account
    /// number now (several when a phone is shared; a merged record answers as its survivor),
    /// with whatever of their archive is selected: the call-centre screen pop. Empty for a
    /// number nobody holds and for one held only outside the caller's scope. `purpose` (why,
    /// e.g. "来电咨询") is required; the lookup is recorded in the caller's access log, found
    /// or not, before the answer (POST only).
    async fn customer_lookup(
        &self,
        ctx: &Context<'_>,
        by: CustomerLookupInput,
        purpose: String,
    ) -> async_graphql::Result<Vec<Customer>> {
        async {
            let actor = *caller(ctx)?;
            if !reads_customer_data(&actor) {
                return Err(ApiError::Forbidden(format!(
                    "missing right {:?}",
                    Right::ReadCustomer
                )));
            }
            let purpose = purpose.trim();
            if purpose.is_empty() {
                return Err(ApiError::validation("purpose", "must say why"));
            }
            let purpose: String = purpose.chars().take(PURPOSE_LEN_MAX).collect();
            let (key, value) = by.value()?;
            let models = read_models(ctx)?;
            let holders = models
                .projections()
                .customer_lookup(&value)
                .map_err(projection_error)?;
            let mut shown = Vec::with_capacity(holders.len());
            for id in holders {
                if let Some(c) = customer_by_id(ctx, &actor, id)? {
                    shown.push((id, c));
                }
            }
            let found = shown.iter().map(|(id, _)| *id).collect();
            record_access(ctx, &actor, |now| access::Command::RecordLookup {
                staff_id: actor.staff_id,
                by: key,
                found,
                purpose,
                now,
            })
            .await?;
            Ok(shown.into_iter().map(|(_, c)| c).collect())
        }
        .await
        .map_err(gql)
    }
}
