//! `migplan schema [plan|status|validate|error]`: a JSON Schema, generated from the types that
//! are serialized, so the checked-in copies in `schemas/` cannot drift (CI compares them).

use std::io::Write;

use miette::IntoDiagnostic;
use schemars::JsonSchema;

use crate::cli::SchemaName;
use crate::exit::ExitStatus;

pub fn run(which: SchemaName) -> miette::Result<ExitStatus> {
    let schema = match which {
        SchemaName::Plan => migplan_parser::plan_schema(),
        SchemaName::Status => output_schema::<super::status::StatusOutput>("status"),
        SchemaName::Validate => output_schema::<super::validate::ValidateOutput>("validate"),
        SchemaName::Error => output_schema::<crate::failure::ErrorOutput>("error"),
    };
    let text = serde_json::to_string_pretty(&schema).into_diagnostic()?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{text}").into_diagnostic()?;
    Ok(ExitStatus::Success)
}

/// The draft 2020-12 schema of `T`, with the `$id` of its checked-in copy.
pub fn output_schema<T: JsonSchema>(name: &str) -> serde_json::Value {
    let mut value = schemars::generate::SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(obj) = value.as_object_mut() {
        obj.insert(
            "$id".into(),
            format!("https://migplan.dev/schemas/{name}.schema.json").into(),
        );
    }
    value
}
