//! SMS v3 routes (`/v3/...`).

use super::{AppState, Path, body, json, ok_empty, query};
use crate::api_error::{ApiError, Flavor};
use crate::state::{
    SMS_SOURCES_PAGE, SMS_TASKS_PAGE, SMS_TEMPLATES_PAGE, page, sms_action, sms_consistency,
    sms_source, sms_task, sms_template,
};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{get, post, put};
use migplan_wire::sms::{
    ChangeStateRequest, CreateTaskRequest, IdResponse, IdsRequest, ListSourcesQuery,
    ListSourcesResponse, ListTasksQuery, ListTasksResponse, ListTemplatesQuery, ProgressReport,
    RegisterSourceRequest, SpeedLimits, TaskActionRequest, TemplateEnvelope, UpdateSourceRequest,
    UpdateTaskRequest,
};
use serde::Deserialize;

type Res = Result<Response, ApiError>;

/// The SMS routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v3/sources", get(list_sources).post(register_source))
        .route("/v3/sources/overview", get(overview))
        .route("/v3/sources/delete", post(delete_sources))
        .route(
            "/v3/sources/{source_id}",
            get(show_source).put(update_source).delete(delete_source),
        )
        .route("/v3/sources/{source_id}/changestate", put(change_state))
        .route("/v3/tasks", get(list_tasks).post(create_task))
        .route("/v3/tasks/delete", post(delete_tasks))
        .route(
            "/v3/tasks/{task_id}",
            get(show_task).put(update_task).delete(delete_task),
        )
        .route("/v3/tasks/{task_id}/action", post(task_action))
        .route(
            "/v3/tasks/{task_id}/speed-limit",
            get(get_speed).post(set_speed),
        )
        .route("/v3/tasks/{task_id}/progress", put(report_progress))
        .route("/v3/tasks/{task_id}/passphrase", get(passphrase))
        .route(
            "/v3/tasks/{task_id}/consistency-result",
            get(consistency_result),
        )
        .route(
            "/v3/tasks/{task_id}/configuration-setting",
            get(get_config).post(set_config),
        )
        .route(
            "/v3/vm/templates",
            get(list_templates).post(create_template),
        )
        .route(
            "/v3/vm/templates/{template_id}",
            get(show_template)
                .put(update_template)
                .delete(delete_template),
        )
}

async fn list_sources(State(app): State<AppState>, uri: Uri) -> Res {
    let q: ListSourcesQuery = query(&uri, Flavor::Sms)?;
    let now = app.now();
    let mut w = app.world();
    sms_task::resolve_all(&mut w, now);
    let tasks = sms_task::tasks_by_id(&w);
    let has_results = |s: &sms_source::SourceRec| {
        s.current_task
            .as_deref()
            .and_then(|id| tasks.get(id))
            .is_some_and(|t| !t.consistency.is_empty())
    };
    let matching: Vec<_> = w
        .sources
        .iter()
        .rev()
        .filter(|s| q.id.as_deref().is_none_or(|id| s.id == id))
        .filter(|s| q.name.as_deref().is_none_or(|n| s.reg.name.contains(n)))
        .filter(|s| q.ip.as_deref().is_none_or(|ip| s.ip() == ip))
        .filter(|s| {
            q.state
                .as_ref()
                .is_none_or(|st| s.timeline.value(now).0 == *st)
        })
        .filter(|s| {
            q.migration_cycle
                .as_ref()
                .is_none_or(|c| s.timeline.value(now).1 == *c)
        })
        .filter(|s| q.connected.is_none_or(|c| s.connected == c))
        .filter(|s| {
            q.enterprise_project_id
                .as_deref()
                .is_none_or(|e| s.reg.enterprise_project_id.as_deref().unwrap_or("0") == e)
        })
        .filter(|s| {
            q.is_consistency_result_exist
                .is_none_or(|want| has_results(s) == want)
        })
        .collect();
    let (count, page) = page(
        matching,
        q.offset,
        q.limit,
        SMS_SOURCES_PAGE,
        app.cfg.page_limit_max,
    );
    let source_servers = page
        .into_iter()
        .map(|s| {
            let task = s
                .current_task
                .as_deref()
                .and_then(|id| tasks.get(id).copied());
            sms_task::source_view(s, task, now, false)
        })
        .collect();
    Ok(json(
        200,
        &ListSourcesResponse {
            count,
            source_servers,
        },
    ))
}

