//! Plan-file diagnostics and command errors, drawn for people.
//!
//! Everything here may carry text from an untrusted plan file. The parser's reports are already
//! bounded (each excerpt a few lines, long lines clipped), escaped (control characters shown as
//! `\u{1b}`) and masked (inline secrets shown as `***`); this module adds the per-file limit on
//! how many are drawn, and escapes whatever text reaches [`report_error`].

use std::fmt;
use std::io::{IsTerminal, Write};

use miette::{Diagnostic, GraphicalReportHandler, GraphicalTheme, ThemeCharacters, ThemeStyles};
use migplan_parser::PlanErrors;

/// Diagnostics drawn per file in human form; the rest are counted in one line (the JSON output
/// lists them all). A file with more mistakes than this is generated or hostile, and a page of
/// them is what a person reads anyway.
pub const MAX_SHOWN: usize = 200;

/// Longest text of one error message, cause or help shown by [`report_error`].
const MAX_ERROR_TEXT: usize = 4096;

/// How diagnostics are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DiagnosticStyle {
    /// Unicode boxes, colour unless `NO_COLOR` is set.
    Graphical,
    /// ASCII only, no colour: stable in CI logs and files.
    Plain,
}

impl DiagnosticStyle {
    pub fn for_stderr() -> Self {
        if std::io::stderr().is_terminal() && !super::dumb_terminal() {
            DiagnosticStyle::Graphical
        } else {
            DiagnosticStyle::Plain
        }
    }
}

fn handler(style: DiagnosticStyle) -> GraphicalReportHandler {
    let theme = match style {
        DiagnosticStyle::Graphical if !super::no_color() => GraphicalTheme::unicode(),
        DiagnosticStyle::Graphical => GraphicalTheme::unicode_nocolor(),
        DiagnosticStyle::Plain => GraphicalTheme {
            characters: ThemeCharacters::ascii(),
            styles: ThemeStyles::none(),
        },
    };
    GraphicalReportHandler::new_themed(theme)
        .with_width(100)
        .with_links(false)
}

/// The diagnostics of a file, rendered with source excerpts: the first [`MAX_SHOWN`], then one
/// line saying how many more there are.
pub fn diagnostics(errors: &PlanErrors, style: DiagnosticStyle) -> String {
    let mut out = errors.render(&handler(style), MAX_SHOWN);
    let hidden = errors.diagnostics.len().saturating_sub(MAX_SHOWN);
    if hidden > 0 {
        out.push_str(&format!(
            "… and {hidden} more error{} not shown; `migplan validate --format json` lists them all\n\n",
            if hidden == 1 { "" } else { "s" }
        ));
    }
    out
}

/// A plan file that failed validation, reported by a command that needed it (`plan`, `graph`):
/// diagnostics on stderr, or the JSON diagnostics on stdout when JSON output was asked for.
pub fn plan_file_errors(
    errors: &PlanErrors,
    json: bool,
) -> miette::Result<crate::exit::ExitStatus> {
    if json {
        let failure = crate::failure::Failure::invalid_plan(errors, clean(&errors.to_string()));
        print_error_json(&crate::failure::to_json(&failure.into()));
    } else {
        print_diagnostics(errors)?;
    }
    Ok(crate::exit::ExitStatus::Error)
}

/// A file's diagnostics on stderr, styled for it, then the `FILE: N errors` line.
pub fn print_diagnostics(errors: &PlanErrors) -> miette::Result<()> {
    use miette::IntoDiagnostic;
    let mut err = std::io::stderr().lock();
    write!(
        err,
        "{}",
        diagnostics(errors, DiagnosticStyle::for_stderr())
    )
    .into_diagnostic()?;
    writeln!(err, "{errors}").into_diagnostic()
}

/// An error under `--format json`: one line on stdout.
pub fn print_error_json(out: &crate::failure::ErrorOutput) {
    if let Ok(line) = serde_json::to_string(out) {
        let _ = writeln!(std::io::stdout().lock(), "{line}");
    }
}

/// An error that ended a command. Its texts (message, causes, help, related errors) can quote
/// file names, file contents or API answers, so they are escaped and bounded first.
pub fn report_error(report: &miette::Report) {
    if let Some(f) = report.downcast_ref::<crate::failure::Failure>()
        && f.plain
    {
        let _ = writeln!(std::io::stderr().lock(), "Error: {}", clean(&f.to_string()));
        return;
    }
    let handler = handler(DiagnosticStyle::for_stderr());
    let shown = Shown::of(report.as_ref(), 0);
    let mut out = String::new();
    if handler.render_report(&mut out, &shown).is_err() {
        out = format!("Error: {}\n", shown.message);
    }
    let _ = write!(std::io::stderr().lock(), "{out}");
}

