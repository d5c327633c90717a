//! serde-saphyr's errors → syntax diagnostics in plan-author terms, at the character at fault.
//!
//! Two things are corrected here. Words: the library's messages are written for Rust
//! programmers (option names, debug-printed limits); a diagnostic says what is wrong in the
//! file. Positions: the YAML scanner reports most errors at the start of the token it was
//! scanning (a plain scalar, a quoted string, a bracket), not where the wrong character is:
//! a tab indenting line 8 is reported at the value that ends line 7. Each kind of error is
//! therefore located again from that start, by looking for the character it is about.

use serde_saphyr::Error as YamlError;

use crate::diagnostic::{Code, PlanDiagnostic, SourceFile, Span};
use crate::excerpt::{floor_char_boundary, mask_text, sanitize};
use crate::tree::{
    MAX_ALIASES, MAX_ANCHORS, MAX_DEPTH, MAX_EVENTS, MAX_NODES, MAX_REPLAYED_EVENTS,
};

/// A syntax error, and whether the rest of the file can still be checked around it.
pub(crate) struct SyntaxError {
    /// Boxed: the error travels in a `Result` beside the whole tree.
    pub diagnostic: Box<PlanDiagnostic>,
    /// `false` for the limits that stop hostile input: nothing after them is looked at.
    pub recoverable: bool,
}

const LIMIT_HELP: &str = "plan files are small, shallow YAML documents; this one looks generated or hostile, so nothing else in it is checked";
const SYNTAX_HELP: &str = "fix the YAML syntax";

/// The diagnostic for a parse failure of `text`: `source`'s text, or a copy of it with some
/// lines blanked (offsets and lines are the same; what was blanked is not looked at again).
pub(crate) fn syntax_error(source: &SourceFile, text: &str, e: &YamlError) -> SyntaxError {
    let mut inner = e.without_snippet();
    // An error met while replaying an alias: report it at the alias.
    while let YamlError::AliasError { error, .. } | YamlError::WithSnippet { error, .. } = inner {
        inner = error;
    }
    let reported = reported_span(source, e);
    if let Some(message) = limit_message(inner) {
        let span = at_alias(text, reported, inner);
        return SyntaxError {
            diagnostic: Box::new(
                PlanDiagnostic::new(Code::Syntax, message, span, "here").with_help(LIMIT_HELP),
            ),
            recoverable: false,
        };
    }
    let (message, span, label, help, related) = match inner {
        YamlError::NonFiniteFloat { value, .. } => (
            format!("`{}` is not a finite number", user_text(value)),
            reported,
            "not a finite number".to_string(),
            "plan numbers are finite; write the number in digits".to_string(),
            None,
        ),
        YamlError::DuplicateMappingKey { key, .. } => (
            match key {
                Some(k) => format!("duplicate key `{}`", user_text(k)),
                None => "duplicate key".to_string(),
            },
            reported,
            "defined again here".to_string(),
            "a key appears once in a mapping; remove one of them".to_string(),
            None,
        ),
        YamlError::UnknownAnchor { .. } => {
            let name = anchor_name(text, reported.offset);
            (
                format!(
                    "the alias `*{}` refers to no anchor (`&{}`) defined before it",
                    user_text(name),
                    user_text(name)
                ),
                reported,
                "unknown alias".to_string(),
                "define the anchor with `&NAME` before using `*NAME`, or write the value out"
                    .to_string(),
                None,
            )
        }
        YamlError::Eof { .. } => (
            "the file ends in the middle of a value".to_string(),
            reported,
            "unexpected end".to_string(),
            SYNTAX_HELP.to_string(),
            None,
        ),
        _ => {
            let raw = strip_position(&inner.to_string());
            let located = scanner_error(text, &raw, reported);
            (
                located.message,
                located.span,
                located.label.to_string(),
                located.help.to_string(),
                located.related,
            )
        }
    };
    let mut diagnostic =
        PlanDiagnostic::new(Code::Syntax, message, clamp(text, span), label).with_help(help);
    if let Some((span, note)) = related {
        diagnostic = diagnostic.with_related(clamp(text, span), note);
    }
    SyntaxError {
        diagnostic: Box::new(diagnostic),
        recoverable: true,
    }
}

