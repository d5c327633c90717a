//! `migplan completions SHELL`: a script for each shell that names every subcommand, and that
//! bash accepts.

use crate::migplan;

const SUBCOMMANDS: [&str; 9] = [
    "validate",
    "plan",
    "show",
    "apply",
    "status",
    "graph",
    "schema",
    "completions",
    "emulator",
];

fn script(shell: &str) -> String {
    let out = migplan()
        .args(["completions", shell])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0), "{shell}");
    assert!(out.stderr.is_empty(), "{shell}");
    String::from_utf8(out.stdout).expect("UTF-8")
}

#[test]
fn each_shell_gets_a_script_naming_every_subcommand() {
    for shell in ["bash", "zsh", "fish"] {
        let text = script(shell);
        assert!(text.len() > 500, "{shell}: {} bytes", text.len());
        for sub in SUBCOMMANDS {
            assert!(text.contains(sub), "{shell} does not complete `{sub}`");
        }
        // Flags too, not only subcommands.
        assert!(text.contains("auto-approve"), "{shell}");
        assert!(text.contains("detailed-exitcode"), "{shell}");
    }
}

#[test]
fn bash_accepts_the_bash_script() {
    let dir = crate::emulated::scratch_dir("completions");
    let file = dir.join("migplan.bash");
    std::fs::write(&file, script("bash")).expect("write");
    let checked = std::process::Command::new("bash")
        .arg("-n")
        .arg(&file)
        .output()
        .expect("bash runs");
    assert!(
        checked.status.success(),
        "bash -n: {}",
        String::from_utf8_lossy(&checked.stderr)
    );
    // And sourcing it defines the completion for `migplan`.
    let sourced = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "source '{}' && complete -p migplan",
            file.display()
        ))
        .output()
        .expect("bash runs");
    assert!(
        String::from_utf8_lossy(&sourced.stdout).contains("migplan"),
        "{}",
        String::from_utf8_lossy(&sourced.stderr)
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = migplan()
        .args(["completions", "tcsh"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1));
}
