//! The SMS quota through the real binary: an emulator whose account runs at most 20 SMS
//! migrations at once (`--sms-migration-quota 20`, a start past it refused 403 `SMS.1003`) and
//! a plan of 60 servers declaring that quota. `status` and `plan` show the queue; apply never
//! has more than 20 running, is never refused, and converges.

use serde_json::Value;

use crate::emulated::{Setup, json_lines, scratch_dir, show};

const SERVERS: usize = 60;
const QUOTA: u32 = 20;

/// A plan of 60 servers to `replicated` under `cloud.quotas.sms_concurrent_migrations: 20`.
fn fleet_plan() -> String {
    let mut y = format!(
        "version: 1\nname: quota-fleet\ncloud:\n  region: ap-southeast-3\n  project_id: 0123456789abcdef0123456789abcdef\n  quotas: {{sms_concurrent_migrations: {QUOTA}}}\nservers:\n"
    );
    for i in 0..SERVERS {
        y.push_str(&format!(
            "  - {{name: q-{i:02}, target: {{template: tpl-q}}, stage: replicated}}\n"
        ));
    }
    let path = scratch_dir("quota").join("quota-fleet.yaml");
    std::fs::write(&path, y).expect("plan file");
    path.display().to_string()
}

/// Queue places of the resources of a `status --format json` or `plan --format json`.
fn places(resources: &Value, key: &str) -> Vec<u64> {
    let mut p: Vec<u64> = resources
        .as_array()
        .expect("resources")
        .iter()
        .filter_map(|r| r[key]["place"].as_u64())
        .collect();
    p.sort_unstable();
    p
}

#[test]
fn a_fleet_under_the_account_quota_never_runs_more_than_it_and_is_never_refused() {
    let plan = fleet_plan();
    let e = Setup::plans(&[&plan]).sms_migration_quota(QUOTA).start();
    let wide = ["--parallelism", "100"];

    // Before: status and plan show 40 copies queued behind the first 20, in order.
    let out = e
        .cmd()
        .args(["status", "--format", "json", &plan])
        .args(wide)
        .output()
        .expect("runs");
    let status: Value = serde_json::from_slice(&out.stdout).expect("status JSON");
    let expected: Vec<u64> = (1..=40).collect();
    assert_eq!(
        places(&status["resources"], "queue"),
        expected,
        "{}",
        show(&out)
    );
    let out = e
        .cmd()
        .args(["plan", "--format", "json", &plan])
        .args(wide)
        .output()
        .expect("runs");
    let p: Value = serde_json::from_slice(&out.stdout).expect("plan JSON");
    assert_eq!(
        p["quota"],
        serde_json::json!({"sms_concurrent_migrations": QUOTA, "sms_running_elsewhere": 0})
    );
    assert_eq!(p["forecast"]["queued"], 40);
    assert_eq!(places(&p["resources"], "queue"), expected);
    let text = e
        .cmd()
        .args(["plan", &plan])
        .args(wide)
        .output()
        .expect("runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(
        text.contains("queued #1 for the SMS quota, expected start +"),
        "{text}"
    );
    assert!(
        text.contains("Forecast: apply ends in ~")
            && text.contains("40 copies wait for the SMS quota (20 at once)"),
        "{text}"
    );

    // Apply: converges, never more than 20 at once in the emulator's record, none refused.
    let out = e
        .cmd()
        .args(["apply", &plan, "--auto-approve", "--format", "json"])
        .args(["--poll-interval", "50ms", "--rate-limit", "0"])
        .args(wide)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let events = json_lines(&out.stdout);
    let summary = events
        .iter()
        .rev()
        .find(|v| v["type"] == "apply_summary")
        .expect("a summary");
    assert_eq!(summary["status"], "complete", "{summary}");
    let stats = e.stats();
    let m = &stats["sms_migrations"];
    assert_eq!(m["quota"], QUOTA, "{stats}");
    assert!(
        m["max_running"]
            .as_u64()
            .is_some_and(|n| n <= u64::from(QUOTA)),
        "more than {QUOTA} ran at once: {stats}"
    );
    let refused: Vec<Value> = e
        .requests()
        .into_iter()
        .filter(|r| r["status"] == 403)
        .collect();
    assert!(refused.is_empty(), "refused for the quota: {refused:?}");
    assert!(
        events
            .iter()
            .any(|v| v["type"] == "forecast" && v["queued"].as_u64() > Some(0)),
        "the pinned ETA saw the queue"
    );
    // And it converged: nothing left to do.
    let again = e
        .cmd()
        .args(["plan", "--detailed-exitcode", &plan])
        .output()
        .expect("runs");
    assert_eq!(again.status.code(), Some(0), "{}", show(&again));
}
