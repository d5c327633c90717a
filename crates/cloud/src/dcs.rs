//! [`DcsClient`]: DCS v2 online Redis data migration (paths under `/v2/{project_id}`).
//!
//! # Retries per operation
//!
//! | operation | idempotency | when its response is lost or a 5xx comes back |
//! |---|---|---|
//! | show, list, stats, show job (GET), [`update_resume_mode`](DcsClient::update_resume_mode) (PUT), [`delete_tasks`](DcsClient::delete_tasks) (DELETE) | idempotent | retried |
//! | [`create_online_task`](DcsClient::create_online_task) | not idempotent | [`OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown): find the task by name ([`tasks_named`](DcsClient::tasks_named)) |
//! | [`configure_task`](DcsClient::configure_task), [`stop_task`](DcsClient::stop_task), [`batch_stop`](DcsClient::batch_stop), [`batch_restart`](DcsClient::batch_restart) | not idempotent (actions) | [`OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown): re-read the task status |
//!
//! 429 (`APIG.0308`) and refused connections are retried for every operation.
//! A missing task answers 400 `DCS.4133` ([`Error::is_not_found`]).

use std::sync::Arc;
use std::time::{Duration, Instant};

use migplan_wire::dcs::{
    BatchTasksRequest, BatchTasksResponse, ConfigureTaskRequest, ConfigureTaskResponse,
    CreateOnlineTaskRequest, CreateOnlineTaskResponse, DeleteTasksBody, Instance, Job, JobStatus,
    ListMigrationTasksQuery, ListMigrationTasksResponse, MigrationStats, MigrationTask,
    MigrationTaskListItem, ResumeMode, UpdateResumeModeRequest,
};

use crate::config::CloudConfig;
use crate::error::{Error, ErrorKind, Service};
use crate::http::{Call, ServiceCore, build_http_client, segment};
use crate::paging::{DCS_TASKS_MAX_LIMIT, Page, collect_all, effective_limit};
use crate::server_clock::ServerClock;
use crate::sms::to_query;
use crate::stats::{ApiStats, StatsRecorder};

/// How often and how long to poll an asynchronous job.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollOptions {
    /// Delay before the first poll and between polls.
    pub interval: Duration,
    /// Give up (with [`ErrorKind::WaitTimeout`]) after this long.
    pub timeout: Duration,
}

impl Default for PollOptions {
    /// Terraform's values: every 10 s (first after 2 s would be its delay), for up to 10 min.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(10),
            timeout: Duration::from_secs(600),
        }
    }
}

/// Client of the DCS v2 data-migration API. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DcsClient {
    core: Arc<ServiceCore>,
    project_id: String,
}

impl DcsClient {
    /// A client with its own connection pool and counters. Needs `cfg.project_id`.
    pub fn new(cfg: &CloudConfig) -> Result<Self, Error> {
        let http = build_http_client(cfg)?;
        Self::with_shared(cfg, http, Arc::default(), Arc::default())
    }

    pub(crate) fn with_shared(
        cfg: &CloudConfig,
        http: reqwest::Client,
        stats: Arc<StatsRecorder>,
        clock: Arc<ServerClock>,
    ) -> Result<Self, Error> {
        let project_id = cfg.project_id.clone().ok_or_else(|| {
            Error::config("a project id is required for DCS (set it in the plan or HW_PROJECT_ID)")
        })?;
        segment("project id", &project_id)?;
        Ok(Self {
            core: Arc::new(ServiceCore::new(Service::Dcs, cfg, http, stats, clock)?),
            project_id,
        })
    }

    /// The cloud's current time as its answers' `Date` headers tell it (see
    /// [`Cloud::cloud_now`](crate::Cloud::cloud_now)); shared with the
    /// [`SmsClient`](crate::SmsClient) when built by [`Cloud`](crate::Cloud).
    pub fn cloud_now(&self) -> Option<std::time::SystemTime> {
        self.core.clock.now()
    }

    /// The project id in every path.
    pub fn project_id(&self) -> &str {
        &self.project_id
    }

    /// This client with every HTTP request going through `gate`.
    pub(crate) fn with_gate(&self, gate: Arc<dyn crate::gate::RequestGate>) -> Self {
        Self {
            core: Arc::new(self.core.with_gate(gate)),
            project_id: self.project_id.clone(),
        }
    }

    /// Counters of the API calls made through this client (shared with the
    /// [`SmsClient`](crate::SmsClient) when built by [`Cloud`](crate::Cloud)).
    pub fn stats(&self) -> ApiStats {
        self.core.stats()
    }

