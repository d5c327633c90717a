//! Hostile plan files: whatever a file holds, parsing ends in diagnostics (never a panic, an
//! abort or a hang), and what is rendered of them is bounded, escaped and free of secrets.
//!
//! Every case goes through the renderer the CLI uses ([`PlanErrors::render`] with miette's
//! graphical handler) and through the JSON diagnostics, and is checked for: at most
//! [`PER_DIAGNOSTIC`] bytes per rendered diagnostic (and so at most `SHOWN` of those per file),
//! no sentinel secret, no raw control character. Big inputs are smaller in debug builds; the
//! `hostile` benchmark runs the real 50 MB.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use miette::{GraphicalReportHandler, GraphicalTheme, ThemeCharacters, ThemeStyles};
use migplan_parser::{MAX_PLAN_BYTES, PlanErrors, generate};
use proptest::prelude::*;

/// What the CLI renders per file.
const SHOWN: usize = 200;
/// Largest rendering of one diagnostic.
const PER_DIAGNOSTIC: usize = 8 * 1024;
/// Written wherever a secret goes; must never be shown.
const SENTINEL: &str = "SENTINEL-PW-7f3a";

const HEADER: &str = "version: 1\nname: hostile\ncloud:\n  region: ap-southeast-3\n  project_id: 0123456789abcdef0123456789abcdef\n";

fn handlers() -> [GraphicalReportHandler; 2] {
    [
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(100)
            .with_links(false),
        GraphicalReportHandler::new_themed(GraphicalTheme {
            characters: ThemeCharacters::ascii(),
            styles: ThemeStyles::none(),
        })
        .with_width(100)
        .with_links(false),
    ]
}

/// A control character a terminal would act on (the themes used here draw no colour).
fn raw_control(s: &str) -> Option<char> {
    s.chars().find(|c| c.is_control() && *c != '\n')
}

/// Everything users can see of `errors`, checked; returns the human rendering.
fn check_errors(errors: &PlanErrors) -> String {
    assert!(
        !errors.diagnostics.is_empty(),
        "an error without diagnostics"
    );
    let mut human = String::new();
    for handler in handlers() {
        for report in errors.reports().take(SHOWN) {
            let mut one = String::new();
            handler
                .render_report(&mut one, &report)
                .expect("renders into a String");
            assert!(
                one.len() <= PER_DIAGNOSTIC,
                "{} bytes for one diagnostic:\n{}",
                one.len(),
                &one[..one.len().min(2000)]
            );
        }
        human = errors.render(&handler, SHOWN);
        assert!(
            human.len() <= SHOWN * PER_DIAGNOSTIC,
            "{} bytes",
            human.len()
        );
        if let Some(c) = raw_control(&human) {
            panic!("raw {c:?} in the rendering:\n{human}");
        }
        assert!(!human.contains(SENTINEL), "a secret is shown:\n{human}");
    }
    let json = errors.to_json();
    assert_eq!(json.len(), errors.diagnostics.len());
    for d in &json {
        assert!(d.line >= 1 && d.column >= 1, "{d:?}");
        assert!(d.end_offset <= errors.source.text().len(), "{d:?}");
        assert!(
            d.message.len() <= 4096 && d.label.len() <= 1024,
            "unbounded text: {d:?}"
        );
        for text in [&d.message, &d.label].into_iter().chain(&d.help) {
            assert!(raw_control(text).is_none(), "{d:?}");
            assert!(!text.contains(SENTINEL), "a secret in {d:?}");
        }
    }
    let display = errors.to_string();
    assert!(raw_control(&display).is_none(), "{display:?}");
    human
}

fn parse_err(text: &str) -> PlanErrors {
    match migplan_parser::parse("hostile.yaml", text) {
        Ok(_) => panic!("accepted:\n{}", &text[..text.len().min(2000)]),
        Err(e) => e,
    }
}

/// Parses, checks, and returns the errors and their rendering.
fn check(text: &str) -> (PlanErrors, String) {
    let errors = parse_err(text);
    let human = check_errors(&errors);
    (errors, human)
}

fn codes(errors: &PlanErrors) -> Vec<&'static str> {
    errors.diagnostics.iter().map(|d| d.code.as_str()).collect()
}

fn has(errors: &PlanErrors, code: &str, message_part: &str) -> bool {
    errors.diagnostics.iter().any(|d| {
        d.code.as_str() == format!("migplan::plan::{code}") && d.message.contains(message_part)
    })
}

