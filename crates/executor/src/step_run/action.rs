//! Actions, guarded: skipped when their effect is already live, resolved by a fresh read when
//! their outcome is unknown or the service says the state is wrong.

use super::*;

impl Run<'_> {
    /// Precondition → call → effect, with unknown outcomes and wrong-state answers resolved by
    /// a fresh read; then the postcondition wait. A follower first gives the run that drives
    /// the resource a few polls to make the call.
    pub(super) async fn guarded_call<F, Fut>(&mut self, f: F) -> Result<Option<String>, Halt>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<(), CloudError>>,
    {
        let step = self.step;
        let name = self.addr.name.clone();
        let eff = &step.effect;
        let mut attempt = 0;
        let mut min_seq = 0;
        let mut missing = 0;
        let mut followed = 0;
        let mut note = None;
        loop {
            let v = self.fresh_view(min_seq).await?;
            min_seq = v.seq() + 1;
            let obj = self.obj_in(&v)?;
            self.ours(obj)?;
            if self.id.is_none() {
                self.id = obj_id(obj);
            }
            if obj.exists() && holds(eff, obj) {
                if attempt == 0 {
                    let by = if self.follow {
                        "done by another apply"
                    } else {
                        "already done"
                    };
                    note = Some(format!("{by} ({})", obj.state_text()));
                }
                break;
            }
            if !obj.exists() {
                missing += 1;
                if missing < 3 {
                    continue;
                }
                return Err(Halt::Failed(StepError::new(format!(
                    "no live task is named {name}"
                ))));
            }
            // Another apply may be about to make this very call (see `follow` in the module
            // docs): sending it too would only be refused. Give it a few polls.
            if self.follow && attempt == 0 {
                if followed < self.ctx.follow_patience {
                    followed += 1;
                    continue;
                }
                tracing::debug!(step = %step.id, "the other apply did not act; acting instead");
                self.follow = false;
            }
            if !holds(&step.precondition, obj) {
                // A gated start names what the network check measured.
                let measured = match obj.network() {
                    Some(r) if step.precondition.needs_network_speed() => {
                        format!("; the network check measured {r}")
                    }
                    _ => String::new(),
                };
                return Err(Halt::Failed(StepError::new(format!(
                    "cannot {}: the task is {}, expected {}{measured}",
                    step.label,
                    obj.state_text(),
                    describe(&step.precondition)
                ))));
            }
            attempt += 1;
            if attempt > self.ctx.max_attempts {
                return Err(Halt::Failed(StepError::new(format!(
                    "gave up on {} after {} attempts with unknown outcome",
                    step.label,
                    attempt - 1
                ))));
            }
            let id = obj_id(obj).unwrap_or_default();
            match self.call(f(id)).await {
                Ok(()) => break,
                // Re-read: the loop sees the effect, or the precondition and sends again.
                Err(e) if e.is_outcome_unknown() => {
                    tracing::debug!(step = %step.id, error = %e, "outcome unknown; re-reading");
                }
                // Refused for the state: another run did it. Done if the effect shows; never
                // sent again.
                Err(e) if e.code().is_some_and(|c| WRONG_STATE.contains(&c)) => {
                    let v = self.fresh_view(min_seq).await?;
                    let obj = self.obj_in(&v)?;
                    self.ours(obj)?;
                    if obj.exists() && holds(eff, obj) {
                        note = Some(format!(
                            "already in the target state ({})",
                            obj.state_text()
                        ));
                        break;
                    }
                    return Err(Halt::Failed(StepError::from_cloud(&e)));
                }
                Err(e) if transient(&e) => {
                    tokio::time::sleep(self.ctx.backoff * attempt).await;
                }
                Err(e) => return Err(Halt::Failed(StepError::from_cloud(&e))),
            }
        }
        let until = match &step.postcondition {
            Condition::Always => return Ok(note),
            c => describe(c),
        };
        self.wait_for(&until).await?;
        Ok(note)
    }
}
