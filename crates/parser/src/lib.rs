//! The migplan plan language: YAML plan files → a validated [`Spec`], or every error at once.
//!
//! Principal types:
//! - [`PlanDocument`]: the file as written (format version 1); the JSON Schema ([`plan_schema`])
//!   is generated from it.
//! - [`Spec`]: the validated plan the planner consumes (defaults applied, references resolved),
//!   with a [`SourceMap`] pointing each resource back at its YAML line.
//! - [`PlanErrors`]: every [`PlanDiagnostic`] of a file, each with a labelled span, renderable
//!   by miette or as JSON.
//!
//! Data flow: text → spanned YAML tree (serde-saphyr) → [`PlanDocument`] (shape errors) →
//! [`Spec`] (semantic errors) → dependency cycles. Nothing here does I/O besides
//! [`parse_file`] reading the file.
//!
//! A syntax error does not hide the rest: the entry holding it (one list item, or one
//! top-level key) is skipped and the file is parsed again, so its other mistakes are reported
//! too, at their places in the original file. Syntax diagnostics point at the character at
//! fault and are worded for plan authors, never with the YAML library's types or options.
//!
//! Plan files are untrusted input, and parsing fails closed: a file over [`MAX_PLAN_BYTES`],
//! one that is not UTF-8, alias bombs, nesting deeper than 64 levels, values over 64 KiB and
//! non-finite numbers are diagnostics, never panics, stack overflows or unbounded work; time
//! and memory are linear in the file. What a diagnostic shows of the file is bounded (a few
//! clipped lines around each label), control characters are escaped, and secret values
//! (inline passwords, anything under a key like `token`) are shown as `***`, in messages
//! and in JSON too.
//!
//! ```
//! let text = "version: 1\nname: demo\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n\
//! servers:\n  - name: web-01\n    target: {template: tpl-web}\n    stage: replicated\n";
//! let plan = migplan_parser::parse("demo.yaml", text).expect("valid");
//! assert_eq!(plan.spec.servers[0].name, "web-01");
//!
//! let errs = migplan_parser::parse("bad.yaml", "version: 1\nname: demo\n").unwrap_err();
//! assert_eq!(errs.diagnostics[0].code.as_str(), "migplan::plan::missing_field");
//! ```
#![deny(missing_docs)]

mod cycles;
mod decode;
pub mod diagnostic;
pub mod document;
mod excerpt;
#[doc(hidden)]
pub mod generate;
pub mod keyword;
mod recover;
pub mod spec;
mod suggest;
mod syntax;
mod tree;
mod validate;
pub mod window;

use std::path::Path;

pub use diagnostic::{Code, JsonDiagnostic, PlanDiagnostic, PlanErrors, SourceFile, Span};
pub use document::PlanDocument;
pub use keyword::{
    Keyword, OsType, RedisMethod, RedisStage, ResourceKind, ResumeMode, ServerStage, TaskType,
    TestMode,
};
pub use spec::*;
pub use window::{TimeOfDay, Weekday, WindowSpec};

/// The largest plan file read, in bytes (64 MiB).
///
/// A generated 12,000-resource fleet plan (10,000 servers with dependencies, 2,000 Redis
/// migrations, waves) is about 2 MB of YAML; hand-written plans are kilobytes. 64 MiB is thirty
/// times the largest realistic plan, while keeping the worst case bounded: parsing costs about
/// ten bytes of memory per byte of YAML, so a file at the cap stays well under a gigabyte.
/// Larger files are refused before they are read (a regular file says its size), and other
/// inputs (pipes, devices) are read no further than the cap.
pub const MAX_PLAN_BYTES: usize = 64 << 20;

/// A plan file that passed validation.
#[derive(Debug, Clone)]
pub struct ParsedPlan {
    /// The validated plan.
    pub spec: Spec,
    /// Where each resource was declared.
    pub source_map: SourceMap,
    /// The file's name and text.
    pub source: SourceFile,
}

