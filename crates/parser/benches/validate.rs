//! Validation at fleet scale: a generated plan of 10,000 servers and 2,000 Redis migrations with
//! dependencies, defaults and waves. Prints the time to validate it (parse + decode + semantic
//! checks + cycle detection) beside the time to parse the same text into an untyped YAML value,
//! and the peak heap of each.
//!
//! Run: `cargo bench -p migplan-parser --bench validate` (release build; figures only, no
//! pass/fail).
#![allow(unsafe_code, clippy::print_stdout)] // a counting allocator; a bench prints its figures

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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

const SERVERS: usize = 10_000;
const REDIS: usize = 2_000;
const WAVES: usize = 10;

/// Best of `runs` wall times and the peak heap above the starting level during one run.
fn measure<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, usize) {
    let mut best = Duration::MAX;
    let mut peak = 0;
    for _ in 0..runs {
        let base = CURRENT.load(Ordering::Relaxed);
        PEAK.store(base, Ordering::Relaxed);
        let t = Instant::now();
        let out = f();
        best = best.min(t.elapsed());
        peak = peak.max(PEAK.load(Ordering::Relaxed) - base);
        drop(std::hint::black_box(out));
    }
    (best, peak)
}

fn mib(bytes: usize) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

fn main() {
    let text = migplan_parser::generate::fleet_plan(SERVERS, REDIS, WAVES);
    let plan = migplan_parser::parse("fleet.yaml", &text).expect("the generated plan is valid");
    assert_eq!(plan.spec.servers.len(), SERVERS);
    assert_eq!(plan.spec.redis.len(), REDIS);
    let deps: usize = plan.spec.servers.iter().map(|s| s.depends_on.len()).sum();
    drop(plan);

    let runs = 5;
    let (untyped, untyped_peak) = measure(runs, || {
        serde_saphyr::from_str::<serde_json::Value>(&text).expect("parses")
    });
    let (validate, validate_peak) = measure(runs, || {
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
