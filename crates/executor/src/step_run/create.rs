//! Creates that are safe against lost answers and against another apply creating the same
//! task at the same moment.
//!
//! One loop for both services: list by name (right before every create, and after it), then
//! act on [`race::decide`]: create, keep, adopt, or delete the run's own losing duplicate and
//! look again. A task of the name that migrates another source or target fails the step with
//! the planner's words; it is never adopted. A task adopted because another apply made it
//! during this run makes this run a follower of the resource.

use super::*;

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
        let mut mine: Option<String> = None;
        let mut deleted: Vec<String> = Vec::new();
        let mut lost = false;
        let mut refused: Option<StepError> = None;
        let mut attempts = 0;
        let rounds = self.ctx.max_attempts * 4;
        for round in 1..=rounds {
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
            let decision = race::decide(&found.ours, mine.as_deref());
            let ended = match decision {
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
                    if lost && deleted.is_empty() && found.ours.len() == 1 =>
                {
                    // Our create went through but its answer was lost.
                    mine = Some(id);
                    Ended::Found
                }
                race::Decision::Adopt(id) => {
                    let why = match (&refused, deleted.last()) {
                        (_, Some(d)) => format!(
                            "another apply created it first; this run's duplicate {d} was deleted"
                        ),
                        (Some(e), None) => format!("the create was refused: {e}; found by name"),
                        (None, None) if round == 1 => {
                            "it was created after the plan was made, by another apply or by hand"
                                .into()
                        }
                        (None, None) => "found by name".into(),
                    };
                    mine = Some(id);
                    Ended::Adopted { why }
                }
                race::Decision::DeleteMine => {
                    let id = mine.take().unwrap_or_default();
                    self.delete_own(&id, kind).await?;
                    deleted.push(id);
                    continue;
                }
                race::Decision::Again => {
                    tokio::time::sleep(self.ctx.backoff).await;
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
                race::Decision::Create if refused.is_some() => {
                    return Err(Halt::Failed(
                        refused.unwrap_or_else(|| StepError::new("refused")),
                    ));
                }
                race::Decision::Create => {
                    attempts += 1;
                    if attempts > self.ctx.max_attempts {
                        return Err(Halt::Failed(StepError::new(format!(
                            "gave up creating {what} {name} after {} attempts",
                            attempts - 1
                        ))));
                    }
                    match self.call(create()).await {
                        Ok(id) => {
                            if let Kind::Dcs = kind {
                                // Settled once the task can be deleted (not while CREATING).
                                self.id = Some(id.clone());
                                self.wait_for("RUNNING").await?;
                            }
                            mine = Some(id);
                        }
                        // Look it up by name before anything else is sent.
                        Err(e) if e.is_outcome_unknown() => lost = true,
                        // The source already has a task: another apply's, found next round.
                        Err(e) if e.code() == Some("SMS.1002") => {
                            refused = Some(StepError::from_cloud(&e));
                        }
                        Err(e) if transient(&e) => {
                            tokio::time::sleep(self.ctx.backoff * attempts).await;
                        }
                        Err(e) => return Err(Halt::Failed(StepError::from_cloud(&e))),
                    }
                    continue;
                }
            };
            let id = mine.unwrap_or_default();
            self.id = Some(id.clone());
            return Ok(match ended {
                Ended::Created => None,
                Ended::Found => Some(format!(
                    "created {what} {id} (its answer was lost; found by name)"
                )),
                Ended::Adopted { why } => {
                    self.follow = true;
                    Some(format!("adopted the existing {what} {id} ({why})"))
                }
            });
        }
        Err(Halt::Failed(StepError::new(format!(
            "could not settle which {what} named {name} to keep after {rounds} rounds"
        ))))
    }

    /// Lists the tasks named `name` (right now, not from the shared store), split into the
    /// entry's tasks and another's, with retries.
    async fn list_named(&self, name: &str, kind: Kind) -> Result<Named, Halt> {
        let want = self.ctx.identities.get(&self.addr);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let listed = match kind {
                Kind::Sms => {
                    self.ctx.sms_rate.acquire().await;
                    self.ctx.cloud.sms().tasks_named(name).await.map(|tasks| {
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
                    })
                }
                Kind::Dcs => {
                    self.ctx.dcs_rate.acquire().await;
                    self.ctx.cloud.dcs().tasks_named(name).await.map(|tasks| {
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
                    })
                }
            };
            match listed {
                Ok(all) => {
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
                    return Ok(named);
                }
                Err(e) if attempt < self.ctx.max_attempts => {
                    tracing::debug!(error = %e, "lookup by name failed; retrying");
                    tokio::time::sleep(self.ctx.backoff * attempt).await;
                }
                Err(e) => return Err(Halt::Failed(StepError::from_cloud(&e))),
            }
        }
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