/// Parses and validates plan text. `name` is how diagnostics refer to the file.
pub fn parse(name: &str, text: &str) -> Result<ParsedPlan, PlanErrors> {
    if text.len() > MAX_PLAN_BYTES {
        return Err(too_large(name, text.len() as u64));
    }
    let source = SourceFile::new(name, text);
    let parsed = recover::parse(&source);
    let Some(mut tree) = parsed.tree else {
        return Err(PlanErrors::new(source, parsed.syntax).lexical());
    };
    let mut errors = tree::duplicate_keys(&mut tree, &source);
    let secrets = tree::secret_spans(&tree);
    let long = tree::long_values(&tree);
    let mut decoder = decode::Decoder::new(&source);
    let document = decoder.document(tree);
    errors.append(&mut decoder.errors);
    errors.extend(long);
    let mut resolved = None;
    if let Some(document) = document {
        let r = validate::resolve(&document, &mut errors);
        errors.extend(cycles::find_cycles(&r.spec, &r.dep_spans, &r.map));
        resolved = Some(r);
    }
    // Checks that could be about lines skipped past a syntax error are not reported.
    errors.retain(|d| !recover::about_skipped(&parsed.skipped, d));
    errors.extend(parsed.syntax);
    match resolved {
        Some(resolved) if errors.is_empty() => Ok(ParsedPlan {
            spec: resolved.spec,
            source_map: resolved.map,
            source,
        }),
        _ => {
            let errors = PlanErrors::new(source, errors).with_secrets(secrets);
            // Skipped lines are not in the tree: their secrets are found by their look.
            Err(if parsed.skipped.is_empty() {
                errors
            } else {
                errors.lexical()
            })
        }
    }
}

fn too_large(name: &str, size: u64) -> PlanErrors {
    PlanErrors::new(
        SourceFile::new(name, String::new()),
        vec![
            PlanDiagnostic::new(
                Code::TooLarge,
                format!(
                    "the file is {} MiB; plan files are at most {} MiB",
                    size.div_ceil(1 << 20),
                    MAX_PLAN_BYTES >> 20
                ),
                Span::default(),
                "not read",
            )
            .with_help(
                "a plan for 12,000 resources is about 2 MB; split the migration into several plans",
            ),
        ],
    )
}

/// Reads and validates a plan file; an unreadable file, one larger than [`MAX_PLAN_BYTES`] and
/// one that is not UTF-8 text are diagnostics too. Never reads more than the cap.
pub fn parse_file(path: &Path) -> Result<ParsedPlan, PlanErrors> {
    use std::io::Read;
    let name = path.display().to_string();
    let unreadable = |e: std::io::Error| {
        PlanErrors::new(
            SourceFile::new(name.clone(), String::new()),
            vec![PlanDiagnostic::new(
                Code::Io,
                format!("cannot read {}: {e}", excerpt::quote(&name)),
                Span::default(),
                "unreadable",
            )],
        )
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    if let Ok(meta) = file.metadata()
        && meta.is_file()
        && meta.len() > MAX_PLAN_BYTES as u64
    {
        return Err(too_large(&name, meta.len()));
    }
    let mut bytes = Vec::new();
    file.take(MAX_PLAN_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() > MAX_PLAN_BYTES {
        return Err(too_large(&name, bytes.len() as u64));
    }
    match String::from_utf8(bytes) {
        Ok(text) => parse(&name, &text),
        Err(e) => Err(not_utf8(&name, e)),
    }
}

/// A file that is not UTF-8: one diagnostic at the first bad byte, shown on the text with
/// bad bytes replaced (U+FFFD), secrets masked by their look.
fn not_utf8(name: &str, e: std::string::FromUtf8Error) -> PlanErrors {
    let at = e.utf8_error().valid_up_to();
    let bad_len = e.utf8_error().error_len().unwrap_or(1);
    let bytes = e.into_bytes();
    let shown: String = bytes[at..at + bad_len]
        .iter()
        .map(|b| format!("\\x{b:02X}"))
        .collect();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    drop(bytes);
    // The lossy text keeps the valid prefix byte for byte; the first bad sequence became one
    // U+FFFD (3 bytes) right at `at`.
    let source = SourceFile::new(name, text);
    PlanErrors::new(
        source,
        vec![
            PlanDiagnostic::new(
                Code::Syntax,
                format!("the file is not UTF-8 text: invalid byte `{shown}`"),
                Span::new(at, '\u{fffd}'.len_utf8()),
                "not UTF-8",
            )
            .with_help("plan files are UTF-8 YAML; re-save the file as UTF-8"),
        ],
    )
    .lexical()
}

/// The JSON Schema (draft 2020-12) of the plan format, as `migplan schema` prints it.
pub fn plan_schema() -> serde_json::Value {
    let schema = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<PlanDocument>();
    let mut value = schema.to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".into(),
            "https://migplan.dev/schemas/plan.schema.json".into(),
        );
    }
    value
}
