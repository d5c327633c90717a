//! Plan-file diagnostics: one value type for every error the parser reports, rendered by miette.
//!
//! Every diagnostic carries a stable code, a one-line message, a primary labelled span on the
//! exact YAML text, optional secondary labels and a help line. Codes are part of the CLI's JSON
//! output contract (`migplan validate --format json`), so they never change meaning.

use std::fmt;
use std::sync::{Arc, OnceLock};

use miette::{LabeledSpan, SourceSpan};
use serde::Serialize;

use crate::excerpt::{self, Excerpt, FileView, LabelIn, LineIndex};

/// A byte range in the plan file (offset and length in bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Default)]
pub struct Span {
    /// Byte offset of the first byte.
    pub offset: usize,
    /// Length in bytes (0 for a point).
    pub len: usize,
}

impl Span {
    /// A span starting at `offset`, `len` bytes long.
    pub fn new(offset: usize, len: usize) -> Self {
        Span { offset, len }
    }
}

impl From<Span> for SourceSpan {
    fn from(s: Span) -> Self {
        SourceSpan::new(s.offset.into(), s.len)
    }
}

/// The plan file a diagnostic points into: its display name and full text.
#[derive(Clone)]
pub struct SourceFile {
    name: Arc<str>,
    text: Arc<str>,
    /// Built on first use, once per file, shared by clones.
    index: Arc<OnceLock<LineIndex>>,
}

impl SourceFile {
    /// Wraps the file's display name (usually its path) and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: Arc::from(name.into()),
            text: Arc::from(text.into()),
            index: Arc::new(OnceLock::new()),
        }
    }
    /// The display name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The full text.
    pub fn text(&self) -> &str {
        &self.text
    }
    pub(crate) fn index(&self) -> &LineIndex {
        self.index.get_or_init(|| LineIndex::new(&self.text))
    }
    /// 1-based line and column (in characters) of a byte offset. Lines end at `\n`, `\r\n` or
    /// a lone `\r`, as in YAML. Reads at most a kilobyte of text, whatever the file's shape.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = excerpt::floor_char_boundary(&self.text, offset);
        let p = self.index().locate(&self.text, offset);
        (p.line + 1, p.column_chars + 1)
    }
    /// Byte offset of a 1-based line and character column (clamped to the text).
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let index = self.index();
        let line = line.max(1) - 1;
        if line >= index.lines() {
            return self.text.len();
        }
        let r = index.line_range(&self.text, line);
        self.text[r.clone()]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(r.end, |(i, _)| r.start + i)
    }
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// What kind of mistake a diagnostic reports. The snake_case name is the stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// The file is not valid YAML.
    Syntax,
    /// The file could not be read.
    Io,
    /// A key the format does not know.
    UnknownField,
    /// A required key is absent.
    MissingField,
    /// A value of the wrong YAML type.
    WrongType,
    /// A string outside its allowed set of values.
    InvalidValue,
    /// A number outside the range the API accepts.
    OutOfRange,
    /// A name with characters or length the API rejects.
    InvalidName,
    /// Two entries with the same name.
    DuplicateName,
    /// A reference to something that does not exist.
    UnknownReference,
    /// A stage name that does not exist for the resource kind.
    UnknownStage,
    /// Settings that cannot be used together.
    Conflict,
    /// A secret written inline instead of as a reference.
    InlineSecret,
    /// Dependencies that wait on each other.
    Cycle,
    /// The plan format version is not supported.
    UnsupportedVersion,
    /// The file is larger than a plan file can be ([`crate::MAX_PLAN_BYTES`]).
    TooLarge,
}

impl Code {
    /// The stable, namespaced code shown to users, e.g. `migplan::plan::unknown_field`.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "migplan::plan::syntax",
            Code::Io => "migplan::plan::io",
            Code::UnknownField => "migplan::plan::unknown_field",
            Code::MissingField => "migplan::plan::missing_field",
            Code::WrongType => "migplan::plan::wrong_type",
            Code::InvalidValue => "migplan::plan::invalid_value",
            Code::OutOfRange => "migplan::plan::out_of_range",
            Code::InvalidName => "migplan::plan::invalid_name",
            Code::DuplicateName => "migplan::plan::duplicate_name",
            Code::UnknownReference => "migplan::plan::unknown_reference",
            Code::UnknownStage => "migplan::plan::unknown_stage",
            Code::Conflict => "migplan::plan::conflict",
            Code::InlineSecret => "migplan::plan::inline_secret",
            Code::Cycle => "migplan::plan::cycle",
            Code::UnsupportedVersion => "migplan::plan::unsupported_version",
            Code::TooLarge => "migplan::plan::too_large",
        }
    }
}

