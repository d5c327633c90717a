//! Creates that are safe against lost answers and against another apply creating the same
//! task at the same moment.
//!
//! One loop for both services: list by name (right before every create, and after it), then
//! act on [`race::decide`]: create, keep, adopt, or delete the run's own losing duplicate and
//! look again. A task of the name that migrates another source or target fails the step with
//! the planner's words; it is never adopted. A task adopted because another apply made it
//! during this run makes this run a follower of the resource.

use super::*;
use crate::race;

/// What a list by name found: the entry's tasks, and the first task of another source or
/// target, if any.
struct Named {
    ours: Vec<race::Candidate>,
    other: Option<Mismatch>,
}

/// Which service a create talks to.
#[derive(Clone, Copy)]
enum Kind {
    Sms,
    Dcs,
}

impl Kind {
    fn what(self) -> &'static str {
        match self {
            Kind::Sms => "task",
            Kind::Dcs => "migration task",
        }
    }
}

/// `SMS.1002`: the source server already has a task (another apply's, found by name next).
const SOURCE_HAS_TASK: &str = "SMS.1002";

/// What a create learned so far, across its lists and attempts.
#[derive(Default)]
struct Settling {
    /// The task this run created (or adopted).
    mine: Option<String>,
    /// This run's duplicates it deleted after losing a race.
    deleted: Vec<String>,
    /// A create's answer was lost: it may have gone through.
    lost: bool,
    /// The create was refused because the source already has a task.
    refused: Option<StepError>,
    /// Lists by name so far.
    round: u32,
    /// The last list decided to create: the next create needs no list before it.
    create_now: bool,
}

/// Where a list by name left the create.
enum Settled {
    Ended(Ended),
    /// Nothing has the name: send the create now.
    Create,
}

/// Why one create attempt did not end the step.
enum Sent {
    /// The create was answered with an error.
    Cloud(CloudError),
    /// This run's task lost a race and was deleted, and nothing has the name: create again.
    Again,
}

/// How the create ended, for the step's note.
enum Ended {
    /// The run's own create survived.
    Created,
    /// The run's create answer was lost; the task was found by name.
    Found,
    /// A task another apply (or a person) made was adopted; the run follows the resource.
    Adopted { why: String },
}

