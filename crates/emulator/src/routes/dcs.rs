//! DCS v2 routes (`/v2/{project_id}/...`).

use super::{AppState, Path, body, json, ok_empty, query};
use crate::api_error::{ApiError, Flavor, codes};
use crate::redis_mover;
use crate::state::{DCS_TASKS_PAGE, dcs, page};
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;
use axum::routing::{delete, get, post};
use migplan_wire::dcs::{
    BatchTaskResult, BatchTasksRequest, BatchTasksResponse, ConfigureTaskRequest,
    ConfigureTaskResponse, CreateOnlineTaskRequest, CreateOnlineTaskResponse, DeleteTasksBody,
    ListMigrationTasksQuery, ListMigrationTasksResponse, UpdateResumeModeRequest,
};

type Res = Result<Response, ApiError>;

/// The DCS routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v2/{project_id}/migration/instance", post(create_online))
        .route("/v2/{project_id}/migration/{task_id}/task", post(configure))
        .route(
            "/v2/{project_id}/migration-task/batch-stop",
            post(batch_stop),
        )
        .route(
            "/v2/{project_id}/migration-task/{task_id}",
            get(show).put(update_resume_mode),
        )
        .route("/v2/{project_id}/migration-task/{task_id}/stop", post(stop))
        .route(
            "/v2/{project_id}/migration-task/{task_id}/sync-stop",
            post(sync_stop),
        )
        .route(
            "/v2/{project_id}/migration-task/{task_id}/stats",
            get(stats),
        )
        .route("/v2/{project_id}/migration-task/{task_id}/logs", get(logs))
        .route("/v2/{project_id}/migration-tasks", get(list))
        .route(
            "/v2/{project_id}/migration-tasks/batch-restart",
            post(batch_restart),
        )
        .route(
            "/v2/{project_id}/migration-tasks/delete",
            delete(delete_tasks),
        )
        .route("/v2/{project_id}/jobs/{job_id}", get(show_job))
        .route(
            "/v2/{project_id}/instances/{instance_id}",
            get(show_instance),
        )
}

/// ShowInstance: only instances mapped to real servers (`--redis-instance ID=HOST:PORT`)
/// exist, with that address; any other id is not found (404 with the not-found code; the
/// real service's code for a missing instance is not documented in our sources).
async fn show_instance(
    State(app): State<AppState>,
    Path((_project, id)): Path<(String, String)>,
) -> Res {
    let Some(m) = app.cfg.redis_instances.iter().find(|r| r.id == id) else {
        return Err(ApiError::dcs(
            404,
            codes::DCS_NOT_FOUND,
            format!("Instance {id} is not found."),
        ));
    };
    Ok(json(
        200,
        &migplan_wire::dcs::Instance {
            instance_id: m.id.clone(),
            name: m.id.clone(),
            status: "RUNNING".into(),
            ip: m.host.clone(),
            port: m.port,
            domain_name: None,
            enable_ssl: false,
            no_password_access: Some("false".into()),
        },
    ))
}

async fn create_online(
    State(app): State<AppState>,
    Path(project): Path<String>,
    bytes: Bytes,
) -> Res {
    let req: CreateOnlineTaskRequest = body(&bytes, Flavor::Dcs)?;
    let (instance_id, job_id) = dcs::create(&mut app.world(), &project, req, app.now())?;
    Ok(json(
        200,
        &CreateOnlineTaskResponse {
            instance_id,
            job_id: Some(job_id),
        },
    ))
}

async fn configure(
    State(app): State<AppState>,
    Path((project, id)): Path<(String, String)>,
    bytes: Bytes,
) -> Res {
    let req: ConfigureTaskRequest = body(&bytes, Flavor::Dcs)?;
    let (id, name, status) = dcs::configure(&mut app.world(), &project, &id, req, app.now())?;
    redis_mover::start(&app, &project, &id);
    Ok(json(
        200,
        &ConfigureTaskResponse {
            id,
            name: Some(name),
            status: Some(status),
            error: Some(String::new()),
        },
    ))
}

async fn show(State(app): State<AppState>, Path((project, id)): Path<(String, String)>) -> Res {
    let now = app.now();
    let mut w = app.world();
    let t = dcs::find_mut(&mut w, &project, &id)?;
    Ok(json(200, &dcs::view(t, now)))
}

async fn update_resume_mode(
    State(app): State<AppState>,
    Path((project, id)): Path<(String, String)>,
    bytes: Bytes,
) -> Res {
    let req: UpdateResumeModeRequest = body(&bytes, Flavor::Dcs)?;
    if req.resume_mode.is_unknown() {
        return Err(ApiError::dcs_invalid("invalid resume_mode in request."));
    }
    let mut w = app.world();
    let t = dcs::find_mut(&mut w, &project, &id)?;
    t.resume_mode = Some(req.resume_mode);
    Ok(ok_empty())
}