async fn register_source(State(app): State<AppState>, bytes: Bytes) -> Res {
    let reg: RegisterSourceRequest = body(&bytes, Flavor::Sms)?;
    let id = sms_source::register(&mut app.world(), reg, None, app.now())?;
    Ok(json(200, &IdResponse { id }))
}

async fn overview(State(app): State<AppState>) -> Res {
    let now = app.now();
    let mut w = app.world();
    sms_task::resolve_all(&mut w, now);
    let mut counts = serde_json::Map::new();
    for key in [
        "waiting",
        "replicate",
        "syncing",
        "stopped",
        "deleting",
        "cutovering",
        "unavailable",
        "stopping",
        "skipping",
        "finished",
        "initialize",
        "error",
        "cloning",
        "unconfigured",
    ] {
        counts.insert(key.into(), 0.into());
    }
    for s in &w.sources {
        let (state, _) = s.timeline.value(now);
        let key = if s.current_task.is_none() && *state == migplan_wire::sms::SourceState::Waiting {
            "unconfigured"
        } else {
            state.as_str()
        };
        if let Some(serde_json::Value::Number(n)) = counts.get(key).cloned() {
            counts.insert(key.into(), (n.as_u64().unwrap_or(0) + 1).into());
        }
    }
    Ok(json(200, &counts))
}

async fn show_source(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    let now = app.now();
    let mut w = app.world();
    sms_task::resolve_all(&mut w, now);
    let src = w
        .sources
        .iter()
        .find(|s| s.id == id)
        .ok_or_else(|| sms_source::not_found(&id))?;
    let task = src
        .current_task
        .as_deref()
        .and_then(|t| w.tasks.iter().find(|task| task.id == t));
    Ok(json(200, &sms_task::source_view(src, task, now, true)))
}