/// A file in the temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(bytes: &[u8]) -> Self {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "migplan-hostile-{}-{}.yaml",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::write(&path, bytes).expect("write a temporary file");
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

fn big(debug: usize, release: usize) -> usize {
    if cfg!(debug_assertions) {
        debug
    } else {
        release
    }
}

#[test]
fn a_file_over_the_cap_is_refused_unread() {
    // A sparse file: its size says it is too big, and it is never read.
    let file = TempFile::new(b"");
    std::fs::File::options()
        .write(true)
        .open(&file.0)
        .and_then(|f| f.set_len(MAX_PLAN_BYTES as u64 + 1))
        .expect("grow the file");
    let errors = migplan_parser::parse_file(&file.0).expect_err("too large");
    assert_eq!(codes(&errors), ["migplan::plan::too_large"]);
    check_errors(&errors);
    // Text over the cap handed over directly is refused before parsing too.
    let text = "#".repeat(MAX_PLAN_BYTES + 1);
    let errors = parse_err(&text);
    assert_eq!(codes(&errors), ["migplan::plan::too_large"]);
    check_errors(&errors);
}

#[test]
fn one_wide_line_with_errors_on_it_is_clipped_around_each() {
    let width = big(1_000_000, 50_000_000);
    let text = generate::wide_line(width, SENTINEL);
    let (errors, human) = check(&text);
    // The far end of the line, by its real line and column.
    let bogus = errors
        .diagnostics
        .iter()
        .find(|d| d.message.contains("`bogus`"))
        .expect("the unknown field at the end of the line");
    let (line, column) = errors.source.line_col(bogus.span.offset);
    assert_eq!(line, 6);
    assert!(column > width - 100, "column {column}");
    // ASCII: the header's byte column is the character column.
    assert!(
        human.contains(&format!("hostile.yaml:6:{column}]")),
        "{human}"
    );
    assert!(human.contains('…'), "clipped lines are marked:\n{human}");
    assert!(has(&errors, "out_of_range", "plan values are at most"));
    assert!(has(&errors, "inline_secret", "password"));
}

#[test]
fn twenty_five_thousand_errors_render_the_first_two_hundred() {
    let text = generate::many_errors(25_000);
    let (errors, human) = check(&text);
    assert_eq!(errors.diagnostics.len(), 25_000);
    assert_eq!(human.matches("migplan::plan::unknown_field").count(), SHOWN);
    // Line numbers come from the file, not from the excerpt.
    assert!(human.contains("hostile.yaml:7:"), "{}", &human[..2000]);
    let last = errors.reports().last().expect("a report");
    let mut out = String::new();
    handlers()[0]
        .render_report(&mut out, &last)
        .expect("renders");
    assert!(out.contains("hostile.yaml:25006:"), "{out}");
}

#[test]
fn a_big_plan_of_invalid_entries_reports_every_entry() {
    let text = generate::invalid_entries(big(1_000_000, 50_000_000), SENTINEL);
    let (errors, human) = check(&text);
    let entries = text.matches("  - name: ").count();
    assert!(
        errors.diagnostics.len() > entries * 4,
        "{}",
        errors.diagnostics.len()
    );
    for code in [
        "invalid_value",
        "unknown_field",
        "out_of_range",
        "unknown_reference",
        "inline_secret",
        "missing_field",
    ] {
        assert!(
            codes(&errors).contains(&format!("migplan::plan::{code}").as_str()),
            "no {code}"
        );
    }
    assert!(human.len() < SHOWN * 2048, "{} bytes", human.len());
}

#[test]
fn a_huge_scalar_is_reported_not_echoed() {
    let text = generate::huge_scalar(big(5_000_000, 50_000_000));
    let (errors, human) = check(&text);
    assert!(has(
        &errors,
        "out_of_range",
        "plan values are at most 64 KiB"
    ));
    assert!(human.len() < 4096, "{human}");
    assert!(errors.diagnostics.iter().all(|d| d.message.len() < 300));
}

#[test]
fn an_alias_bomb_stops_at_the_budget() {
    let (errors, _) = check(&generate::alias_bomb());
    assert_eq!(codes(&errors), ["migplan::plan::syntax"]);
    assert!(
        errors.diagnostics[0].message.contains("alias"),
        "{errors:?}"
    );
    let (line, _) = errors.source.line_col(errors.diagnostics[0].span.offset);
    assert!(line > 5, "located in the aliases, line {line}");
}

