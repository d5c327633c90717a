//! Saved plans edited after `plan --out`: apply re-derives the steps from the recorded plan file
//! (hash-checked first) and live state, and refuses every edit with exit 4, naming what
//! differs, before anything is written to the cloud.

use serde_json::{Value, json};

use crate::emulated::{Emulated, Setup, show};

/// Requests that change something (anything but GET), from the emulator's log.
fn writes(e: &Emulated) -> Vec<Value> {
    e.requests()
        .into_iter()
        .filter(|r| r["method"] != "GET")
        .collect()
}

fn save_plan(e: &Emulated, plan: &str) -> Value {
    let saved = e.path("reviewed.json");
    let out = e
        .cmd()
        .args(["plan", plan, "--out", &saved.display().to_string()])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    serde_json::from_slice(&std::fs::read(&saved).expect("saved")).expect("json")
}

/// Writes `edited` and applies it; returns the output.
fn apply_edited(e: &Emulated, name: &str, edited: &Value) -> std::process::Output {
    let path = e.path(name);
    std::fs::write(&path, serde_json::to_vec_pretty(edited).expect("json")).expect("write");
    e.cmd()
        .env("MIGPLAN_TAMPER_SENTINEL", "SENTINEL-9f2c-environ-value")
        .args([
            "apply",
            &path.display().to_string(),
            "--auto-approve",
            "--poll-interval",
            "50ms",
        ])
        .output()
        .expect("runs")
}

fn step_mut<'a>(plan: &'a mut Value, id: &str) -> &'a mut Value {
    plan["plan"]["steps"]
        .as_array_mut()
        .expect("steps")
        .iter_mut()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id}"))
}

type Edit = Box<dyn Fn(&mut Value)>;

