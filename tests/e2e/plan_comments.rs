//! The commands the example plans' comments suggest work as written where CI runs them: no
//! terminal, no cloud account (each one must say `--local`), no credentials.

use crate::{migplan, repo_root};

/// A suggested command: `NAME=value` assignments, then `migplan ARGS`.
#[derive(Debug)]
struct Suggested {
    file: String,
    text: String,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

/// Every backquoted `migplan …` in the comment lines of `text`.
fn suggested(file: &str, text: &str) -> Vec<Suggested> {
    let mut out = Vec::new();
    for line in text.lines() {
        let Some(comment) = line.trim_start().strip_prefix('#') else {
            continue;
        };
        for (i, span) in comment.split('`').enumerate() {
            if i % 2 == 0 {
                continue; // outside backquotes
            }
            let words: Vec<&str> = span.split_whitespace().collect();
            let Some(at) = words.iter().position(|w| *w == "migplan") else {
                continue;
            };
            if !words[..at].iter().all(|w| w.contains('=')) {
                continue;
            }
            out.push(Suggested {
                file: file.to_string(),
                text: span.to_string(),
                env: words[..at]
                    .iter()
                    .filter_map(|w| w.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
                args: words[at + 1..].iter().map(|w| (*w).to_string()).collect(),
            });
        }
    }
    out
}

#[test]
fn the_finder_sees_commands_and_only_commands() {
    let found = suggested(
        "x.yaml",
        "# run `A=1 migplan apply --local x.yaml` or `migplan status --local x.yaml`\n\
         # the field `migration_test`, not a command\nname: `migplan plan` outside a comment\n",
    );
    let texts: Vec<&str> = found.iter().map(|s| s.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "A=1 migplan apply --local x.yaml",
            "migplan status --local x.yaml"
        ]
    );
    assert_eq!(found[0].env, [("A".to_string(), "1".to_string())]);
}

#[test]
fn every_command_the_example_plans_suggest_works_without_a_terminal() {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(repo_root().join("plans")).expect("plans/") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let text = std::fs::read_to_string(&path).expect("read");
            all.extend(suggested(&path.display().to_string(), &text));
        }
    }
    assert!(all.len() >= 5, "suggested commands found: {all:?}");
    for s in &all {
        assert!(
            s.args.iter().any(|a| a == "--local"),
            "{}: `{}` needs a cloud account; suggest the --local form",
            s.file,
            s.text
        );
        let mut cmd = migplan();
        for var in [
            "HW_ACCESS_KEY",
            "HW_SECRET_KEY",
            "CLOUD_SDK_AK",
            "CLOUD_SDK_SK",
        ] {
            cmd.env_remove(var);
        }
        // `output()` gives the command no terminal: stdin is closed, stdout a pipe.
        let out = cmd
            .envs(s.env.clone())
            .args(&s.args)
            .output()
            .expect("runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: `{}` fails where CI runs it:\n{}",
            s.file,
            s.text,
            crate::emulated::show(&out)
        );
    }
}