/// User text inside a message: escaped, secret-looking values masked, kept short.
fn user_text(s: &str) -> String {
    sanitize(&mask_text(s), 60, false).into_owned()
}

fn reported_span(source: &SourceFile, e: &YamlError) -> Span {
    match e.without_snippet().location() {
        Some(loc) => match loc.span().byte_offset() {
            Some(o) => Span::new(o as usize, loc.span().byte_len().unwrap_or(0) as usize),
            None => Span::new(
                source.offset_of(loc.line() as usize, loc.column() as usize),
                0,
            ),
        },
        None => Span::new(0, 0),
    }
}

/// Keeps a span inside the text and on character boundaries, whatever the parser said.
fn clamp(text: &str, span: Span) -> Span {
    let offset = floor_char_boundary(text, span.offset);
    let end = floor_char_boundary(text, span.offset.saturating_add(span.len)).max(offset);
    Span::new(offset, end - offset)
}

/// Plain sentences for the limits that stop hostile YAML.
fn limit_message(e: &YamlError) -> Option<String> {
    use serde_saphyr::budget::BudgetBreach as B;
    let expansions = || {
        format!(
            "too many alias expansions: the plan expands aliases beyond the limit of {MAX_REPLAYED_EVENTS} values"
        )
    };
    let m = match e {
        YamlError::Budget { breach, .. } => match breach {
            B::Depth { .. } => format!("the plan nests deeper than {MAX_DEPTH} levels"),
            B::Aliases { .. } | B::AliasAnchorRatio { .. } => {
                format!("too many aliases: the plan uses more than {MAX_ALIASES} aliases (`*name`)")
            }
            B::Anchors { .. } => format!(
                "too many anchors: the plan defines more than {MAX_ANCHORS} anchors (`&name`)"
            ),
            B::RecordedAnchorEvents { .. } | B::RecordedAnchorBytes { .. } => expansions(),
            B::Documents { .. } => {
                "the file holds more than one YAML document; a plan is one document".to_string()
            }
            B::Nodes { .. } | B::Events { .. } => format!(
                "too many values: the plan holds more than {MAX_NODES} values ({MAX_EVENTS} YAML events)"
            ),
            B::ScalarBytes { .. } | B::InputBytes { .. } => {
                "the plan's values are too large for a plan file".to_string()
            }
            _ => "the plan exceeds the limits of a plan file".to_string(),
        },
        YamlError::AliasReplayLimitExceeded { .. }
        | YamlError::AliasExpansionLimitExceeded { .. }
        | YamlError::AliasReplayCounterOverflow { .. } => expansions(),
        YamlError::AliasReplayStackDepthExceeded { .. } => format!(
            "aliases nest too deeply: an alias (`*name`) expands to more than {MAX_DEPTH} levels"
        ),
        // The scanner's own guard on nested flow collections (`[[[[...`).
        other if other.to_string().contains("recursion limit exceeded") => {
            format!("the plan nests deeper than {MAX_DEPTH} levels")
        }
        _ => return None,
    };
    Some(m)
}

/// An alias error points at the alias (`*name`) being expanded when the limit was reached:
/// the reported position, or the first alias after it on its line.
fn at_alias(text: &str, span: Span, e: &YamlError) -> Span {
    let alias_error = matches!(
        e,
        YamlError::AliasReplayLimitExceeded { .. }
            | YamlError::AliasExpansionLimitExceeded { .. }
            | YamlError::AliasReplayCounterOverflow { .. }
            | YamlError::AliasReplayStackDepthExceeded { .. }
            | YamlError::Budget {
                breach: serde_saphyr::budget::BudgetBreach::RecordedAnchorEvents { .. }
                    | serde_saphyr::budget::BudgetBreach::RecordedAnchorBytes { .. }
                    | serde_saphyr::budget::BudgetBreach::Aliases { .. },
                ..
            }
    );
    let span = clamp(text, span);
    if !alias_error {
        return span;
    }
    let line_end = text[span.offset..]
        .find('\n')
        .map_or(text.len(), |i| span.offset + i);
    match text[span.offset..line_end].find('*') {
        Some(i) => {
            let at = span.offset + i;
            Span::new(at, 1 + anchor_name(text, at).len())
        }
        None => span,
    }
}

