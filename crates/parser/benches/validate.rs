//! Validation at fleet scale: a generated plan of 10,000 servers and 2,000 Redis migrations with
//! dependencies, defaults and waves. Prints the time to validate it (parse + decode + semantic
//! checks + cycle detection) beside the time to parse the same text into an untyped YAML value,
//! and the peak heap of each.
//!
//! Run: `cargo bench -p migplan-parser --bench validate` (release build; figures only, no
//! pass/fail).
#![allow(clippy::print_stdout)] // a bench prints its figures

#[path = "support/counting.rs"]
mod counting;

use std::time::Duration;

use counting::{measure, mib};

const SERVERS: usize = 10_000;
const REDIS: usize = 2_000;
const WAVES: usize = 10;

/// Best of `runs` wall times and the peak heap above the starting level during one run.
fn best_of<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut peak = 0;
    for _ in 0..runs {
        let (out, took, heap) = measure(&mut f);
        best = best.min(took);
        peak = peak.max(heap);
        drop(std::hint::black_box(out));
    }
    (best, peak)
}

fn main() {
    let text = migplan_parser::generate::fleet_plan(SERVERS, REDIS, WAVES);
    let plan = migplan_parser::parse("fleet.yaml", &text).expect("the generated plan is valid");
    assert_eq!(plan.spec.servers.len(), SERVERS);
    assert_eq!(plan.spec.redis.len(), REDIS);
    let deps: usize = plan.spec.servers.iter().map(|s| s.depends_on.len()).sum();
    drop(plan);

    let runs = 5;
    let (untyped, untyped_peak) = best_of(runs, || {
        serde_saphyr::from_str::<serde_json::Value>(&text).expect("parses")
    });
    let (validate, validate_peak) = best_of(runs, || {
        migplan_parser::parse("fleet.yaml", &text).expect("valid")
    });

    println!(
        "plan: {SERVERS} servers, {REDIS} redis, {WAVES} waves, {deps} dependencies, {:.1} MiB of YAML",
        mib(text.len())
    );
    println!(
        "untyped parse (serde-saphyr → serde_json::Value): {:>8.1} ms   peak heap {:>6.1} MiB",
        untyped.as_secs_f64() * 1e3,
        mib(untyped_peak)
    );
    println!(
        "migplan validate (parse + checks + cycles):        {:>8.1} ms   peak heap {:>6.1} MiB",
        validate.as_secs_f64() * 1e3,
        mib(validate_peak)
    );
    println!(
        "ratio validate / untyped parse: {:.2}x (target ≤ 3x); validate target < 500 ms",
        validate.as_secs_f64() / untyped.as_secs_f64()
    );
    println!("(best of {runs} runs each)");
}
