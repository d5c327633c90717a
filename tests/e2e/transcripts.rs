//! Transcripts (success, exit code, stdout, stderr) of `validate`, `plan` (human and
//! markdown), `apply` (not a terminal) and `status` on the example plans, pinned as insta
//! snapshots with run-to-run details filtered ([`crate::filters::transcript`]), so a reviewer
//! sees every change to what a user or a CI log reads.

use crate::emulated::{Emulated, Setup};
use crate::filters::transcript;
use crate::migplan;

const PLANS: [&str; 4] = [
    "quickstart",
    "shop-cutover",
    "fleet-waves",
    "every-operation",
];

/// Snapshots the transcript of `args` run by `cmd`, under `name`.
macro_rules! transcript_snapshot {
    ($name:expr, $cmd:expr) => {{
        let out = $cmd.output().expect("runs");
        insta::assert_snapshot!($name, transcript(&out));
        out
    }};
}

#[test]
fn validate_transcripts() {
    for plan in PLANS {
        transcript_snapshot!(
            format!("validate__{plan}"),
            migplan().args(["validate", &format!("plans/{plan}.yaml")])
        );
    }
    let dir = crate::emulated::scratch_dir("transcript-invalid");
    std::fs::write(
        dir.join("bad.yaml"),
        "version: 1\nname: bad\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
         servers:\n  - name: a\n    source: a\n    sauce: x\n    stage: replicated\n",
    )
    .expect("write");
    // Named relative to its directory, so the file name in the transcript is stable.
    let out = transcript_snapshot!(
        "validate__invalid",
        migplan().current_dir(&dir).args(["validate", "bad.yaml"])
    );
    assert_eq!(out.status.code(), Some(1));
    let _ = std::fs::remove_dir_all(dir);
}

/// An emulator seeded for every example plan, at `time_scale` virtual seconds per second.
fn emulated(time_scale: f64) -> Emulated {
    Setup::plans(
        &PLANS
            .map(|p| format!("plans/{p}.yaml"))
            .each_ref()
            .map(String::as_str),
    )
    .time_scale(time_scale)
    // every-operation's clone test launches from this template (see its comments).
    .templates(&["tpl-clone"])
    .start()
}

#[test]
fn plan_transcripts() {
    let e = emulated(5000.0);
    for plan in PLANS {
        for format in ["human", "markdown"] {
            transcript_snapshot!(
                format!("plan__{plan}__{format}"),
                e.cmd()
                    .args(["plan", "--detailed-exitcode", "--format", format])
                    .arg(format!("plans/{plan}.yaml"))
            );
        }
    }
}

#[test]
fn apply_and_status_transcripts() {
    let e = emulated(5000.0);
    let plan = "plans/quickstart.yaml";
    transcript_snapshot!("status__quickstart__before", e.cmd().args(["status", plan]));
    // Not a terminal: timestamped lines (one resource, so their order is fixed).
    let out = transcript_snapshot!(
        "apply__quickstart",
        e.cmd()
            .args(["apply", plan, "--auto-approve", "--poll-interval", "100ms"])
            .args(["--rate-limit", "0"])
    );
    assert_eq!(out.status.code(), Some(0));
    transcript_snapshot!(
        "apply__quickstart__again",
        e.cmd().args(["apply", plan, "--auto-approve"])
    );
    transcript_snapshot!("status__quickstart__after", e.cmd().args(["status", plan]));
    // Without a terminal and without --auto-approve: the refusal CI sees.
    transcript_snapshot!(
        "apply__shop-cutover__no_approval",
        e.cmd().args(["apply", "plans/shop-cutover.yaml"])
    );
}

#[test]
fn apply_transcripts_of_every_example_one_step_at_a_time() {
    // --parallelism 1: steps run one after another, in the scheduler's fixed order, so the
    // lines of a plan with several resources come in the same order every run.
    let e = emulated(5000.0);
    for plan in PLANS {
        let out = transcript_snapshot!(
            format!("apply__{plan}__parallelism_1"),
            e.cmd()
                .args(["apply", &format!("plans/{plan}.yaml"), "--auto-approve"])
                .args([
                    "--parallelism",
                    "1",
                    "--poll-interval",
                    "50ms",
                    "--rate-limit",
                    "0"
                ])
        );
        assert_eq!(out.status.code(), Some(0), "{plan}");
    }
}
