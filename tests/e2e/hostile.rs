//! Hostile plan files through the real binary: every command that reads a plan (`validate`,
//! `plan`, `apply`, `graph`) exits 1 on them with bounded, escaped output that never shows an
//! inline secret, and never panics.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::atomic::{AtomicUsize, Ordering};

use migplan_parser::generate;

use crate::migplan;

/// Written wherever a secret goes in these files; must never be shown.
const SENTINEL: &str = "SENTINEL-PW-e2e-41b9";
/// Largest rendering of one diagnostic.
const PER_DIAGNOSTIC: usize = 8 * 1024;
/// Diagnostics the CLI draws per file.
const SHOWN: usize = 200;

const HEADER: &str = "version: 1\nname: hostile\ncloud:\n  region: ap-southeast-3\n  project_id: 0123456789abcdef0123456789abcdef\n";

/// A temporary directory, removed when dropped.
struct Dir(PathBuf);

impl Dir {
    fn new() -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "migplan-e2e-hostile-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        Dir(dir)
    }
    fn file(&self, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, bytes).expect("write");
        path
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The hostile files, each with the most diagnostics it can produce (so its output bound).
fn hostile_files(dir: &Dir) -> Vec<(PathBuf, usize)> {
    let mut files = vec![
        (
            dir.file("wide.yaml", generate::wide_line(1_000_000, SENTINEL)),
            8,
        ),
        (dir.file("scalar.yaml", generate::huge_scalar(5_000_000)), 4),
        (dir.file("bomb.yaml", generate::alias_bomb()), 1),
        (dir.file("flow.yaml", generate::deep_flow(100_000)), 1),
        (dir.file("block.yaml", generate::deep_block(1_000)), 1),
        (
            dir.file("entries.yaml", generate::invalid_entries(200_000, SENTINEL)),
            SHOWN,
        ),
    ];
    let mut bytes = HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(
        b"redis:\n  - name: sess\n    source: {addrs: \"1.1.1.1:1\", password: '",
    );
    bytes.extend_from_slice(SENTINEL.as_bytes());
    bytes.extend_from_slice(b"'}\n    target: {instance_id: d\xff\xfe-x}\n");
    files.push((dir.file("latin1.yaml", bytes), 1));
    files.push((
        dir.file(
            "nul.yaml",
            format!("{HEADER}servers:\n  - name: a\0b\n    target: {{template: t}}\n"),
        ),
        1,
    ));
    files.push((
        dir.file(
            "escape-raw.yaml",
            format!("{HEADER}servers:\n  - name: x\u{1b}]0;PWNED\u{7}\u{1b}[2J\n"),
        ),
        1,
    ));
    files.push((
        dir.file(
            "escape-quoted.yaml",
            format!(
                "{HEADER}servers:\n  - name: \"x\\e]0;PWNED\\a\\e[2J\\x9b\\u202e\"\n    target: {{template: t}}\n    stage: replicated\n"
            ),
        ),
        4,
    ));
    files.push((
        dir.file(
            "secrets.yaml",
            format!(
                "{HEADER}redis:\n  - name: sess\n    method: full\n    stage: migrated\n    network: {{vpc_id: a, subnet_id: b, security_group_id: c}}\n    source: {{addrs: \"1.1.1.1:1\", password: '{SENTINEL}', bogus: 1}}\n    target:\n      instance_id: d\n      password: {{value: {SENTINEL}}}\n  - name: sess2\n    method: full\n    stage: migrated\n    network: {{vpc_id: a, subnet_id: b, security_group_id: c}}\n    source:\n      addrs: \"1.1.1.1:1\"\n      password: |\n        {SENTINEL}\n      bogus: 1\n    target: {{instance_id: e}}\n"
            ),
        ),
        8,
    ));
    files.push((
        dir.file(
            "secret-syntax.yaml",
            format!(
                "{HEADER}redis:\n  - name: sess\n    source: {{addrs: \"1.1.1.1:1\", password: '{SENTINEL}'\n    target: {{instance_id: d}}\n"
            ),
        ),
        1,
    ));
    files.push((
        dir.file(
            "numbers.yaml",
            format!(
                "{HEADER}servers:\n  - name: a\n    target: {{template: t}}\n    stage: replicated\n    speed_limit: 99999999999999999999999999999\n    priority: -0\n    over_speed_threshold: 1e300\n"
            ),
        ),
        3,
    ));
    files.push((
        dir.file(
            "nan.yaml",
            format!("{HEADER}servers:\n  - name: a\n    speed_limit: .nan\n"),
        ),
        1,
    ));
    files.push((
        dir.file(
            "self-dependency.yaml",
            format!(
                "{HEADER}servers:\n  - name: x\n    target: {{template: t}}\n    stage: replicated\n    depends_on: [{{replicated: server.x}}]\n  - name: y\n    target: {{template: t}}\n    stage: replicated\n    depends_on: [server.y@replicated]\n"
            ),
        ),
        2,
    ));
    // Over the size cap: a sparse file, refused before it is read.
    let big = dir.file("huge.yaml", b"");
    std::fs::File::options()
        .write(true)
        .open(&big)
        .and_then(|f| f.set_len(migplan_parser::MAX_PLAN_BYTES as u64 + 1))
        .expect("grow");
    files.push((big, 1));
    files
}