/// The name of the alias or anchor whose `*`/`&` is at `offset`.
fn anchor_name(text: &str, offset: usize) -> &str {
    let rest = &text[floor_char_boundary(text, offset)..];
    let rest = rest.strip_prefix(['*', '&']).unwrap_or(rest);
    let end = rest
        .find(|c: char| c.is_whitespace() || ",[]{}".contains(c))
        .unwrap_or(rest.len());
    &rest[..end.min(64)]
}

/// serde-saphyr prefixes messages with "error: line N column M: "; the diagnostic shows the
/// position itself.
fn strip_position(msg: &str) -> String {
    let msg = msg.trim().trim_start_matches("error:").trim_start();
    let msg = match msg.strip_prefix("line ") {
        Some(rest) => match rest.find(": ") {
            Some(i) if rest[..i].contains("column") => &rest[i + 2..],
            _ => msg,
        },
        None => msg,
    };
    let first = msg.lines().next().unwrap_or(msg).trim();
    // Some messages repeat the position at the end ("... at line 10, column 10").
    match first.rfind(" at line ") {
        Some(i) if first[i..].contains("column") => first[..i].to_string(),
        _ => first.to_string(),
    }
}

struct Located {
    message: String,
    span: Span,
    label: &'static str,
    help: &'static str,
    related: Option<(Span, &'static str)>,
}

/// A scanner or parser error, by its message: plan words, and the character it is about.
fn scanner_error(text: &str, raw: &str, reported: Span) -> Located {
    let reported = clamp(text, reported);
    let plain = |message: String| Located {
        message,
        span: reported,
        label: "here",
        help: SYNTAX_HELP,
        related: None,
    };
    if raw.contains("tab") {
        return Located {
            message: "a tab indents this line; YAML indents with spaces only".to_string(),
            span: find_tab(text, reported.offset).unwrap_or(reported),
            label: "tab",
            help: "replace the tab with spaces",
            related: None,
        };
    }
    if raw.contains("quoted scalar")
        && (raw.contains("escape") || raw.contains("hexadecimal") || raw.contains("surrogate"))
    {
        let span = find_bad_escape(text, reported.offset).unwrap_or(reported);
        let shown = user_text(&text[span.offset..span.offset + span.len]);
        return Located {
            message: format!("`{shown}` is not a valid escape in a double-quoted string"),
            span,
            label: "invalid escape",
            help: "write `\\\\` for a backslash, or use single quotes, where `\\` has no meaning",
            related: None,
        };
    }
    if raw.contains("block scalar, did not find expected comment or line break") {
        return Located {
            message:
                "a `|` or `>` block starts on the next line; nothing but a comment may follow it"
                    .to_string(),
            span: after_block_header(text, reported.offset).unwrap_or(reported),
            label: "unexpected text",
            help: "move the text to the next line, indented, or quote the value",
            related: None,
        };
    }
    if let Some((open, close)) = mismatched_brackets(raw) {
        return match find_close(text, reported.offset, close) {
            Some(at) => Located {
                message: format!("`{open}` is closed by `{close}`"),
                span: Span::new(at, 1),
                label: "wrong closing bracket",
                help: "close `[` with `]` and `{` with `}`",
                related: Some((Span::new(reported.offset, 1), "opened here")),
            },
            None => plain(format!("`{open}` is closed by `{close}`")),
        };
    }
    if let Some(open) = raw
        .strip_prefix("unclosed bracket '")
        .and_then(|r| r.chars().next())
    {
        return Located {
            message: format!("`{open}` is never closed"),
            span: Span::new(reported.offset, 1),
            label: "not closed",
            help: "close `[` with `]` and `{` with `}`",
            related: None,
        };
    }
    if raw == "unclosed quote" {
        return Located {
            message: "this quote is never closed".to_string(),
            span: Span::new(reported.offset, 1),
            label: "not closed",
            help: SYNTAX_HELP,
            related: None,
        };
    }
    if let Some(c) = raw.strip_prefix("unexpected character: `") {
        let c = c.strip_suffix('\'').unwrap_or(c);
        return plain(format!("unexpected character `{}`", user_text(c)));
    }
    if raw.contains("did not find expected ',' or '")
        && let Some(open) = if raw.contains("flow mapping") {
            Some('{')
        } else if raw.contains("flow sequence") {
            Some('[')
        } else {
            None
        }
    {
        let close = if open == '{' { '}' } else { ']' };
        let span = next_content(text, reported);
        return Located {
            message: format!("`{open}` is not closed: expected `,` or `{close}` before this"),
            span,
            label: "expected `,` or a closing bracket",
            help: "close `[` with `]` and `{` with `}`",
            related: find_open_before(text, span.offset, open)
                .map(|at| (Span::new(at, 1), "opened here")),
        };
    }
    if raw.contains("mapping values are not allowed") || raw.contains("placement of ':'") {
        // Often a bracket left open on the line before: the `:` is read as inside it. (One on
        // the `:`'s own line may be closed after it, so it is not blamed.)
        let line_start = text[..reported.offset].rfind('\n').map_or(0, |i| i + 1);
        let previous = text[..line_start.saturating_sub(1)]
            .rfind('\n')
            .map_or(0, |i| i + 1);
        let open = ['[', '{']
            .into_iter()
            .filter_map(|b| find_open_before(&text[previous..line_start], line_start - previous, b))
            .max()
            .map(|i| previous + i);
        return match open {
            Some(at) => Located {
                message: format!(
                    "unexpected `:` here: `{}` before it is not closed",
                    &text[at..at + 1]
                ),
                span: reported,
                label: "unexpected `:`",
                help: "close `[` with `]` and `{` with `}`",
                related: Some((Span::new(at, 1), "not closed")),
            },
            None => Located {
                message: "unexpected `:` here; a value that contains `: ` must be quoted"
                    .to_string(),
                span: reported,
                label: "unexpected `:`",
                help: "put each key on its own line, or quote the value",
                related: None,
            },
        };
    }
    if raw.contains("while parsing a block") {
        // The line as a whole is out of place: point at its first character.
        let line_start = text[..reported.offset].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[line_start..];
        let first = line_start + (line.len() - line.trim_start_matches([' ', '\t']).len());
        let span = if first <= reported.offset {
            Span::new(first, 0)
        } else {
            reported
        };
        let expected = if raw.contains("expected key") {
            "a key (`name: value`) indented like the keys above it"
        } else {
            "a list item (`- ...`) indented like the items above it"
        };
        return Located {
            message: format!("this line does not fit here: expected {expected}"),
            span: next_content(text, span),
            label: "out of place",
            help: "check the indentation of this line and the ones above it",
            related: None,
        };
    }
    if raw.contains("simple key expected") {
        return Located {
            message: "a key on this line is not followed by `:`".to_string(),
            span: reported,
            label: "expected `key: value`",
            help: "write `key: value`, with a space after the colon",
            related: None,
        };
    }
    if raw.contains("invalid indentation in multiline quoted scalar") {
        return Located {
            message: "a quoted string goes on over this line, which is indented too little; is a closing quote missing?".to_string(),
            span: reported,
            label: "still inside the quotes",
            help: "close the quote on the line it opens, or indent the lines it goes on over",
            related: None,
        };
    }
    // The remaining messages are the YAML parser's own words about YAML; the library's types
    // and options never reach a plan author.
    let words = raw
        .replace(['\'', '"'], "`")
        .replace("unexpected EOF", "unexpected end");
    let message = if shows_internals(&words) || words.is_empty() {
        "this is not valid YAML".to_string()
    } else {
        format!("invalid YAML: {}", sanitize(&mask_text(&words), 200, false))
    };
    Located {
        span: next_content(text, reported),
        ..plain(message)
    }
}

/// Whether a message shows the library's Rust side (types, options, debug output).
fn shows_internals(s: &str) -> bool {
    [
        "{ ", " }", "{..", "Error", "Option", "Policy", "serde", "saphyr", "budget", "=",
    ]
    .iter()
    .any(|w| s.contains(w))
        || s.split(|c: char| !c.is_alphanumeric()).any(|w| {
            w.starts_with(|c: char| c.is_ascii_uppercase())
                && w.chars().filter(char::is_ascii_uppercase).count() >= 2
                && w.chars().any(|c| c.is_ascii_lowercase())
        })
}

/// A point at the end of a line (nothing but blanks or a comment after it) is about what
/// comes next: the first character of the next line with content.
fn next_content(text: &str, span: Span) -> Span {
    if span.len > 0 {
        return span;
    }
    let line_end = text[span.offset..]
        .find('\n')
        .map_or(text.len(), |i| span.offset + i);
    let rest = text[span.offset..line_end].trim_start();
    if !(rest.is_empty() || rest.starts_with('#')) || line_end == text.len() {
        return span;
    }
    let mut at = line_end + 1;
    while at < text.len() {
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let line = &text[at..end];
        let content = line.trim_start_matches([' ', '\t', '\r']);
        if !(content.is_empty() || content.starts_with('#')) {
            return Span::new(at + (line.len() - content.len()), 0);
        }
        at = end + 1;
    }
    span
}

/// The tab a tab error is about: in the indentation of the reported line, else the first
/// tab indenting a later line, else the first tab after the reported position.
fn find_tab(text: &str, offset: usize) -> Option<Span> {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[line_start..];
    let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
    if offset <= line_start + indent
        && let Some(i) = line[..indent].find('\t')
    {
        return Some(Span::new(line_start + i, 1));
    }
    let mut at = offset;
    while let Some(i) = text[at..].find('\n') {
        let start = at + i + 1;
        let rest = &text[start..];
        let lead = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        if let Some(t) = rest[..lead].find('\t') {
            return Some(Span::new(start + t, 1));
        }
        at = start;
    }
    text[offset..].find('\t').map(|i| Span::new(offset + i, 1))
}

/// The first invalid escape of the double-quoted string starting at `offset`.
fn find_bad_escape(text: &str, offset: usize) -> Option<Span> {
    let rest = &text[offset..];
    let mut chars = rest.char_indices().skip(1).peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return None,
            '\\' => {
                let &(_, e) = chars.peek()?;
                let digits = match e {
                    'x' => 2,
                    'u' => 4,
                    'U' => 8,
                    '0' | 'a' | 'b' | 't' | '\t' | 'n' | 'v' | 'f' | 'r' | 'e' | ' ' | '"'
                    | '/' | '\\' | 'N' | '_' | 'L' | 'P' | '\n' | '\r' => {
                        chars.next();
                        continue;
                    }
                    _ => return Some(Span::new(offset + i, 1 + e.len_utf8())),
                };
                let after = &rest[i + 2..];
                let hex = after
                    .chars()
                    .take(digits)
                    .take_while(char::is_ascii_hexdigit)
                    .count();
                let valid = hex == digits
                    && u32::from_str_radix(&after[..digits], 16)
                        .ok()
                        .and_then(char::from_u32)
                        .is_some();
                if !valid {
                    return Some(Span::new(offset + i, 2 + hex));
                }
                chars.next();
            }
            _ => {}
        }
    }
    None
}

