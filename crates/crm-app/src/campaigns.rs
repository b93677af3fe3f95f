//! Campaign and saved-segment commands (issue 16 item 3). Who may send what: a response is
//! recorded by whoever serves the customer (`Action::RecordInteraction` on the customer as
//! assigned now: the manager working the call list records what the customer said); every
//! other campaign step, and saving a segment, by whoever manages the campaigns of the
//! campaign's (segment's) branch (`Action::ManageCampaign`; headquarters for company-wide
//! ones). An existing campaign or segment is judged by the branch it was created for, not by
//! what a later command names.

use crm_domain::auth::{Action, OrgTree};
use crm_domain::ids::{CampaignId, SegmentId};
use crm_domain::{campaign, segment};

use crate::app::App;
use crate::command::{CommandEnvelope, CommandOutcome};
use crate::error::AppError;

impl App {
    pub(crate) async fn campaign(
        &self,
        env: &CommandEnvelope,
        campaign: CampaignId,
        command: campaign::Command,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        let responder = match &command {
            campaign::Command::RecordResponse { customer_id, .. } => {
                Some(self.customer_target(Some(*customer_id))?)
            }
            _ => None,
        };
        let planned_branch = match &command {
            campaign::Command::Plan { branch, .. } => Some(*branch),
            _ => None,
        };
        self.run::<campaign::Campaign>(
            env,
            &campaign,
            command,
            |state| {
                Ok(match responder {
                    Some(target) => Action::RecordInteraction(target),
                    None => Action::ManageCampaign {
                        branch: planned_branch.unwrap_or(state.branch),
                    },
                })
            },
            org,
        )
        .await
    }

    pub(crate) async fn segment(
        &self,
        env: &CommandEnvelope,
        segment: SegmentId,
        command: segment::Command,
        org: &OrgTree,
    ) -> Result<CommandOutcome, AppError> {
        let saved_for = match &command {
            segment::Command::Save { branch, .. } => *branch,
        };
        self.run::<segment::Segment>(
            env,
            &segment,
            command,
            |state| {
                // An existing segment is its branch's to redefine, whatever the command names
                // (the domain refuses a change of branch).
                let branch = if state.id.is_some() {
                    state.branch
                } else {
                    saved_for
                };
                Ok(Action::ManageCampaign { branch })
            },
            org,
        )
        .await
    }
}
