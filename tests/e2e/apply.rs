//! `migplan apply` and `migplan status` through the real binary against ONE in-process emulator
//! per test (shared by every run of the test), reached over HTTP with AK/SK signing.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use crate::emulated::{Emulated, Setup, json_lines, show, task_names};

fn apply(e: &Emulated, plan: &str, extra: &[&str]) -> std::process::Output {
    e.apply_json(plan, "50ms", extra)
}

fn summary(events: &[Value]) -> &Value {
    events
        .iter()
        .rev()
        .find(|e| e["type"] == "apply_summary")
        .expect("an apply_summary event")
}

fn plan_exit(e: &Emulated, plan: &str) -> (Option<i32>, String) {
    let out = e
        .cmd()
        .args(["plan", "--detailed-exitcode", plan])
        .output()
        .expect("runs");
    (out.status.code(), show(&out))
}

/// Every `step_started` comes after the `step_completed` of each of its dependencies (from the
/// plan the run printed as its first line).
fn check_event_order(events: &[Value]) {
    let plan = events
        .iter()
        .find(|e| e["type"] == "plan")
        .expect("the plan line");
    let deps: HashMap<&str, Vec<&str>> = plan["plan"]["steps"]
        .as_array()
        .expect("steps")
        .iter()
        .map(|s| {
            let id = s["id"].as_str().expect("id");
            let d = s["depends_on"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            (id, d)
        })
        .collect();
    let barriers: HashSet<&str> = deps
        .keys()
        .copied()
        .filter(|k| k.ends_with("#barrier"))
        .collect();
    let mut done: HashSet<&str> = HashSet::new();
    // Barriers complete silently once their own dependencies are done.
    fn settle<'a>(
        done: &mut HashSet<&'a str>,
        barriers: &HashSet<&'a str>,
        deps: &HashMap<&'a str, Vec<&'a str>>,
    ) {
        loop {
            let newly: Vec<&str> = barriers
                .iter()
                .copied()
                .filter(|b| !done.contains(b) && deps[b].iter().all(|d| done.contains(d)))
                .collect();
            if newly.is_empty() {
                break;
            }
            done.extend(newly);
        }
    }
    for e in events {
        let step = e["step"].as_str().unwrap_or("");
        match e["type"].as_str() {
            Some("step_started") => {
                settle(&mut done, &barriers, &deps);
                for d in &deps[step] {
                    assert!(done.contains(d), "{step} started before {d} completed");
                }
            }
            Some("step_completed") => {
                done.insert(step);
            }
            _ => {}
        }
    }
}

/// At most `parallelism` steps in flight, and at most `cap` members of `wave` active (from
/// their first step's start to their last step's end) at any point of the event stream.
fn check_limits(events: &[Value], parallelism: usize, wave: &[&str], cap: usize) {
    let last_end: HashMap<&str, usize> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e["type"] == "step_completed")
        .filter_map(|(i, e)| Some((e["resource"].as_str()?, i)))
        .collect();
    let mut in_flight = 0usize;
    let mut active: HashSet<&str> = HashSet::new();
    for (i, e) in events.iter().enumerate() {
        let r = e["resource"].as_str().unwrap_or("");
        match e["type"].as_str() {
            Some("step_started") => {
                in_flight += 1;
                assert!(
                    in_flight <= parallelism,
                    "more than {parallelism} steps in flight"
                );
                if wave.contains(&r) {
                    active.insert(r);
                    assert!(active.len() <= cap, "wave cap {cap} exceeded: {active:?}");
                }
            }
            Some("step_completed" | "step_failed") => {
                in_flight -= 1;
                if last_end.get(r) == Some(&i) {
                    active.remove(r);
                }
            }
            _ => {}
        }
    }
}

/// First virtual time at which a timeline's value satisfies `pred`.
fn reached(points: &Value, pred: impl Fn(&Value) -> bool) -> Option<i64> {
    points["points"]
        .as_array()?
        .iter()
        .find(|p| pred(&p[1]))
        .and_then(|p| p[0].as_i64())
}

