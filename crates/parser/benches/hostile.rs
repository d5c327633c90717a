//! Validation and rendering of hostile plan files: 25,000 errors, and a 50 MB plan whose entries
//! are all invalid (1.6 million diagnostics). Prints, for each, the time and peak heap of
//! validating (parse + checks), of rendering the human report (the first 200 diagnostics, as
//! the CLI does) and of building the JSON diagnostics (all of them), and the bytes each
//! produces. Also an alias bomb, a wide line and a huge scalar.
//!
//! Run: `cargo bench -p migplan-parser --bench hostile` (release build; figures only, no
//! pass/fail). `HOSTILE_MB=N` changes the size of the big plan (default 50).
#![allow(unsafe_code, clippy::print_stdout)] // a counting allocator; a bench prints its figures

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use miette::{GraphicalReportHandler, GraphicalTheme};

/// Counts live heap bytes and the peak since the last reset.
struct Counting;

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only adds atomic bookkeeping.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = CURRENT.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// What the CLI shows per file in human form.
const SHOWN: usize = 200;
const SENTINEL: &str = "SENTINEL-PASSWORD-";

/// Wall time and the peak heap above the starting level while `f` runs.
fn measure<T>(f: impl FnOnce() -> T) -> (T, Duration, usize) {
    let base = CURRENT.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let t = Instant::now();
    let out = f();
    let took = t.elapsed();
    (out, took, PEAK.load(Ordering::Relaxed) - base)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

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
        "25,000 errors",
        &migplan_parser::generate::many_errors(25_000),
    );
    case(
        &format!("{mb} MB of invalid entries"),
        &migplan_parser::generate::invalid_entries(mb * 1_000_000, SENTINEL),
    );
}