async fn update_source(State(app): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Res {
    let upd: UpdateSourceRequest = body(&bytes, Flavor::Sms)?;
    let mut w = app.world();
    let src = sms_source::find_mut(&mut w, &id)?;
    if let Some(name) = upd.name {
        src.reg.name = name;
    }
    Ok(ok_empty())
}

async fn delete_source(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    delete_source_ids(&app, &[id])
}

async fn delete_sources(State(app): State<AppState>, bytes: Bytes) -> Res {
    let ids: IdsRequest = body(&bytes, Flavor::Sms)?;
    delete_source_ids(&app, &ids.ids)
}

fn delete_source_ids(app: &AppState, ids: &[String]) -> Res {
    let now = app.now();
    let mut w = app.world();
    sms_task::resolve_all(&mut w, now);
    for id in ids {
        let src = sms_source::find_mut(&mut w, id)?;
        let busy = src.current_task.clone();
        if let Some(task_id) = busy {
            let running = w
                .tasks
                .iter()
                .find(|t| t.id == task_id)
                .map(|t| t.state_at(now));
            if matches!(
                running,
                Some(
                    migplan_wire::sms::TaskState::Running
                        | migplan_wire::sms::TaskState::Syncing
                        | migplan_wire::sms::TaskState::Aborting
                )
            ) {
                return Err(ApiError::sms(
                    400,
                    crate::api_error::codes::SMS_DELETE_RUNNING,
                    format!("source {id} has a running task"),
                ));
            }
        }
    }
    w.sources.retain(|s| !ids.contains(&s.id));
    Ok(ok_empty())
}

async fn change_state(State(app): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Res {
    let req: ChangeStateRequest = if bytes.is_empty() {
        ChangeStateRequest::default()
    } else {
        body(&bytes, Flavor::Sms)?
    };
    let now = app.now();
    let mut w = app.world();
    sms_task::resolve_all(&mut w, now);
    sms_source::change_state(&mut w, &id, &req, now)?;
    Ok(ok_empty())
}

async fn list_tasks(State(app): State<AppState>, uri: Uri) -> Res {
    let q: ListTasksQuery = query(&uri, Flavor::Sms)?;
    let now = app.now();
    let mut w = app.world();
    sms_task::resolve_all(&mut w, now);
    let matching: Vec<_> = w
        .tasks
        .iter()
        .rev()
        .filter(|t| q.id.as_deref().is_none_or(|id| t.id == id))
        .filter(|t| q.name.as_deref().is_none_or(|n| t.req.name.contains(n)))
        .filter(|t| {
            q.source_server_id
                .as_deref()
                .is_none_or(|s| t.req.source_server.id == s)
        })
        .filter(|t| q.state.as_ref().is_none_or(|s| t.state_at(now) == *s))
        .filter(|t| {
            q.enterprise_project_id
                .as_deref()
                .is_none_or(|e| t.req.enterprise_project_id.as_deref().unwrap_or("0") == e)
        })
        .collect();
    let (count, page) = page(
        matching,
        q.offset,
        q.limit,
        SMS_TASKS_PAGE,
        app.cfg.page_limit_max,
    );
    let sources = sms_task::sources_by_id(&w);
    let tasks = page
        .into_iter()
        .map(|t| {
            sms_task::view(
                t,
                sources.get(t.req.source_server.id.as_str()).copied(),
                now,
            )
        })
        .collect();
    Ok(json(200, &ListTasksResponse { count, tasks }))
}

async fn create_task(State(app): State<AppState>, bytes: Bytes) -> Res {
    let req: CreateTaskRequest = body(&bytes, Flavor::Sms)?;
    let id = sms_task::create(&mut app.world(), req, app.now())?;
    Ok(json(200, &IdResponse { id }))
}

async fn show_task(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    let now = app.now();
    let mut w = app.world();
    let idx = sms_task::index_of(&w, &id)?;
    sms_task::resolve_at(&mut w, idx, now);
    let t = &w.tasks[idx];
    Ok(json(
        200,
        &sms_task::view(t, sms_task::source_of(&w, t), now),
    ))
}

async fn update_task(State(app): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Res {
    let upd: UpdateTaskRequest = body(&bytes, Flavor::Sms)?;
    let id = sms_task::update(&mut app.world(), &id, upd, app.now())?;
    Ok(json(200, &IdResponse { id }))
}

async fn delete_task(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    sms_task::delete(&mut app.world(), &id, app.now())?;
    Ok(ok_empty())
}

async fn delete_tasks(State(app): State<AppState>, bytes: Bytes) -> Res {
    let ids: IdsRequest = body(&bytes, Flavor::Sms)?;
    let now = app.now();
    let mut w = app.world();
    for id in &ids.ids {
        sms_task::delete(&mut w, id, now)?;
    }
    Ok(ok_empty())
}

async fn task_action(State(app): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Res {
    let req: TaskActionRequest = body(&bytes, Flavor::Sms)?;
    sms_action::apply(&mut app.world(), &id, &req, app.now())?;
    Ok(ok_empty())
}

async fn get_speed(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    let w = app.world();
    let idx = sms_task::index_of(&w, &id)?;
    Ok(json(
        200,
        &SpeedLimits {
            speed_limit: w.tasks[idx].speed_windows.clone(),
        },
    ))
}

async fn set_speed(State(app): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Res {
    let req: SpeedLimits = body(&bytes, Flavor::Sms)?;
    sms_task::set_speed_windows(&mut app.world(), &id, req.speed_limit, app.now())?;
    Ok(ok_empty())
}

async fn report_progress(State(app): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Res {
    let rep: ProgressReport = body(&bytes, Flavor::Sms)?;
    let now = app.now();
    let mut w = app.world();
    let idx = sms_task::index_of(&w, &id)?;
    sms_task::resolve_at(&mut w, idx, now);
    let task = &mut w.tasks[idx];
    for run in [task.full.as_mut(), task.sync.as_mut()]
        .into_iter()
        .flatten()
    {
        if let Some(step) = run.steps.get(run.current)
            && step.name == rep.subtask_name
        {
            let target = step.units * f64::from(rep.progress.clamp(0, 100)) / 100.0;
            run.done_units = run.done_units.max(target.min(step.units - 1.0).max(0.0));
            run.anchor_ms = now;
        }
    }
    Ok(ok_empty())
}

async fn consistency_result(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    let now = app.now();
    let mut w = app.world();
    let idx = sms_task::index_of(&w, &id)?;
    sms_task::resolve_at(&mut w, idx, now);
    Ok(json(200, &sms_consistency::view(&w.tasks[idx])))
}

async fn passphrase(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    let w = app.world();
    sms_task::index_of(&w, &id)?;
    Ok(json(
        200,
        &serde_json::json!({"task_id": id, "passphrase": ""}),
    ))
}

#[derive(Deserialize)]
struct ConfigQuery {
    config_key: Option<String>,
}

async fn get_config(State(app): State<AppState>, Path(id): Path<String>, uri: Uri) -> Res {
    let q: ConfigQuery = query(&uri, Flavor::Sms)?;
    let w = app.world();
    let idx = sms_task::index_of(&w, &id)?;
    let t = &w.tasks[idx];
    let os = t
        .req
        .os_type
        .clone()
        .unwrap_or(migplan_wire::sms::OsType::Linux);
    let migrate_type = format!("{}_{}", os.as_str(), t.req.task_type.as_str());
    let _ = q.config_key;
    Ok(json(
        200,
        &serde_json::json!({"task_id": id, "migrate_type": migrate_type, "configurations": []}),
    ))
}

async fn set_config(State(app): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Res {
    let _: serde_json::Value = body(&bytes, Flavor::Sms)?;
    sms_task::index_of(&app.world(), &id)?;
    Ok(ok_empty())
}

async fn list_templates(State(app): State<AppState>, uri: Uri) -> Res {
    let q: ListTemplatesQuery = query(&uri, Flavor::Sms)?;
    let w = app.world();
    let items: Vec<serde_json::Value> = sms_template::matching(&w, &q)
        .into_iter()
        .map(sms_template::to_wire)
        .collect();
    let (count, templates) = page(
        items,
        q.offset,
        q.limit,
        SMS_TEMPLATES_PAGE,
        app.cfg.page_limit_max,
    );
    Ok(json(
        200,
        &serde_json::json!({"count": count, "templates": templates}),
    ))
}

async fn create_template(State(app): State<AppState>, bytes: Bytes) -> Res {
    let env: TemplateEnvelope = body(&bytes, Flavor::Sms)?;
    let id = sms_template::create(&mut app.world(), env.template)?;
    Ok(json(200, &IdResponse { id }))
}

async fn show_template(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    let w = app.world();
    let t = sms_template::find(&w, &id)?;
    Ok(json(
        200,
        &serde_json::json!({"template": sms_template::to_wire(t)}),
    ))
}

async fn update_template(State(app): State<AppState>, Path(id): Path<String>, bytes: Bytes) -> Res {
    let env: TemplateEnvelope = body(&bytes, Flavor::Sms)?;
    let mut w = app.world();
    sms_template::find(&w, &id)?;
    if let Some(rec) = w.templates.iter_mut().find(|t| t.id == id) {
        let mut tpl = env.template;
        tpl.id = Some(id.clone());
        rec.template = tpl;
    }
    Ok(ok_empty())
}

async fn delete_template(State(app): State<AppState>, Path(id): Path<String>) -> Res {
    let mut w = app.world();
    sms_template::find(&w, &id)?;
    w.templates.retain(|t| t.id != id);
    Ok(ok_empty())
}
