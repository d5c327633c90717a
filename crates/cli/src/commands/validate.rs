//! `migplan validate PLAN...`: offline checks, every error of every file at once.

use std::io::Write;
use std::path::PathBuf;

use miette::IntoDiagnostic;
use schemars::JsonSchema;
use serde::Serialize;

use crate::cli::DiagnosticFormat;
use crate::exit::ExitStatus;
use crate::render;

/// One file's result in `validate --format json`.
#[derive(Serialize, JsonSchema)]
pub struct FileResult {
    /// The file as named on the command line.
    file: String,
    /// Whether it has no diagnostics.
    valid: bool,
    /// Servers declared (0 when invalid).
    servers: usize,
    /// Redis migrations declared (0 when invalid).
    redis: usize,
    /// Every diagnostic, in file order.
    diagnostics: Vec<migplan_parser::JsonDiagnostic>,
}

/// `validate --format json`, described by schemas/validate.schema.json.
#[derive(Serialize, JsonSchema)]
#[schemars(title = "migplan validate --format json")]
pub struct ValidateOutput {
    /// 1; raised only on an incompatible change.
    #[schemars(range(min = 1, max = 1))]
    format_version: u32,
    /// Whether every file is valid (the exit code is 0 exactly then).
    valid: bool,
    files: Vec<FileResult>,
}

pub fn run(plans: &[PathBuf], format: DiagnosticFormat) -> miette::Result<ExitStatus> {
    let mut files = Vec::with_capacity(plans.len());
    let mut stdout = std::io::stdout().lock();
    for path in plans {
        let name = path.display().to_string();
        match migplan_parser::parse_file(path) {
            Ok(plan) => {
                if format == DiagnosticFormat::Human {
                    writeln!(
                        stdout,
                        "{name}: valid ({} server{}, {} redis, {} wave{})",
                        plan.spec.servers.len(),
                        plural(plan.spec.servers.len()),
                        plan.spec.redis.len(),
                        plan.spec.waves.len(),
                        plural(plan.spec.waves.len()),
                    )
                    .into_diagnostic()?;
                }
                files.push(FileResult {
                    file: name,
                    valid: true,
                    servers: plan.spec.servers.len(),
                    redis: plan.spec.redis.len(),
                    diagnostics: Vec::new(),
                });
            }
            Err(errors) => {
                if format == DiagnosticFormat::Human {
                    render::print_diagnostics(&errors)?;
                }
                files.push(FileResult {
                    file: name,
                    valid: false,
                    servers: 0,
                    redis: 0,
                    diagnostics: errors.to_json(),
                });
            }
        }
    }
    let valid = files.iter().all(|f| f.valid);
    if format == DiagnosticFormat::Json {
        let out = ValidateOutput {
            format_version: 1,
            valid,
            files,
        };
        let text = serde_json::to_string_pretty(&out).into_diagnostic()?;
        writeln!(stdout, "{text}").into_diagnostic()?;
    }
    Ok(if valid {
        ExitStatus::Success
    } else {
        ExitStatus::Error
    })
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
