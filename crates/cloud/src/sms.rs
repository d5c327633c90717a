//! [`SmsClient`]: Server Migration Service v3 — source servers, migration tasks
//! and their actions, speed limits, consistency-check results, VM templates.
//!
//! # Retries per operation
//!
//! | operation | idempotency | when its response is lost or a 5xx comes back |
//! |---|---|---|
//! | list/show (GET, [`consistency_results`](SmsClient::consistency_results) included), [`change_source_state`](SmsClient::change_source_state), [`update_task`](SmsClient::update_task) (PUT), [`delete_task`](SmsClient::delete_task) (DELETE), [`set_speed_limits`](SmsClient::set_speed_limits) (POST that overwrites the whole list) | idempotent | retried |
//! | [`create_task`](SmsClient::create_task), [`register_source`](SmsClient::register_source), [`create_template`](SmsClient::create_template) | not idempotent | [`OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown): look the object up by name ([`tasks_named`](SmsClient::tasks_named)) |
//! | [`task_action`](SmsClient::task_action) (every operation, `network_check` included) | not idempotent | [`OutcomeUnknown`](crate::ErrorKind::OutcomeUnknown): re-read the task's state to see whether it took effect; repeating `start`/`test`/… on a task that already moved would fail with a state error at best |
//!
//! 429 (`APIG.0308`) and refused connections are retried for every operation.

use std::sync::Arc;

use migplan_wire::sms::{
    ChangeStateRequest, ConsistencyResults, CreateTaskRequest, IdResponse, ListSourcesQuery,
    ListSourcesResponse, ListTasksQuery, ListTasksResponse, ListTemplatesQuery,
    ListTemplatesResponse, Operation, RegisterSourceRequest, SourceServer, SpeedLimits, Task,
    TaskActionRequest, Template, TemplateEnvelope, UpdateTaskRequest,
};
use serde::Serialize;

use crate::config::CloudConfig;
use crate::error::{Error, Service};
use crate::http::{Call, ServiceCore, build_http_client, segment};
use crate::paging::{
    Page, SMS_MAX_OFFSET, SMS_SOURCES_MAX_LIMIT, SMS_TASKS_MAX_LIMIT, SMS_TEMPLATES_MAX_LIMIT,
    collect_all, effective_limit,
};
use crate::server_clock::ServerClock;
use crate::stats::{ApiStats, StatsRecorder};

/// Client of the SMS v3 API. Cheap to clone (shared connection pool and counters).
#[derive(Debug, Clone)]
pub struct SmsClient {
    core: Arc<ServiceCore>,
}

