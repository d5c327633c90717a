//! Checking the rest of a file past a YAML syntax error.
//!
//! The YAML parser stops at the first syntax error, but most are local: one bad line in one
//! entry. The entry holding the error (an item of a top-level list, such as one server, or else
//! the whole top-level key) is blanked, replaced by spaces with its line breaks kept so every
//! offset still points into the original file, and the text is parsed again, for at most
//! [`MAX_ROUNDS`] errors and [`MAX_REPARSED_BYTES`] parsed again in all (time stays linear in
//! the file, at most twice a parse of the largest one).
//! Whatever a later check says that could be about the skipped lines is dropped
//! ([`about_skipped`]): nothing is invented from text that was not read.

use crate::diagnostic::{Code, PlanDiagnostic, SourceFile, Span};
use crate::document::Sp;
use crate::tree::{self, Node};

/// Syntax errors skipped past, and so parses made after the first, at most.
const MAX_ROUNDS: usize = 8;
/// Bytes parsed again in all, at most: a plan of a few megabytes gets its eight parses, a
/// file near [`crate::MAX_PLAN_BYTES`] one, so the worst case costs two parses of the largest
/// file.
const MAX_REPARSED_BYTES: usize = crate::MAX_PLAN_BYTES;

/// The YAML tree of the file with its broken entries skipped, if one could be read.
pub(crate) struct Parsed {
    pub tree: Option<Sp<Node>>,
    /// The syntax errors, in the order found.
    pub syntax: Vec<PlanDiagnostic>,
    /// What was left out of the tree.
    pub skipped: Vec<Skipped>,
}

/// Lines left out of the tree because of a syntax error in them.
pub(crate) struct Skipped {
    /// The lines, from the first character of the first to the end of the last.
    span: Span,
    what: Entry,
}

enum Entry {
    /// An item of a top-level list, with its `name` if one could be read.
    Item { name: Option<String> },
    /// A whole top-level key (`cloud`, `defaults`, ...).
    Key,
}

/// Parses `source`, skipping the entry of each syntax error to read the rest.
pub(crate) fn parse(source: &SourceFile) -> Parsed {
    let text = source.text();
    let mut blanked: Option<String> = None;
    let mut syntax = Vec::new();
    let mut skipped: Vec<Skipped> = Vec::new();
    let mut reparsed = 0usize;
    let tree = loop {
        let current = blanked.as_deref().unwrap_or(text);
        match tree::parse_tree(source, current) {
            Ok(tree) => break Some(tree),
            Err(e) => {
                // The earliest place the error involves (an unclosed bracket before it).
                let from = e
                    .diagnostic
                    .related
                    .iter()
                    .map(|l| l.span.offset)
                    .fold(e.diagnostic.span.offset, usize::min);
                reparsed += text.len();
                let affordable = syntax.len() < MAX_ROUNDS && reparsed <= MAX_REPARSED_BYTES;
                let region = (e.recoverable && affordable)
                    .then(|| entry_region(current, from))
                    .flatten()
                    .filter(|r| !skipped.iter().any(|s| overlaps(r.span, s.span)));
                syntax.push(e);
                let Some(region) = region else {
                    break None;
                };
                blank(blanked.get_or_insert_with(|| text.to_string()), region.span);
                skipped.push(region);
            }
        }
    };
    let checked = tree.is_some();
    let syntax = syntax
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let mut d = *e.diagnostic;
            if !e.recoverable {
                return d;
            }
            let base = d.help.take().unwrap_or_default();
            let help = match skipped.get(i) {
                Some(s) if checked => {
                    let (first, _) = source.line_col(s.span.offset);
                    let (last, _) = source.line_col(s.span.offset + s.span.len);
                    let lines = if first == last {
                        format!("line {first} was")
                    } else {
                        format!("lines {first}-{last} were")
                    };
                    let what = match s.what {
                        Entry::Item { .. } => "the list entry it is in",
                        Entry::Key => "the top-level key it is in",
                    };
                    format!("{base}; {lines} skipped ({what}), the rest of the file was checked")
                }
                _ => format!("{base}; the rest of the file is checked once this parses"),
            };
            d.help = Some(help);
            d
        })
        .collect();
    Parsed {
        tree,
        syntax,
        skipped,
    }
}