#[test]
fn deep_nesting_is_a_diagnostic_not_a_stack_overflow() {
    // This runs on a test thread (2 MiB of stack in a debug build): recursion is bounded by
    // the budget, not by the input.
    let cases = [
        generate::deep_flow(100_000),
        generate::deep_block(1_000),
        format!("{HEADER}defaults: {}\n", "{a: ".repeat(100_000)),
        format!("{HEADER}servers:\n{}x\n", "- ".repeat(10_000)),
        format!("{HEADER}servers: {}\n", "{a: [".repeat(50_000)),
    ];
    for text in cases {
        let (errors, _) = check(&text);
        let d = &errors.diagnostics[0];
        assert!(
            d.message.contains("nests deeper than 64 levels"),
            "{}",
            d.message
        );
        let (line, _) = errors.source.line_col(d.span.offset);
        assert!(line >= 6, "located: line {line}");
    }
    // Just under the limit is parsed (and is the wrong shape).
    let text = format!("{HEADER}servers: {}{}\n", "[".repeat(60), "]".repeat(60));
    let (errors, _) = check(&text);
    assert!(
        has(&errors, "wrong_type", "must be a mapping"),
        "{errors:?}"
    );
}

#[test]
fn invalid_utf8_is_located_and_masked() {
    let mut bytes = HEADER.as_bytes().to_vec();
    bytes.extend_from_slice(
        b"redis:\n  - name: sess\n    source: {addrs: \"1.1.1.1:1\", password: '",
    );
    bytes.extend_from_slice(SENTINEL.as_bytes());
    bytes.extend_from_slice(b"'}\n    target: {instance_id: d\xff\xfe\xc0-x}\n");
    let file = TempFile::new(&bytes);
    let errors = migplan_parser::parse_file(&file.0).expect_err("not UTF-8");
    let human = check_errors(&errors);
    assert_eq!(codes(&errors), ["migplan::plan::syntax"]);
    assert!(
        errors.diagnostics[0].message.contains("\\xFF"),
        "{errors:?}"
    );
    assert_eq!(
        errors.source.line_col(errors.diagnostics[0].span.offset),
        (9, 28)
    );
    assert!(human.contains(":9:28]"), "{human}");
}

#[test]
fn nul_and_control_characters_are_escaped() {
    let cases = [
        format!(
            "{HEADER}servers:\n  - name: a\0b\n    target: {{template: t}}\n    stage: replicated\n"
        ),
        format!("{HEADER}servers:\n  - name: x\u{1b}]0;PWNED\u{7}\u{1b}[2J\n"),
        format!(
            "{HEADER}servers:\n  - name: \"x\\e]0;PWNED\\a\\e[2J\\x9b\\u202e\"\n    target: {{template: t}}\n    stage: replicated\n"
        ),
        format!(
            "{HEADER}servers:\n  - name: ok\n    target: {{template: \"\\0\\r\\x7f\"}}\n    stage: replicatd\n"
        ),
        format!("{HEADER}# a comment \u{1b}[31m with an escape\nbogus: 1\n"),
        format!("{HEADER}servers:\r\n  - name: \u{9b}31m\r\n"),
    ];
    for text in cases {
        let (errors, human) = check(&text);
        let all: String = errors
            .diagnostics
            .iter()
            .map(|d| d.message.clone())
            .collect();
        assert!(raw_control(&all).is_none(), "{all:?}");
        // What was escaped is still there to read.
        assert!(
            human.contains("\\u{") || human.contains("\\r") || human.contains("replicatd"),
            "{human}"
        );
    }
}