/// When the emulator says each resource reached a stage, and when each step's call arrived:
/// no step's call may arrive before every stage it (transitively) depends on was reached.
fn check_dependency_order_against_the_api(e: &Emulated, plan: &Value) {
    let state = e.state();
    let log = e.requests();
    let steps = plan["steps"].as_array().expect("steps");
    // Live ids and timelines by resource address.
    let mut task_id: HashMap<String, String> = HashMap::new();
    let mut created: HashMap<String, i64> = HashMap::new();
    let mut task_tl: HashMap<String, Value> = HashMap::new();
    let mut src_tl: HashMap<String, Value> = HashMap::new();
    let sources: HashMap<&str, &Value> = state["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .map(|s| (s["id"].as_str().unwrap_or(""), s))
        .collect();
    for t in state["tasks"].as_array().expect("tasks") {
        let addr = format!("server.{}", t["req"]["name"].as_str().unwrap_or(""));
        task_id.insert(addr.clone(), t["id"].as_str().unwrap_or("").into());
        created.insert(addr.clone(), t["create_ms"].as_i64().unwrap_or(0));
        task_tl.insert(addr.clone(), t["state"].clone());
        let sid = t["req"]["source_server"]["id"].as_str().unwrap_or("");
        if let Some(s) = sources.get(sid) {
            src_tl.insert(addr, s["timeline"].clone());
        }
    }
    for t in state["dcs_tasks"].as_array().expect("dcs tasks") {
        let addr = format!("redis.{}", t["create"]["name"].as_str().unwrap_or(""));
        task_id.insert(addr.clone(), t["id"].as_str().unwrap_or("").into());
        created.insert(addr.clone(), t["created_ms"].as_i64().unwrap_or(0));
        task_tl.insert(addr, t["status"].clone());
    }
    let is = |v: &Value, any: &[&str]| v.as_str().is_some_and(|s| any.contains(&s));
    let reached_at = |addr: &str, stage: &str| -> Option<i64> {
        let t = task_tl.get(addr)?;
        match stage {
            "configured" => created.get(addr).copied(),
            "replicated" => reached(t, |v| {
                is(v, &["MIGRATE_SUCCESS", "SYNCING", "SYNC_SUCCESS"])
            }),
            "synced" => reached(t, |v| is(v, &["SYNC_SUCCESS"])),
            "tested" => reached(src_tl.get(addr)?, |v| is(&v[1], &["tested"])),
            "cutover" => reached(src_tl.get(addr)?, |v| {
                is(&v[0], &["finished"]) || is(&v[1], &["cutovered"])
            }),
            "cleared" => reached(src_tl.get(addr)?, |v| is(&v[0], &["cleared"])),
            "created" => reached(t, |v| {
                is(
                    v,
                    &["FULLMIGRATING", "MIGRATING", "SUCCESS", "INCRMIGEATING"],
                )
            }),
            "migrated" => reached(t, |v| {
                is(v, &["SUCCESS", "MIGRATION_SUCCESS", "INCRMIGEATING"])
            }),
            "stopped" => reached(t, |v| is(v, &["TERMINATED"])),
            _ => None,
        }
    };
    // First call of a step, from the request log.
    let call_at = |s: &Value| -> Option<i64> {
        let addr = s["resource"].as_str()?;
        let kind = s["kind"].as_str()?;
        let id = task_id.get(addr)?;
        let first = |route_end: &str, op: Option<&str>| {
            log.iter()
                .filter(|r| {
                    r["path"].as_str().is_some_and(|p| p.contains(id.as_str()))
                        && r["route"].as_str().is_some_and(|x| x.ends_with(route_end))
                        && op.is_none_or(|o| r["operation"] == o)
                })
                .filter_map(|r| r["virtual_time_ms"].as_i64())
                .min()
        };
        match kind {
            "create_task" | "create_migration" => created.get(addr).copied(),
            "start" => first("/action", Some("start")),
            "test" => first("/action", Some("test")),
            "cutover" => first("/action", Some("cutover")),
            "clear" => first("/action", Some("clear")),
            "configure" => first("/task", None),
            "stop_migration" => first("/stop", None),
            _ => None,
        }
    };
    let by_id: HashMap<&str, &Value> = steps
        .iter()
        .map(|s| (s["id"].as_str().unwrap_or(""), s))
        .collect();
    // A step completes its stage when the next step of its resource is in a later stage.
    let completes_stage = |s: &Value| -> bool {
        let r = &s["resource"];
        let mine: Vec<&Value> = steps.iter().filter(|x| &x["resource"] == r).collect();
        let pos = mine.iter().position(|x| x["id"] == s["id"]).unwrap_or(0);
        mine.get(pos + 1).is_none_or(|n| n["stage"] != s["stage"])
    };
    let mut checked = 0;
    for s in steps {
        let Some(at) = call_at(s) else { continue };
        let mut stack: Vec<&str> = s["depends_on"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let mut seen = HashSet::new();
        while let Some(d) = stack.pop() {
            if !seen.insert(d) {
                continue;
            }
            let dep = by_id[d];
            if let Some(more) = dep["depends_on"].as_array() {
                stack.extend(more.iter().filter_map(Value::as_str));
            }
            let (Some(addr), Some(stage)) = (dep["resource"].as_str(), dep["stage"].as_str())
            else {
                continue;
            };
            if dep["resource"] == s["resource"] || !completes_stage(dep) {
                continue;
            }
            let r =
                reached_at(addr, stage).unwrap_or_else(|| panic!("{addr} never reached {stage}"));
            assert!(
                r <= at,
                "{} was called at {at}, before {addr} reached {stage} at {r}",
                s["id"]
            );
            checked += 1;
        }
    }
    assert!(checked > 0, "no cross-resource dependency was checked");
}

#[test]
fn quickstart_applies_from_nothing_then_plan_has_no_changes() {
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    let out = apply(&e, "plans/quickstart.yaml", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let events = json_lines(&out.stdout);
    check_event_order(&events);
    let s = summary(&events);
    assert_eq!(s["status"], "complete");
    assert_eq!(s["done"].as_array().map(Vec::len), Some(3));
    assert!(
        events.iter().any(|e| e["type"] == "step_progress"),
        "progress comes from the shared poll"
    );
    let (code, text) = plan_exit(&e, "plans/quickstart.yaml");
    assert_eq!(code, Some(0), "{text}");
    // Running apply again changes nothing.
    let out = apply(&e, "plans/quickstart.yaml", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (tasks, _) = task_names(&e.state());
    assert_eq!(tasks, ["app-01"]);
}

#[test]
fn fleet_waves_reach_their_stages_in_dependency_order() {
    let e = Setup::plans(&["plans/fleet-waves.yaml"]).start();
    let out = apply(&e, "plans/fleet-waves.yaml", &["--parallelism", "4"]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let events = json_lines(&out.stdout);
    check_event_order(&events);
    let batch_a = [
        "server.api-01",
        "server.api-02",
        "server.api-03",
        "redis.cache-api",
    ];
    check_limits(&events, 4, &batch_a, 2);
    let plan = events
        .iter()
        .find(|e| e["type"] == "plan")
        .map(|p| p["plan"].clone())
        .expect("plan line");
    check_dependency_order_against_the_api(&e, &plan);
    // The header counts steps as the summary does (fleet-waves has wave barriers).
    let start = events
        .iter()
        .find(|e| e["type"] == "apply_start")
        .expect("apply_start");
    let s = summary(&events);
    let summed: usize = ["done", "failed", "skipped", "in_progress", "not_started"]
        .iter()
        .map(|k| s[*k].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(
        start["steps"].as_u64(),
        Some(summed as u64),
        "{start} vs {s}"
    );
    let (code, text) = plan_exit(&e, "plans/fleet-waves.yaml");
    assert_eq!(code, Some(0), "{text}");
    let status = e
        .cmd()
        .args(["status", "plans/fleet-waves.yaml"])
        .output()
        .expect("runs");
    assert_eq!(status.status.code(), Some(0), "{}", show(&status));
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(
        text.contains("9 of 9 resources at their desired stage"),
        "{text}"
    );
}

#[test]
fn shop_cutover_with_stage_dependencies_and_a_source_named_by_id() {
    // web-01 names its source by id: the seed registers that machine with that fixed id.
    let e = Setup::plans(&["plans/shop-cutover.yaml"]).start();
    let out = apply(&e, "plans/shop-cutover.yaml", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let events = json_lines(&out.stdout);
    check_event_order(&events);
    let plan = events
        .iter()
        .find(|e| e["type"] == "plan")
        .map(|p| p["plan"].clone())
        .expect("plan line");
    check_dependency_order_against_the_api(&e, &plan);
    let (code, text) = plan_exit(&e, "plans/shop-cutover.yaml");
    assert_eq!(code, Some(0), "{text}");
    // The Redis passwords were sent but never printed.
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!all.contains("src-pw-e2e") && !all.contains("tgt-pw-e2e"));
}

#[test]
fn faults_converge_with_one_task_per_server_and_redis_entry() {
    let e = Setup::plans(&["plans/fleet-waves.yaml"])
        .faults("throttle=0.1,error=0.1,drop=0.1,seed=11")
        .start();
    // A list call can still fail after the client's retries (30 % of requests fault): a CI
    // job would run apply again. It must converge within a few runs, never duplicate.
    let mut runs = Vec::new();
    for _ in 0..3 {
        let out = apply(&e, "plans/fleet-waves.yaml", &[]);
        let ok = out.status.code() == Some(0);
        runs.push(show(&out));
        if ok {
            break;
        }
    }
    assert!(
        runs.last().is_some_and(|r| r.starts_with("exit Some(0)")),
        "{}",
        runs.join("\n=====\n")
    );
    let stats = e.stats();
    for kind in ["throttle", "error", "drop"] {
        assert!(
            stats["faults"][kind].as_u64().unwrap_or(0) > 0,
            "no {kind} fault injected: {stats}"
        );
    }
    let mut plan = plan_exit(&e, "plans/fleet-waves.yaml");
    for _ in 0..2 {
        if plan.0 != Some(1) {
            break;
        }
        plan = plan_exit(&e, "plans/fleet-waves.yaml"); // a read that outlived its retries
    }
    assert_eq!(plan.0, Some(0), "{}", plan.1);
    let spec = crate::emulated::spec("plans/fleet-waves.yaml");
    let (tasks, migrations) = task_names(&e.state());
    let mut want: Vec<String> = spec.servers.iter().map(|s| s.name.clone()).collect();
    let mut got = tasks.clone();
    want.sort();
    got.sort();
    assert_eq!(got, want, "exactly one SMS task per server");
    let mut want: Vec<String> = spec.redis.iter().map(|r| r.name.clone()).collect();
    let mut got = migrations;
    want.sort();
    got.sort();
    assert_eq!(got, want, "exactly one migration task per Redis entry");
}

#[test]
fn without_a_terminal_and_without_auto_approve_nothing_is_applied() {
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    let out = e
        .cmd()
        .args(["apply", "plans/quickstart.yaml"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--auto-approve"), "{err}");
    let writes = e
        .requests()
        .into_iter()
        .filter(|r| r["method"] != "GET")
        .count();
    assert_eq!(writes, 0, "nothing may be written without approval");
}

#[test]
fn wait_timeout_exits_5_with_work_in_progress_and_the_next_run_finishes() {
    // Slow enough that the copy outlasts the timeout (≈ 1,100 virtual seconds at 200×).
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .time_scale(200.0)
        .start();
    let out = apply(&e, "plans/quickstart.yaml", &["--wait-timeout", "1s"]);
    assert_eq!(out.status.code(), Some(5), "{}", show(&out));
    let events = json_lines(&out.stdout);
    let s = summary(&events);
    assert_eq!(s["status"], "timed_out");
    let in_progress: Vec<&str> = s["in_progress"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|p| p["step"].as_str())
        .collect();
    assert_eq!(in_progress, ["server.app-01#wait.replicated"]);
    // status: where it is against where it should be, with progress from the API.
    let st = e
        .cmd()
        .args(["status", "plans/quickstart.yaml"])
        .output()
        .expect("runs");
    assert_eq!(st.status.code(), Some(5), "{}", show(&st));
    let text = String::from_utf8_lossy(&st.stdout);
    assert!(text.contains("→ replicated (RUNNING"), "{text}");
    assert!(text.contains("Mbit/s") && text.contains("ETA"), "{text}");
    assert!(
        text.contains("0 of 1 resources at their desired stage"),
        "{text}"
    );
    // The next run re-attaches: it only waits.
    let out = apply(&e, "plans/quickstart.yaml", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let events = json_lines(&out.stdout);
    let started: Vec<&str> = events
        .iter()
        .filter(|e| e["type"] == "step_started")
        .filter_map(|e| e["step"].as_str())
        .collect();
    assert_eq!(started, ["server.app-01#wait.replicated"]);
    let starts = e
        .requests()
        .into_iter()
        .filter(|r| r["operation"] == "start")
        .count();
    assert_eq!(starts, 1, "the task was started once");
}

#[test]
fn a_second_concurrent_apply_is_refused_with_the_holder() {
    // Real time: the first apply keeps waiting for the copy while the second one tries.
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .time_scale(1.0)
        .start();
    let mut first = e
        .process()
        .args([
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--format",
            "json",
            "--poll-interval",
            "100ms",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawns");
    // The plan line is printed after the lock is taken.
    let stdout = first.stdout.take().expect("stdout");
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
    let plan_line = lines.next().and_then(Result::ok).unwrap_or_default();
    assert!(plan_line.contains("\"type\":\"plan\""), "{plan_line}");
    let second = e
        .cmd()
        .args(["apply", "plans/quickstart.yaml", "--auto-approve"])
        .output()
        .expect("runs");
    let _ = first.kill();
    let _ = first.wait();
    assert_eq!(second.status.code(), Some(1), "{}", show(&second));
    let err = String::from_utf8_lossy(&second.stderr);
    assert!(err.contains("another `migplan apply`"), "{err}");
    assert!(err.contains(&format!("pid {}", first.id())), "{err}");
    assert!(err.contains("on host"), "{err}");
    // The dead holder's lock is released by the OS: a new apply gets it at once.
    let third = e
        .cmd()
        .args([
            "apply",
            "plans/quickstart.yaml",
            "--auto-approve",
            "--wait-timeout",
            "1s",
        ])
        .output()
        .expect("runs");
    assert_eq!(third.status.code(), Some(5), "{}", show(&third));
    assert!(
        String::from_utf8_lossy(&third.stderr).contains("without releasing its lock"),
        "{}",
        show(&third)
    );
}

#[test]
fn killed_applies_converge_without_duplicates_or_rejected_actions() {
    use std::io::BufRead;
    let e = Setup::plans(&["plans/fleet-waves.yaml"])
        .time_scale(1000.0)
        .start();
    // SIGKILL at different points of a run: right after planning, after a create, mid-wave,
    // mid-wait, at a wave boundary. Each run is killed after reading its k-th output line (an
    // event: the process is somewhere past it), not after a delay.
    let mut killed = 0;
    for k in [1usize, 4, 9, 15, 22, 3] {
        let mut child = e
            .process()
            .args([
                "apply",
                "plans/fleet-waves.yaml",
                "--auto-approve",
                "--format",
                "json",
                "--poll-interval",
                "20ms",
                "--rate-limit",
                "0",
            ])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawns");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufReader::new(stdout).lines();
        let mut seen = 0;
        while seen < k && lines.next().is_some_and(|l| l.is_ok()) {
            seen += 1;
        }
        if seen == k {
            let _ = child.kill(); // SIGKILL
            killed += 1;
        }
        let _ = child.wait();
    }
    assert!(killed >= 5, "the runs ended before they could be killed");
    let out = apply(&e, "plans/fleet-waves.yaml", &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (code, text) = plan_exit(&e, "plans/fleet-waves.yaml");
    assert_eq!(code, Some(0), "{text}");
    let (tasks, migrations) = task_names(&e.state());
    let unique: HashSet<&String> = tasks.iter().collect();
    assert_eq!(unique.len(), tasks.len(), "duplicate SMS tasks: {tasks:?}");
    let unique: HashSet<&String> = migrations.iter().collect();
    assert_eq!(
        unique.len(),
        migrations.len(),
        "duplicate migration tasks: {migrations:?}"
    );
    // No action was sent where the API would reject it (wrong state → 400).
    let rejected: Vec<Value> = e
        .requests()
        .into_iter()
        .filter(|r| r["method"] == "POST" && r["status"] == 400)
        .collect();
    assert!(rejected.is_empty(), "rejected writes: {rejected:#?}");
}

#[test]
fn a_saved_plan_applies_when_fresh_and_is_refused_with_exit_4_when_stale() {
    let e = Setup::plans(&["plans/fleet-waves.yaml"]).start();
    let saved = e.path("saved.json");
    let saved_s = saved.display().to_string();
    let out = e
        .cmd()
        .args(["plan", "plans/fleet-waves.yaml", "--out", &saved_s])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    // Something else changes the live state: the canary gets its task.
    let out = e
        .cmd()
        .args([
            "apply",
            "plans/fleet-waves.yaml",
            "--auto-approve",
            "--target",
            "server.canary-01",
            "--poll-interval",
            "50ms",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = e
        .cmd()
        .args(["apply", &saved_s, "--poll-interval", "50ms"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("server.canary-01"), "{err}");
    assert!(
        err.contains("tasks of this name: 0 → 1") && err.contains("task state: (none) → "),
        "what changed is named, old → new: {err}"
    );
    assert!(!err.contains("task.count"), "no internal keys: {err}");
    // A fresh saved plan applies without a question.
    let out = e
        .cmd()
        .args(["plan", "plans/fleet-waves.yaml", "--out", &saved_s])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let out = apply(&e, &saved_s, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (code, text) = plan_exit(&e, "plans/fleet-waves.yaml");
    assert_eq!(code, Some(0), "{text}");
}

#[test]
fn a_failed_step_skips_only_its_dependents_and_exits_1() {
    // A source named `fail-…` fails every replication halfway.
    let dir = crate::emulated::scratch_dir("failplan");
    let plan = dir.join("fail.yaml");
    std::fs::write(
        &plan,
        "version: 1\nname: failing\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
servers:\n  - {name: fail-01, source: fail-01, target: {template: tpl-app}, stage: tested}\n  - {name: good-01, source: good-01, target: {template: tpl-app}, stage: tested}\n",
    )
    .expect("plan");
    let plan_s = plan.display().to_string();
    let e = Setup::plans(&[])
        .sources(&["fail-01", "good-01"])
        .templates(&["tpl-app"])
        .start();
    let out = e
        .cmd()
        .args([
            "apply",
            &plan_s,
            "--auto-approve",
            "--format",
            "json",
            "--poll-interval",
            "50ms",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    let events = json_lines(&out.stdout);
    let s = summary(&events);
    assert_eq!(s["status"], "failed");
    let failed = &s["failed"][0];
    assert_eq!(failed["step"], "server.fail-01#wait.replicated");
    assert_eq!(failed["error"]["code"], "SMS.1901");
    assert_eq!(s["skipped"][0]["step"], "server.fail-01#test");
    assert_eq!(s["skipped"][0]["because"], "server.fail-01#wait.replicated");
    let done: Vec<&str> = s["done"]
        .as_array()
        .expect("done")
        .iter()
        .filter_map(|d| d["step"].as_str())
        .collect();
    assert!(done.contains(&"server.good-01#test"), "{done:?}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unset_or_empty_secret_blocks_its_resource_at_plan_time_naming_the_variable() {
    let e = Setup::plans(&["plans/shop-cutover.yaml"]).start();
    // plan: blocked (3), naming the unset variable and the empty one, never a value.
    let out = e
        .cmd()
        .env_remove("SESSIONS_SOURCE_PASSWORD")
        .env("SESSIONS_TARGET_PASSWORD", "")
        .args(["plan", "plans/shop-cutover.yaml", "--detailed-exitcode"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains(
            "`SESSIONS_SOURCE_PASSWORD`, `SESSIONS_TARGET_PASSWORD` are not set (or empty)"
        ),
        "{text}"
    );
    // With one of them set, only the other is named; its value never appears.
    let out = e
        .cmd()
        .env_remove("SESSIONS_SOURCE_PASSWORD")
        .args(["plan", "plans/shop-cutover.yaml", "--detailed-exitcode"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let text = show(&out);
    assert!(
        text.contains("`SESSIONS_SOURCE_PASSWORD` is not set"),
        "{text}"
    );
    assert!(
        !text.contains("SESSIONS_TARGET_PASSWORD` is"),
        "that one is set: {text}"
    );
    assert!(!text.contains("tgt-pw-e2e"), "no value: {text}");
    // apply: the Redis migration is never sent (no DCS write), what does not wait for it goes
    // ahead, and the run ends blocked (3).
    let out = e
        .cmd()
        .env_remove("SESSIONS_SOURCE_PASSWORD")
        .args([
            "apply",
            "plans/shop-cutover.yaml",
            "--auto-approve",
            "--poll-interval",
            "50ms",
        ])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(3), "{}", show(&out));
    let dcs_writes: Vec<Value> = e
        .requests()
        .into_iter()
        .filter(|r| {
            r["method"] != "GET" && r["path"].as_str().is_some_and(|p| p.starts_with("/v2/"))
        })
        .collect();
    assert!(
        dcs_writes.is_empty(),
        "the migration was sent: {dcs_writes:?}"
    );
}

#[test]
fn each_services_pace_shows_in_the_summary_and_in_timings() {
    // The gateway admits 5 requests a second: more than the refresh before the run sends at
    // once (it is not paced), less than the run's pace starts at (10/s).
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .faults("ratelimit=5")
        .start();
    let out = e
        .cmd()
        .args(["apply", "plans/quickstart.yaml", "--auto-approve"])
        .args(["--poll-interval", "50ms", "--timings"])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", show(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.starts_with("Requests to SMS: "))
        .unwrap_or_else(|| panic!("a pace line: {}", show(&out)));
    assert!(
        line.contains("throttled") && line.contains("ceiling 100)"),
        "{line}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let timings: Value = stderr
        .lines()
        .find_map(|l| l.strip_prefix("timings: "))
        .and_then(|t| serde_json::from_str(t).ok())
        .unwrap_or_else(|| panic!("a timings line: {}", show(&out)));
    let sms = &timings["rates"][0];
    assert_eq!(sms["service"], "SMS", "{timings}");
    assert!(sms["requests"].as_u64().unwrap_or(0) > 0, "{timings}");
    // Every 429 the emulator answered was to the run, and is counted.
    let answered = e.stats()["faults"]["ratelimit"].as_u64().unwrap_or(0);
    assert_eq!(sms["throttled"].as_u64(), Some(answered), "{timings}");
    assert!(
        line.contains(&format!("{answered} throttled")),
        "{line} / {answered}"
    );
}
