//! `migplan validate` and `migplan schema` through the real binary.

use std::path::PathBuf;

use crate::{migplan, repo_root};

fn files_in(dir: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join(dir))
        .expect("directory exists")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

#[test]
fn every_example_plan_is_valid() {
    let plans = files_in("plans");
    assert!(plans.len() >= 3);
    let out = migplan()
        .arg("validate")
        .args(&plans)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.matches(": valid (").count(), plans.len(), "{stdout}");
}

#[test]
fn every_corpus_file_exits_1_with_a_located_diagnostic() {
    let corpus = files_in("crates/parser/tests/invalid");
    assert!(corpus.len() >= 30);
    for file in corpus {
        let out = migplan()
            .args(["validate", "--format", "json"])
            .arg(&file)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1), "{}", file.display());
        let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON on stdout");
        assert_eq!(json["valid"], false);
        let diags = json["files"][0]["diagnostics"]
            .as_array()
            .expect("diagnostics");
        assert!(!diags.is_empty(), "{}", file.display());
        for d in diags {
            assert!(d["line"].as_u64().is_some_and(|l| l >= 1));
            assert!(
                d["code"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("migplan::plan::"))
            );
        }
    }
}

#[test]
fn one_bad_file_fails_the_run_and_each_file_is_reported() {
    let good = repo_root().join("plans/quickstart.yaml");
    let bad = repo_root().join("crates/parser/tests/invalid/unknown_server_field.yaml");
    let out = migplan()
        .arg("validate")
        .arg(&good)
        .arg(&bad)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("quickstart.yaml: valid"), "{stdout}");
    // Plain rendering off a terminal: no ANSI escapes, the file:line:col header, the help.
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
    assert!(
        stderr.contains("unknown_server_field.yaml:11:5"),
        "{stderr}"
    );
    assert!(stderr.contains("did you mean `speed_limit`?"), "{stderr}");
}

#[test]
fn an_inline_secret_is_never_echoed() {
    let dir = std::env::temp_dir().join(format!("migplan-e2e-secret-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let file = dir.join("plan.yaml");
    let secret = "Tr0ub4dor-and-3";
    let text = std::fs::read_to_string(repo_root().join("plans/shop-cutover.yaml"))
        .expect("example")
        .replace("{env: SESSIONS_SOURCE_PASSWORD}", secret);
    std::fs::write(&file, text).expect("write");
    // Human output: the source excerpt necessarily shows the offending line; the message, labels
    // and help around it must not repeat the value.
    let out = migplan().arg("validate").arg(&file).output().expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("inline_secret"), "{stderr}");
    let excerpt_line = format!("password: {secret}");
    for line in stderr.lines().filter(|l| !l.contains(&excerpt_line)) {
        assert!(!line.contains(secret), "secret outside the excerpt: {line}");
    }
    // JSON output carries no excerpt at all.
    let out = migplan()
        .args(["validate", "--format", "json"])
        .arg(&file)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("migplan::plan::inline_secret"), "{stdout}");
    assert!(!stdout.contains(secret), "secret in JSON output: {stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn checked_in_schema_matches_the_code() {
    let out = migplan().arg("schema").output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let printed: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let file =
        std::fs::read_to_string(repo_root().join("schemas/plan.schema.json")).expect("schema file");
    let checked_in: serde_json::Value = serde_json::from_str(&file).expect("JSON");
    assert_eq!(
        printed, checked_in,
        "schemas/plan.schema.json is stale: run `cargo run -q -- schema > schemas/plan.schema.json`"
    );
}