#[test]
fn extreme_numbers_are_clear_diagnostics() {
    let cases = [
        (
            "speed_limit: 99999999999999999999999999999",
            "out_of_range",
            "99999",
        ),
        (
            "speed_limit: -99999999999999999999999999999",
            "out_of_range",
            "-9999",
        ),
        ("speed_limit: 1e400", "syntax", "1e400"),
        ("speed_limit: .nan", "syntax", ".nan"),
        ("speed_limit: .inf", "syntax", ".inf"),
        ("speed_limit: -.inf", "syntax", "-.inf"),
        ("speed_limit: -0", "invalid_value", "-0"),
        ("priority: 1e300", "wrong_type", "integer"),
        ("priority: 0x1ffffffffffffffffffff", "out_of_range", "0x1ff"),
        ("over_speed_threshold: -1", "out_of_range", "-1"),
        // YAML 1.2 reads a leading zero as a string, however long.
        (
            "speed_limit: 099999999999999999999999",
            "wrong_type",
            "found a string",
        ),
    ];
    for (line, code, part) in cases {
        let text = format!(
            "{HEADER}servers:\n  - name: a\n    target: {{template: t}}\n    stage: replicated\n    {line}\n"
        );
        let (errors, _) = check(&text);
        assert!(
            has(&errors, code, part),
            "{line}: expected {code} mentioning {part}, got {:?}",
            errors.to_json()
        );
        let d = &errors.diagnostics[0];
        assert_eq!(errors.source.line_col(d.span.offset).0, 10, "{line}");
    }
    let (errors, _) = check("version: 1e400\nname: x\n");
    assert!(has(&errors, "syntax", "1e400"));
}

/// Plans that hold `SENTINEL` as an inline secret, in every form, next to other mistakes.
fn secret_plans() -> Vec<String> {
    let redis = |source: &str| {
        format!(
            "{HEADER}redis:\n  - name: sess\n    method: full\n    stage: migrated\n    network: {{vpc_id: a, subnet_id: b, security_group_id: c}}\n{source}    target: {{instance_id: d, bogus: 1}}\n"
        )
    };
    vec![
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\", password: '{SENTINEL}', bogus: 1}}\n"
        )),
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\", password: {SENTINEL}, bogus: 1}}\n"
        )),
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\", password: {{value: {SENTINEL}}}, bogus: 1}}\n"
        )),
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\", password: {{env: OK, value: \"{SENTINEL}\"}}}}\n"
        )),
        redis(&format!(
            "    source:\n      addrs: \"1.1.1.1:1\"\n      password: |\n        {SENTINEL}\n        {SENTINEL}\n      bogus: 1\n"
        )),
        redis(&format!(
            "    source:\n      addrs: \"1.1.1.1:1\"\n      password: >-\n        {SENTINEL}\n\n        {SENTINEL}\n      instance_id: x\n"
        )),
        redis(&format!(
            "    source:\n      addrs: \"1.1.1.1:1\"\n      password: \"{SENTINEL}\n        {SENTINEL}\"\n      bogus: 1\n"
        )),
        redis(&format!(
            "    source:\n      addrs: \"1.1.1.1:1\"\n      password:\n        value: {SENTINEL}\n        bogus: 1\n"
        )),
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\", password: [{SENTINEL}, {SENTINEL}]}}\n"
        )),
        // Secret-looking keys elsewhere (unknown fields), and a password inside another value.
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\", token: {SENTINEL}, secret_key: '{SENTINEL}'}}\n"
        )),
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1, password: {SENTINEL}\"}}\n"
        )),
        redis(&format!(
            "    description: \"password: {SENTINEL}\"\n    source: {{addrs: \"x\"}}\n"
        )),
        // Credentials in a URL written where an address belongs.
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\"}}\n    verify: {{source_address: \"redis://:{SENTINEL}@10.0.0.1:6379\"}}\n"
        )),
        redis(&format!(
            "    source: {{addrs: \"redis://admin:{SENTINEL}@10.0.0.1:6379\"}}\n"
        )),
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\"}}\n    verify: {{target_address: redis://{SENTINEL}@h:1, bogus: 1}}\n"
        )),
        // Not YAML at all: masked by their look.
        redis(&format!(
            "    source: {{addrs: \"1.1.1.1:1\", password: '{SENTINEL}'\n"
        )),
        redis(&format!(
            "    source:\n      password: |\n        {SENTINEL}\n      addrs: [\n"
        )),
        redis(&format!(
            "    source:\n      password: |\n        {SENTINEL}\n       {SENTINEL}: [\n"
        )),
        format!("{HEADER}servers: [{{name: a, password: '{SENTINEL}', x: [}}\n"),
        format!("{HEADER}servers:\n  - name: a\n    password: {SENTINEL}\n    bad: [\n"),
    ]
}

