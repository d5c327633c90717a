//! What a diagnostic shows of a plan file, bounded and made safe for a terminal.
//!
//! A plan file is untrusted input: it can be one 50 MB line, hold thousands of errors, carry
//! terminal escape sequences in a name, or hold a password written inline. So a diagnostic never
//! hands miette the whole file. Instead each one gets an [`Excerpt`]: the lines its labels are
//! on, one line of context around them, each line clipped to [`MAX_COLUMNS`] columns around
//! the labelled text (`…` marks what is cut), control characters escaped, secret values replaced
//! by `***`. The excerpt is a [`miette::SourceCode`] that reports the real line and column
//! numbers, so the rendering of an ordinary plan does not change.
//!
//! Finding lines uses a [`LineIndex`] built once per file, so rendering is linear in the number
//! of diagnostics whatever the file's size or shape.

use std::borrow::Cow;
use std::ops::Range;

use miette::{MietteError, MietteSpanContents, SourceCode, SourceSpan, SpanContents};

use crate::diagnostic::Span;

/// Columns of one line shown around the labelled text (an escaped character counts the width
/// of its escape); the rest is cut and marked `…`.
const MAX_COLUMNS: usize = 160;
/// Columns kept before the labelled text on a clipped line.
const LEFT_CONTEXT: usize = 40;
/// Lines of one multi-line label shown (a block scalar can be millions of lines).
const MAX_LABEL_LINES: usize = 4;
/// Labels shown per diagnostic (the primary one and the first related ones).
const MAX_LABELS: usize = 6;
/// Two labels at most this many lines apart share one excerpt (and the lines between them);
/// farther apart, each gets its own.
const MERGE_GAP: usize = 6;
/// Bytes of excerpt text per diagnostic, beyond which further related places are left out.
const MAX_EXCERPT_BYTES: usize = 6 * 1024;
/// Distance between two checkpoints of the line index, in bytes.
const CHECKPOINT_BYTES: usize = 256;
/// Longest user-supplied text quoted in a message (a valid name is at most 64 characters).
const MAX_QUOTE_CHARS: usize = 80;

// ---------------------------------------------------------------------------------------------
// Text made safe for a terminal
// ---------------------------------------------------------------------------------------------

/// Characters that must not reach a terminal raw: C0 and C1 controls and DEL (escape sequences
/// retitle, clear or recolour the terminal), and the bidirectional overrides and isolates that
/// make text read differently from what it is ("Trojan source").
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}' | '\u{202a}'
                ..='\u{202e}' | '\u{2066}'..='\u{2069}'
        )
}

fn push_escaped(out: &mut String, c: char) {
    out.extend(c.escape_default());
}

/// `s` with unsafe characters escaped (`\u{1b}`), cut to `max_chars` characters of output with
/// a trailing `…`. `keep_layout` keeps newlines and tabs (message text); otherwise they are
/// escaped too (a value quoted on one line).
pub(crate) fn sanitize(s: &str, max_chars: usize, keep_layout: bool) -> Cow<'_, str> {
    let unsafe_here = |c: char| is_unsafe(c) && !(keep_layout && (c == '\n' || c == '\t'));
    if s.len() <= max_chars && !s.chars().any(unsafe_here) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len().min(max_chars * 2) + 4);
    let mut shown = 0;
    for c in s.chars() {
        if shown >= max_chars {
            out.push('…');
            return Cow::Owned(out);
        }
        if unsafe_here(c) {
            let before = out.len();
            push_escaped(&mut out, c);
            shown += out.len() - before;
        } else {
            out.push(c);
            shown += 1;
        }
    }
    Cow::Owned(out)
}

/// User text to quote in a message: secret-looking `key: value` pairs inside it masked,
/// escaped, and at most [`MAX_QUOTE_CHARS`] characters.
pub(crate) fn quote(s: &str) -> String {
    // Only the start is shown; mask within a little more than that.
    let s = &s[..floor_char_boundary(s, MAX_QUOTE_CHARS * 16)];
    let masked = mask_ranges(s, &text_secrets(s));
    sanitize(&masked, MAX_QUOTE_CHARS, false).into_owned()
}

/// `s` with secret-looking `key: value` pairs masked (text from a parser that quotes input).
pub(crate) fn mask_text(s: &str) -> Cow<'_, str> {
    mask_ranges(s, &text_secrets(s))
}

/// `s` with each (sorted) range replaced by `***`.
fn mask_ranges<'s>(s: &'s str, ranges: &[Range<usize>]) -> Cow<'s, str> {
    if ranges.is_empty() {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut at = 0;
    let mut masked_to = None;
    for r in ranges {
        if r.start >= r.end || r.end <= at {
            continue;
        }
        let start = floor_char_boundary(s, r.start.max(at));
        let end = ceil_char_boundary(s, r.end);
        out.push_str(&s[at..start]);
        // Overlapping or touching ranges become one `***`.
        if masked_to != Some(start) {
            out.push_str("***");
        }
        at = end;
        masked_to = Some(end);
    }
    out.push_str(&s[at..]);
    Cow::Owned(out)
}

/// Whether a mapping key names a secret (its value is masked in every excerpt): it contains
/// `pass`, `secret`, `token`, `credential`, `auth` or an API or private key, or is `sk`/`pwd`.
pub(crate) fn is_secret_key(key: &str) -> bool {
    let k = key.trim().to_ascii_lowercase();
    const PARTS: [&str; 10] = [
        "pass",
        "secret",
        "token",
        "credential",
        "auth",
        "apikey",
        "api_key",
        "api-key",
        "private_key",
        "private-key",
    ];
    PARTS.iter().any(|p| k.contains(p))
        || k.split(['_', '-', '.']).any(|w| matches!(w, "sk" | "pwd"))
}

