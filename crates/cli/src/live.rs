//! The live-state read (refresh): every list a plan needs, walked page by page in parallel, so
//! API calls grow with N / page size, never with N; a service the plan does not use is not
//! called.

use miette::{IntoDiagnostic, WrapErr};
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
    .into_diagnostic()
    .wrap_err_with(|| format!("cannot read live state from {}", conn.target))?;
    Ok(LiveSnapshot {
        sources,
        tasks,
        templates,
        migrations,
    })
}

/// The list, or nothing without sending a request.
async fn when<T>(
    used: bool,
    list: impl std::future::Future<Output = Result<Vec<T>, migplan_cloud::Error>>,
) -> Result<Vec<T>, migplan_cloud::Error> {
    if used { list.await } else { Ok(Vec::new()) }
}