    fn path(&self, rest: &str) -> String {
        format!("/v2/{}{rest}", self.project_id)
    }

    /// `POST /v2/{project_id}/migration/instance`: creates an online migration
    /// task (and its migration ECS). Answers `{instance_id, job_id}`; the task
    /// is usable once the job succeeds (see [`create_online_task_and_wait`](Self::create_online_task_and_wait)).
    /// Not idempotent.
    pub async fn create_online_task(
        &self,
        req: &CreateOnlineTaskRequest,
    ) -> Result<CreateOnlineTaskResponse, Error> {
        let call = Call::post(
            "/v2/{project_id}/migration/instance",
            self.path("/migration/instance"),
        )
        .json(req)?;
        self.core.json(call).await
    }

    /// [`create_online_task`](Self::create_online_task), then [`wait_job`](Self::wait_job)
    /// when the answer names a job (the documented answer has only `instance_id`).
    pub async fn create_online_task_and_wait(
        &self,
        req: &CreateOnlineTaskRequest,
        poll: PollOptions,
    ) -> Result<CreateOnlineTaskResponse, Error> {
        let created = self.create_online_task(req).await?;
        if let Some(job_id) = created.job_id.as_deref().filter(|j| !j.is_empty()) {
            self.wait_job(job_id, poll).await?;
        }
        Ok(created)
    }

    /// `GET /v2/{project_id}/jobs/{job_id}`.
    pub async fn show_job(&self, job_id: &str) -> Result<Job, Error> {
        let id = segment("job id", job_id)?;
        self.core
            .json(Call::get(
                "/v2/{project_id}/jobs/{job_id}",
                self.path(&format!("/jobs/{id}")),
            ))
            .await
    }

    /// Polls a job until `SUCCESS` (returned) or `FAIL` ([`ErrorKind::JobFailed`]);
    /// [`ErrorKind::WaitTimeout`] after `poll.timeout`.
    pub async fn wait_job(&self, job_id: &str, poll: PollOptions) -> Result<Job, Error> {
        let started = Instant::now();
        loop {
            tokio::time::sleep(poll.interval).await;
            let job = self.show_job(job_id).await?;
            match &job.status {
                Some(JobStatus::Success) => return Ok(job),
                Some(JobStatus::Fail) => {
                    return Err(Error::new(ErrorKind::JobFailed {
                        job_id: job_id.to_owned(),
                        status: JobStatus::Fail.to_string(),
                        reason: job.fail_reason.clone().unwrap_or_default(),
                    }));
                }
                other => {
                    if started.elapsed() >= poll.timeout {
                        return Err(Error::new(ErrorKind::WaitTimeout {
                            what: format!("DCS job {job_id}"),
                            waited: started.elapsed(),
                            last_status: other
                                .as_ref()
                                .map_or_else(|| "(none)".to_owned(), ToString::to_string),
                        }));
                    }
                }
            }
        }
    }

    /// `POST /v2/{project_id}/migration/{task_id}/task`: configures and starts
    /// the migration (full or incremental). Not idempotent.
    pub async fn configure_task(
        &self,
        task_id: &str,
        req: &ConfigureTaskRequest,
    ) -> Result<ConfigureTaskResponse, Error> {
        let id = segment("task id", task_id)?;
        let call = Call::post(
            "/v2/{project_id}/migration/{task_id}/task",
            self.path(&format!("/migration/{id}/task")),
        )
        .json(req)?;
        self.core.json(call).await
    }

    /// `GET /v2/{project_id}/instances/{instance_id}` (ShowInstance): where an instance
    /// listens.
    pub async fn show_instance(&self, instance_id: &str) -> Result<Instance, Error> {
        let id = segment("instance id", instance_id)?;
        self.core
            .json(Call::get(
                "/v2/{project_id}/instances/{instance_id}",
                self.path(&format!("/instances/{id}")),
            ))
            .await
    }

    /// `GET /v2/{project_id}/migration-task/{task_id}`. A missing task is 400 `DCS.4133`.
    pub async fn show_task(&self, task_id: &str) -> Result<MigrationTask, Error> {
        let id = segment("task id", task_id)?;
        self.core
            .json(Call::get(
                "/v2/{project_id}/migration-task/{task_id}",
                self.path(&format!("/migration-task/{id}")),
            ))
            .await
    }

