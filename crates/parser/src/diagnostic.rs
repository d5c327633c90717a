//! Plan-file diagnostics: one value type for every error the parser reports, rendered by miette.
//!
//! Every diagnostic carries a stable code, a one-line message, a primary labelled span on the
//! exact YAML text, optional secondary labels and a help line. Codes are part of the CLI's JSON
//! output contract (`migplan validate --format json`), so they never change meaning.

use std::fmt;
use std::sync::Arc;

use miette::{LabeledSpan, NamedSource, SourceSpan};
use serde::Serialize;

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
}

impl SourceFile {
    /// Wraps the file's display name (usually its path) and text.
    pub fn new(name: impl Into<String>, text: impl Into<String>) -> Self {
        SourceFile {
            name: Arc::from(name.into()),
            text: Arc::from(text.into()),
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
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.bytes().filter(|b| *b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        (line, before[line_start..].chars().count() + 1)
    }
    /// Byte offset of a 1-based line and character column (clamped to the text).
    pub fn offset_of(&self, line: usize, column: usize) -> usize {
        let mut start = 0;
        for _ in 1..line {
            match self.text[start..].find('\n') {
                Some(i) => start += i + 1,
                None => return self.text.len(),
            }
        }
        let rest = &self.text[start..];
        let end = rest.find('\n').unwrap_or(rest.len());
        rest[..end]
            .char_indices()
            .nth(column.saturating_sub(1))
            .map_or(start + end, |(i, _)| start + i)
    }
    fn named_source(&self) -> NamedSource<String> {
        NamedSource::new(&self.name, self.text.to_string()).with_language("yaml")
    }
}

impl fmt::Debug for SourceFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceFile")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
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

/// Every error found in one plan file, sorted by position, with the file they point into.
#[derive(Debug, Clone)]
pub struct PlanErrors {
    /// The file.
    pub source: SourceFile,
    /// The errors, in file order.
    pub diagnostics: Vec<PlanDiagnostic>,
}

impl PlanErrors {
    pub(crate) fn new(source: SourceFile, mut diagnostics: Vec<PlanDiagnostic>) -> Self {
        diagnostics.sort_by_key(|d| (d.span.offset, d.span.len));
        PlanErrors {
            source,
            diagnostics,
        }
    }

    /// Each diagnostic as a miette report bound to the file's text, ready to render.
    pub fn reports(&self) -> impl Iterator<Item = RenderableDiagnostic<'_>> {
        let named = Arc::new(self.source.named_source());
        self.diagnostics.iter().map(move |d| RenderableDiagnostic {
            diagnostic: d,
            source: Arc::clone(&named),
        })
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
                    message: d.message.clone(),
                    label: d.label.clone(),
                    help: d.help.clone(),
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
            self.source.name(),
            if n == 1 { "" } else { "s" }
        )
    }
}

impl std::error::Error for PlanErrors {}

/// One diagnostic in the JSON output of `migplan validate --format json`.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
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

/// A diagnostic bound to its source text, implementing [`miette::Diagnostic`].
pub struct RenderableDiagnostic<'a> {
    diagnostic: &'a PlanDiagnostic,
    source: Arc<NamedSource<String>>,
}

impl fmt::Debug for RenderableDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.diagnostic, f)
    }
}

impl fmt::Display for RenderableDiagnostic<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
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
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        Some(self.source.as_ref())
    }
    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let d = self.diagnostic;
        let primary =
            LabeledSpan::new_primary_with_span(Some(d.label.clone()), SourceSpan::from(d.span));
        let rest = d
            .related
            .iter()
            .map(|l| LabeledSpan::new_with_span(Some(l.note.clone()), SourceSpan::from(l.span)));
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }
}