/// The first character after a `|`/`>` block header (indicators and blanks) that may not be
/// there.
fn after_block_header(text: &str, offset: usize) -> Option<Span> {
    let rest = &text[offset..];
    let header = rest.strip_prefix(['|', '>'])?;
    let skipped = header.len()
        - header
            .trim_start_matches([
                '+', '-', '1', '2', '3', '4', '5', '6', '7', '8', '9', ' ', '\t',
            ])
            .len();
    let at = offset + 1 + skipped;
    let c = text[at..].chars().next()?;
    (c != '\n' && c != '\r').then(|| Span::new(at, c.len_utf8()))
}

/// `mismatched bracket '[' closed by '}'` → (`[`, `}`).
fn mismatched_brackets(raw: &str) -> Option<(char, char)> {
    let rest = raw.strip_prefix("mismatched bracket '")?;
    let open = rest.chars().next()?;
    let close = rest.split("closed by '").nth(1)?.chars().next()?;
    Some((open, close))
}

/// The closing bracket that does not match its opening one, from the bracket opened at
/// `open_at`: brackets nest, quoted strings are skipped.
fn find_close(text: &str, open_at: usize, close: char) -> Option<usize> {
    let mut open: Vec<char> = Vec::new();
    let mut quote: Option<char> = None;
    for (i, c) in text[open_at..].char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '[' | '{') => open.push(c),
            (None, ']' | '}') => {
                let expected = if open.pop()? == '[' { ']' } else { '}' };
                if c != expected && c == close {
                    return Some(open_at + i);
                }
                if open.is_empty() {
                    return None;
                }
            }
            _ => {}
        }
    }
    None
}

