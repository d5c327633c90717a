//! The invalid-plan corpus: every file in `tests/invalid/` is one mistake.
//!
//! Each file starts with `# expect: CODE at "TEXT"[#N]` (or `at LINE:COL`), naming the YAML text
//! the diagnostic must point at (the Nth occurrence after the header; a `|` inside TEXT marks the
//! exact column within it). The test checks code,
//! line and column of that expectation, then snapshots the whole rendered report so any change
//! to wording or labels shows up in review.

use std::path::Path;

use miette::{GraphicalReportHandler, GraphicalTheme};

struct Expectation {
    code: String,
    line: usize,
    column: usize,
    what: String,
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset];
    let line = before.matches('\n').count() + 1;
    let start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[start..].chars().count() + 1)
}

fn expectations(text: &str) -> Vec<Expectation> {
    let header = text.lines().next().expect("a header line");
    let spec = header
        .strip_prefix("# expect: ")
        .expect("the first line is `# expect: ...`");
    let body_start = header.len() + 1;
    spec.split("; ")
        .map(|one| {
            let (code, at) = one.split_once(" at ").expect("`CODE at WHERE`");
            let (line, column) = if let Some(quoted) = at.strip_prefix('"') {
                let (token, nth) = match quoted.rsplit_once("\"#") {
                    Some((t, n)) => (t, n.parse::<usize>().expect("occurrence number")),
                    None => (quoted.strip_suffix('"').expect("closing quote"), 1),
                };
                let token = token.replace("\\\"", "\"");
                // `|` marks where inside the matched text the diagnostic must start.
                let cursor = token.find('|').unwrap_or(0);
                let token = token.replacen('|', "", 1);
                let offset = text[body_start..]
                    .match_indices(&token)
                    .nth(nth - 1)
                    .map(|(i, _)| body_start + i + cursor)
                    .unwrap_or_else(|| panic!("`{token}` occurs fewer than {nth} times"));
                line_col(text, offset)
            } else {
                let (l, c) = at.split_once(':').expect("LINE:COL");
                (l.parse().expect("line"), c.parse().expect("column"))
            };
            Expectation {
                code: format!("migplan::plan::{code}"),
                line,
                column,
                what: one.to_string(),
            }
        })
        .collect()
}

fn render(errors: &migplan_parser::PlanErrors) -> String {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let mut out = String::new();
    for report in errors.reports() {
        handler
            .render_report(&mut out, &report)
            .expect("rendering into a String");
        out.push('\n');
    }
    out
}

#[test]
fn every_invalid_plan_points_at_its_mistake() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/invalid");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("corpus directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 30, "the corpus has {} files", files.len());

    let mut failures = Vec::new();
    let mut rendered = Vec::new();
    for path in &files {
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("utf-8 name");
        let text = std::fs::read_to_string(path).expect("readable");
        let errors = match migplan_parser::parse(&format!("{name}.yaml"), &text) {
            Ok(_) => {
                failures.push(format!("{name}: accepted, but it is invalid"));
                continue;
            }
            Err(e) => e,
        };
        let found: Vec<(String, usize, usize)> = errors
            .to_json()
            .into_iter()
            .map(|d| (d.code.to_string(), d.line, d.column))
            .collect();
        for exp in expectations(&text) {
            let hit = found
                .iter()
                .any(|(c, l, col)| *c == exp.code && *l == exp.line && *col == exp.column);
            if !hit {
                failures.push(format!(
                    "{name}: expected {} at {}:{} ({}), found {found:?}",
                    exp.code, exp.line, exp.column, exp.what
                ));
            }
        }
        rendered.push((name.to_string(), render(&errors)));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    for (name, text) in rendered {
        insta::assert_snapshot!(name, text);
    }
}
