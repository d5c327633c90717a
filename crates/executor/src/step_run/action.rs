//! Actions, guarded: skipped when their effect is already live, resolved by a fresh read when
//! their outcome is unknown or the service says the state is wrong.

use super::*;

/// Where a read before an action left it.
enum Ready {
    /// The effect is live (with a note when nothing had to be sent).
    Done(Option<String>),
    /// The precondition holds: send to this id.
    Send(String),
}

/// What the reads of one action remember across its attempts.
#[derive(Default)]
struct Reading {
    min_seq: u64,
    missing: u32,
    followed: u32,
}

impl Run<'_> {
    /// Precondition → call → effect, with unknown outcomes and wrong-state answers resolved by
    /// a fresh read; then the postcondition wait. A follower first gives the run that drives
    /// the resource a few polls to make the call. Each attempt of the run's [`RetryPolicy`]
    /// is a fresh read, then (unless the effect is live) one send.
    pub(super) async fn guarded_call<F, Fut>(&mut self, f: F) -> Result<Option<String>, Halt>
    where
        F: Fn(String) -> Fut,
        Fut: std::future::Future<Output = Result<(), CloudError>>,
    {
        let step = self.step;
        let mut attempts = self.ctx.retry.attempts();
        let mut reading = Reading::default();
        let note = loop {
            let first = attempts.made() == 0;
            let id = match self.read_before_send(&mut reading, first).await? {
                Ready::Done(note) => break note,
                Ready::Send(id) => id,
            };
            let e = match self.call(f(id)).await {
                Ok(()) => break None,
                // Refused for the state: another run did it. Done if the effect shows; never
                // sent again.
                Err(e) if e.code().is_some_and(|c| WRONG_STATE.contains(&c)) => {
                    break Some(self.refused_for_state(&e, reading.min_seq).await?);
                }
                // The account's quota is used up (a migration began since the last poll):
                // back to the queue for a free slot.
                Err(e) if e.code() == Some(QUOTA_REFUSED) && step.quota_use().starts() => {
                    return Err(Halt::Requeue(format!(
                        "a free slot of the SMS quota ({})",
                        StepError::from_cloud(&e)
                    )));
                }
                Err(e) => e,
            };
            let rule = |e: &CloudError| {
                if e.is_outcome_unknown() {
                    // Re-read: the next attempt sees the effect, or the precondition and
                    // sends again.
                    tracing::debug!(step = %step.id, error = %e, "outcome unknown; re-reading");
                    Retry::Now
                } else {
                    retry_transient(e)
                }
            };
            match attempts.retry(e, rule).await {
                Ok(()) => {}
                Err(GaveUp::Final(e)) => return Err(Halt::Failed(StepError::from_cloud(&e))),
                // A last read: the effect may have come after all.
                Err(GaveUp::Exhausted(_)) => {
                    match self.read_before_send(&mut reading, false).await? {
                        Ready::Done(note) => break note,
                        Ready::Send(_) => {
                            return Err(Halt::Failed(StepError::new(format!(
                                "gave up on {} after {} attempts with unknown outcome",
                                step.label,
                                attempts.made()
                            ))));
                        }
                    }
                }
            }
        };
        let until = match &step.postcondition {
            Condition::Always => return Ok(note),
            c => describe(c),
        };
        self.wait_for(&until).await?;
        Ok(note)
    }

    /// Fresh reads until the effect is live or the precondition holds, before a send (a
    /// follower waits before the `first` one); fails when the task is missing or the
    /// precondition does not hold.
    async fn read_before_send(&mut self, r: &mut Reading, first: bool) -> Result<Ready, Halt> {
        let step = self.step;
        loop {
            let v = self.fresh_view(r.min_seq).await?;
            r.min_seq = v.seq() + 1;
            let obj = self.obj_in(&*v)?;
            self.ours(obj)?;
            if self.id.is_none() {
                self.id = obj.id();
            }
            if obj.exists() && holds(&step.effect, obj) {
                // A step sent only when live state calls for it (a restart if failed) that
                // finds nothing to do was not needed; anything else was done before.
                let by = if step.kind.spec().only_if_needed() && !holds(&step.precondition, obj) {
                    "not needed"
                } else if self.follow {
                    "done by another apply"
                } else {
                    "already done"
                };
                let note = first.then(|| format!("{by} ({})", obj.state_text()));
                return Ok(Ready::Done(note));
            }
            if !obj.exists() {
                r.missing += 1;
                if r.missing < 3 {
                    continue;
                }
                return Err(Halt::Failed(StepError::new(format!(
                    "no live task is named {}",
                    self.addr.name
                ))));
            }
            // Another apply may be about to make this very call (see `follow` in the module
            // docs): sending it too would only be refused. Give it a few polls.
            if self.follow && first {
                if r.followed < self.ctx.follow_patience {
                    r.followed += 1;
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
            return Ok(Ready::Send(obj.id().unwrap_or_default()));
        }
    }

    /// An action refused as invalid for the current state: done when a fresh read shows its
    /// effect (another run did it), else the API's error.
    async fn refused_for_state(&mut self, e: &CloudError, min_seq: u64) -> Result<String, Halt> {
        let v = self.fresh_view(min_seq).await?;
        let obj = self.obj_in(&*v)?;
        self.ours(obj)?;
        if obj.exists() && holds(&self.step.effect, obj) {
            return Ok(format!(
                "already in the target state ({})",
                obj.state_text()
            ));
        }
        Err(Halt::Failed(StepError::from_cloud(e)))
    }
}