/// The bracket `open` still open at `offset`, looking back (quoted strings are not told
/// apart: this only places a secondary label).
fn find_open_before(text: &str, offset: usize, open: char) -> Option<usize> {
    let close = if open == '{' { '}' } else { ']' };
    let mut depth = 0usize;
    for (i, c) in text[..offset].char_indices().rev() {
        if c == close {
            depth += 1;
        } else if c == open {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tab_is_found_in_the_next_lines_indentation() {
        let text = "a: b\n\tc: d\n";
        assert_eq!(find_tab(text, 3), Some(Span::new(5, 1)));
        // A tab after a value is allowed; the one indenting a line is not.
        let text = "a: b\t\n\tc: d\n";
        assert_eq!(find_tab(text, 3), Some(Span::new(6, 1)));
    }

    #[test]
    fn escapes_are_checked_one_by_one() {
        assert_eq!(find_bad_escape(r#""a\nb\qc""#, 0), Some(Span::new(5, 2)));
        assert_eq!(find_bad_escape(r#""\x4g""#, 0), Some(Span::new(1, 3)));
        assert_eq!(find_bad_escape(r#""\u00e9 ok""#, 0), None);
    }

    #[test]
    fn the_wrong_closing_bracket_is_found_past_nested_ones() {
        assert_eq!(find_close("[a, {b: \"}\"}, c}", 0, '}'), Some(15));
        assert_eq!(find_close("[a]", 0, '}'), None);
    }

    #[test]
    fn an_unexpected_colon_names_the_bracket_left_open_before_it() {
        let text = "a: 1\nb: [x, y\nc: 2\n";
        let at = text.find("c:").expect("c") + 1;
        let located = scanner_error(text, "illegal placement of ':' indicator", Span::new(at, 0));
        assert_eq!(located.related.map(|(s, _)| s.offset), text.find('['));
        assert!(located.message.contains("`[` before it is not closed"));
        // A bracket closed on its line is not blamed.
        let text = "a: 1\nb: [x, y]\nc: d: 2\n";
        let at = text.find("d:").expect("d") + 1;
        let located = scanner_error(text, "mapping values are not allowed", Span::new(at, 0));
        assert!(located.related.is_none());
        let text = "a: {b: c: d}\n";
        let at = text.find("c:").expect("c") + 1;
        let located = scanner_error(text, "mapping values are not allowed", Span::new(at, 0));
        assert!(located.related.is_none());
    }

    #[test]
    fn messages_with_library_types_are_recognised() {
        assert!(shows_internals("set DuplicateKeyPolicy in Options"));
        assert!(shows_internals("budget breached: Depth { depth: 3 }"));
        assert!(!shows_internals("did not find expected `-` indicator"));
    }
}
