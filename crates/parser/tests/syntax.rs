//! Malformed YAML, as plan authors see it: every syntax diagnostic points at the character
//! that is wrong (1-based line and column, the excerpt under it), speaks in plan terms (never
//! the YAML library's types or advice), and a mistake confined to one entry does not hide the
//! checks of the rest of the file.

use migplan_parser::{PlanErrors, generate};

const HEADER: &str = "version: 1\nname: demo\ncloud:\n  region: ap-southeast-3\n  project_id: 0123456789abcdef0123456789abcdef\n";

fn parse_err(text: &str) -> PlanErrors {
    match migplan_parser::parse("t.yaml", text) {
        Ok(_) => panic!("accepted:\n{text}"),
        Err(e) => e,
    }
}

fn render(errors: &PlanErrors) -> String {
    let handler =
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_links(false);
    errors.render(&handler, 200)
}

/// `(code, line, column, message)` of every diagnostic.
fn found(errors: &PlanErrors) -> Vec<(String, usize, usize, String)> {
    errors
        .to_json()
        .into_iter()
        .map(|d| {
            (
                d.code.trim_start_matches("migplan::plan::").to_string(),
                d.line,
                d.column,
                d.message,
            )
        })
        .collect()
}

fn syntax_at(errors: &PlanErrors) -> (usize, usize) {
    let d = errors
        .to_json()
        .into_iter()
        .find(|d| d.code == "migplan::plan::syntax")
        .unwrap_or_else(|| panic!("no syntax diagnostic: {:?}", found(errors)));
    (d.line, d.column)
}

#[test]
fn a_tab_indenting_a_line_is_reported_on_that_line() {
    // Line 7 is a normal entry line; line 8 is indented with a tab.
    let text = format!("{HEADER}servers:\n  - name: web-01\n\ttarget: {{template: tpl}}\n");
    let errors = parse_err(&text);
    assert_eq!(syntax_at(&errors), (8, 1), "{:?}", found(&errors));
    let human = render(&errors);
    assert!(human.contains("[t.yaml:8:1]"), "{human}");
    // The caret is drawn under line 8, the line with the tab.
    let lines: Vec<&str> = human.lines().collect();
    let at = lines
        .iter()
        .position(|l| l.trim_start().starts_with("8 │"))
        .unwrap_or_else(|| panic!("line 8 not shown:\n{human}"));
    assert!(
        lines[at + 1].contains('▲') || lines[at + 1].contains('┬'),
        "no mark under line 8:\n{human}"
    );
    let d = &errors.diagnostics[0];
    assert!(d.message.contains("tab"), "{}", d.message);
}