#[test]
fn inline_secrets_are_masked_in_every_diagnostic() {
    for text in secret_plans() {
        let (errors, human) = check(&text);
        let shown_masked =
            human.contains("***") || errors.diagnostics.iter().any(|d| d.message.contains("***"));
        assert!(shown_masked, "nothing masked:\n{text}\n{human}");
        // Inline secrets are also recorded, for other renderers.
        if codes(&errors).contains(&"migplan::plan::inline_secret") {
            assert!(!errors.secret_spans().is_empty(), "{text}");
        }
    }
}

#[test]
fn self_dependencies_are_rejected_at_the_reference() {
    let forms = [
        "[{replicated: server.x}]",
        "[server.x@replicated]",
        "[server.x@configured]",
        "[server.x]",
        "[{replicated: server.x@replicated}]",
    ];
    for deps in forms {
        let text = format!(
            "{HEADER}servers:\n  - name: x\n    target: {{template: t}}\n    stage: replicated\n    depends_on: {deps}\n"
        );
        let (errors, _) = check(&text);
        assert_eq!(codes(&errors), ["migplan::plan::cycle"], "{deps}");
        let d = &errors.diagnostics[0];
        let at = &text[d.span.offset..d.span.offset + d.span.len];
        assert!(at.starts_with("server.x"), "{deps}: points at {at:?}");
    }
    // Waiting at a later stage for an earlier one of itself is no cycle.
    let text = format!(
        "{HEADER}servers:\n  - name: x\n    target: {{template: t}}\n    stage: cutover\n    depends_on: [{{cutover: server.x@replicated}}]\n"
    );
    assert!(migplan_parser::parse("ok.yaml", &text).is_ok());
}

#[test]
fn long_and_many_cycles_stay_bounded() {
    let n = big(2_000, 10_000);
    // One cycle through every server, written with long lines between the links.
    let mut text = format!("{HEADER}servers:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  - name: s{i}\n    target: {{template: {}}}\n    stage: replicated\n    depends_on: [server.s{}]\n",
            "t".repeat(300),
            (i + 1) % n
        ));
    }
    let (errors, human) = check(&text);
    assert_eq!(codes(&errors), ["migplan::plan::cycle"]);
    let d = &errors.diagnostics[0];
    assert_eq!(d.related.len(), n - 1);
    assert!(d.message.contains("more) …"), "{}", d.message);
    assert!(human.len() < PER_DIAGNOSTIC, "{}", human.len());
    // Many small cycles, and duplicates far from their first declaration.
    let mut text = format!("{HEADER}servers:\n");
    for i in 0..n {
        let pair = i ^ 1;
        text.push_str(&format!(
            "  - name: c{i}\n    target: {{template: t}}\n    stage: replicated\n    depends_on: [server.c{pair}]\n"
        ));
    }
    text.push_str("  - name: c0\n    target: {template: t}\n    stage: replicated\n");
    let (errors, _) = check(&text);
    assert_eq!(errors.diagnostics.len(), n / 2 + 1);
    // The duplicate is the last diagnostic: two excerpts, far apart, each with its label.
    let last = errors.reports().last().expect("a report");
    let mut out = String::new();
    handlers()[0]
        .render_report(&mut out, &last)
        .expect("renders");
    assert!(
        out.contains("first declared here") && out.contains("second declaration"),
        "{out}"
    );
    assert!(out.lines().count() < 30, "{out}");
}

#[test]
fn crlf_and_lone_cr_line_numbers_are_real() {
    let text = format!("{HEADER}servers:\r\n  - name: a\r\n    target: {{template: t}}\r\n    bogus: 1\r\n    stage: replicated\r\n")
        .replace('\n', "\r\n")
        .replace("\r\r\n", "\r\n");
    let (_, human) = check(&text);
    assert!(human.contains("hostile.yaml:9:5]"), "{human}");
    assert!(!human.contains("\\r"), "{human}");
}

// ---------------------------------------------------------------------------------------------
// Random inputs
// ---------------------------------------------------------------------------------------------

/// Characters mutations insert: YAML indicators, quotes, whitespace, line breaks, control
/// characters, a bidi override, multi-byte text.
const ALPHABET: &[char] = &[
    ':', '-', ' ', '\n', '\r', '\t', '{', '}', '[', ']', ',', '"', '\'', '#', '&', '*', '!', '|',
    '>', '@', '.', '0', '9', 'a', 'é', '日', '\u{0}', '\u{7}', '\u{1b}', '\u{7f}', '\u{9b}',
    '\u{202e}', '\\', '?', '%',
];