// ---------------------------------------------------------------------------------------------
// Line index
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy)]
struct Checkpoint {
    /// 0-based line of the checkpoint's byte.
    line: usize,
    /// Where that line starts.
    line_start: usize,
    /// Characters between the line start and the checkpoint.
    column_chars: usize,
}

/// Where a byte offset is: 0-based line, the line's start, 0-based columns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Position {
    pub line: usize,
    pub line_start: usize,
    pub column_bytes: usize,
    pub column_chars: usize,
}

/// Line starts of a text, sampled every [`CHECKPOINT_BYTES`]: any offset is located by reading
/// at most that many bytes, whatever the length of its line. Lines end at `\n`, `\r\n` or a lone
/// `\r`, as in YAML. Built once per file in one pass; about a tenth of the text's size.
#[derive(Debug)]
pub(crate) struct LineIndex {
    checkpoints: Vec<Checkpoint>,
    lines: usize,
}

fn is_break(bytes: &[u8], i: usize) -> bool {
    match bytes[i] {
        b'\n' => true,
        b'\r' => bytes.get(i + 1) != Some(&b'\n'),
        _ => false,
    }
}

fn is_char_start(b: u8) -> bool {
    b & 0xC0 != 0x80
}

impl LineIndex {
    pub(crate) fn new(text: &str) -> Self {
        let bytes = text.as_bytes();
        let mut checkpoints = Vec::with_capacity(bytes.len() / CHECKPOINT_BYTES + 1);
        let (mut line, mut line_start, mut column_chars) = (0, 0, 0);
        for (c, chunk) in bytes.chunks(CHECKPOINT_BYTES).enumerate() {
            checkpoints.push(Checkpoint {
                line,
                line_start,
                column_chars,
            });
            let base = c * CHECKPOINT_BYTES;
            for (j, &b) in chunk.iter().enumerate() {
                if (b == b'\n' || b == b'\r') && is_break(bytes, base + j) {
                    line += 1;
                    line_start = base + j + 1;
                    column_chars = 0;
                } else if is_char_start(b) {
                    column_chars += 1;
                }
            }
        }
        if checkpoints.is_empty() {
            checkpoints.push(Checkpoint {
                line: 0,
                line_start: 0,
                column_chars: 0,
            });
        }
        LineIndex {
            checkpoints,
            lines: line + 1,
        }
    }

    /// Number of lines (a text ending in a newline has an empty last line).
    pub(crate) fn lines(&self) -> usize {
        self.lines
    }

    /// Line and columns of `offset` (clamped to the text).
    pub(crate) fn locate(&self, text: &str, offset: usize) -> Position {
        let bytes = text.as_bytes();
        let offset = offset.min(bytes.len());
        let ci = (offset / CHECKPOINT_BYTES).min(self.checkpoints.len() - 1);
        let cp = self.checkpoints[ci];
        let (mut line, mut line_start, mut column_chars) =
            (cp.line, cp.line_start, cp.column_chars);
        for i in ci * CHECKPOINT_BYTES..offset {
            if is_break(bytes, i) {
                line += 1;
                line_start = i + 1;
                column_chars = 0;
            } else if is_char_start(bytes[i]) {
                column_chars += 1;
            }
        }
        Position {
            line,
            line_start,
            column_bytes: offset - line_start,
            column_chars,
        }
    }

    /// Byte offset where 0-based `line` starts, if the text has that line.
    pub(crate) fn line_start(&self, text: &str, line: usize) -> Option<usize> {
        if line >= self.lines {
            return None;
        }
        let ci = self.checkpoints.partition_point(|cp| cp.line <= line) - 1;
        let cp = self.checkpoints[ci];
        if cp.line == line {
            return Some(cp.line_start);
        }
        // The line starts before the next checkpoint: at most CHECKPOINT_BYTES to read.
        let bytes = text.as_bytes();
        let mut at = cp.line;
        for i in ci * CHECKPOINT_BYTES..bytes.len() {
            if is_break(bytes, i) {
                at += 1;
                if at == line {
                    return Some(i + 1);
                }
            }
        }
        None
    }

    /// Byte range of `line`'s text, without its line break.
    pub(crate) fn line_range(&self, text: &str, line: usize) -> Range<usize> {
        let start = self.line_start(text, line).unwrap_or(text.len());
        let end = match self.line_start(text, line + 1) {
            Some(next) => {
                let bytes = text.as_bytes();
                let mut end = next - 1;
                if bytes[end] == b'\n' && end > start && bytes[end - 1] == b'\r' {
                    end -= 1;
                }
                end
            }
            None => text.len(),
        };
        start..end.max(start)
    }
}

// ---------------------------------------------------------------------------------------------
// Lexical secret masking (files that are not valid YAML)
// ---------------------------------------------------------------------------------------------

/// What the lexical scan found on one line.
#[derive(Debug, Default)]
struct LexLine {
    /// Byte ranges (within the line) of secret values.
    masked: Vec<Range<usize>>,
    /// The line ends with a secret key whose value continues on the next lines (`password:`,
    /// `password: |`, an unclosed quote or flow collection).
    opens: bool,
}

/// End of a quoted scalar starting at `i` (the quote), exclusive; `None` when unclosed.
fn quoted_end(s: &[u8], i: usize) -> Option<usize> {
    let q = s[i];
    let mut j = i + 1;
    while j < s.len() {
        if q == b'"' && s[j] == b'\\' {
            j += 2;
            continue;
        }
        if s[j] == q {
            if q == b'\'' && s.get(j + 1) == Some(&b'\'') {
                j += 2;
                continue;
            }
            return Some(j + 1);
        }
        j += 1;
    }
    None
}