/// Escaped (`\u{1b}`, newlines and tabs kept) and cut to [`MAX_ERROR_TEXT`] characters.
pub fn clean_error_text(text: &str) -> String {
    clean(text)
}

fn clean(text: &str) -> String {
    let escaped = crate::untrusted::escape_controls(text);
    match escaped.char_indices().nth(MAX_ERROR_TEXT) {
        Some((i, _)) => format!("{}…", &escaped[..i]),
        None => escaped.into_owned(),
    }
}

/// A diagnostic's texts, cleaned, with the same shape for miette to draw: code, severity,
/// help, url, the chain of causes and related diagnostics. (No command error carries source
/// code; plan-file diagnostics go through [`diagnostics`].)
struct Shown {
    message: String,
    code: Option<String>,
    help: Option<String>,
    url: Option<String>,
    severity: Option<miette::Severity>,
    cause: Option<Box<Cause>>,
    related: Vec<Shown>,
}

/// One cause in the chain, cleaned.
#[derive(Debug)]
struct Cause {
    message: String,
    next: Option<Box<Cause>>,
}

impl fmt::Display for Cause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Cause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.next
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

/// A link of a cause chain: a diagnostic (which may have its own diagnostic source) or an
/// error.
enum Link<'a> {
    Diagnostic(&'a dyn Diagnostic),
    Error(&'a (dyn std::error::Error + 'static)),
}

impl Shown {
    fn of(d: &dyn Diagnostic, depth: usize) -> Shown {
        const MAX_CAUSES: usize = 32;
        const MAX_RELATED: usize = 32;
        let first = d
            .diagnostic_source()
            .map(Link::Diagnostic)
            .or_else(|| d.source().map(Link::Error));
        let mut messages = Vec::new();
        let mut link = first;
        while let Some(l) = link {
            if messages.len() == MAX_CAUSES {
                break;
            }
            let (text, next) = match l {
                Link::Diagnostic(x) => (
                    x.to_string(),
                    x.diagnostic_source()
                        .map(Link::Diagnostic)
                        .or_else(|| x.source().map(Link::Error)),
                ),
                Link::Error(x) => (x.to_string(), x.source().map(Link::Error)),
            };
            messages.push(clean(&text));
            link = next;
        }
        let cause = messages.into_iter().rev().fold(None, |next, message| {
            Some(Box::new(Cause { message, next }))
        });
        let related = if depth < 4 {
            d.related()
                .map(|r| {
                    r.take(MAX_RELATED)
                        .map(|r| Shown::of(r, depth + 1))
                        .collect()
                })
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        Shown {
            message: clean(&d.to_string()),
            code: d.code().map(|c| clean(&c.to_string())),
            help: d.help().map(|h| clean(&h.to_string())),
            url: d.url().map(|u| clean(&u.to_string())),
            severity: d.severity(),
            cause,
            related,
        }
    }
}

impl fmt::Debug for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Shown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.cause
            .as_deref()
            .map(|c| c as &(dyn std::error::Error + 'static))
    }
}

impl Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.code
            .as_ref()
            .map(|c| Box::new(c) as Box<dyn fmt::Display>)
    }
    fn severity(&self) -> Option<miette::Severity> {
        self.severity
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }
    fn url<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.url
            .as_ref()
            .map(|u| Box::new(u) as Box<dyn fmt::Display>)
    }
    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.related.is_empty() {
            return None;
        }
        Some(Box::new(self.related.iter().map(|r| r as &dyn Diagnostic)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_texts_are_escaped_and_bounded() {
        let hostile = "x\u{1b}]0;PWNED\u{7}\u{1b}[2J\u{9b}y";
        let report = miette::miette!(help = "see {hostile}", "cannot read {hostile}")
            .wrap_err(format!("outer {}", "z".repeat(10_000)));
        let shown = Shown::of(report.as_ref(), 0);
        let mut out = String::new();
        handler(DiagnosticStyle::Plain)
            .render_report(&mut out, &shown)
            .expect("renders");
        assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
        assert!(out.contains("\\u{1b}]0;PWNED"), "{out}");
        assert!(out.contains("cannot read x"), "{out}");
        assert!(out.len() < 6 * 1024, "{} bytes", out.len());
    }

    #[test]
    fn ordinary_errors_render_as_before() {
        let report = miette::miette!(help = "try again", "it broke").wrap_err("while working");
        let mut direct = String::new();
        handler(DiagnosticStyle::Plain)
            .render_report(&mut direct, report.as_ref())
            .expect("renders");
        let mut shown = String::new();
        handler(DiagnosticStyle::Plain)
            .render_report(&mut shown, &Shown::of(report.as_ref(), 0))
            .expect("renders");
        assert_eq!(direct, shown);
    }
}