/// A secondary label: a span with a short note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// Where.
    pub span: Span,
    /// What to say there.
    pub note: String,
}

/// One error in a plan file.
#[derive(Debug, Clone)]
pub struct PlanDiagnostic {
    /// Stable code.
    pub code: Code,
    /// One-line message.
    pub message: String,
    /// The exact text the error is about.
    pub span: Span,
    /// The note on the primary span.
    pub label: String,
    /// More places involved (e.g. the other duplicate, the other edges of a cycle).
    pub related: Vec<Label>,
    /// How to fix it, when we know.
    pub help: Option<String>,
}

impl PlanDiagnostic {
    /// A diagnostic with a primary span and its label.
    pub fn new(
        code: Code,
        message: impl Into<String>,
        span: Span,
        label: impl Into<String>,
    ) -> Self {
        PlanDiagnostic {
            code,
            message: message.into(),
            span,
            label: label.into(),
            related: Vec::new(),
            help: None,
        }
    }
    /// Adds a help line.
    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
    /// Adds a secondary label.
    pub fn with_related(mut self, span: Span, note: impl Into<String>) -> Self {
        self.related.push(Label {
            span,
            note: note.into(),
        });
        self
    }
}

/// Longest message kept (user text inside is already cut to a few dozen characters).
const MAX_MESSAGE_CHARS: usize = 1024;
/// Longest label note kept.
const MAX_LABEL_CHARS: usize = 256;
/// Longest help kept.
const MAX_HELP_CHARS: usize = 2048;

/// Every error found in one plan file, sorted by position, with the file they point into.
#[derive(Debug, Clone)]
pub struct PlanErrors {
    /// The file.
    pub source: SourceFile,
    /// The errors, in file order.
    pub diagnostics: Vec<PlanDiagnostic>,
    /// Spans of secret values in the file, sorted and disjoint: masked in every excerpt.
    secrets: Vec<Span>,
    /// The file has no YAML tree: secret-looking values are also masked lexically.
    lexical: bool,
}

fn bound(s: &mut String, max: usize, keep_layout: bool) {
    if let std::borrow::Cow::Owned(b) = excerpt::sanitize(s, max, keep_layout) {
        *s = b;
    }
}

impl PlanErrors {
    /// Sorts the diagnostics, and bounds and escapes their texts: whatever a file holds, a
    /// message is one line of printable text of bounded length.
    pub(crate) fn new(source: SourceFile, mut diagnostics: Vec<PlanDiagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.span.offset, d.span.len));
        for d in &mut diagnostics {
            bound(&mut d.message, MAX_MESSAGE_CHARS, false);
            bound(&mut d.label, MAX_LABEL_CHARS, false);
            if let Some(h) = &mut d.help {
                bound(h, MAX_HELP_CHARS, true);
            }
            for l in &mut d.related {
                bound(&mut l.note, MAX_LABEL_CHARS, false);
            }
        }
        PlanErrors {
            source,
            diagnostics,
            secrets: Vec::new(),
            lexical: false,
        }
    }

    /// Takes out of every message, label and help any secret written near the places it points
    /// at: a value that was meant as a password is never quoted, even when the file's shape
    /// makes it a key or part of another value.
    fn scrub(&mut self) {
        let text = self.source.text();
        for d in &mut self.diagnostics {
            let spans = std::iter::once(d.span).chain(d.related.iter().map(|l| l.span));
            let words = excerpt::secrets_near(text, &self.secrets, spans);
            if words.is_empty() {
                continue;
            }
            excerpt::scrub(&mut d.message, &words);
            excerpt::scrub(&mut d.label, &words);
            if let Some(h) = &mut d.help {
                excerpt::scrub(h, &words);
            }
            for l in &mut d.related {
                excerpt::scrub(&mut l.note, &words);
            }
        }
    }

    /// Records where secret values are written, to be masked in every excerpt.
    pub(crate) fn with_secrets(mut self, mut secrets: Vec<Span>) -> Self {
        secrets.sort_by_key(|s| s.offset);
        let mut merged: Vec<Span> = Vec::with_capacity(secrets.len());
        for s in secrets {
            match merged.last_mut() {
                Some(m) if s.offset <= m.offset + m.len => {
                    m.len = m.len.max(s.offset + s.len - m.offset);
                }
                _ => merged.push(s),
            }
        }
        self.secrets = merged;
        self.scrub();
        self
    }

    /// The file did not parse as YAML: mask secret-looking values by their look.
    pub(crate) fn lexical(mut self) -> Self {
        self.lexical = true;
        self.scrub();
        self
    }

    /// Spans of the secret values written in the file (inline passwords and the like), which
    /// every excerpt shows as `***`.
    pub fn secret_spans(&self) -> &[Span] {
        &self.secrets
    }

    /// Each diagnostic as a miette report with its own bounded, escaped and masked excerpt of
    /// the file, ready to render.
    pub fn reports(&self) -> impl Iterator<Item = RenderableDiagnostic<'_>> {
        let view = FileView {
            name: self.source.name(),
            text: self.source.text(),
            index: self.source.index(),
            secrets: &self.secrets,
            lexical: self.lexical,
        };
        self.diagnostics
            .iter()
            .map(move |d| RenderableDiagnostic::new(d, &view))
    }

    /// The first `max` diagnostics rendered by `handler`, each followed by a blank line.
    pub fn render(&self, handler: &miette::GraphicalReportHandler, max: usize) -> String {
        let mut out = String::new();
        for report in self.reports().take(max) {
            let before = out.len();
            if handler.render_report(&mut out, &report).is_err() {
                out.truncate(before);
                let (line, column) = self.source.line_col(report.diagnostic.span.offset);
                out.push_str(&format!(
                    "{}: {}:{line}:{column}: {}\n",
                    report.diagnostic.code.as_str(),
                    excerpt::sanitize(self.source.name(), 256, false),
                    report.diagnostic.message
                ));
            }
            out.push('\n');
        }
        out
    }

    /// Machine-readable form: file, line, column, code, message, help.
    pub fn to_json(&self) -> Vec<JsonDiagnostic> {
        self.diagnostics
            .iter()
            .map(|d| {
                let (line, column) = self.source.line_col(d.span.offset);
                JsonDiagnostic {
                    file: self.source.name().to_string(),
                    line,
                    column,
                    end_offset: d.span.offset + d.span.len,
                    offset: d.span.offset,
                    code: d.code.as_str(),
                    message: excerpt::sanitize(&d.message, MAX_MESSAGE_CHARS, false).into_owned(),
                    label: excerpt::sanitize(&d.label, MAX_LABEL_CHARS, false).into_owned(),
                    help: d
                        .help
                        .as_ref()
                        .map(|h| excerpt::sanitize(h, MAX_HELP_CHARS, true).into_owned()),
                }
            })
            .collect()
    }
}