#[test]
fn scanner_errors_point_at_the_offending_character() {
    // `^` marks where the diagnostic must point; it is removed from the text.
    let cases = [
        "extra: 1\n^\tmore: x\n",
        "servers:\n  - name: web-01\n    stage: replicated\t\n^\tx: 1\n",
        "servers:\n  - name: a\n    target: b\n^\tstage: x\n",
        "servers:\n  - name: a\n    target: \"a^\\qb\"\n",
        "servers:\n  - name: a\n    target: \"abc^\\x4\"\n",
        "servers:\n  - name: a\n    target: |^x\n      a\n",
        "servers:\n  - name: a\n    target: ^@x\n",
        "servers:\n  - name: a\n    target: \"x\" ^b\n",
        "servers:\n  - name: a\n    depends_on: [a^}\n",
        "servers:\n  - name: a\n    target: ^{template: tpl\n",
        "servers:\n  - name: a\n    target: a^: b\n",
    ];
    let mut wrong = Vec::new();
    for case in cases {
        let at = case.find('^').expect("a marker");
        let text = format!("{HEADER}{}", case.replacen('^', "", 1));
        let offset = HEADER.len() + at;
        let errors = parse_err(&text);
        let want = errors.source.line_col(offset);
        let got = syntax_at(&errors);
        if got != want {
            wrong.push(format!(
                "{case:?}: expected {want:?}, got {got:?} {:?}",
                found(&errors)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn a_duplicate_key_names_its_first_definition_in_plan_terms() {
    let text = format!(
        "{HEADER}servers:\n  - name: web-01\n    target: {{template: tpl}}\n    stage: replicated\n    name: web-02\n"
    );
    let errors = parse_err(&text);
    let d = &errors.diagnostics[0];
    assert_eq!(d.code.as_str(), "migplan::plan::syntax");
    assert_eq!(
        d.message,
        "duplicate key `name`: first defined at line 7",
        "{:?}",
        found(&errors)
    );
    // It points at the second occurrence, and labels the first.
    assert_eq!(errors.source.line_col(d.span.offset), (10, 5));
    assert_eq!(&text[d.span.offset..d.span.offset + d.span.len], "name");
    assert!(
        d.related
            .iter()
            .any(|l| errors.source.line_col(l.span.offset) == (7, 5)),
        "{d:?}"
    );
    let human = render(&errors);
    for internal in ["DuplicateKeyPolicy", "Options"] {
        assert!(!human.contains(internal), "{human}");
    }
}

#[test]
fn a_duplicate_key_does_not_hide_the_other_checks() {
    let text = format!(
        "{HEADER}servers:\n  - name: web-01\n    target: {{template: tpl}}\n    stage: replicated\n    stage: cutover\n  - name: web-02\n    target: {{template: tpl}}\n    stage: replicated\n    bogus: 1\n    depends_on: [server.nope]\n"
    );
    let errors = parse_err(&text);
    let codes: Vec<String> = found(&errors).into_iter().map(|f| f.0).collect();
    for code in ["syntax", "unknown_field", "unknown_reference"] {
        assert!(codes.iter().any(|c| c == code), "no {code}: {codes:?}");
    }
}

#[test]
fn an_alias_bomb_is_one_plain_sentence_at_an_alias() {
    let text = generate::alias_bomb();
    let errors = parse_err(&text);
    assert_eq!(errors.diagnostics.len(), 1, "{:?}", found(&errors));
    let d = &errors.diagnostics[0];
    assert!(
        d.message.starts_with(
            "too many alias expansions: the plan expands aliases beyond the limit of "
        ),
        "{}",
        d.message
    );
    assert!(
        d.message.chars().any(|c| c.is_ascii_digit()),
        "{}",
        d.message
    );
    assert!(
        text[d.span.offset..].starts_with('*'),
        "not at an alias: {:?}",
        &text[d.span.offset..d.span.offset + 20]
    );
}

/// What a diagnostic must never show: the YAML library's types, options and debug output.
const INTERNALS: &[&str] = &[
    "{ ..",
    "{..",
    " }",
    "Error(",
    "Error {",
    "Options",
    "Policy",
    "serde",
    "saphyr",
    "granit",
    "Budget",
    "budget",
    "breach",
    "Some(",
    "None",
    "anchor id",
    "_events",
    "=",
];

/// Problems with one message: internals, or not a complete sentence.
fn message_problems(message: &str) -> Vec<String> {
    let mut out = Vec::new();
    for internal in INTERNALS {
        if message.contains(internal) {
            out.push(format!("shows `{internal}`"));
        }
    }
    // A CamelCase word is a Rust type or variant name (`RecordedAnchorEvents`).
    for word in message.split(|c: char| !c.is_alphanumeric()) {
        let uppers = word.chars().filter(|c| c.is_ascii_uppercase()).count();
        let lowers = word.chars().filter(|c| c.is_ascii_lowercase()).count();
        if word.starts_with(|c: char| c.is_ascii_uppercase()) && uppers >= 2 && lowers >= 2 {
            out.push(format!("type-like word `{word}`"));
        }
    }
    let trimmed = message.trim_end();
    if trimmed.len() < 12 {
        out.push("too short to be a sentence".into());
    }
    if trimmed.ends_with([',', ':', ';', '(', '-', '…', '\\']) || trimmed.ends_with("...") {
        out.push("cut off".into());
    }
    if !message.matches('`').count().is_multiple_of(2) {
        out.push("unbalanced backticks".into());
    }
    // Brackets outside quoted text (`...`) come in pairs.
    let words: String = message.split('`').step_by(2).collect();
    for (open, close) in [('(', ')'), ('[', ']'), ('{', '}')] {
        if words.matches(open).count() != words.matches(close).count() {
            out.push(format!("unbalanced {open}{close}"));
        }
    }
    out
}

/// Malformed plans of every kind the parser refuses.
fn malformed() -> Vec<(&'static str, Vec<u8>)> {
    let entry = "servers:\n  - name: web-01\n    target: {template: tpl}\n    stage: replicated\n";
    let with = |extra: &str| format!("{HEADER}{entry}{extra}").into_bytes();
    let mut cases: Vec<(&'static str, Vec<u8>)> = vec![
        (
            "tab indent",
            format!("{HEADER}servers:\n  - name: a\n\tstage: x\n").into_bytes(),
        ),
        ("tab at top", b"version: 1\n\tname: x\n".to_vec()),
        ("tab in block", with("\tbogus: 1\n")),
        ("duplicate key", with("    stage: cutover\n")),
        (
            "duplicate top key",
            format!("{HEADER}name: again\n").into_bytes(),
        ),
        ("duplicate flow key", with("  - {name: b, name: c}\n")),
        ("alias bomb", generate::alias_bomb().into_bytes()),
        ("too many aliases", {
            let mut s = format!("{HEADER}a: &a x\nb: [");
            s.push_str(&"*a,".repeat(110_000));
            s.push_str("]\n");
            s.into_bytes()
        }),
        ("too many anchors", {
            let mut s = format!("{HEADER}b: [");
            for i in 0..110_000 {
                s.push_str(&format!("&a{i} x,"));
            }
            s.push_str("]\n");
            s.into_bytes()
        }),
        ("alias replay", {
            let mut s = format!("{HEADER}a: &a [{}]\nb:\n", "x,".repeat(100));
            s.push_str(&"  - *a\n".repeat(5000));
            s.into_bytes()
        }),
        ("unknown alias", with("  - name: *nope\n")),
        ("bad indent less", with("   bogus: 1\n")),
        ("bad indent more", with("      bogus: 1\n")),
        ("dash in mapping", with("    - x\n")),
        ("key without colon", with("    bogus value\n    x: 1\n")),
        ("mapping in scalar", with("  - name: b stage: c\n")),
        (
            "unclosed double quote",
            with("  - name: \"b\n    stage: x\n"),
        ),
        ("unclosed single quote", with("  - name: 'b\n")),
        (
            "unclosed bracket",
            with("  - name: b\n    depends_on: [server.a\n    stage: x\n"),
        ),
        (
            "unclosed brace at end",
            with("  - name: b\n    target: {template: t\n"),
        ),
        ("stray bracket", with("  - name: b]\n")),
        (
            "mismatched bracket",
            with("  - name: b\n    depends_on: [a}\n"),
        ),
        ("bad escape", with("  - name: \"a\\qb\"\n")),
        ("bad hex escape", with("  - name: \"a\\x4\"\n")),
        ("trailing after quote", with("  - name: \"a\" b\n")),
        ("comment not separated", with("  - name: \"a\"#c\n")),
        ("bad block scalar", with("  - name: |x\n      a\n")),
        ("unexpected character", with("  - name: @x\n")),
        ("anchor without name", with("  - name: & x\n")),
        ("two documents", with("---\na: 1\n")),
        ("directive", b"%FOO bar\n---\nversion: 1\n".to_vec()),
        ("content after end", b"version: 1\n... x\n".to_vec()),
        ("wrong type", with("    speed_limit: fast\n")),
        ("wrong type map", with("    target: [a]\n")),
        ("not a mapping", b"- a\n- b\n".to_vec()),
        ("scalar document", b"just text\n".to_vec()),
        (
            "huge integer",
            with("    speed_limit: 99999999999999999999999999\n"),
        ),
        ("huge float", with("    speed_limit: 1e400\n")),
        ("nan", with("    speed_limit: .nan\n")),
        (
            "infinity",
            format!("version: -.inf\n{}", &HEADER[11..]).into_bytes(),
        ),
        ("deep flow", generate::deep_flow(10_000).into_bytes()),
        ("deep block", generate::deep_block(200).into_bytes()),
        (
            "deep mapping",
            format!("{HEADER}defaults: {}\n", "{a: ".repeat(1000)).into_bytes(),
        ),
        (
            "huge scalar",
            format!("{HEADER}name2: {}\n", "x".repeat(70_000)).into_bytes(),
        ),
        ("nul byte", with("  - name: a\0b\n")),
        ("empty file", Vec::new()),
        ("only a comment", b"# nothing\n".to_vec()),
        ("binary tag", with("  - name: !!binary aGVsbG8=\n")),
        ("unknown tag", with("  - name: !foo bar\n")),
        (
            "merge key",
            format!("{HEADER}x: &x {{a: 1}}\ny:\n  <<: *x\n").into_bytes(),
        ),
        ("complex key", with("  - ? [a, b]\n    : c\n")),
    ];
    let mut invalid_utf8 = with("  - name: a");
    invalid_utf8.extend_from_slice(b"\xff\xfe\n");
    cases.push(("invalid UTF-8", invalid_utf8));
    cases
}

#[test]
fn no_diagnostic_shows_parser_internals_or_a_cut_off_sentence() {
    let dir = std::env::temp_dir().join(format!("migplan-syntax-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut problems = Vec::new();
    for (name, bytes) in malformed() {
        let path = dir.join("plan.yaml");
        std::fs::write(&path, &bytes).expect("written");
        let errors = match migplan_parser::parse_file(&path) {
            Ok(_) => {
                problems.push(format!("{name}: accepted"));
                continue;
            }
            Err(e) => e,
        };
        let text = errors.source.text();
        let lines = text.split('\n').count();
        for d in errors.to_json() {
            for p in message_problems(&d.message) {
                problems.push(format!("{name}: {p}: {:?}", d.message));
            }
            for p in [&d.label]
                .into_iter()
                .chain(&d.help)
                .flat_map(|t| INTERNALS.iter().filter(|i| **i != "=" && t.contains(**i)))
            {
                problems.push(format!("{name}: label or help shows `{p}`: {d:?}"));
            }
            if d.line < 1 || d.line > lines || d.column < 1 || d.end_offset > text.len() {
                problems.push(format!(
                    "{name}: {}:{} is outside the file ({lines} lines): {:?}",
                    d.line, d.column, d.message
                ));
            }
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_type_error_in_one_field_does_not_hide_other_checks() {
    let text = format!(
        "{HEADER}servers:\n  - name: web-01\n    target: {{template: tpl}}\n    stage: replicated\n    speed_limit: fast\n  - name: web-02\n    target: {{template: tpl}}\n    stage: replicated\n    bogus: 1\n    depends_on: [server.nope]\n"
    );
    let errors = parse_err(&text);
    let f = found(&errors);
    assert!(
        f.contains(&(
            "wrong_type".into(),
            10,
            18,
            "`speed_limit` must be an integer, found a string".into()
        )),
        "{f:?}"
    );
    assert!(
        f.iter().any(|d| d.0 == "unknown_field" && d.1 == 14),
        "{f:?}"
    );
    assert!(
        f.iter().any(|d| d.0 == "unknown_reference" && d.1 == 15),
        "{f:?}"
    );
}

/// One broken line inside an entry: the syntax error is reported, and so are the mistakes of
/// the other entries, at their real positions.
#[test]
fn a_syntax_error_in_one_entry_does_not_hide_the_others() {
    let text = format!(
        "{HEADER}servers:\n  - name: web-01\n    target: {{template: tpl\n    stage: replicated\n  - name: web-02\n    target: {{template: tpl}}\n    stage: replicated\n    bogus: 1\n  - name: web-03\n    target: {{template: tpl}}\n    stage: replicated\n    depends_on: [server.nope, server.web-01]\nwaves:\n  - name: w1\n    members: [server.web-01, server.web-9]\n"
    );
    let errors = parse_err(&text);
    let f = found(&errors);
    assert!(f.iter().any(|d| d.0 == "syntax" && d.1 == 9), "{f:?}");
    assert!(
        f.iter()
            .any(|d| d.0 == "unknown_field" && (d.1, d.2) == (13, 5)),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|d| d.0 == "unknown_reference" && d.1 == 17 && d.3.contains("server.nope")),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|d| d.0 == "unknown_reference" && d.1 == 20 && d.3.contains("server.web-9")),
        "{f:?}"
    );
    // The skipped entry is still declared: nothing says `server.web-01` does not exist, and
    // nothing complains about what the skipped lines would have said.
    assert!(
        !f.iter().any(|d| d.3.contains("web-01") && d.0 != "syntax"),
        "{f:?}"
    );
    // The syntax error says what was skipped.
    let d = errors
        .diagnostics
        .iter()
        .find(|d| d.code.as_str() == "migplan::plan::syntax")
        .expect("syntax");
    let help = d.help.as_deref().unwrap_or_default();
    assert!(
        help.contains("lines 7") && help.contains("skipped"),
        "{help}"
    );
}

#[test]
fn two_broken_entries_are_both_reported() {
    let text = format!(
        "{HEADER}servers:\n  - name: web-01 stage: replicated\n  - name: web-02\n    target: {{template: tpl}}\n    stage: replicated\n  - name: web-03\n\ttarget: x\n  - name: web-04\n    stage: replicatd\n"
    );
    let errors = parse_err(&text);
    let f = found(&errors);
    let syntax: Vec<usize> = f.iter().filter(|d| d.0 == "syntax").map(|d| d.1).collect();
    assert_eq!(syntax, [7, 12], "{f:?}");
    assert!(
        f.iter().any(|d| d.0 == "invalid_value" && d.1 == 14),
        "{f:?}"
    );
}

/// A broken top-level key outside the lists: the key is skipped, and nothing claims it is
/// missing.
#[test]
fn a_broken_top_level_key_is_not_reported_missing() {
    let text = "version: 1\nname: demo\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef\nservers:\n  - name: web-01\n    target: {template: tpl}\n    stage: replicatd\n";
    let errors = parse_err(text);
    let f = found(&errors);
    assert!(f.iter().any(|d| d.0 == "syntax"), "{f:?}");
    assert!(
        f.iter().any(|d| d.0 == "invalid_value" && d.1 == 7),
        "{f:?}"
    );
    assert!(!f.iter().any(|d| d.0 == "missing_field"), "{f:?}");
}

/// Limits that stop hostile input are not recovered from: nothing after them is checked.
#[test]
fn a_limit_is_not_recovered_from() {
    let text = format!(
        "{}servers:\n  - name: web-01\n    bogus: 1\n",
        generate::alias_bomb()
    );
    let errors = parse_err(&text);
    assert_eq!(errors.diagnostics.len(), 1, "{:?}", found(&errors));
}

/// Each syntax error costs one more parse of the file; after eight, the ninth is reported and
/// nothing more is read, so time stays linear in the file whatever it holds.
#[test]
fn checking_past_syntax_errors_stops_after_eight() {
    let text = generate::broken_tail(20_000, 30);
    let errors = parse_err(&text);
    let f = found(&errors);
    assert_eq!(f.len(), 9, "{f:?}");
    assert!(f.iter().all(|d| d.0 == "syntax"), "{f:?}");
    let last = errors.diagnostics.last().expect("nine");
    let help = last.help.as_deref().unwrap_or_default();
    assert!(help.contains("checked once this parses"), "{help}");
    // With fewer errors, the entries after them are checked.
    let text = format!(
        "{}  - name: late\n    target: {{template: tpl}}\n    stage: replicatd\n",
        generate::broken_tail(2_000, 3)
    );
    let f = found(&parse_err(&text));
    assert_eq!(f.iter().filter(|d| d.0 == "syntax").count(), 3, "{f:?}");
    assert!(f.iter().any(|d| d.0 == "invalid_value"), "{f:?}");
}