impl SmsClient {
    /// A client with its own connection pool and counters.
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
        Ok(Self {
            core: Arc::new(ServiceCore::new(Service::Sms, cfg, http, stats, clock)?),
        })
    }

    /// This client with every HTTP request going through `gate`.
    pub(crate) fn with_gate(&self, gate: Arc<dyn crate::gate::RequestGate>) -> Self {
        Self {
            core: Arc::new(self.core.with_gate(gate)),
        }
    }

    /// Counters of the API calls made through this client (and through the
    /// [`DcsClient`](crate::DcsClient) it shares them with, if built by [`Cloud`](crate::Cloud)).
    pub fn stats(&self) -> ApiStats {
        self.core.stats()
    }

    /// The cloud's current time as its answers' `Date` headers tell it (see
    /// [`Cloud::cloud_now`](crate::Cloud::cloud_now)); shared with the
    /// [`DcsClient`](crate::DcsClient) when built by [`Cloud`](crate::Cloud).
    pub fn cloud_now(&self) -> Option<std::time::SystemTime> {
        self.core.clock.now()
    }

    // ---- source servers ------------------------------------------------

    /// `GET /v3/sources`: one page. `filter.offset`/`filter.limit` are replaced by
    /// `offset`/`limit` (limit clamped to 1..=200).
    pub async fn list_sources_page(
        &self,
        filter: &ListSourcesQuery,
        offset: u32,
        limit: u32,
    ) -> Result<Page<SourceServer>, Error> {
        let limit = limit.clamp(1, SMS_SOURCES_MAX_LIMIT);
        let q = ListSourcesQuery {
            offset: Some(offset),
            limit: Some(limit),
            ..filter.clone()
        };
        let call = Call::get("/v3/sources", "/v3/sources".into()).query(to_query(&q)?);
        let resp: ListSourcesResponse = self.core.json(call).await?;
        Ok(Page {
            items: resp.source_servers,
            count: Some(resp.count),
            offset,
            limit,
        })
    }

    /// `GET /v3/sources`, every page (largest page size unless configured).
    pub async fn list_all_sources(
        &self,
        filter: &ListSourcesQuery,
    ) -> Result<Vec<SourceServer>, Error> {
        let limit = effective_limit(self.core.page_size, SMS_SOURCES_MAX_LIMIT);
        collect_all(limit, SMS_MAX_OFFSET, |o, l| {
            self.list_sources_page(filter, o, l)
        })
        .await
    }

    /// Source servers whose name is exactly `name` (the service filter may match loosely).
    pub async fn sources_named(&self, name: &str) -> Result<Vec<SourceServer>, Error> {
        let filter = ListSourcesQuery {
            name: Some(name.to_owned()),
            ..ListSourcesQuery::default()
        };
        let mut all = self.list_all_sources(&filter).await?;
        all.retain(|s| s.name.as_deref() == Some(name));
        Ok(all)
    }

    /// `GET /v3/sources/{source_id}`.
    pub async fn show_source(&self, source_id: &str) -> Result<SourceServer, Error> {
        let id = segment("source id", source_id)?;
        self.core
            .json(Call::get(
                "/v3/sources/{source_id}",
                format!("/v3/sources/{id}"),
            ))
            .await
    }

    /// `POST /v3/sources` (what the SMS agent does): returns the new id.
    /// Not idempotent: a lost response is `OutcomeUnknown`.
    pub async fn register_source(&self, req: &RegisterSourceRequest) -> Result<String, Error> {
        let call = Call::post("/v3/sources", "/v3/sources".into()).json(req)?;
        let resp: IdResponse = self.core.json(call).await?;
        Ok(resp.id)
    }

    /// `PUT /v3/sources/{source_id}/changestate`.
    pub async fn change_source_state(
        &self,
        source_id: &str,
        req: &ChangeStateRequest,
    ) -> Result<(), Error> {
        let id = segment("source id", source_id)?;
        let call = Call::put(
            "/v3/sources/{source_id}/changestate",
            format!("/v3/sources/{id}/changestate"),
        )
        .json(req)?;
        self.core.unit(call).await
    }

    // ---- tasks ---------------------------------------------------------

    /// `POST /v3/tasks`: returns the new task's id. Not idempotent: a lost
    /// response or a 5xx is `OutcomeUnknown`; use [`tasks_named`](Self::tasks_named) to find out.
    pub async fn create_task(&self, req: &CreateTaskRequest) -> Result<String, Error> {
        let call = Call::post("/v3/tasks", "/v3/tasks".into()).json(req)?;
        let resp: IdResponse = self.core.json(call).await?;
        Ok(resp.id)
    }

    /// `GET /v3/tasks`: one page (limit clamped to 1..=200).
    pub async fn list_tasks_page(
        &self,
        filter: &ListTasksQuery,
        offset: u32,
        limit: u32,
    ) -> Result<Page<Task>, Error> {
        let limit = limit.clamp(1, SMS_TASKS_MAX_LIMIT);
        let q = ListTasksQuery {
            offset: Some(offset),
            limit: Some(limit),
            ..filter.clone()
        };
        let call = Call::get("/v3/tasks", "/v3/tasks".into()).query(to_query(&q)?);
        let resp: ListTasksResponse = self.core.json(call).await?;
        Ok(Page {
            items: resp.tasks,
            count: Some(resp.count),
            offset,
            limit,
        })
    }

    /// `GET /v3/tasks`, every page.
    pub async fn list_all_tasks(&self, filter: &ListTasksQuery) -> Result<Vec<Task>, Error> {
        let limit = effective_limit(self.core.page_size, SMS_TASKS_MAX_LIMIT);
        collect_all(limit, SMS_MAX_OFFSET, |o, l| {
            self.list_tasks_page(filter, o, l)
        })
        .await
    }

    /// Tasks whose name is exactly `name`: how a caller resolves an
    /// `OutcomeUnknown` create.
    pub async fn tasks_named(&self, name: &str) -> Result<Vec<Task>, Error> {
        let filter = ListTasksQuery {
            name: Some(name.to_owned()),
            ..ListTasksQuery::default()
        };
        let mut all = self.list_all_tasks(&filter).await?;
        all.retain(|t| t.name == name);
        Ok(all)
    }

    /// `GET /v3/tasks/{task_id}`. A missing task is a 404 ([`Error::is_not_found`]).
    pub async fn show_task(&self, task_id: &str) -> Result<Task, Error> {
        let id = segment("task id", task_id)?;
        self.core
            .json(Call::get("/v3/tasks/{task_id}", format!("/v3/tasks/{id}")))
            .await
    }

    /// `PUT /v3/tasks/{task_id}`.
    pub async fn update_task(&self, task_id: &str, req: &UpdateTaskRequest) -> Result<(), Error> {
        let id = segment("task id", task_id)?;
        let call = Call::put("/v3/tasks/{task_id}", format!("/v3/tasks/{id}")).json(req)?;
        self.core.unit(call).await
    }

    /// `DELETE /v3/tasks/{task_id}`.
    pub async fn delete_task(&self, task_id: &str) -> Result<(), Error> {
        let id = segment("task id", task_id)?;
        self.core
            .unit(Call::delete(
                "/v3/tasks/{task_id}",
                format!("/v3/tasks/{id}"),
            ))
            .await
    }

    /// `POST /v3/tasks/{task_id}/action` with any body (seed 003: `start`, `stop`,
    /// `test`, `cutover`, `clone_test` + `template_id`, `restart`, `network_check`,
    /// `skip`, `clear`, `migration_test`, `error_for_overspeed`). Not idempotent.
    /// A wrong-state request fails with the service's 400 and its code.
    pub async fn task_action(&self, task_id: &str, req: &TaskActionRequest) -> Result<(), Error> {
        let id = segment("task id", task_id)?;
        let call = Call::post(
            "/v3/tasks/{task_id}/action",
            format!("/v3/tasks/{id}/action"),
        )
        .json(req)?;
        self.core.unit(call).await
    }

    /// [`task_action`](Self::task_action) with just an operation.
    pub async fn action(&self, task_id: &str, operation: Operation) -> Result<(), Error> {
        self.task_action(task_id, &TaskActionRequest::new(operation))
            .await
    }

    /// `GET /v3/tasks/{task_id}/consistency-result`: the results of the task's consistency
    /// checks (empty until one has finished); judge them with
    /// [`ConsistencyResults::verdict`] and show them with
    /// [`ConsistencyResults::summary`]. A missing task is a 404
    /// ([`Error::is_not_found`]). Retried like every GET.
    pub async fn consistency_results(&self, task_id: &str) -> Result<ConsistencyResults, Error> {
        let id = segment("task id", task_id)?;
        self.core
            .json(Call::get(
                "/v3/tasks/{task_id}/consistency-result",
                format!("/v3/tasks/{id}/consistency-result"),
            ))
            .await
    }

    /// `GET /v3/tasks/{task_id}/speed-limit`.
    pub async fn speed_limits(&self, task_id: &str) -> Result<SpeedLimits, Error> {
        let id = segment("task id", task_id)?;
        self.core
            .json(Call::get(
                "/v3/tasks/{task_id}/speed-limit",
                format!("/v3/tasks/{id}/speed-limit"),
            ))
            .await
    }

    /// `POST /v3/tasks/{task_id}/speed-limit`: replaces the whole list of windows,
    /// so it is treated as idempotent.
    pub async fn set_speed_limits(&self, task_id: &str, limits: &SpeedLimits) -> Result<(), Error> {
        let id = segment("task id", task_id)?;
        let call = Call::post(
            "/v3/tasks/{task_id}/speed-limit",
            format!("/v3/tasks/{id}/speed-limit"),
        )
        .idempotent()
        .json(limits)?;
        self.core.unit(call).await
    }

    // ---- templates -----------------------------------------------------

    /// `GET /v3/vm/templates`: one page (limit clamped to 1..=100).
    pub async fn list_templates_page(
        &self,
        filter: &ListTemplatesQuery,
        offset: u32,
        limit: u32,
    ) -> Result<Page<Template>, Error> {
        let limit = limit.clamp(1, SMS_TEMPLATES_MAX_LIMIT);
        let q = ListTemplatesQuery {
            offset: Some(offset),
            limit: Some(limit),
            ..filter.clone()
        };
        let call = Call::get("/v3/vm/templates", "/v3/vm/templates".into()).query(to_query(&q)?);
        let resp: ListTemplatesResponse = self.core.json(call).await?;
        Ok(Page {
            items: resp.templates,
            count: Some(resp.count),
            offset,
            limit,
        })
    }

    /// `GET /v3/vm/templates`, every page.
    pub async fn list_all_templates(
        &self,
        filter: &ListTemplatesQuery,
    ) -> Result<Vec<Template>, Error> {
        let limit = effective_limit(self.core.page_size, SMS_TEMPLATES_MAX_LIMIT);
        collect_all(limit, SMS_MAX_OFFSET, |o, l| {
            self.list_templates_page(filter, o, l)
        })
        .await
    }

    /// `GET /v3/vm/templates/{id}` (the answer is wrapped in `{"template": …}`).
    pub async fn show_template(&self, template_id: &str) -> Result<Template, Error> {
        let id = segment("template id", template_id)?;
        let resp: TemplateEnvelope = self
            .core
            .json(Call::get(
                "/v3/vm/templates/{id}",
                format!("/v3/vm/templates/{id}"),
            ))
            .await?;
        Ok(resp.template)
    }

    /// `POST /v3/vm/templates` (body wrapped in `{"template": …}`): returns the
    /// new id. Not idempotent.
    pub async fn create_template(&self, template: &Template) -> Result<String, Error> {
        let body = TemplateEnvelope {
            template: template.clone(),
        };
        let call = Call::post("/v3/vm/templates", "/v3/vm/templates".into()).json(&body)?;
        let resp: IdResponse = self.core.json(call).await?;
        Ok(resp.id)
    }
}

