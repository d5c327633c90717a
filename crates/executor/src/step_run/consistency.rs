//! The consistency gate of `consistency_check: true`: read SMS's consistency check result for
//! the task right before its cutover. OK is done; different or missing files, or a result that
//! cannot be judged, hold the cutover with the figures. While the check still runs, wait for
//! it; a check that ended without a result (skipped) holds too.

use migplan_planner::current::consistency_check_running;
use migplan_wire::sms::{ConsistencyResults, ConsistencyVerdict};

use super::*;

impl Run<'_> {
    pub(super) async fn consistency_gate(&mut self) -> Result<Option<String>, Halt> {
        let id = self.require_id().await?;
        let mut min_seq = 0;
        loop {
            let results = self.read_consistency(&id).await?;
            // Directory names are escaped and clipped by the summary.
            let summary = results.summary();
            match results.verdict() {
                ConsistencyVerdict::Consistent => return Ok(Some(summary)),
                ConsistencyVerdict::Inconsistent | ConsistencyVerdict::Undetermined => {
                    return Err(Halt::Held(format!(
                        "the SMS consistency check did not pass: {summary}; fix the source or \
                         target, run the check again (restart), or set `consistency_check: false`"
                    )));
                }
                ConsistencyVerdict::NoResult => {}
            }
            // No result: the check may still run (wait for the next poll), or never ran.
            let v = self.fresh_view(min_seq).await?;
            min_seq = v.seq() + 1;
            let obj = self.obj_in(&*v)?;
            let running = matches!(obj, Obj::Sms(Some(t)) if consistency_check_running(t));
            if !running {
                return Err(Halt::Held(
                    "the task has no consistency check result (the check was skipped or never \
                     ran): restart the task to check again, or set `consistency_check: false`"
                        .into(),
                ));
            }
        }
    }

    /// `GET /v3/tasks/{id}/consistency-result`, retried like every read.
    async fn read_consistency(&mut self, id: &str) -> Result<ConsistencyResults, Halt> {
        let sms = self.ctx.cloud.sms();
        self.read(|| sms.consistency_results(id))
            .await
            .map_err(|e| Halt::Failed(StepError::from_cloud(&e)))
    }
}
