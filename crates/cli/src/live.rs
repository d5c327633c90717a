//! The live-state read (refresh): every list a plan needs, walked page by page in parallel, so
//! API calls grow with N / page size, never with N; a service the plan does not use is not
//! called.

use migplan_cloud::ErrorKind;
use migplan_planner::LiveSnapshot;

use crate::connect::Connection;
use migplan_wire::sms::{ListSourcesQuery, ListTasksQuery, ListTemplatesQuery};

pub async fn read_snapshot(conn: &Connection) -> miette::Result<LiveSnapshot> {
    let cloud = &conn.cloud;
    let uses = conn.uses;
    let (all_sources, all_tasks, all_templates) = (
        ListSourcesQuery::default(),
        ListTasksQuery::default(),
        ListTemplatesQuery::default(),
    );
    // Only the services the plan uses are read: an unused one may be unreachable from here.
    let (sources, tasks, templates, migrations) = tokio::try_join!(
        when(uses.sms, cloud.sms().list_all_sources(&all_sources)),
        when(uses.sms, cloud.sms().list_all_tasks(&all_tasks)),
        when(uses.sms, cloud.sms().list_all_templates(&all_templates)),
        when(uses.dcs, cloud.dcs().list_all_tasks(None)),
    )
    .map_err(|source| ReadError {
        target: conn.target.clone(),
        help: help(&source),
        source,
    })?;
    Ok(LiveSnapshot {
        sources,
        tasks,
        templates,
        migrations,
    })
}

/// Source details the forecast reads at once (`GET /v3/sources/{id}`).
const DETAILS_IN_FLIGHT: usize = 8;

/// Adds to `snapshot` the disks of the sources whose full copy is still ahead (the list does
/// not carry used sizes; the forecast's copy times come from them): one `GET
/// /v3/sources/{id}` per such source, [`DETAILS_IN_FLIGHT`] at a time. A detail that cannot
/// be read only makes the forecast fall back to the source's `totalsize`.
pub async fn read_source_details(
    conn: &Connection,
    spec: &migplan_parser::Spec,
    snapshot: &mut LiveSnapshot,
) {
    use futures_util::StreamExt;
    if !conn.uses.sms {
        return;
    }
    let ids = snapshot.sources_wanting_detail(spec);
    let sms = conn.cloud.sms();
    let details: Vec<_> = futures_util::stream::iter(ids)
        .map(|id| async move { sms.show_source(&id).await })
        .buffer_unordered(DETAILS_IN_FLIGHT)
        .filter_map(|r| async move { r.ok() })
        .collect()
        .await;
    snapshot.add_source_details(details);
}

/// The list, or nothing without sending a request.
async fn when<T>(
    used: bool,
    list: impl std::future::Future<Output = Result<Vec<T>, migplan_cloud::Error>>,
) -> Result<Vec<T>, migplan_cloud::Error> {
    if used { list.await } else { Ok(Vec::new()) }
}

/// The refresh failed: names the target, with the cloud error as the cause and what to do.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot read live state from {target}")]
#[diagnostic(code(migplan::live::read))]
struct ReadError {
    target: String,
    #[source]
    source: migplan_cloud::Error,
    #[help]
    help: Option<String>,
}

/// What to do about a failed read: for a timeout, which flag bounds it; else the cloud
/// error's own advice (credentials, throttling, ...).
fn help(e: &migplan_cloud::Error) -> Option<String> {
    match e.kind() {
        ErrorKind::Transport {
            timeout: true,
            connect: true,
            ..
        } => Some(
            "no connection was made in time: check the endpoint and the network, or raise \
             --connect-timeout (MIGPLAN_CONNECT_TIMEOUT)"
                .into(),
        ),
        ErrorKind::Transport { timeout: true, .. } => Some(
            "the endpoint took the connection but did not answer in time: check that it is the \
             API (not something that holds connections open), or raise --request-timeout \
             (MIGPLAN_REQUEST_TIMEOUT)"
                .into(),
        ),
        _ => miette::Diagnostic::help(e).map(|h| h.to_string()),
    }
}