/// End of the flow collection opened at `i`, exclusive; `None` when unclosed on this line.
fn flow_end(s: &[u8], i: usize) -> Option<usize> {
    let mut depth = 0usize;
    let mut j = i;
    while j < s.len() {
        match s[j] {
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(j + 1);
                }
            }
            b'"' | b'\'' => match quoted_end(s, j) {
                Some(e) => {
                    j = e;
                    continue;
                }
                None => return None,
            },
            _ => {}
        }
        j += 1;
    }
    None
}

/// Masks the values of `key: value` pairs inside a flow mapping `s[from..to]`, except `env`.
fn mask_flow_mapping(s: &[u8], from: usize, to: usize, out: &mut Vec<Range<usize>>) {
    let mut j = from;
    let mut key_start = from;
    while j < to {
        match s[j] {
            b',' => key_start = j + 1,
            b'"' | b'\'' => {
                j = quoted_end(s, j).unwrap_or(to).min(to);
                continue;
            }
            b':' if j + 1 >= to || matches!(s[j + 1], b' ' | b'\t') => {
                let key = String::from_utf8_lossy(&s[key_start..j]);
                let key = key.trim().trim_matches(['"', '\'']);
                let mut v = j + 1;
                while v < to && matches!(s[v], b' ' | b'\t') {
                    v += 1;
                }
                let end = value_end(s, v, to, true);
                if key != "env" && v < end {
                    out.push(v..end);
                }
                j = end;
                continue;
            }
            _ => {}
        }
        j += 1;
    }
}

/// End of a scalar (or nested flow collection) value starting at `v`, exclusive.
fn value_end(s: &[u8], v: usize, limit: usize, in_flow: bool) -> usize {
    if v >= limit {
        return v;
    }
    match s[v] {
        b'"' | b'\'' => quoted_end(s, v).unwrap_or(limit).min(limit),
        b'{' | b'[' => flow_end(s, v).unwrap_or(limit).min(limit),
        _ => {
            let mut e = v;
            while e < limit {
                let b = s[e];
                if in_flow && matches!(b, b',' | b'}' | b']') {
                    break;
                }
                if b == b'#' && e > v && matches!(s[e - 1], b' ' | b'\t') {
                    break;
                }
                e += 1;
            }
            while e > v && matches!(s[e - 1], b' ' | b'\t') {
                e -= 1;
            }
            e
        }
    }
}

