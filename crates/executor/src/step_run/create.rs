//! Creates, and finding what a create made when its answer was lost: by name, before any
//! retry.

use super::*;

impl Run<'_> {
    pub(super) async fn create_task(
        &mut self,
        name: &str,
        c: &migplan_planner::step::CreateTask,
    ) -> Result<Option<String>, Halt> {
        let spec = self.ctx.spec.server(name).ok_or_else(|| {
            Halt::Failed(StepError::new(format!(
                "{} is not in the plan file",
                self.addr
            )))
        })?;
        let source_id = c.source_id.clone().ok_or_else(|| {
            Halt::Failed(StepError::new(format!(
                "the source server of {} is not registered",
                self.addr
            )))
        })?;
        let body = request::create_task(
            spec,
            &self.ctx.spec.cloud,
            &source_id,
            c.template_id.as_deref(),
        );
        let sms = self.ctx.cloud.sms().clone();
        let mut attempt = 0;
        loop {
            // Whatever happened before (an earlier run, a lost response): adopt what exists.
            let v = self.fresh_view(0).await?;
            if let Some(id) = obj_id(v.obj(None, name)?) {
                self.id = Some(id.clone());
                let note = if attempt == 0 {
                    format!("adopted the existing task {id}")
                } else {
                    format!("created task {id} (its answer was lost; found by name)")
                };
                return Ok(Some(note));
            }
            attempt += 1;
            if attempt > self.ctx.max_attempts {
                return Err(Halt::Failed(StepError::new(format!(
                    "gave up creating task {name} after {} attempts",
                    attempt - 1
                ))));
            }
            let r = self.call(sms.create_task(&body)).await;
            match r {
                Ok(id) => {
                    self.id = Some(id);
                    return Ok(None);
                }
                Err(e) if e.is_outcome_unknown() || e.code() == Some("SMS.1002") => {
                    // Look it up by name before anything else is sent.
                    match self.sms_named(name).await? {
                        Some(id) if e.is_outcome_unknown() => {
                            self.id = Some(id.clone());
                            return Ok(Some(format!(
                                "created task {id} (its answer was lost; found by name)"
                            )));
                        }
                        Some(id) => {
                            self.id = Some(id.clone());
                            return Ok(Some(format!(
                                "adopted task {id} (the create was refused: {}; found by name)",
                                StepError::from_cloud(&e)
                            )));
                        }
                        None if e.is_outcome_unknown() => continue,
                        None => return Err(Halt::Failed(StepError::from_cloud(&e))),
                    }
                }
                Err(e) if transient(&e) => {
                    tokio::time::sleep(self.ctx.backoff * attempt).await;
                }
                Err(e) => return Err(Halt::Failed(StepError::from_cloud(&e))),
            }
        }
    }

    /// The SMS task named `name`, if any (see [`Run::one_named`]).
    pub(super) async fn sms_named(&mut self, name: &str) -> Result<Option<String>, Halt> {
        let sms = self.ctx.cloud.sms().clone();
        self.one_named("SMS tasks", name, &self.ctx.sms_rate, || async {
            let tasks = sms.tasks_named(name).await?;
            Ok(tasks.into_iter().map(|t| t.id).collect())
        })
        .await
    }

    /// The DCS migration task named `name`, if any (see [`Run::one_named`]).
    pub(super) async fn dcs_named(&mut self, name: &str) -> Result<Option<String>, Halt> {
        let dcs = self.ctx.cloud.dcs().clone();
        self.one_named("DCS migration tasks", name, &self.ctx.dcs_rate, || async {
            let tasks = dcs.tasks_named(name).await?;
            Ok(tasks.into_iter().map(|t| t.task_id).collect())
        })
        .await
    }

    /// The id of the one object `list` finds by name, retried on errors; `Err` when several
    /// objects have the name (never guess which one a lost create made).
    async fn one_named<F, Fut>(
        &self,
        what: &str,
        name: &str,
        rate: &RateLimiter,
        list: F,
    ) -> Result<Option<String>, Halt>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<Vec<String>, CloudError>>,
    {
        let mut attempt = 0;
        loop {
            attempt += 1;
            rate.acquire().await;
            match list().await {
                Ok(ids) => {
                    return match ids.as_slice() {
                        [] => Ok(None),
                        [one] => Ok(Some(one.clone())),
                        many => Err(Halt::Failed(StepError::new(format!(
                            "{} {what} are named {name}",
                            many.len()
                        )))),
                    };
                }
                Err(e) if attempt < self.ctx.max_attempts => {
                    tracing::debug!(error = %e, "lookup by name failed; retrying");
                    tokio::time::sleep(self.ctx.backoff * attempt).await;
                }
                Err(e) => return Err(Halt::Failed(StepError::from_cloud(&e))),
            }
        }
    }

    pub(super) async fn create_migration(&mut self, name: &str) -> Result<Option<String>, Halt> {
        let body = request::create_migration(self.redis_spec()?);
        let dcs = self.ctx.cloud.dcs().clone();
        let mut attempt = 0;
        loop {
            let v = self.fresh_view(0).await?;
            if let Some(id) = obj_id(v.obj(None, name)?) {
                self.id = Some(id.clone());
                let note = if attempt == 0 {
                    format!("adopted the existing migration task {id}")
                } else {
                    format!("created migration task {id} (its answer was lost; found by name)")
                };
                return Ok(Some(note));
            }
            attempt += 1;
            if attempt > self.ctx.max_attempts {
                return Err(Halt::Failed(StepError::new(format!(
                    "gave up creating migration task {name} after {} attempts",
                    attempt - 1
                ))));
            }
            match self.call(dcs.create_online_task(&body)).await {
                Ok(created) => {
                    self.id = Some(created.instance_id);
                    return Ok(None);
                }
                Err(e) if e.is_outcome_unknown() => match self.dcs_named(name).await? {
                    Some(id) => {
                        self.id = Some(id.clone());
                        return Ok(Some(format!(
                            "created migration task {id} (its answer was lost; found by name)"
                        )));
                    }
                    None => continue,
                },
                Err(e) if transient(&e) => {
                    tokio::time::sleep(self.ctx.backoff * attempt).await;
                }
                Err(e) => return Err(Halt::Failed(StepError::from_cloud(&e))),
            }
        }
    }
}