/// Whether a diagnostic of the rest of the file could be about skipped lines: it points into
/// them, names the skipped entry, or is a check across the file while a whole top-level key is
/// missing (a `defaults` that was skipped would make entries look incomplete).
pub(crate) fn about_skipped(skipped: &[Skipped], d: &PlanDiagnostic) -> bool {
    skipped.iter().any(|s| {
        let touches =
            overlaps(d.span, s.span) || d.related.iter().any(|l| overlaps(l.span, s.span));
        touches
            || match &s.what {
                Entry::Item { name: Some(name) } => mentions(&d.message, name),
                Entry::Item { name: None } => {
                    matches!(d.code, Code::UnknownReference | Code::UnknownStage)
                }
                Entry::Key => !matches!(
                    d.code,
                    Code::Syntax
                        | Code::UnknownField
                        | Code::WrongType
                        | Code::InvalidValue
                        | Code::OutOfRange
                        | Code::InvalidName
                        | Code::InlineSecret
                ),
            }
    })
}

fn overlaps(a: Span, b: Span) -> bool {
    let (a_end, b_end) = (a.offset + a.len.max(1), b.offset + b.len.max(1));
    a.offset < b_end && b.offset < a_end
}

/// Whether `message` names `name` as a whole (not as part of a longer name).
fn mentions(message: &str, name: &str) -> bool {
    let name_char = |c: char| c.is_alphanumeric() || c == '_' || c == '-';
    message.match_indices(name).any(|(i, _)| {
        let before = message[..i].chars().next_back();
        let after = message[i + name.len()..].chars().next();
        !before.is_some_and(name_char) && !after.is_some_and(name_char)
    })
}

/// Replaces the text of `span` by spaces, keeping line breaks (and so every offset and line).
fn blank(text: &mut String, span: Span) {
    let mut bytes = std::mem::take(text).into_bytes();
    let end = (span.offset + span.len).min(bytes.len());
    for b in &mut bytes[span.offset.min(end)..end] {
        if *b != b'\n' && *b != b'\r' {
            *b = b' ';
        }
    }
    // Whole lines were replaced by ASCII, so the text is still UTF-8.
    *text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
}

/// A line's indentation and content, if it has any (not blank, not only a comment). A tab
/// in the indentation (an error itself) counts as a deep indent: the line belongs to the
/// entry above it.
fn content(line: &str) -> Option<(usize, &str)> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    let rest = line.trim_start_matches([' ', '\t']);
    let lead = &line[..line.len() - rest.len()];
    let indent = lead.len() + lead.matches('\t').count() * 7;
    (!rest.is_empty() && !rest.starts_with('#')).then_some((indent, rest))
}

fn is_item(rest: &str) -> bool {
    rest == "-" || rest.starts_with("- ") || rest.starts_with("-\t")
}