impl Run<'_> {
    pub(super) async fn create_task(
        &mut self,
        name: &str,
        source_id: Option<String>,
        template_id: Option<String>,
    ) -> Result<Option<String>, Halt> {
        let spec = self.ctx.spec.server(name).ok_or_else(|| {
            Halt::Failed(StepError::new(format!(
                "{} is not in the plan file",
                self.addr
            )))
        })?;
        let source_id = source_id.ok_or_else(|| {
            Halt::Failed(StepError::new(format!(
                "the source server of {} is not registered",
                self.addr
            )))
        })?;
        let body = request::create_task(
            spec,
            &self.ctx.spec.cloud,
            &source_id,
            template_id.as_deref(),
        );
        let sms = self.ctx.cloud.sms().clone();
        self.create_settled(name, Kind::Sms, || {
            let sms = sms.clone();
            let body = body.clone();
            async move { sms.create_task(&body).await }
        })
        .await
    }

    pub(super) async fn create_migration(&mut self, name: &str) -> Result<Option<String>, Halt> {
        let body = request::create_migration(self.redis_spec()?);
        let dcs = self.ctx.cloud.dcs().clone();
        self.create_settled(name, Kind::Dcs, || {
            let dcs = dcs.clone();
            let body = body.clone();
            async move { dcs.create_online_task(&body).await.map(|c| c.instance_id) }
        })
        .await
    }

    /// The create loop (see the module docs). `create` sends the create and answers the id.
    /// Each attempt of the run's [`RetryPolicy`] is one create, sent right after a list by
    /// name that found nothing, and followed by the lists that settle its race: a create is
    /// never sent again blindly.
    async fn create_settled<F, Fut>(
        &mut self,
        name: &str,
        kind: Kind,
        create: F,
    ) -> Result<Option<String>, Halt>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<String, CloudError>>,
    {
        let what = kind.what();
        let mut attempts = self.ctx.retry.attempts();
        let mut st = Settling::default();
        let ended = loop {
            if !std::mem::take(&mut st.create_now)
                && let Settled::Ended(e) = self.settle(name, kind, &mut st).await?
            {
                break e;
            }
            let failed = match self.call(create()).await {
                Ok(id) => {
                    if let Kind::Dcs = kind {
                        // Settled once the task can be deleted (not while CREATING).
                        self.id = Some(id.clone());
                        self.wait_for("RUNNING").await?;
                    }
                    st.mine = Some(id);
                    match self.settle(name, kind, &mut st).await? {
                        Settled::Ended(e) => break e,
                        Settled::Create => {
                            st.create_now = true;
                            Sent::Again
                        }
                    }
                }
                Err(e) => {
                    if e.is_outcome_unknown() {
                        st.lost = true;
                    } else if e.code() == Some(SOURCE_HAS_TASK) {
                        st.refused = Some(StepError::from_cloud(&e));
                    }
                    Sent::Cloud(e)
                }
            };
            let rule = |e: &Sent| match e {
                Sent::Again => Retry::Now,
                // The next attempt lists by name first: this run's lost create, or another
                // apply's task (the source already has one), is found there.
                Sent::Cloud(e) if e.is_outcome_unknown() => Retry::Now,
                Sent::Cloud(e) if e.code() == Some(SOURCE_HAS_TASK) => Retry::Now,
                Sent::Cloud(e) => retry_transient(e),
            };
            match attempts.retry(failed, rule).await {
                Ok(()) => {}
                Err(GaveUp::Final(Sent::Cloud(e))) => {
                    return Err(Halt::Failed(StepError::from_cloud(&e)));
                }
                // The last create may have gone through: look once more, create no more.
                Err(_) => {
                    let settled = if st.create_now {
                        Settled::Create
                    } else {
                        self.settle(name, kind, &mut st).await?
                    };
                    match settled {
                        Settled::Ended(e) => break e,
                        Settled::Create => {
                            return Err(Halt::Failed(StepError::new(format!(
                                "gave up creating {what} {name} after {} attempts",
                                attempts.made()
                            ))));
                        }
                    }
                }
            }
        };
        let id = st.mine.unwrap_or_default();
        self.id = Some(id.clone());
        Ok(match ended {
            Ended::Created => None,
            Ended::Found => Some(format!(
                "created {what} {id} (its answer was lost; found by name)"
            )),
            Ended::Adopted { why } => {
                self.follow = true;
                Some(format!("adopted the existing {what} {id} ({why})"))
            }
        })
    }

    /// Lists by name and acts on [`race::decide`] (deleting this run's losing duplicate,
    /// looking again while the race is unsettled) until the create has ended or a create is
    /// to be sent now.
    async fn settle(&mut self, name: &str, kind: Kind, st: &mut Settling) -> Result<Settled, Halt> {
        let what = kind.what();
        let rounds = self.ctx.retry.max_attempts * 4;
        loop {
            st.round += 1;
            if st.round > rounds {
                return Err(Halt::Failed(StepError::new(format!(
                    "could not settle which {what} named {name} to keep after {rounds} rounds"
                ))));
            }
            let found = self.list_named(name, kind).await?;
            if let Some(m) = &found.other {
                return Err(Halt::Failed(if found.ours.is_empty() {
                    self.mismatch(m)
                } else {
                    StepError::new(format!(
                        "{} {what}s are named {name}, and {} of them migrates something else; \
                         migplan will not guess which one is meant",
                        found.ours.len() + 1,
                        m.task_id
                    ))
                }));
            }
            let lost = st.lost;
            let ended = match race::decide(&found.ours, st.mine.as_deref()) {
                race::Decision::Keep => Ended::Created,
                // One of them may be this run's lost create: nobody would delete it.
                race::Decision::Adopt(_) | race::Decision::Again
                    if lost && found.ours.len() > 1 =>
                {
                    return Err(Halt::Failed(StepError::new(format!(
                        "{} {what}s are named {name} after a create whose answer was lost; \
                         migplan will not guess which one it made",
                        found.ours.len()
                    ))));
                }
                race::Decision::Adopt(id)
                    if lost && st.deleted.is_empty() && found.ours.len() == 1 =>
                {
                    // Our create went through but its answer was lost.
                    st.mine = Some(id);
                    Ended::Found
                }
                race::Decision::Adopt(id) => {
                    let why = match (&st.refused, st.deleted.last()) {
                        (_, Some(d)) => format!(
                            "another apply created it first; this run's duplicate {d} was deleted"
                        ),
                        (Some(e), None) => format!("the create was refused: {e}; found by name"),
                        (None, None) if st.round == 1 => {
                            "it was created after the plan was made, by another apply or by hand"
                                .into()
                        }
                        (None, None) => "found by name".into(),
                    };
                    st.mine = Some(id);
                    Ended::Adopted { why }
                }
                race::Decision::DeleteMine => {
                    let id = st.mine.take().unwrap_or_default();
                    self.delete_own(&id, kind).await?;
                    st.deleted.push(id);
                    continue;
                }
                race::Decision::Again => {
                    self.ctx.retry.pause(1).await;
                    continue;
                }
                race::Decision::Ambiguous(n) if lost => {
                    return Err(Halt::Failed(StepError::new(format!(
                        "{n} {what}s are named {name} after a create whose answer was lost; \
                         migplan will not guess which one it made"
                    ))));
                }
                race::Decision::Ambiguous(n) => {
                    return Err(Halt::Failed(StepError::new(format!(
                        "{n} {what}s are named {name}; migplan will not guess which one is meant"
                    ))));
                }
                // Refused because the source has a task, yet none of this name: not ours.
                race::Decision::Create => match &st.refused {
                    Some(e) => return Err(Halt::Failed(e.clone())),
                    None => return Ok(Settled::Create),
                },
            };
            return Ok(Settled::Ended(ended));
        }
    }

    /// Lists the tasks named `name` (right now, not from the shared store), split into the
    /// entry's tasks and another's, with retries.
    async fn list_named(&self, name: &str, kind: Kind) -> Result<Named, Halt> {
        let want = self.ctx.identities.get(&self.addr);
        let mut attempts = self.ctx.retry.attempts();
        let all = loop {
            let listed = match kind {
                Kind::Sms => self.ctx.cloud.sms().tasks_named(name).await.map(|tasks| {
                    tasks
                        .iter()
                        .map(|t| {
                            let candidate = race::Candidate {
                                id: t.id.clone(),
                                created: t
                                    .create_date
                                    .and_then(|d| u64::try_from(d).ok())
                                    .map(|d| vec![d]),
                                initial: race::fresh_sms(t),
                            };
                            (candidate, want.and_then(|w| w.check_sms(t)))
                        })
                        .collect::<Vec<_>>()
                }),
                Kind::Dcs => self.ctx.cloud.dcs().tasks_named(name).await.map(|tasks| {
                    tasks
                        .iter()
                        .map(|t| {
                            let candidate = race::Candidate {
                                id: t.task_id.clone(),
                                created: t.created_at.as_deref().and_then(race::created_key),
                                initial: race::fresh_dcs(t),
                            };
                            (candidate, want.and_then(|w| w.check_dcs(t)))
                        })
                        .collect::<Vec<_>>()
                }),
            };
            match listed {
                Ok(all) => break all,
                // A read: any failure is worth another look.
                Err(e) => attempts
                    .retry(e, |e| {
                        tracing::debug!(error = %e, "lookup by name failed");
                        Retry::Later
                    })
                    .await
                    .map_err(gave_up)?,
            }
        };
        let mut named = Named {
            ours: Vec::new(),
            other: None,
        };
        for (candidate, mismatch) in all {
            match mismatch {
                None => named.ours.push(candidate),
                Some(m) => {
                    named.other.get_or_insert(m);
                }
            }
        }
        Ok(named)
    }

    /// Deletes the run's own fresh task that lost a create race (nothing has run on it). A lost
    /// answer is fine: the next list shows whether it is gone.
    async fn delete_own(&mut self, id: &str, kind: Kind) -> Result<(), Halt> {
        tracing::debug!(%id, "deleting this run's duplicate");
        let cloud = self.ctx.cloud.clone();
        let r = match kind {
            Kind::Sms => self.call(cloud.sms().delete_task(id)).await,
            Kind::Dcs => self.call(cloud.dcs().delete_tasks(&[id])).await.map(|_| ()),
        };
        match r {
            Ok(()) => Ok(()),
            Err(e) if e.is_outcome_unknown() || transient(&e) || e.is_not_found() => Ok(()),
            Err(e) => Err(Halt::Failed(StepError {
                code: e.code().map(str::to_owned),
                message: format!(
                    "could not delete this run's duplicate {id} (another apply created the same \
                     task first): {}",
                    StepError::from_cloud(&e).message
                ),
                request_id: e.request_id.clone(),
            })),
        }
    }
}
