//! `migplan plan` output (human, JSON, markdown) for the example plans against live states
//! prepared in the emulator, pinned as snapshots so reviewers see every change to what users read.

use migplan_wire::dcs::CreateOnlineTaskRequest;
use migplan_wire::sms::{
    CreateTaskRequest, ListSourcesQuery, ListTemplatesQuery, Operation, OsType, SourceServerRef,
    TargetServerSpec, TaskType,
};

use crate::emulated::{Emulated, Setup};
use crate::filters::stable_times;

const PLANS: [&str; 3] = ["quickstart", "shop-cutover", "fleet-waves"];
const PLAN_FILES: [&str; 3] = [
    "plans/quickstart.yaml",
    "plans/shop-cutover.yaml",
    "plans/fleet-waves.yaml",
];
const PROJECT_ID: &str = "0123456789abcdef0123456789abcdef";
const FORMATS: [&str; 3] = ["human", "json", "markdown"];

fn plan_output(cloud: &Emulated, plan: &str, format: &str, exit: i32) -> String {
    let out = cloud
        .cmd()
        .args(["plan", "--detailed-exitcode", "--format", format])
        .arg(format!("plans/{plan}.yaml"))
        .output()
        .expect("runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(exit),
        "{plan} {format}: {stderr}\n{stdout}"
    );
    assert!(!stdout.contains(cloud.secret_key()) && !stderr.contains(cloud.secret_key()));
    stable_times(&stdout)
}

#[test]
fn nothing_created_yet() {
    let cloud = Setup::plans(&PLAN_FILES).time_scale(1.0).start();
    for plan in PLANS {
        for format in FORMATS {
            let text = plan_output(&cloud, plan, format, 2);
            insta::assert_snapshot!(format!("nothing_created__{plan}__{format}"), text);
        }
    }
    // Planning reads and never writes: the emulator saw only GETs.
    let log = cloud.requests();
    let methods: Vec<&str> = log.iter().filter_map(|r| r["method"].as_str()).collect();
    assert!(!methods.is_empty());
    assert!(
        methods.iter().all(|m| *m == "GET"),
        "plan wrote: {methods:?}"
    );
}

/// Creates the SMS task for `name` by hand, as someone using the console would, and returns
/// its id.
fn create_task(cloud: &Emulated, name: &str, task_type: TaskType, template: &str) -> String {
    create_task_with(cloud, name, task_type, template, None)
}

fn create_task_with(
    cloud: &Emulated,
    name: &str,
    task_type: TaskType,
    template: &str,
    speed_limit: Option<i32>,
) -> String {
    let client = cloud.cloud();
    cloud.block_on(async {
        let sources = client
            .sms()
            .list_all_sources(&ListSourcesQuery::default())
            .await
            .expect("sources");
        // A source the plan names by id is registered as `NAME-by-id` (see `emulated`).
        let by_id = format!("{name}-by-id");
        let source = sources
            .iter()
            .find(|s| s.name.as_deref() == Some(name) || s.name.as_deref() == Some(&by_id))
            .expect("registered source");
        let templates = client
            .sms()
            .list_all_templates(&ListTemplatesQuery::default())
            .await
            .expect("templates");
        let tpl = templates
            .iter()
            .find(|t| t.name == template)
            .and_then(|t| t.id.clone())
            .expect("template");
        let req = CreateTaskRequest {
            name: name.to_string(),
            task_type,
            os_type: Some(OsType::Linux),
            source_server: SourceServerRef {
                id: source.id.clone(),
            },
            target_server: TargetServerSpec {
                name: name.to_string(),
                ..TargetServerSpec::default()
            },
            region_name: "ap-southeast-3".into(),
            region_id: "ap-southeast-3".into(),
            project_name: "ap-southeast-3".into(),
            project_id: PROJECT_ID.into(),
            vm_template_id: Some(tpl),
            speed_limit,
            ..CreateTaskRequest::default()
        };
        client.sms().create_task(&req).await.expect("task created")
    })
}

fn start(cloud: &Emulated, task_id: &str) {
    let client = cloud.cloud();
    cloud.block_on(async {
        client
            .sms()
            .action(task_id, Operation::Start)
            .await
            .expect("started")
    });
}

#[test]
fn half_way_some_running_one_failed_one_source_missing() {
    // web-02's agent never registered; everything else did.
    // The clock stands still unless advanced, so progress figures are the same on every run.
    let cloud = Setup::plans(&PLAN_FILES)
        .without_source("web-02")
        .time_scale(1e-9)
        .start();

    let app = create_task(&cloud, "app-01", TaskType::MigrateBlock, "tpl-app");
    start(&cloud, &app);

    let db = create_task(&cloud, "db-01", TaskType::MigrateBlock, "tpl-web");
    start(&cloud, &db);
    let web = create_task(&cloud, "web-01", TaskType::MigrateFile, "tpl-web");
    start(&cloud, &web);
    cloud.emulator().fail_task(&web).expect("failed");
    let client = cloud.cloud();
    cloud.block_on(async {
        let req = CreateOnlineTaskRequest {
            name: "sessions".into(),
            description: None,
            vpc_id: "3e5f7a9b-1c2d-4e6f-8a0b-c1d2e3f4a5b6".into(),
            subnet_id: "7b9d1f3a-5c7e-4a2b-8d0f-e1c3a5b7d9f2".into(),
            security_group_id: "0a2c4e6f-8b1d-4f3a-9c5e-7d9b1a3c5e7f".into(),
        };
        client
            .dcs()
            .create_online_task(&req)
            .await
            .expect("created")
    });
    // Five virtual minutes: the DCS job finishes, the copies make some progress.
    cloud
        .emulator()
        .advance(std::time::Duration::from_secs(300));

    for format in FORMATS {
        // quickstart: the copy is running; only the wait remains, nothing is started twice.
        let text = plan_output(&cloud, "quickstart", format, 2);
        insta::assert_snapshot!(format!("half_way__quickstart__{format}"), text);
        // shop-cutover: web-01 failed and web-02 has no source, so the plan is blocked.
        let text = plan_output(&cloud, "shop-cutover", format, 3);
        insta::assert_snapshot!(format!("half_way__shop-cutover__{format}"), text);
    }
}

#[test]
fn fully_applied_reports_no_changes_and_exits_0() {
    let cloud = Setup::plans(&PLAN_FILES).time_scale(1e-9).start();
    // What the quickstart asks for, done by hand: the task with the plan's settings, started,
    // and a virtual day later the full copy is done.
    let app = create_task_with(
        &cloud,
        "app-01",
        TaskType::MigrateBlock,
        "tpl-app",
        Some(100),
    );
    start(&cloud, &app);
    cloud
        .emulator()
        .advance(std::time::Duration::from_secs(24 * 3600));
    for format in FORMATS {
        let text = plan_output(&cloud, "quickstart", format, 0);
        insta::assert_snapshot!(format!("fully_applied__quickstart__{format}"), text);
    }
}
