//! Rendering of diagnostics and errors for people. Commands decide what to show; this module
//! decides how it looks (graphical on a terminal, plain text in CI, `NO_COLOR` respected).

pub mod events;
pub mod plan_human;
pub mod plan_markdown;
#[cfg(test)]
mod test_support;

use std::io::{IsTerminal, Write};

use miette::{GraphicalReportHandler, GraphicalTheme, ThemeCharacters, ThemeStyles};
use migplan_parser::PlanErrors;

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
        if std::io::stderr().is_terminal() {
            DiagnosticStyle::Graphical
        } else {
            DiagnosticStyle::Plain
        }
    }
}

fn handler(style: DiagnosticStyle) -> GraphicalReportHandler {
    let theme = match style {
        DiagnosticStyle::Graphical if std::env::var_os("NO_COLOR").is_none() => {
            GraphicalTheme::unicode()
        }
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

/// Every diagnostic of a file, rendered with source excerpts.
pub fn diagnostics(errors: &PlanErrors, style: DiagnosticStyle) -> String {
    let handler = handler(style);
    let mut out = String::new();
    for report in errors.reports() {
        // Rendering into a String cannot fail except through fmt::Error, which String never returns.
        let _ = handler.render_report(&mut out, &report);
        out.push('\n');
    }
    out
}

/// Whether stdout gets colour: a terminal, and `NO_COLOR` unset.
pub fn color_on_stdout() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
}

/// A plan file that failed validation, reported by a command that needed it (`plan`, `graph`):
/// diagnostics on stderr, or the JSON diagnostics on stdout when JSON output was asked for.
pub fn plan_file_errors(
    errors: &PlanErrors,
    json: bool,
) -> miette::Result<crate::exit::ExitStatus> {
    use miette::IntoDiagnostic;
    if json {
        let out = serde_json::json!({ "format_version": 1, "valid": false, "diagnostics": errors.to_json() });
        writeln!(std::io::stdout().lock(), "{out:#}").into_diagnostic()?;
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

/// An error that ended a command.
pub fn report_error(report: &miette::Report) {
    let handler = handler(DiagnosticStyle::for_stderr());
    let mut out = String::new();
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!("Error: {report}\n");
    }
    let _ = write!(std::io::stderr().lock(), "{out}");
}
