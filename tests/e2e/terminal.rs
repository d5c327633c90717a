//! `apply` in a real terminal (tmux, fixed size): the pinned overall line, a line per finished
//! resource with its duration and task id, nothing wider than the terminal; `TERM=dumb` gets
//! plain lines, and colour follows `NO_COLOR`.
//!
//! Needs tmux (`.ci/run` installs it). Without it the test says so loudly and is skipped, or
//! fails when `CI` is set (there .ci/run installed it).

use std::process::Command;
use std::time::{Duration, Instant};

const WIDTH: usize = 100;

/// A tmux server of this test's own (its own socket), killed on drop.
struct Tmux {
    socket: String,
}

impl Tmux {
    fn start() -> Option<Tmux> {
        if Command::new("tmux").arg("-V").output().is_err() {
            let why = "tmux is not installed (apt-get install tmux; .ci/run installs it)";
            // In CI it was installed by .ci/run: its absence is a failure, not a skip.
            assert!(std::env::var_os("CI").is_none(), "{why}");
            #[allow(clippy::print_stderr)] // the skip must be seen in the test output
            {
                eprintln!("\n**** SKIPPED terminal::apply_on_a_real_terminal: {why} ****\n");
            }
            return None;
        }
        Some(Tmux {
            socket: format!("migplan-e2e-{}", std::process::id()),
        })
    }

    fn cmd(&self) -> Command {
        let mut c = Command::new("tmux");
        c.args(["-L", &self.socket, "-f", "/dev/null"]);
        c
    }

    /// Runs `env` + `migplan apply --local plans/quickstart.yaml --auto-approve` in a new
    /// window of WIDTH columns and returns the final screen (`-J`: wrapped lines joined, so a
    /// line that wrapped shows longer than the width) and the exit code.
    fn apply(&self, name: &str, env: &str, escapes: bool) -> (String, i32) {
        let bin = env!("CARGO_BIN_EXE_migplan");
        let root = crate::repo_root();
        // A world of its own, fresh each time (`--local` keeps its state between commands).
        let state = crate::emulated::scratch_dir(&format!("tmux-{name}"));
        let script = format!(
            "cd '{}' && env -u NO_COLOR MIGPLAN_LOCAL_DIR='{}' {env} '{bin}' apply --local --local-reset plans/quickstart.yaml --auto-approve; \
             echo MIGPLAN-EXIT=$?; sleep 600",
            root.display(),
            state.display()
        );
        let started = self
            .cmd()
            .args([
                "new-session",
                "-d",
                "-s",
                name,
                "-x",
                &WIDTH.to_string(),
                "-y",
                "50",
            ])
            .arg(script)
            .status()
            .expect("tmux runs");
        assert!(started.success(), "tmux new-session");
        let deadline = Instant::now() + Duration::from_secs(90);
        loop {
            let mut capture = self.cmd();
            capture.args(["capture-pane", "-p", "-J", "-t", name, "-S", "-200"]);
            if escapes {
                capture.arg("-e");
            }
            let screen =
                String::from_utf8_lossy(&capture.output().expect("capture").stdout).into_owned();
            if let Some(code) = screen
                .lines()
                .find_map(|l| l.trim().strip_prefix("MIGPLAN-EXIT="))
                .and_then(|c| c.trim().parse().ok())
            {
                return (screen, code);
            }
            assert!(Instant::now() < deadline, "apply did not end:\n{screen}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.cmd().arg("kill-server").status();
    }
}

#[test]
fn apply_on_a_real_terminal() {
    let Some(tmux) = Tmux::start() else {
        return;
    };
    let (screen, code) = tmux.apply("bars", "TERM=xterm-256color NO_COLOR=1", false);
    assert_eq!(code, 0, "{screen}");
    let lines: Vec<&str> = screen.lines().collect();
    // What apply draws is cut to the width; the plan's header line naming the target (a URL
    // and a state path) is printed once before and may wrap like any text.
    for line in lines.iter().filter(|l| !l.starts_with("Target: ")) {
        assert!(
            line.chars().count() <= WIDTH,
            "wider than {WIDTH}: {line:?}\n{screen}"
        );
    }
    // The pinned overall line, last before the summary.
    let summary = lines
        .iter()
        .position(|l| l.starts_with("Apply complete: 3 done"))
        .unwrap_or_else(|| panic!("no summary:\n{screen}"));
    let overall = lines[..summary]
        .iter()
        .rev()
        .find(|l| !l.trim().is_empty())
        .copied()
        .unwrap_or_default();
    assert!(
        overall.starts_with("quickstart: 3/3 steps done · ") && overall.contains(" elapsed"),
        "pinned line: {overall:?}\n{screen}"
    );
    // A line per finished step, and the resource's line with its duration and task id.
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("✓ server.app-01#create: create SMS task done (")),
        "{screen}"
    );
    let resource = lines
        .iter()
        .find(|l| l.starts_with("✓ server.app-01 reached replicated in "))
        .unwrap_or_else(|| panic!("no finished-resource line:\n{screen}"));
    let id = resource.rsplit("task ").next().unwrap_or_default();
    assert!(
        id.len() == 36 && id.chars().filter(|c| *c == '-').count() == 4,
        "task id: {resource:?}"
    );
    // Bars were redrawn in place: no stale bar or overall line left behind above.
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("quickstart: "))
            .count(),
        1,
        "{screen}"
    );
    assert!(
        !screen.contains("\u{1b}"),
        "NO_COLOR=1: no escapes in the text"
    );

    // Colour on a colour terminal without NO_COLOR (captured with escapes)...
    let (coloured, code) = tmux.apply("colour", "TERM=xterm-256color", true);
    assert_eq!(code, 0, "{coloured}");
    assert!(coloured.contains("\u{1b}[32m✓"), "{coloured:?}");

    // ...and with TERM=dumb, plain timestamped lines: no bars, no overall line, no colour.
    let (dumb, code) = tmux.apply("dumb", "TERM=dumb", true);
    assert_eq!(code, 0, "{dumb}");
    assert!(dumb.contains("apply started: 3 steps"), "{dumb}");
    assert!(!dumb.contains("steps done · "), "{dumb}");
    assert!(!dumb.contains("\u{1b}[32m"), "{dumb:?}");
}