/// The entry holding `offset`: the item of a top-level list it is in, else its top-level key.
/// `None` when the file has no top-level keys to go by.
fn entry_region(text: &str, offset: usize) -> Option<Skipped> {
    let mut lines = Vec::new();
    let mut start = 0;
    for (i, b) in text.bytes().enumerate() {
        if b == b'\n' {
            lines.push((start, i));
            start = i + 1;
        }
    }
    lines.push((start, text.len()));
    let line = |i: usize| content(&text[lines[i].0..lines[i].1]);
    let top_key = |i: usize| matches!(line(i), Some((0, r)) if !is_item(r));
    let at = lines
        .partition_point(|(s, _)| *s <= offset)
        .saturating_sub(1);
    let at = (0..=at).rev().find(|&i| line(i).is_some())?;
    let top = (0..=at).rev().find(|&i| top_key(i))?;
    let (_, head) = line(top)?;
    if head.starts_with("---") || head.starts_with("...") || head.starts_with('%') {
        return None;
    }
    let end = (top + 1..lines.len())
        .find(|&i| top_key(i))
        .unwrap_or(lines.len());
    // From the first line to the last one with content (blank lines after it stay).
    let span = |from: usize, to: usize| {
        let last = (from..to)
            .rev()
            .find(|&i| line(i).is_some())
            .unwrap_or(from);
        Span::new(lines[from].0, lines[last].1 - lines[from].0)
    };
    if at > top
        && let Some(first) = (top + 1..end).find(|&i| line(i).is_some())
        && let Some((indent, rest)) = line(first)
        && is_item(rest)
        && let Some(item) = (first..=at)
            .rev()
            .find(|&i| matches!(line(i), Some((d, r)) if d == indent && is_item(r)))
    {
        let item_end = (item + 1..end)
            .find(|&i| matches!(line(i), Some((d, _)) if d <= indent))
            .unwrap_or(end);
        if at < item_end {
            let span = span(item, item_end);
            return Some(Skipped {
                span,
                what: Entry::Item {
                    name: name_in(&text[span.offset..span.offset + span.len]),
                },
            });
        }
    }
    Some(Skipped {
        span: span(top, end),
        what: Entry::Key,
    })
}

/// The value of the first `name:` key in an entry's text, read as plainly as possible.
fn name_in(entry: &str) -> Option<String> {
    entry.match_indices("name:").find_map(|(i, _)| {
        let before = entry[..i].chars().next_back();
        if !matches!(before, None | Some(' ' | '\t' | '-' | '{' | ',' | '\n')) {
            return None;
        }
        let value = entry[i + 5..].trim_start_matches([' ', '\t']);
        let value = value.trim_start_matches(['"', '\'']);
        let end = value
            .find([' ', '\t', ',', '}', ']', '"', '\'', '#', '\n', '\r'])
            .unwrap_or(value.len());
        (end > 0).then(|| value[..end].to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(text: &str, at: &str) -> (String, Option<String>) {
        let offset = text.find(at).expect("marker");
        let r = entry_region(text, offset).expect("a region");
        let name = match r.what {
            Entry::Item { name } => name,
            Entry::Key => None,
        };
        (
            text[r.span.offset..r.span.offset + r.span.len].to_string(),
            name,
        )
    }

    #[test]
    fn the_list_item_holding_the_error_is_skipped() {
        let text = "a: 1\nservers:\n  - name: x\n    bad: [\n  - name: y\n    ok: 1\nb: 2\n";
        assert_eq!(
            region(text, "bad"),
            ("  - name: x\n    bad: [".into(), Some("x".into()))
        );
        assert_eq!(
            region(text, "ok"),
            ("  - name: y\n    ok: 1".into(), Some("y".into()))
        );
    }

    #[test]
    fn outside_a_list_the_top_level_key_is_skipped() {
        let text = "a: 1\ncloud:\n  region: [x\n\nb: 2\n";
        assert_eq!(
            region(text, "region"),
            ("cloud:\n  region: [x".into(), None)
        );
        // Items written at the key's own indentation are items too.
        let text = "servers:\n- name: a\n  x: [\n- name: b\n";
        assert_eq!(
            region(text, "x:"),
            ("- name: a\n  x: [".into(), Some("a".into()))
        );
    }

    #[test]
    fn blanking_keeps_offsets_and_lines() {
        let mut text = "a: é\nb: 2\n".to_string();
        blank(&mut text, Span::new(0, 5));
        assert_eq!(text, "     \nb: 2\n");
    }

    #[test]
    fn names_are_matched_whole() {
        assert!(mentions("`server.web-01` is not declared", "web-01"));
        assert!(!mentions("`server.web-011` is not declared", "web-01"));
    }
}