/// Finds `KEY: value` pairs on one line whose key looks like a secret, and the byte ranges of
/// their values. A heuristic for text that did not parse: it errs on the side of masking.
fn lex_line(line: &str) -> LexLine {
    let s = line.as_bytes();
    let mut out = LexLine::default();
    let mut depth = 0usize;
    let mut i = 0;
    let mut token_start = 0;
    while i < s.len() {
        match s[i] {
            b'#' if i == 0 || matches!(s[i - 1], b' ' | b'\t') => break,
            b'{' | b'[' => {
                depth += 1;
                token_start = i + 1;
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            b',' => token_start = i + 1,
            b'"' | b'\'' => match quoted_end(s, i) {
                Some(e) => {
                    i = e;
                    continue;
                }
                // An unclosed quote: a scalar continued on the next lines, or a stray quote;
                // either way, keys after it are still looked for.
                None => token_start = i + 1,
            },
            b':' if i + 1 >= s.len() || matches!(s[i + 1], b' ' | b'\t') => {
                let raw = String::from_utf8_lossy(&s[token_start..i]);
                let key = raw
                    .trim()
                    .trim_start_matches("- ")
                    .trim_start_matches('?')
                    .trim()
                    .trim_matches(['"', '\''])
                    .to_string();
                let mut v = i + 1;
                while v < s.len() && matches!(s[v], b' ' | b'\t') {
                    v += 1;
                }
                token_start = v;
                if !is_secret_key(&key) {
                    i += 1;
                    continue;
                }
                if v >= s.len() || s[v] == b'#' {
                    out.opens = true;
                    break;
                }
                match s[v] {
                    b'|' | b'>' => {
                        out.opens = true;
                        break;
                    }
                    b'{' => {
                        let end = flow_end(s, v);
                        mask_flow_mapping(
                            s,
                            v + 1,
                            end.map_or(s.len(), |e| e - 1),
                            &mut out.masked,
                        );
                        match end {
                            Some(e) => i = e,
                            None => {
                                out.opens = true;
                                break;
                            }
                        }
                    }
                    b'[' => {
                        let end = flow_end(s, v);
                        out.masked.push(v + 1..end.map_or(s.len(), |e| e - 1));
                        match end {
                            Some(e) => i = e,
                            None => {
                                out.opens = true;
                                break;
                            }
                        }
                    }
                    b'"' | b'\'' => match quoted_end(s, v) {
                        Some(e) => {
                            out.masked.push(v..e);
                            i = e;
                        }
                        None => {
                            out.masked.push(v..s.len());
                            out.opens = true;
                            break;
                        }
                    },
                    _ => {
                        let e = value_end(s, v, s.len(), depth > 0);
                        out.masked.push(v..e);
                        i = e;
                    }
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

/// Values of `KEY: value` (or `KEY=value`) pairs with a secret-looking key anywhere in `s`,
/// even inside a quoted string: a password pasted into a description or an address list is
/// still a password.
fn embedded_secrets(s: &str) -> Vec<Range<usize>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let key_char = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'.');
    let mut i = 0;
    while i < b.len() {
        let sep = b[i];
        let is_sep =
            (sep == b':' && (i + 1 >= b.len() || matches!(b[i + 1], b' ' | b'\t'))) || sep == b'=';
        if !is_sep {
            i += 1;
            continue;
        }
        let mut k = i;
        if k > 0 && matches!(b[k - 1], b'"' | b'\'') {
            k -= 1;
        }
        let key_end = k;
        while k > 0 && key_char(b[k - 1]) {
            k -= 1;
        }
        if k == key_end || !is_secret_key(&s[k..key_end]) {
            i += 1;
            continue;
        }
        let mut v = i + 1;
        while v < b.len() && matches!(b[v], b' ' | b'\t') {
            v += 1;
        }
        if v >= b.len() {
            break;
        }
        let end = match b[v] {
            q @ (b'"' | b'\'') => b[v + 1..]
                .iter()
                .position(|&c| c == q)
                .map_or(b.len(), |p| v + p + 2),
            b'{' => {
                // A mapping: every value but an `env` reference.
                let end = flow_end(b, v).unwrap_or(b.len());
                mask_flow_mapping(b, v + 1, end.saturating_sub(1).max(v + 1), &mut out);
                i = end.max(i + 1);
                continue;
            }
            b'[' => flow_end(b, v).unwrap_or(b.len()),
            b'|' | b'>' => v,
            _ => {
                let mut e = v;
                while e < b.len()
                    && !matches!(b[e], b' ' | b'\t' | b',' | b'}' | b']' | b'"' | b'\'')
                {
                    e += 1;
                }
                e
            }
        };
        if v < end {
            out.push(v..end);
        }
        i = end.max(i + 1);
    }
    out
}

/// Secret values in one line of text, found by their look (see [`lex_line`] and
/// [`embedded_secrets`]), sorted.
fn text_secrets(s: &str) -> Vec<Range<usize>> {
    let mut out = lex_line(s).masked;
    out.extend(embedded_secrets(s));
    out.extend(url_passwords(s));
    out.sort_by_key(|r| r.start);
    out
}

/// The password of each URL with credentials (`redis://:PW@host`, `scheme://user:PW@host`),
/// or the whole user part when it has no `:` (`redis://PW@host`): written where an address
/// belongs, a secret all the same.
fn url_passwords(s: &str) -> Vec<Range<usize>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(at) = s[from..].find("://").map(|i| from + i + 3) {
        let end = b[at..]
            .iter()
            .position(|c| {
                matches!(
                    c,
                    b'@' | b'/' | b' ' | b'\t' | b'"' | b'\'' | b',' | b'}' | b']'
                )
            })
            .map_or(b.len(), |i| at + i);
        if end < b.len() && b[end] == b'@' && end > at {
            let user_end = b[at..end]
                .iter()
                .position(|&c| c == b':')
                .map_or(at, |i| at + i + 1);
            if end > user_end {
                out.push(user_end..end);
            }
        }
        from = end.max(at);
    }
    out
}

/// Bytes around a span searched for secrets its diagnostic might quote.
const SCRUB_WINDOW: usize = 1024;
/// Shortest secret scrubbed from messages (shorter words are everywhere in ordinary text).
const MIN_SCRUBBED: usize = 4;

/// Secret values written near `spans` (on their lines, within [`SCRUB_WINDOW`] bytes), known
/// from the tree (`secrets`) or by their look: the texts a message about those spans must not
/// quote.
pub(crate) fn secrets_near(
    text: &str,
    secrets: &[Span],
    spans: impl Iterator<Item = Span>,
) -> Vec<String> {
    let bytes = text.as_bytes();
    let mut words = Vec::new();
    for span in spans {
        let start = span.offset.min(bytes.len());
        let end = span
            .offset
            .saturating_add(span.len)
            .min(bytes.len())
            .max(start);
        // The span's line, or as much of it as the window holds.
        let low = start.saturating_sub(SCRUB_WINDOW);
        let from = bytes[low..start]
            .iter()
            .rposition(|b| matches!(b, b'\n' | b'\r'))
            .map_or(low, |i| low + i + 1);
        let high = end.saturating_add(SCRUB_WINDOW).min(bytes.len());
        let to = bytes[end..high]
            .iter()
            .position(|b| matches!(b, b'\n' | b'\r'))
            .map_or(high, |i| end + i);
        let (from, to) = (
            floor_char_boundary(text, from),
            floor_char_boundary(text, to),
        );
        let window = &text[from..to.max(from)];
        for r in text_secrets(window) {
            words.push(window[r].to_string());
        }
        let first = secrets.partition_point(|s| s.offset + s.len <= from);
        for s in secrets[first..].iter().take_while(|s| s.offset < to) {
            let a = floor_char_boundary(text, s.offset.max(from));
            let b = floor_char_boundary(text, (s.offset + s.len).min(to)).max(a);
            words.push(text[a..b].to_string());
        }
    }
    words.retain_mut(|w| {
        *w = w.trim().trim_matches(['"', '\'']).trim().to_string();
        w.chars().count() >= MIN_SCRUBBED
    });
    words.sort();
    words.dedup();
    words
}

/// `message` with every secret of `words` (and whatever follows the start of a long one, up to
/// the end of its quote) replaced by `***`.
pub(crate) fn scrub(message: &mut String, words: &[String]) {
    for w in words {
        for form in [w.clone(), quote(w)] {
            let prefix_end = form.char_indices().nth(24).map_or(form.len(), |(i, _)| i);
            let prefix = &form[..prefix_end];
            if prefix.is_empty() {
                continue;
            }
            while let Some(at) = message.find(prefix) {
                let end = if message[at..].starts_with(form.as_str()) {
                    at + form.len()
                } else {
                    message[at..].find('`').map_or(message.len(), |i| at + i)
                };
                message.replace_range(at..end, "***");
            }
        }
    }
}

fn indentation(line: &str) -> usize {
    line.bytes().take_while(|b| *b == b' ').count()
}

/// Lines looked back at to find whether a line belongs to a secret opened above it.
const LEXICAL_LOOKBACK: usize = 256;
/// Bytes of a line read when looking back (its indentation and key are at the start).
const LEXICAL_PREFIX: usize = 4096;

/// Secret ranges (absolute byte offsets) within `window` of `line`, found lexically: values of
/// secret-looking keys; and with `lookback`, the whole line when it continues a secret value
/// opened on a less indented line above (`password: |`, `password:` and a nested mapping).
fn lexical_secrets(
    text: &str,
    index: &LineIndex,
    line: usize,
    window: Range<usize>,
    lookback: bool,
) -> Vec<Range<usize>> {
    let range = index.line_range(text, line);
    let (ws, we) = (
        floor_char_boundary(text, window.start.max(range.start)),
        floor_char_boundary(text, window.end.min(range.end)),
    );
    let mut out: Vec<Range<usize>> = text_secrets(&text[ws..we.max(ws)])
        .into_iter()
        .map(|r| ws + r.start..ws + r.end)
        .collect();
    let content = &text[range.clone()];
    if !lookback || content.trim().is_empty() {
        return out;
    }
    // Walk up: the nearest line above (whatever its indentation: a broken file may have
    // lost it), then the indentation chain, each line less indented than the last.
    let own = indentation(content);
    let masked = range.start + own.min(content.len())..range.end;
    let mut want = usize::MAX;
    let mut k = line;
    let mut looked = 0;
    while want > 0 && k > 0 && looked < LEXICAL_LOOKBACK {
        k -= 1;
        looked += 1;
        let r = index.line_range(text, k);
        let end = floor_char_boundary(text, r.start + (r.end - r.start).min(LEXICAL_PREFIX));
        let above = &text[r.start..end];
        if above.trim().is_empty() {
            continue;
        }
        if let Some(comment) = above.trim_start().strip_prefix('#') {
            // A comment owns nothing, unless it holds a secret key left open (commented out,
            // or the text around it broken): then the lines below may be its value.
            if comment
                .split('#')
                .any(|part| lex_line(part.trim_start()).opens)
            {
                out.push(masked);
                break;
            }
            continue;
        }
        let ind = indentation(above);
        if ind >= want {
            continue;
        }
        if lex_line(above).opens {
            let is_env_ref = content.trim().strip_prefix("env:").is_some_and(|v| {
                let v = v.trim();
                !v.is_empty() && v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            });
            if !is_env_ref {
                out.push(masked);
            }
            break;
        }
        want = if want == usize::MAX {
            ind.min(own)
        } else {
            ind
        };
    }
    out
}

pub(crate) fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

// ---------------------------------------------------------------------------------------------
// Excerpts
// ---------------------------------------------------------------------------------------------

/// A label to place in an excerpt: a span of the real file.
#[derive(Debug, Clone)]
pub(crate) struct LabelIn<'a> {
    pub span: Span,
    pub note: &'a str,
    pub primary: bool,
}

/// One line of the excerpt text.
#[derive(Debug, Clone)]
struct ExLine {
    /// Byte range in the excerpt text, without the newline that follows it.
    range: Range<usize>,
    /// 0-based line in the real file.
    line: usize,
    /// Which window (run of consecutive real lines) it belongs to.
    window: usize,
}

/// A label placed in the excerpt.
#[derive(Debug, Clone)]
pub(crate) struct LabelOut {
    pub span: SourceSpan,
    pub note: String,
    pub primary: bool,
    /// 0-based line and byte column of its start in the real file (the `file:line:col` header).
    line: usize,
    column: usize,
}

/// The part of a plan file one diagnostic shows; see the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct Excerpt {
    name: String,
    text: String,
    lines: Vec<ExLine>,
    windows: Vec<Range<usize>>,
    pub labels: Vec<LabelOut>,
}

/// Inputs shared by every excerpt of one file.
pub(crate) struct FileView<'a> {
    pub name: &'a str,
    pub text: &'a str,
    pub index: &'a LineIndex,
    /// Secret value spans, sorted by offset.
    pub secrets: &'a [Span],
    /// Also mask secret-looking values lexically (the file has no YAML tree to take them from).
    pub lexical: bool,
}

