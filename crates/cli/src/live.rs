//! The live-state read (refresh): every list a plan needs, walked page by page in parallel, so
//! API calls grow with N / page size, never with N.

use miette::{IntoDiagnostic, WrapErr};
use migplan_planner::LiveSnapshot;

use crate::connect::Connection;
use migplan_wire::sms::{ListSourcesQuery, ListTasksQuery, ListTemplatesQuery};

pub async fn read_snapshot(conn: &Connection) -> miette::Result<LiveSnapshot> {
    let cloud = &conn.cloud;
    let (all_sources, all_tasks, all_templates) = (
        ListSourcesQuery::default(),
        ListTasksQuery::default(),
        ListTemplatesQuery::default(),
    );
    let (sources, tasks, templates, migrations) = tokio::try_join!(
        cloud.sms().list_all_sources(&all_sources),
        cloud.sms().list_all_tasks(&all_tasks),
        cloud.sms().list_all_templates(&all_templates),
        cloud.dcs().list_all_tasks(None),
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
