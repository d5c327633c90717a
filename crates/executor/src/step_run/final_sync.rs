//! The final sync round before a cutover (`max_sync_age_seconds`): the age of the last
//! finished copy or sync round is read from a fresh view of the task and the cloud's clock
//! (the newest `Date` the service sent). Young enough: nothing is sent, and the note states the
//! age. Older: `start`, guarded like every action, then wait for the round to finish.

use std::time::{SystemTime, UNIX_EPOCH};

use migplan_planner::kinds::{age_text, last_round_end_ms};
use migplan_wire::sms::{Operation, TaskActionRequest, TaskState};

use super::*;

impl Run<'_> {
    pub(super) async fn final_sync(
        &mut self,
        max_age_seconds: u32,
    ) -> Result<Option<String>, Halt> {
        let max_ms = i64::from(max_age_seconds) * 1000;
        let v = self.fresh_view(0).await?;
        let obj = self.obj_in(&*v)?;
        self.ours(obj)?;
        if let Obj::Sms(Some(t)) = obj
            && t.state != Some(TaskState::Syncing)
            && let Some(end) = last_round_end_ms(t)
        {
            let age_ms = (self.cloud_now_ms() - end).max(0);
            if age_ms <= max_ms {
                return Ok(Some(format!(
                    "not needed: the last round finished {} ago (at most {} allowed)",
                    age_text(u64::try_from(age_ms / 1000).unwrap_or(0)),
                    age_text(u64::from(max_age_seconds))
                )));
            }
        }
        let req = TaskActionRequest::new(Operation::Start);
        let sms = self.ctx.cloud.sms().clone();
        let note = self
            .guarded_call(move |id| {
                let sms = sms.clone();
                let req = req.clone();
                async move { sms.task_action(&id, &req).await }
            })
            .await?;
        Ok(Some(note.unwrap_or_else(|| {
            "a final sync round finished right before the cutover".into()
        })))
    }

    /// The cloud's time in epoch ms: its newest `Date`, else this machine's clock.
    fn cloud_now_ms(&self) -> i64 {
        let now = self.ctx.cloud.cloud_now().unwrap_or_else(SystemTime::now);
        now.duration_since(UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
    }
}