fn run<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    migplan().args(args).output().expect("runs")
}

/// Exit 1, no panic, no secret, no raw control character, at most `max_bytes` of output.
fn assert_clean(out: &Output, what: &str, max_bytes: usize) {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let head = |s: &str| s.chars().take(3000).collect::<String>();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{what}: exit code\n{}",
        head(&stderr)
    );
    assert!(
        !stderr.contains("panicked"),
        "{what}: a panic\n{}",
        head(&stderr)
    );
    let total = out.stdout.len() + out.stderr.len();
    assert!(
        total <= max_bytes,
        "{what}: {total} bytes of output (at most {max_bytes})\n{}",
        head(&stderr)
    );
    for (stream, text) in [("stdout", &stdout), ("stderr", &stderr)] {
        assert!(
            !text.contains(SENTINEL),
            "{what}: the secret on {stream}\n{}",
            head(text)
        );
        if let Some(c) = text.chars().find(|c| c.is_control() && *c != '\n') {
            panic!("{what}: raw {c:?} on {stream}\n{}", head(text));
        }
    }
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

#[test]
fn every_plan_command_fails_cleanly_on_hostile_files() {
    let dir = Dir::new();
    for (file, diagnostics) in hostile_files(&dir) {
        let f = display(&file);
        // Human output: at most SHOWN diagnostics of bounded size, the count line, the summary.
        let human = diagnostics.min(SHOWN) * PER_DIAGNOSTIC + 1024;
        let commands: [Vec<&str>; 4] = [
            vec!["validate", &f],
            vec!["plan", "--local", &f],
            vec!["apply", "--local", "--auto-approve", &f],
            vec!["graph", &f],
        ];
        for args in commands {
            let out = run(&args);
            assert_clean(&out, &args.join(" "), human);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                stderr.contains("hostile") || stderr.contains(&f) || stderr.contains(".yaml"),
                "{}: names the file\n{stderr}",
                args.join(" ")
            );
        }
        // JSON lists every diagnostic, each bounded; nothing on stderr.
        for args in [
            vec!["validate", "--format", "json", &f],
            vec!["plan", "--local", "--format", "json", &f],
        ] {
            let out = run(&args);
            assert_clean(&out, &args.join(" "), 64 << 20);
            let json: serde_json::Value =
                serde_json::from_slice(&out.stdout).expect("JSON on stdout");
            let list = json["files"][0]["diagnostics"]
                .as_array()
                .or_else(|| json["error"]["diagnostics"].as_array())
                .expect("diagnostics");
            assert!(!list.is_empty(), "{f}");
            for d in list {
                assert!(d["line"].as_u64().is_some_and(|l| l >= 1), "{d}");
                assert!(
                    d["message"].as_str().is_some_and(|m| m.len() <= 4096),
                    "{d}"
                );
            }
        }
    }
}

#[test]
fn twenty_five_thousand_errors_show_two_hundred_and_count_the_rest() {
    let dir = Dir::new();
    let file = display(&dir.file("many.yaml", generate::many_errors(25_000)));
    let out = run(["validate", &file]);
    assert_clean(&out, "validate", SHOWN * PER_DIAGNOSTIC + 1024);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("migplan::plan::unknown_field").count(),
        SHOWN
    );
    assert!(
        stderr.contains(
            "… and 24800 more errors not shown; `migplan validate --format json` lists them all"
        ),
        "{}",
        &stderr[stderr.len().saturating_sub(500)..]
    );
    assert!(
        stderr.contains("many.yaml: 25000 errors"),
        "the summary line"
    );
    let out = run(["validate", "--format", "json", &file]);
    assert_eq!(out.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        json["files"][0]["diagnostics"].as_array().map(Vec::len),
        Some(25_000)
    );
}

#[test]
fn errors_that_quote_user_input_escape_it() {
    let dir = Dir::new();
    // A file name with a terminal escape in it, unreadable.
    let name = dir.0.join("x\u{1b}]0;PWNED\u{7}.yaml");
    let out = run([OsStr::new("validate"), name.as_os_str()]);
    assert_clean(&out, "validate ESC-named file", 4096);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\\u{1b}]0;PWNED"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A command error (not a plan diagnostic) that quotes an argument.
    let out = run([
        "plan",
        "--local",
        "--target",
        "server.x\u{1b}]0;PWNED\u{7}\u{9b}2J",
        "plans/quickstart.yaml",
    ]);
    assert_clean(&out, "plan --target ESC", 4096);
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("\\u{1b}]0;PWNED"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
