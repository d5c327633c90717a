//! `changestate` on a source server, guarded on the source record itself: the live views list
//! tasks, and a source being reset has no task yet, so its state is read with
//! `GET /v3/sources/{id}` before the call (effect already there → not sent; precondition →
//! sent) and after it (SMS answers 200 even when it ignores the change, so the effect is
//! checked, never assumed).

use migplan_wire::sms::{ChangeStateRequest, SourceServer};

use super::*;
use crate::condition::holds_source;

impl Run<'_> {
    pub(super) async fn change_source_state(
        &mut self,
        source_id: String,
        req: ChangeStateRequest,
    ) -> Result<Option<String>, Halt> {
        let step = self.step;
        let state = |s: &SourceServer| {
            s.state
                .as_ref()
                .map_or_else(|| "?".to_string(), |s| s.as_str().to_string())
        };
        let src = self.read_source(&source_id).await?;
        if holds_source(&step.effect, &src) {
            return Ok(Some(format!("already done (source {})", state(&src))));
        }
        if !holds_source(&step.precondition, &src) {
            return Err(Halt::Failed(StepError::new(format!(
                "cannot {}: the source server is {}, expected {}",
                step.label,
                state(&src),
                describe(&step.precondition)
            ))));
        }
        let sms = self.ctx.cloud.sms().clone();
        self.with_retries(|| {
            let sms = sms.clone();
            let req = req.clone();
            let source_id = source_id.clone();
            async move { sms.change_source_state(&source_id, &req).await }
        })
        .await?;
        let src = self.read_source(&source_id).await?;
        if !holds_source(&step.effect, &src) {
            return Err(Halt::Failed(StepError::new(format!(
                "SMS accepted {} but the source server is still {} (it ignores changestate while a source is unavailable, stopping, stopped, deleting, finished, clearing or clear-failed)",
                step.label,
                state(&src)
            ))));
        }
        Ok(None)
    }

    /// A fresh read of one source server.
    async fn read_source(&mut self, source_id: &str) -> Result<SourceServer, Halt> {
        let sms = self.ctx.cloud.sms();
        self.read(|| sms.show_source(source_id))
            .await
            .map_err(|e| Halt::Failed(StepError::from_cloud(&e)))
    }
}