/// A label resolved against the real file.
struct Placed<'a> {
    label: &'a LabelIn<'a>,
    start: usize,
    end: usize,
    first_line: usize,
    last_line: usize,
    start_pos: Position,
}

impl FileView<'_> {
    fn place<'l>(&self, label: &'l LabelIn<'l>) -> Placed<'l> {
        let text = self.text;
        let start = floor_char_boundary(text, label.span.offset);
        let mut end =
            floor_char_boundary(text, label.span.offset.saturating_add(label.span.len)).max(start);
        let start_pos = self.index.locate(text, start);
        // A span that ends right after a line break ends on the line before.
        let end_pos = self
            .index
            .locate(text, if end > start { end - 1 } else { end });
        let mut last_line = end_pos.line.max(start_pos.line);
        if last_line - start_pos.line >= MAX_LABEL_LINES {
            last_line = start_pos.line + MAX_LABEL_LINES - 1;
            end = self.index.line_range(text, last_line).end.max(start);
        }
        Placed {
            label,
            start,
            end,
            first_line: start_pos.line,
            last_line,
            start_pos,
        }
    }

    /// Secret ranges on `line` (`range`), whose part `visible` is shown.
    fn secrets_on(
        &self,
        range: &Range<usize>,
        line: usize,
        visible: &Range<usize>,
    ) -> Vec<Range<usize>> {
        let from = self
            .secrets
            .partition_point(|s| s.offset + s.len <= range.start);
        let mut out: Vec<Range<usize>> = self.secrets[from..]
            .iter()
            .take_while(|s| s.offset < range.end.max(range.start + 1))
            .filter(|s| s.len > 0)
            .map(|s| s.offset.max(range.start)..(s.offset + s.len).min(range.end))
            .filter(|r| r.start < r.end)
            .collect();
        // Defence in depth: secret-looking values are masked by their look too, wherever
        // they are (inside another string, say). A file that did not parse has only this, so
        // its whole line is read; otherwise the visible part and some text before it.
        let window = if self.lexical {
            range.clone()
        } else {
            visible.start.saturating_sub(LEXICAL_PREFIX)..visible.end
        };
        out.extend(lexical_secrets(
            self.text,
            self.index,
            line,
            window,
            self.lexical,
        ));
        out.sort_by_key(|r| r.start);
        out
    }

    /// The excerpt for one diagnostic's labels (the primary one first).
    pub(crate) fn excerpt(&self, labels: &[LabelIn<'_>]) -> Excerpt {
        let placed: Vec<Placed<'_>> = labels
            .iter()
            .take(MAX_LABELS)
            .map(|l| self.place(l))
            .collect();
        // Group labels into windows of consecutive lines, in file order.
        let mut order: Vec<usize> = (0..placed.len()).collect();
        order.sort_by_key(|&i| (placed[i].start, i));
        // The empty "line" after a final line break is never shown (as miette does not); a
        // label there (end of file) points just past the last line shown.
        let mut last_line = self.index.lines() - 1;
        if last_line > 0 && self.index.line_range(self.text, last_line).is_empty() {
            last_line -= 1;
        }
        let mut groups: Vec<(usize, usize, Vec<usize>)> = Vec::new();
        for i in order {
            let p = &placed[i];
            let from = p.first_line.saturating_sub(1).min(last_line);
            let to = (p.last_line + 1).min(last_line);
            match groups.last_mut() {
                Some((_, end, members)) if from <= *end + 1 + MERGE_GAP => {
                    *end = (*end).max(to);
                    members.push(i);
                }
                _ => groups.push((from, to, vec![i])),
            }
        }
        // Render windows, the primary label's first; leave out related places past the budget.
        let mut rendered: Vec<Option<RenderedWindow>> = vec![None; groups.len()];
        let mut by_priority: Vec<usize> = (0..groups.len()).collect();
        by_priority.sort_by_key(|&g| !groups[g].2.iter().any(|&i| placed[i].label.primary));
        let mut budget = MAX_EXCERPT_BYTES;
        for g in by_priority {
            let (from, to, members) = &groups[g];
            let mut w = self.render_window(*from, *to, members, &placed);
            let first = rendered.iter().all(Option::is_none);
            if first && w.text.len() > budget && members.len() > 1 {
                // Too much around the primary label: show it alone.
                let primary: Vec<usize> = members
                    .iter()
                    .copied()
                    .filter(|&i| placed[i].label.primary)
                    .collect();
                if let Some(&i) = primary.first() {
                    let p = &placed[i];
                    let from = p.first_line.saturating_sub(1).min(last_line);
                    let to = (p.last_line + 1).min(last_line);
                    w = self.render_window(from, to, &primary, &placed);
                }
            }
            if !first && w.text.len() > budget {
                continue;
            }
            budget = budget.saturating_sub(w.text.len());
            rendered[g] = Some(w);
        }
        let mut ex = Excerpt {
            name: sanitize(self.name, 256, false).into_owned(),
            text: String::new(),
            lines: Vec::new(),
            windows: Vec::new(),
            labels: Vec::new(),
        };
        for w in rendered.into_iter().flatten() {
            let base = ex.text.len();
            let window = ex.windows.len();
            let first = ex.lines.len();
            for (range, line) in w.lines {
                ex.lines.push(ExLine {
                    range: base + range.start..base + range.end,
                    line,
                    window,
                });
            }
            ex.windows.push(first..ex.lines.len());
            ex.text.push_str(&w.text);
            for l in w.labels {
                ex.labels.push(LabelOut {
                    span: SourceSpan::new((base + l.span.offset()).into(), l.span.len()),
                    ..l
                });
            }
        }
        // Primary first, as given.
        ex.labels.sort_by_key(|l| !l.primary);
        ex
    }

    fn render_window(
        &self,
        from: usize,
        to: usize,
        members: &[usize],
        placed: &[Placed<'_>],
    ) -> RenderedWindow {
        let text = self.text;
        // The column clipped lines are centred on: the primary label's, else the first one's.
        let anchor = members
            .iter()
            .map(|&i| &placed[i])
            .find(|p| p.label.primary)
            .unwrap_or(&placed[members[0]]);
        let anchor_col = anchor.start_pos.column_bytes;
        let mut out = RenderedWindow::default();
        // (excerpt start, excerpt end) of each member label, filled line by line.
        let mut starts: Vec<Option<usize>> = vec![None; members.len()];
        let mut ends: Vec<Option<usize>> = vec![None; members.len()];
        for line in from..=to {
            let range = self.index.line_range(text, line);
            // Offsets on this line the excerpt must locate: label starts and ends.
            let mut wants: Vec<(usize, usize, bool)> = Vec::new(); // (offset, member, is_end)
            let mut primary_start = None;
            let mut first_start: Option<usize> = None;
            let mut continued = false;
            for (m, &i) in members.iter().enumerate() {
                let p = &placed[i];
                if p.first_line == line {
                    wants.push((p.start, m, false));
                    if p.label.primary {
                        primary_start = Some(p.start);
                    }
                    first_start = Some(first_start.map_or(p.start, |f| f.min(p.start)));
                }
                if p.last_line == line {
                    wants.push((p.end.min(range.end), m, true));
                }
                if p.first_line < line && line <= p.last_line {
                    continued = true;
                }
            }
            // Clipped lines centre on: the primary label, another label, the start of a
            // label continued from above, or the anchor column (context lines).
            let focus = primary_start.or(first_start).unwrap_or_else(|| {
                if continued {
                    range.start
                } else {
                    floor_char_boundary(text, range.start + anchor_col.min(range.end - range.start))
                }
            });
            let visible = clip(text, range.clone(), focus);
            let secrets = self.secrets_on(&range, line, &visible);
            let start_in_excerpt = out.text.len();
            let resolved = render_line(
                &mut out.text,
                text,
                range.clone(),
                visible,
                &secrets,
                &mut wants,
            );
            out.lines.push((start_in_excerpt..out.text.len(), line));
            out.text.push('\n');
            for (pos, m, is_end) in resolved {
                if is_end {
                    ends[m] = Some(pos);
                } else {
                    starts[m] = Some(pos);
                }
            }
        }
        for (m, &i) in members.iter().enumerate() {
            let p = &placed[i];
            let end_of_window = out.text.len();
            let s = starts[m].unwrap_or(end_of_window);
            let e = ends[m].unwrap_or(end_of_window).max(s);
            out.labels.push(LabelOut {
                span: SourceSpan::new(s.into(), e.saturating_sub(s)),
                note: p.label.note.to_string(),
                primary: p.label.primary,
                line: p.start_pos.line,
                column: p.start_pos.column_bytes,
            });
        }
        out
    }
}

#[derive(Debug, Clone, Default)]
struct RenderedWindow {
    text: String,
    lines: Vec<(Range<usize>, usize)>,
    labels: Vec<LabelOut>,
}

/// The part of a line shown: all of a short line; else up to LEFT_CONTEXT characters before
/// `focus` and MAX_COLUMNS in all.
fn clip(text: &str, range: Range<usize>, focus: usize) -> Range<usize> {
    let line = &text[range.clone()];
    // Widths as shown: an escaped character takes the width of its escape.
    let mut shown = 0;
    let short = line.len() <= MAX_COLUMNS / 10
        || line.chars().all(|c| {
            shown += width(c);
            shown <= MAX_COLUMNS
        });
    if short {
        return range;
    }
    let focus = floor_char_boundary(text, focus.clamp(range.start, range.end));
    // Back from the focus by LEFT_CONTEXT columns, then forward by MAX_COLUMNS.
    let mut from = focus;
    let mut left = 0;
    for (i, c) in text[range.start..focus].char_indices().rev() {
        left += width(c);
        if left > LEFT_CONTEXT {
            break;
        }
        from = range.start + i;
    }
    let mut to = range.end;
    let mut right = 0;
    for (i, c) in text[from..range.end].char_indices() {
        right += width(c);
        if right > MAX_COLUMNS {
            to = from + i;
            break;
        }
    }
    if to == range.end {
        // Near the end of the line: fill the width from the left instead.
        let mut back = 0;
        for (i, c) in line.char_indices().rev() {
            back += width(c);
            if back > MAX_COLUMNS {
                break;
            }
            from = from.min(range.start + i);
        }
    }
    from..to
}

/// Columns a character takes once shown (its escape, if it is escaped).
fn width(c: char) -> usize {
    if is_unsafe(c) && c != '\t' {
        c.escape_default().count()
    } else {
        1
    }
}

/// Appends the `visible` part of a line, escaped and masked, to `out`, marking cut text with
/// `…`; returns where each wanted offset landed, as (offset in `out`, member, is_end).
fn render_line(
    out: &mut String,
    text: &str,
    range: Range<usize>,
    visible: Range<usize>,
    secrets: &[Range<usize>],
    wants: &mut [(usize, usize, bool)],
) -> Vec<(usize, usize, bool)> {
    wants.sort_by_key(|w| w.0);
    let mut resolved = Vec::with_capacity(wants.len());
    let mut next_want = 0;
    let (from, to) = (visible.start, visible.end);
    let mut resolve_upto = |limit: usize, inclusive: bool, pos: usize, resolved: &mut Vec<_>| {
        while next_want < wants.len()
            && (wants[next_want].0 < limit || (inclusive && wants[next_want].0 == limit))
        {
            resolved.push((pos, wants[next_want].1, wants[next_want].2));
            next_want += 1;
        }
    };
    // Offsets before the visible part land on the leading `…`.
    resolve_upto(from, false, out.len(), &mut resolved);
    if from > range.start {
        out.push('…');
    }
    let mut secret = 0;
    let mut p = from;
    while p < to {
        resolve_upto(p, true, out.len(), &mut resolved);
        while secret < secrets.len() && secrets[secret].end <= p {
            secret += 1;
        }
        if let Some(s) = secrets.get(secret)
            && s.start <= p
        {
            // The rest of this secret on the visible part becomes `***`; a value continued
            // from an earlier line keeps its indentation.
            let end = ceil_char_boundary(text, s.end.min(to));
            let body = &text[p..end];
            let lead = if s.start < range.start {
                body.len() - body.trim_start_matches([' ', '\t']).len()
            } else {
                0
            };
            out.push_str(&body[..lead]);
            if lead < body.len() {
                out.push_str("***");
            }
            p = end;
            continue;
        }
        let Some(c) = text[p..].chars().next() else {
            break;
        };
        if is_unsafe(c) && c != '\t' {
            push_escaped(out, c);
        } else {
            out.push(c);
        }
        p += c.len_utf8();
    }
    resolve_upto(to, true, out.len(), &mut resolved);
    if to < range.end {
        out.push('…');
    }
    resolve_upto(usize::MAX, true, out.len(), &mut resolved);
    resolved
}

fn ceil_char_boundary(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

impl Excerpt {
    /// Index of the excerpt line holding byte `offset` of the excerpt text.
    fn line_of(&self, offset: usize) -> Option<usize> {
        let i = self.lines.partition_point(|l| l.range.start <= offset);
        (i > 0).then(|| i - 1)
    }
}

impl SourceCode for Excerpt {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset();
        let end = start + span.len();
        if end > self.text.len() {
            return Err(MietteError::OutOfBounds);
        }
        let first = self.line_of(start).ok_or(MietteError::OutOfBounds)?;
        let last = self
            .line_of(if end > start { end - 1 } else { start })
            .ok_or(MietteError::OutOfBounds)?;
        let window = self.lines[first].window;
        // Spans across two windows cannot be shown together: miette then keeps them apart.
        if self.lines[last].window != window {
            return Err(MietteError::OutOfBounds);
        }
        let w = &self.windows[window];
        let from = first.saturating_sub(context_lines_before).max(w.start);
        let to = (last + context_lines_after).min(w.end - 1);
        let data_start = self.lines[from].range.start;
        let data_end = (self.lines[to].range.end + 1).min(self.text.len());
        let column = if context_lines_before == 0 {
            self.labels
                .iter()
                .find(|l| l.span.offset() == start)
                .map_or(start - self.lines[first].range.start, |l| l.column)
        } else {
            0
        };
        let line = if context_lines_before == 0 {
            self.labels
                .iter()
                .find(|l| l.span.offset() == start)
                .map_or(self.lines[from].line, |l| l.line)
        } else {
            self.lines[from].line
        };
        // Read as "every line up to the end of this window": miette joins the labels of one
        // window into one snippet (as it does for a whole file) and never joins two windows.
        let line_count = self.lines[w.end - 1].line + 1 - self.lines[from].line;
        Ok(Box::new(
            MietteSpanContents::new_named(
                self.name.clone(),
                &self.text.as_bytes()[data_start..data_end],
                SourceSpan::new(data_start.into(), data_end - data_start),
                line,
                column,
                line_count,
            )
            .with_language("yaml"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_finds_lines_and_columns_past_checkpoints() {
        let mut text = String::new();
        for i in 0..500 {
            text.push_str(&format!("line {i} é\r\n"));
        }
        text.push_str("x\ry\n");
        text.push_str(&"w".repeat(5000));
        let index = LineIndex::new(&text);
        for offset in [
            0,
            1,
            10,
            1023,
            1024,
            1025,
            4000,
            text.len() - 10,
            text.len(),
        ] {
            let before = &text[..floor_char_boundary(&text, offset)];
            let mut line = 0;
            let mut start = 0;
            let b = before.as_bytes();
            for i in 0..b.len() {
                if is_break(text.as_bytes(), i) {
                    line += 1;
                    start = i + 1;
                }
            }
            let pos = index.locate(&text, before.len());
            assert_eq!((pos.line, pos.line_start), (line, start), "at {offset}");
            assert_eq!(pos.column_chars, before[start..].chars().count());
            assert_eq!(index.line_start(&text, line), Some(start));
        }
        assert_eq!(index.lines(), 503);
        let r = index.line_range(&text, 3);
        assert_eq!(&text[r], "line 3 é");
        let r = index.line_range(&text, 500);
        assert_eq!(&text[r], "x");
        let r = index.line_range(&text, 501);
        assert_eq!(&text[r], "y");
    }

    #[test]
    fn sanitize_escapes_and_bounds() {
        assert_eq!(sanitize("plain", 10, false), "plain");
        assert_eq!(
            sanitize("a\u{1b}]0;x\u{7}", 100, false),
            "a\\u{1b}]0;x\\u{7}"
        );
        assert_eq!(sanitize("a\nb", 100, true), "a\nb");
        assert_eq!(sanitize("a\nb", 100, false), "a\\nb");
        assert_eq!(sanitize(&"x".repeat(1000), 5, false), "xxxxx…");
        assert_eq!(sanitize("\u{202e}evil", 100, false), "\\u{202e}evil");
    }

    #[test]
    fn secret_keys() {
        for k in [
            "password",
            "Password",
            "db_passwd",
            "secret_key",
            "token",
            "sk",
            "api-key",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in ["name", "stage", "speed_limit", "source", "skip", "monkey"] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn lexical_masking_finds_values() {
        let l = lex_line("    source: {addrs: \"1:1\", password: 'hunter2'}");
        assert_eq!(l.masked.len(), 1);
        let line = "    source: {addrs: \"1:1\", password: 'hunter2'}";
        assert_eq!(&line[l.masked[0].clone()], "'hunter2'");
        let line = "  password: {value: hunter2, env: OK}";
        let l = lex_line(line);
        assert_eq!(
            l.masked
                .iter()
                .map(|r| &line[r.clone()])
                .collect::<Vec<_>>(),
            ["hunter2"]
        );
        let line = "  token: abc def # comment";
        let l = lex_line(line);
        assert_eq!(&line[l.masked[0].clone()], "abc def");
        assert!(lex_line("  password: |").opens);
        assert!(lex_line("  password:").opens);
        assert!(!lex_line("  name: x").opens);
    }
}
