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
#[doc(hidden)]
pub mod generate;
pub mod keyword;
pub mod spec;
mod suggest;
mod tree;
mod validate;

use std::path::Path;

pub use diagnostic::{Code, JsonDiagnostic, PlanDiagnostic, PlanErrors, SourceFile, Span};
pub use document::PlanDocument;
pub use keyword::{
    Keyword, OsType, RedisMethod, RedisStage, ResourceKind, ResumeMode, ServerStage, TaskType,
};
pub use spec::*;

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
    let source = SourceFile::new(name, text);
    let tree = match tree::parse_tree(&source) {
        Ok(t) => t,
        Err(d) => return Err(PlanErrors::new(source, vec![d])),
    };
    let mut decoder = decode::Decoder::new(&source);
    let document = decoder.document(&tree);
    let mut errors = decoder.errors;
    let Some(document) = document else {
        return Err(PlanErrors::new(source, errors));
    };
    let resolved = validate::resolve(&document, &mut errors);
    errors.extend(cycles::find_cycles(
        &resolved.spec,
        &resolved.dep_spans,
        &resolved.map,
    ));
    if errors.is_empty() {
        Ok(ParsedPlan {
            spec: resolved.spec,
            source_map: resolved.map,
            source,
        })
    } else {
        Err(PlanErrors::new(source, errors))
    }
}

/// Reads and validates a plan file; an unreadable file is a diagnostic too.
pub fn parse_file(path: &Path) -> Result<ParsedPlan, PlanErrors> {
    let name = path.display().to_string();
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&name, &text),
        Err(e) => Err(PlanErrors::new(
            SourceFile::new(name.clone(), String::new()),
            vec![PlanDiagnostic::new(
                Code::Io,
                format!("cannot read {name}: {e}"),
                Span::default(),
                "unreadable",
            )],
        )),
    }
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