    /// `GET /v2/{project_id}/migration-tasks`: one page (limit clamped to 1..=100).
    pub async fn list_tasks_page(
        &self,
        name: Option<&str>,
        offset: u32,
        limit: u32,
    ) -> Result<Page<MigrationTaskListItem>, Error> {
        let limit = limit.clamp(1, DCS_TASKS_MAX_LIMIT);
        let q = ListMigrationTasksQuery {
            offset: Some(offset),
            limit: Some(limit),
            name: name.map(str::to_owned),
        };
        let call = Call::get(
            "/v2/{project_id}/migration-tasks",
            self.path("/migration-tasks"),
        )
        .query(to_query(&q)?);
        let resp: ListMigrationTasksResponse = self.core.json(call).await?;
        Ok(Page {
            items: resp.migration_tasks,
            count: Some(resp.count),
            offset,
            limit,
        })
    }

    /// `GET /v2/{project_id}/migration-tasks`, every page.
    pub async fn list_all_tasks(
        &self,
        name: Option<&str>,
    ) -> Result<Vec<MigrationTaskListItem>, Error> {
        let limit = effective_limit(self.core.page_size, DCS_TASKS_MAX_LIMIT);
        collect_all(limit, u32::MAX, |o, l| self.list_tasks_page(name, o, l)).await
    }

    /// Tasks whose name is exactly `name`: how a caller resolves an
    /// `OutcomeUnknown` create.
    pub async fn tasks_named(&self, name: &str) -> Result<Vec<MigrationTaskListItem>, Error> {
        let mut all = self.list_all_tasks(Some(name)).await?;
        all.retain(|t| t.task_name == name);
        Ok(all)
    }

    /// `POST /v2/{project_id}/migration-task/{task_id}/stop`: answers the task
    /// (status `TERMINATING`, then `TERMINATED`). Not idempotent.
    pub async fn stop_task(&self, task_id: &str) -> Result<MigrationTask, Error> {
        let id = segment("task id", task_id)?;
        let call = Call::post(
            "/v2/{project_id}/migration-task/{task_id}/stop",
            self.path(&format!("/migration-task/{id}/stop")),
        );
        self.core.json(call).await
    }

    /// `POST /v2/{project_id}/migration-task/batch-stop`. Not idempotent.
    pub async fn batch_stop<S: AsRef<str>>(
        &self,
        task_ids: &[S],
    ) -> Result<BatchTasksResponse, Error> {
        let body = BatchTasksRequest {
            migration_tasks: owned(task_ids),
        };
        let call = Call::post(
            "/v2/{project_id}/migration-task/batch-stop",
            self.path("/migration-task/batch-stop"),
        )
        .json(&body)?;
        self.core.json(call).await
    }

    /// `POST /v2/{project_id}/migration-tasks/batch-restart`. Not idempotent.
    pub async fn batch_restart<S: AsRef<str>>(
        &self,
        task_ids: &[S],
    ) -> Result<BatchTasksResponse, Error> {
        let body = BatchTasksRequest {
            migration_tasks: owned(task_ids),
        };
        let call = Call::post(
            "/v2/{project_id}/migration-tasks/batch-restart",
            self.path("/migration-tasks/batch-restart"),
        )
        .json(&body)?;
        self.core.json(call).await
    }

    /// `DELETE /v2/{project_id}/migration-tasks/delete` (a DELETE with a JSON
    /// body): answers the ids accepted for deletion.
    pub async fn delete_tasks<S: AsRef<str>>(
        &self,
        task_ids: &[S],
    ) -> Result<DeleteTasksBody, Error> {
        let body = DeleteTasksBody {
            task_id_list: owned(task_ids),
        };
        let call = Call::delete(
            "/v2/{project_id}/migration-tasks/delete",
            self.path("/migration-tasks/delete"),
        )
        .json(&body)?;
        self.core.json(call).await
    }

    /// `PUT /v2/{project_id}/migration-task/{task_id}`: changes `resume_mode`.
    pub async fn update_resume_mode(&self, task_id: &str, mode: ResumeMode) -> Result<(), Error> {
        let id = segment("task id", task_id)?;
        let call = Call::put(
            "/v2/{project_id}/migration-task/{task_id}",
            self.path(&format!("/migration-task/{id}")),
        )
        .json(&UpdateResumeModeRequest { resume_mode: mode })?;
        self.core.unit(call).await
    }

    /// `GET /v2/{project_id}/migration-task/{task_id}/stats`.
    pub async fn task_stats(&self, task_id: &str) -> Result<MigrationStats, Error> {
        let id = segment("task id", task_id)?;
        self.core
            .json(Call::get(
                "/v2/{project_id}/migration-task/{task_id}/stats",
                self.path(&format!("/migration-task/{id}/stats")),
            ))
            .await
    }
}

fn owned<S: AsRef<str>>(ids: &[S]) -> Vec<String> {
    ids.iter().map(|s| s.as_ref().to_owned()).collect()
}