/// Turns a flat query struct into decoded pairs (`None` fields are skipped by
/// the wire types; booleans and numbers are written as JSON writes them).
pub(crate) fn to_query<Q: Serialize>(q: &Q) -> Result<Vec<(String, String)>, Error> {
    let value = serde_json::to_value(q).map_err(|e| {
        Error::new(crate::ErrorKind::Encode {
            message: e.to_string(),
        })
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(Error::new(crate::ErrorKind::Encode {
            message: "query parameters must be a struct".into(),
        }));
    };
    let mut out = Vec::with_capacity(map.len());
    for (k, v) in map {
        match v {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => out.push((k, s)),
            serde_json::Value::Array(items) => {
                for item in items {
                    match item {
                        serde_json::Value::String(s) => out.push((k.clone(), s)),
                        serde_json::Value::Null => {}
                        other => out.push((k.clone(), other.to_string())),
                    }
                }
            }
            other => out.push((k, other.to_string())),
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use migplan_wire::sms::{SourceState, TaskState};

    #[test]
    fn query_pairs_skip_none_and_format_scalars() {
        let q = ListSourcesQuery {
            state: Some(SourceState::Replicate),
            name: Some("db 01".into()),
            connected: Some(true),
            limit: Some(200),
            offset: Some(0),
            ..ListSourcesQuery::default()
        };
        let mut pairs = to_query(&q).expect("query");
        pairs.sort();
        assert_eq!(
            pairs,
            vec![
                ("connected".to_owned(), "true".to_owned()),
                ("limit".to_owned(), "200".to_owned()),
                ("name".to_owned(), "db 01".to_owned()),
                ("offset".to_owned(), "0".to_owned()),
                ("state".to_owned(), "replicate".to_owned()),
            ]
        );
        let q = ListTasksQuery {
            state: Some(TaskState::MigrateSuccess),
            ..ListTasksQuery::default()
        };
        assert_eq!(
            to_query(&q).expect("query"),
            vec![("state".to_owned(), "MIGRATE_SUCCESS".to_owned())]
        );
    }
}