async fn stop(State(app): State<AppState>, Path((project, id)): Path<(String, String)>) -> Res {
    let now = app.now();
    let mut w = app.world();
    dcs::stop(&mut w, &project, &id, false, now)?;
    let t = dcs::find_mut(&mut w, &project, &id)?;
    Ok(json(200, &dcs::view(t, now)))
}

async fn sync_stop(
    State(app): State<AppState>,
    Path((project, id)): Path<(String, String)>,
) -> Res {
    dcs::stop(&mut app.world(), &project, &id, true, app.now())?;
    Ok(ok_empty())
}

fn batch<F>(app: &AppState, project: &str, bytes: &Bytes, mut f: F) -> Res
where
    F: FnMut(&mut crate::state::World, &str, &str, i64) -> Result<(), ApiError>,
{
    let req: BatchTasksRequest = body(bytes, Flavor::Dcs)?;
    if req.migration_tasks.is_empty() {
        return Err(ApiError::dcs(
            400,
            codes::DCS_INVALID_TASK_ID,
            "invalid migration task id in the request.",
        ));
    }
    let now = app.now();
    let mut w = app.world();
    let results = req
        .migration_tasks
        .iter()
        .map(|id| match f(&mut w, project, id, now) {
            Ok(()) => BatchTaskResult {
                result: "success".into(),
                task_id: id.clone(),
                ..BatchTaskResult::default()
            },
            Err(e) => BatchTaskResult {
                result: "failed".into(),
                task_id: id.clone(),
                error_code: Some(e.code),
                error_msg: Some(e.message),
            },
        })
        .collect();
    Ok(json(
        200,
        &BatchTasksResponse {
            migration_tasks: results,
        },
    ))
}

async fn batch_stop(State(app): State<AppState>, Path(project): Path<String>, bytes: Bytes) -> Res {
    batch(&app, &project, &bytes, |w, p, id, now| {
        dcs::stop(w, p, id, false, now)
    })
}

async fn batch_restart(
    State(app): State<AppState>,
    Path(project): Path<String>,
    bytes: Bytes,
) -> Res {
    let answer = batch(&app, &project, &bytes, dcs::restart)?;
    // `batch` parsed the body already; a restarted copy gets a mover if its ends are real.
    if let Ok(req) = body::<BatchTasksRequest>(&bytes, Flavor::Dcs) {
        for id in &req.migration_tasks {
            redis_mover::start(&app, &project, id);
        }
    }
    Ok(answer)
}

async fn delete_tasks(
    State(app): State<AppState>,
    Path(project): Path<String>,
    bytes: Bytes,
) -> Res {
    let req: DeleteTasksBody = body(&bytes, Flavor::Dcs)?;
    dcs::delete(&mut app.world(), &project, &req.task_id_list, app.now())?;
    Ok(json(200, &req))
}

async fn stats(State(app): State<AppState>, Path((project, id)): Path<(String, String)>) -> Res {
    let now = app.now();
    let mut w = app.world();
    let t = dcs::find_mut(&mut w, &project, &id)?;
    Ok(json(200, &dcs::stats(t, now)))
}

async fn logs(State(app): State<AppState>, Path((project, id)): Path<(String, String)>) -> Res {
    let now = app.now();
    let mut w = app.world();
    let t = dcs::find_mut(&mut w, &project, &id)?;
    let status = t.status.value(now).clone();
    let logs = vec![serde_json::json!({
        "created_at": t.created_ms.to_string(), "log_level": "INFO", "message": format!("task status: {status}"),
        "log_code": "0", "keyword": []
    })];
    Ok(json(
        200,
        &serde_json::json!({"log_num": logs.len(), "migration_logs": logs}),
    ))
}

async fn list(State(app): State<AppState>, Path(project): Path<String>, uri: Uri) -> Res {
    let q: ListMigrationTasksQuery = query(&uri, Flavor::Dcs)?;
    let now = app.now();
    let w = app.world();
    let items: Vec<_> = w
        .dcs_tasks
        .iter()
        .rev()
        .filter(|t| t.project_id == project)
        .filter(|t| q.name.as_deref().is_none_or(|n| t.create.name.contains(n)))
        .map(|t| dcs::list_item(t, now))
        .collect();
    let (count, migration_tasks) = page(
        items,
        q.offset,
        q.limit,
        DCS_TASKS_PAGE,
        app.cfg.page_limit_max,
    );
    Ok(json(
        200,
        &ListMigrationTasksResponse {
            count,
            migration_tasks,
        },
    ))
}

async fn show_job(
    State(app): State<AppState>,
    Path((project, job_id)): Path<(String, String)>,
) -> Res {
    let job = dcs::job(&app.world(), &project, &job_id, app.now())?;
    Ok(json(200, &job))
}