impl fmt::Display for PlanErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.diagnostics.len();
        write!(
            f,
            "{}: {n} error{}",
            excerpt::sanitize(self.source.name(), 256, false),
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for PlanErrors {}

/// One diagnostic in the JSON output of `migplan validate --format json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, schemars::JsonSchema)]
pub struct JsonDiagnostic {
    /// File name as given on the command line.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
    /// Byte offset of the span start.
    pub offset: usize,
    /// Byte offset of the span end.
    pub end_offset: usize,
    /// Stable code.
    pub code: &'static str,
    /// One-line message.
    pub message: String,
    /// The note on the span.
    pub label: String,
    /// How to fix it, if known.
    pub help: Option<String>,
}

/// A diagnostic bound to an excerpt of its file, implementing [`miette::Diagnostic`].
pub struct RenderableDiagnostic<'a> {
    diagnostic: &'a PlanDiagnostic,
    excerpt: Excerpt,
}

impl<'a> RenderableDiagnostic<'a> {
    fn new(diagnostic: &'a PlanDiagnostic, view: &FileView<'_>) -> Self {
        let labels: Vec<LabelIn<'_>> = std::iter::once(LabelIn {
            span: diagnostic.span,
            note: &diagnostic.label,
            primary: true,
        })
        .chain(diagnostic.related.iter().map(|l| LabelIn {
            span: l.span,
            note: &l.note,
            primary: false,
        }))
        .collect();
        RenderableDiagnostic {
            diagnostic,
            excerpt: view.excerpt(&labels),
        }
    }
}

impl fmt::Debug for RenderableDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for RenderableDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&excerpt::sanitize(
            &self.diagnostic.message,
            MAX_MESSAGE_CHARS,
            false,
        ))
    }
}

impl std::error::Error for RenderableDiagnostic<'_> {}

impl miette::Diagnostic for RenderableDiagnostic<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        Some(Box::new(self.diagnostic.code.as_str()))
    }
    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.diagnostic
            .help
            .as_ref()
            .map(|h| Box::new(excerpt::sanitize(h, MAX_HELP_CHARS, true)) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(&self.excerpt)
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.excerpt.labels.iter().map(|l| {
            let note = excerpt::sanitize(&l.note, MAX_LABEL_CHARS, false).into_owned();
            if l.primary {
                LabeledSpan::new_primary_with_span(Some(note), l.span)
            } else {
                LabeledSpan::new_with_span(Some(note), l.span)
            }
        })))
    }
}