#[derive(Debug, Clone)]
enum Edit {
    Replace(usize, char),
    Insert(usize, char),
    InsertRun(usize, char, usize),
    Delete(usize),
    DuplicateLine(usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let ch = prop::sample::select(ALPHABET);
    prop_oneof![
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Replace(i, c)),
        (any::<usize>(), ch.clone()).prop_map(|(i, c)| Edit::Insert(i, c)),
        (any::<usize>(), ch, 1..400usize).prop_map(|(i, c, n)| Edit::InsertRun(i, c, n)),
        any::<usize>().prop_map(Edit::Delete),
        any::<usize>().prop_map(Edit::DuplicateLine),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for e in edits {
        let n = chars.len().max(1);
        match *e {
            Edit::Replace(i, c) if !chars.is_empty() => chars[i % n] = c,
            Edit::Insert(i, c) => chars.insert(i % (chars.len() + 1), c),
            Edit::InsertRun(i, c, k) => {
                let at = i % (chars.len() + 1);
                chars.splice(at..at, std::iter::repeat_n(c, k));
            }
            Edit::Delete(i) if !chars.is_empty() => {
                chars.remove(i % n);
            }
            Edit::DuplicateLine(a) => {
                let s: String = chars.iter().collect();
                let mut lines: Vec<&str> = s.split('\n').collect();
                let a = a % lines.len();
                lines.insert(a, lines[a]);
                chars = lines.join("\n").chars().collect();
            }
            _ => {}
        }
    }
    chars.into_iter().collect()
}

/// A plan around one protected inline secret (`password: ...` with the sentinel, in one of its
/// forms), with a long line and escaped control characters in a name. Mutations change the
/// text before and after the secret, never the secret itself.
fn around_secret() -> impl Strategy<Value = (String, String, String)> {
    let secrets = vec![
        format!("password: '{SENTINEL}'"),
        format!("password: {SENTINEL}"),
        format!("password: \"{SENTINEL}\""),
        format!("password: {{value: {SENTINEL}}}"),
        format!("password: {{env: A, value: '{SENTINEL}'}}"),
        format!("password: [{SENTINEL}]"),
    ];
    let block = format!("password: |\n        {SENTINEL}\n");
    (prop::sample::select(secrets), any::<bool>()).prop_map(move |(inline, use_block)| {
        let before = format!(
            "{HEADER}servers:\n  - name: \"x\\e]0;PWNED\\a\"\n    target: {{template: {}}}\n    stage: replicated\nredis:\n  - name: sess\n    method: full\n    stage: migrated\n    network: {{vpc_id: a, subnet_id: b, security_group_id: c}}\n",
            "t".repeat(300)
        );
        if use_block {
            (
                format!("{before}    source:\n      addrs: \"1.1.1.1:1\"\n      "),
                block.clone(),
                "      bogus: 1\n    target: {instance_id: d}\n".to_string(),
            )
        } else {
            (
                format!("{before}    source: {{addrs: \"1.1.1.1:1\", "),
                inline.clone(),
                ", bogus: 1}\n    target: {instance_id: d}\n".to_string(),
            )
        }
    })
}

/// Parses and, on error, checks everything users see (as [`check_errors`] does).
fn check_any(text: &str) {
    if let Err(errors) = migplan_parser::parse("fuzz.yaml", text) {
        check_errors(&errors);
    }
}

proptest! {
    // 256 cases by default; `PROPTEST_CASES=20000` for a longer hunt.
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256),
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutations_around_a_secret_never_show_it(
        (before, secret, after) in around_secret(),
        edits_before in prop::collection::vec(edit(), 0..6),
        edits_after in prop::collection::vec(edit(), 0..6),
    ) {
        let text = format!("{}{secret}{}", apply(&before, &edits_before), apply(&after, &edits_after));
        check_any(&text);
    }

    #[test]
    fn random_bytes_around_a_secret_never_panic_or_show_it(
        prefix in prop::collection::vec(any::<u8>(), 0..300),
        suffix in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let mut bytes = prefix;
        bytes.extend_from_slice(format!("\npassword: '{SENTINEL}'\n").as_bytes());
        bytes.extend_from_slice(&suffix);
        check_any(&String::from_utf8_lossy(&bytes));
    }
}
