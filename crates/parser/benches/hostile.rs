//! Validation and rendering of hostile plan files: 25,000 errors, and a 50 MB plan whose entries
//! are all invalid (1.6 million diagnostics). Prints, for each, the time and peak heap of
//! validating (parse + checks), of rendering the human report (the first 200 diagnostics, as
//! the CLI does) and of building the JSON diagnostics (all of them), and the bytes each
//! produces. Also an alias bomb, a wide line, a huge scalar, and a big plan ending in syntax
//! errors (each skipped one costs one more parse, 64 MiB parsed again at most).
//!
//! Run: `cargo bench -p migplan-parser --bench hostile` (release build; figures only, no
//! pass/fail). `HOSTILE_MB=N` changes the size of the big plan (default 50).
#![allow(clippy::print_stdout)] // a bench prints its figures

#[path = "support/counting.rs"]
mod counting;

use counting::{measure, mib};
use miette::{GraphicalReportHandler, GraphicalTheme};

/// What the CLI shows per file in human form.
const SHOWN: usize = 200;
const SENTINEL: &str = "SENTINEL-PASSWORD-";

fn case(label: &str, text: &str) {
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_width(100)
        .with_links(false);
    let (errors, validate, validate_peak) =
        measure(|| migplan_parser::parse("hostile.yaml", text).expect_err("invalid"));
    let (human, render, render_peak) = measure(|| errors.render(&handler, SHOWN));
    let (json, to_json, json_peak) =
        measure(|| serde_json::to_string(&errors.to_json()).expect("serializes"));
    let leaks = human.contains(SENTINEL) || json.contains(SENTINEL);
    let raw_controls = human
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t');
    println!(
        "{label}: {:.1} MiB of YAML, {} diagnostics",
        mib(text.len()),
        errors.diagnostics.len()
    );
    println!(
        "  validate            {:>9.1} ms   peak heap {:>8.1} MiB ({:.1}x the file)",
        validate.as_secs_f64() * 1e3,
        mib(validate_peak),
        validate_peak as f64 / text.len() as f64
    );
    println!(
        "  render (first {SHOWN})  {:>9.1} ms   peak heap {:>8.1} MiB   output {:>9} bytes ({} per diagnostic shown)",
        render.as_secs_f64() * 1e3,
        mib(render_peak),
        human.len(),
        human.len() / errors.diagnostics.len().clamp(1, SHOWN)
    );
    println!(
        "  JSON (all)          {:>9.1} ms   peak heap {:>8.1} MiB   output {:>9} bytes",
        to_json.as_secs_f64() * 1e3,
        mib(json_peak),
        json.len()
    );
    println!("  secret shown: {leaks}; raw control characters shown: {raw_controls}");
}

fn main() {
    let mb: usize = std::env::var("HOSTILE_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    case("alias bomb", &migplan_parser::generate::alias_bomb());
    case(
        "one 1 MB line, errors at its far end",
        &migplan_parser::generate::wide_line(1_000_000, SENTINEL),
    );
    case(
        &format!("one {mb} MB scalar"),
        &migplan_parser::generate::huge_scalar(mb * 1_000_000),
    );
    case(
        &format!("{mb} MB plan ending in 30 broken entries"),
        &migplan_parser::generate::broken_tail(mb * 1_000_000, 30),
    );
    case(
        "25,000 errors",
        &migplan_parser::generate::many_errors(25_000),
    );
    case(
        &format!("{mb} MB of invalid entries"),
        &migplan_parser::generate::invalid_entries(mb * 1_000_000, SENTINEL),
    );
}