#[test]
fn every_kind_of_edit_to_a_saved_plan_exits_4_and_writes_nothing() {
    let e = Setup::plans(&["plans/quickstart.yaml"])
        .sources(&["another-machine"])
        .start();
    let reviewed = save_plan(&e, "plans/quickstart.yaml");
    let other_source = e.state()["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .find(|s| s["reg"]["name"] == "another-machine")
        .and_then(|s| s["id"].as_str())
        .expect("the other source's id")
        .to_string();
    let tests_for: &[(&str, &str, Edit)] = &[
        (
            "added-steps",
            "server.app-01#cutover",
            Box::new(|p| {
                let steps = p["plan"]["steps"].as_array_mut().expect("steps");
                let mut test = steps[1].clone();
                test["id"] = "server.app-01#test".into();
                test["kind"] = "test".into();
                test["label"] = "test".into();
                test["stage"] = "tested".into();
                test["depends_on"] = json!(["server.app-01#wait.replicated"]);
                let mut cutover = test.clone();
                cutover["id"] = "server.app-01#cutover".into();
                cutover["kind"] = "cutover".into();
                cutover["label"] = "cutover".into();
                cutover["stage"] = "cutover".into();
                cutover["depends_on"] = json!(["server.app-01#test"]);
                steps.push(test);
                steps.push(cutover);
            }),
        ),
        (
            "other-source",
            "source_id",
            Box::new(move |p| {
                step_mut(p, "server.app-01#create")["source_id"] = other_source.clone().into();
            }),
        ),
        (
            "desired-stage",
            "desired",
            Box::new(|p| p["plan"]["resources"][0]["desired"] = "cutover".into()),
        ),
        (
            "removed-resources",
            "server.app-01",
            Box::new(|p| {
                p["plan"]["resources"] = json!([]);
                p["plan"]["steps"] = json!([]);
            }),
        ),
    ];
    let before = writes(&e).len();
    for (name, expect, edit) in tests_for {
        let mut edited = reviewed.clone();
        edit(&mut edited);
        assert_ne!(edited, reviewed, "{name}: the edit changed nothing");
        let out = apply_edited(&e, &format!("{name}.json"), &edited);
        assert_eq!(out.status.code(), Some(4), "{name}: {}", show(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(expect),
            "{name}: the refusal names `{expect}`: {err}"
        );
        assert!(err.contains("nothing was applied"), "{name}: {err}");
        assert_eq!(
            writes(&e).len(),
            before,
            "{name}: nothing may be written to the cloud"
        );
    }
    // The untouched artifact still applies.
    let out = apply_edited(&e, "untouched.json", &reviewed);
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    assert!(writes(&e).len() > before, "the reviewed plan was applied");
}

#[test]
fn a_saved_plan_pointing_at_another_file_never_echoes_it() {
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    let reviewed = save_plan(&e, "plans/quickstart.yaml");
    for file in [
        "/proc/self/environ",
        "plans/fleet-waves.yaml",
        "/etc/hostname",
    ] {
        let mut edited = reviewed.clone();
        edited["plan_file"] = file.into();
        let out = apply_edited(&e, "pointed.json", &edited);
        assert_eq!(out.status.code(), Some(4), "{file}: {}", show(&out));
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            !all.contains("SENTINEL-9f2c-environ-value"),
            "{file}: the environment was echoed: {all}"
        );
        assert!(!all.contains(e.secret_key()), "{file}: {all}");
        assert!(all.contains("sha256"), "{file}: {all}");
        assert!(all.len() < 2_000, "{file}: output is short: {all}");
    }
    // A saved plan that is not one at all is refused without echoing it either.
    let path = e.path("not-a-plan.json");
    std::fs::write(
        &path,
        "{\"saved_plan_version\": 1, \"plan\": \"SENTINEL-9f2c-environ-value\"}",
    )
    .expect("write");
    let out = e
        .cmd()
        .args(["apply", &path.display().to_string(), "--auto-approve"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", show(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("SENTINEL-9f2c"),
        "{}",
        show(&out)
    );
    assert!(writes(&e).is_empty(), "nothing was written");
}

/// `show` and `apply` on hostile saved plans: huge, deeply nested, not UTF-8, or carrying
/// terminal escapes in names. Exit 1 (or a rendered plan with the escapes shown escaped),
/// bounded output, never a panic.
#[test]
fn hostile_saved_plans_are_refused_or_shown_escaped() {
    let e = Setup::plans(&["plans/quickstart.yaml"]).start();
    let reviewed = save_plan(&e, "plans/quickstart.yaml");
    let mut hostile = reviewed.clone();
    let escape = "\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}31m";
    hostile["plan"]["name"] = format!("x{escape}").into();
    hostile["target"] = format!("t{escape}").into();
    hostile["plan"]["resources"][0]["diff_text"] = format!("d{escape}").into();
    let huge = e.path("huge.json");
    let file = std::fs::File::create(&huge).expect("create");
    file.set_len(300 << 20).expect("sparse file");
    let cases: Vec<(String, Vec<u8>)> = vec![
        (
            "nested.json".into(),
            format!("{}{}", "[".repeat(100_000), "]".repeat(100_000)).into_bytes(),
        ),
        (
            "binary.json".into(),
            vec![0xff, 0xfe, b'{', 0, 0x1b, b'[', b'2', b'J'],
        ),
        (
            "escapes.json".into(),
            serde_json::to_vec(&hostile).expect("json"),
        ),
    ];
    let mut paths: Vec<String> = cases
        .iter()
        .map(|(name, bytes)| {
            let p = e.path(name);
            std::fs::write(&p, bytes).expect("write");
            p.display().to_string()
        })
        .collect();
    paths.push(huge.display().to_string());
    for path in &paths {
        for args in [
            vec!["show", path.as_str()],
            vec!["show", path.as_str(), "--format", "markdown"],
            vec!["apply", path.as_str(), "--auto-approve"],
        ] {
            let out = e.cmd().args(&args).output().expect("runs");
            let text = show(&out);
            assert!(!text.contains("panicked"), "{args:?}: {text}");
            assert!(
                !text.contains('\u{1b}') && !text.contains('\u{9b}') && !text.contains('\u{7}'),
                "{args:?}: a raw escape reached the terminal: {text:?}"
            );
            assert!(
                text.len() < 20_000,
                "{args:?}: bounded output ({} bytes)",
                text.len()
            );
            let expected = if args[0] == "show" && path.ends_with("escapes.json") {
                0
            } else if args[0] == "apply" && path.ends_with("escapes.json") {
                4
            } else {
                1
            };
            assert_eq!(out.status.code(), Some(expected), "{args:?}: {text}");
        }
    }
    assert!(writes(&e).is_empty(), "nothing was written");
}

/// With a plan key, a saved plan is signed; an edit consistent with the plan file (here a
/// `--target` list widened to every resource, with the steps that gives) re-derives cleanly,
/// so only the signature catches it.
#[test]
fn with_a_plan_key_only_the_signed_artifact_applies() {
    let e = Setup::plans(&["plans/fleet-waves.yaml"]).start();
    let saved = e.path("signed.json");
    let key = "SENTINEL-plan-key-3b9d";
    let plan = |extra: &[&str], out: &std::path::Path| {
        let out = e
            .cmd()
            .env("MIGPLAN_PLAN_KEY", key)
            .args([
                "plan",
                "plans/fleet-waves.yaml",
                "--out",
                &out.display().to_string(),
            ])
            .args(extra)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    };
    plan(&["--target", "server.canary-01"], &saved);
    let reviewed: Value =
        serde_json::from_slice(&std::fs::read(&saved).expect("saved")).expect("json");
    assert!(reviewed["hmac_sha256"].is_string(), "signed: {reviewed}");
    // The forger's artifact: the untargeted plan, with the reviewed signature.
    let whole_path = e.path("whole.json");
    plan(&[], &whole_path);
    let mut forged: Value =
        serde_json::from_slice(&std::fs::read(&whole_path).expect("saved")).expect("json");
    forged["hmac_sha256"] = reviewed["hmac_sha256"].clone();
    let forged_path = e.path("forged.json");
    std::fs::write(&forged_path, forged.to_string()).expect("write");
    let apply = |path: &std::path::Path, key: Option<&str>| {
        let mut cmd = e.cmd();
        if let Some(k) = key {
            cmd.env("MIGPLAN_PLAN_KEY", k);
        }
        cmd.args([
            "apply",
            &path.display().to_string(),
            "--auto-approve",
            "--poll-interval",
            "50ms",
        ])
        .output()
        .expect("runs")
    };
    for (path, k) in [(&forged_path, Some(key)), (&saved, Some("another-key"))] {
        let out = apply(path, k);
        assert_eq!(out.status.code(), Some(4), "{}", show(&out));
        let text = show(&out);
        assert!(text.contains("signature"), "{text}");
        assert!(!text.contains(key), "the key is never printed: {text}");
    }
    // Unsigned while a key is set: refused.
    let mut unsigned = reviewed.clone();
    unsigned
        .as_object_mut()
        .expect("object")
        .remove("hmac_sha256");
    let unsigned_path = e.path("unsigned.json");
    std::fs::write(&unsigned_path, unsigned.to_string()).expect("write");
    let out = apply(&unsigned_path, Some(key));
    assert_eq!(out.status.code(), Some(4), "{}", show(&out));
    assert!(writes(&e).is_empty(), "nothing was written");
    // The signed, reviewed artifact applies, and only the canary moves.
    let out = apply(&saved, Some(key));
    assert_eq!(out.status.code(), Some(0), "{}", show(&out));
    let (tasks, _) = crate::emulated::task_names(&e.state());
    assert_eq!(
        tasks,
        vec!["canary-01".to_string()],
        "only the target was applied"
    );
}
