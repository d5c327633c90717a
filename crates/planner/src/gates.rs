//! Gates on irreversible steps.
//!
//! **Verified data.** A Redis migration's `verify` check gates what waits for stage
//! `verified`. Nothing live records a comparison, so the check is planned on every run while
//! the migration is live, until every resource waiting on it has passed the stage that waited
//! (then the gate has served: after a cutover the application writes to the target, and a
//! comparison with the source would fail for the right reasons).
//!
//! **Maintenance windows.** A resource's maintenance window (its own `window`, else its
//! wave's). Reversible work is never held. While the window is closed, the resource's steps
//! from the stage of its first irreversible step on are held, and the resource is blocked
//! from that stage, naming the next opening (dependents waiting on that stage are held in
//! turn). While it is open, each irreversible step carries the closing instant, and apply
//! starts none after it.

use std::collections::HashMap;

use jiff::Timestamp;
use migplan_parser::{ResourceAddr, Spec, WindowSpec};

use migplan_parser::{RedisStage, Stage};

use crate::blocked::BlockedReason;
use crate::step::StepClass;
use crate::window::{WindowState, show, window_state};
use crate::wiring::Item;

/// Holds or stamps the irreversible steps of every windowed resource in `items`.
pub(crate) fn apply_windows(spec: &Spec, items: &mut [Item<'_>], now: Option<Timestamp>) {
    if spec.windows.is_empty() {
        return;
    }
    let by_name: HashMap<&str, &WindowSpec> =
        spec.windows.iter().map(|w| (w.name.as_str(), w)).collect();
    let mut window_of: HashMap<ResourceAddr, &str> = HashMap::new();
    for w in &spec.waves {
        if let Some(name) = &w.window {
            for m in &w.members {
                window_of.insert(m.clone(), name);
            }
        }
    }
    for s in &spec.servers {
        if let Some(name) = &s.window {
            window_of.insert(ResourceAddr::server(&s.name), name);
        }
    }
    for r in &spec.redis {
        if let Some(name) = &r.window {
            window_of.insert(ResourceAddr::redis(&r.name), name);
        }
    }
    for it in items.iter_mut() {
        let Some(w) = window_of
            .get(&it.plan.addr)
            .and_then(|name| by_name.get(name))
        else {
            continue;
        };
        if it.root.is_some() {
            continue; // blocked already: no steps to gate
        }
        let Some(first) = it.steps.iter().position(|s| s.irreversible) else {
            continue; // nothing irreversible left to do
        };
        let state = now.and_then(|t| window_state(w, t));
        match state {
            Some(WindowState::Open { closes_at }) => {
                let by = show(&closes_at);
                for s in it.steps.iter_mut().filter(|s| s.irreversible) {
                    s.start_before = Some(by.clone());
                }
            }
            closed => {
                let Some(from) = it.steps[first].stage else {
                    continue;
                };
                let opens_at = match closed {
                    Some(WindowState::Closed { opens_at }) => Some(show(&opens_at)),
                    _ => None,
                };
                it.drop_steps_from(from);
                it.plan.blocked.push(
                    BlockedReason::WindowClosed {
                        window: w.name.clone(),
                        opens_at,
                        from,
                    }
                    .into(),
                );
                it.root = Some(it.plan.addr.clone());
                it.blocked_from = Some(from);
            }
        }
    }
}

/// Drops the `verify` check of each Redis migration whose dependents have all passed the
/// stage that waited for `verified` (see the module docs). A migration nothing waits on keeps
/// its check: the plan asked for verified data itself.
pub(crate) fn drop_served_checks(items: &mut [Item<'_>], pos: &HashMap<ResourceAddr, usize>) {
    // For each Redis item with a check: (waiting dependencies, of which served).
    let mut tally: HashMap<usize, (usize, usize)> = HashMap::new();
    for it in items.iter() {
        for d in &it.deps {
            let Some(&o) = pos.get(&d.on) else { continue };
            let on = &items[o];
            let waits_for = d.on_stage.unwrap_or(on.plan.desired);
            let gated = matches!(waits_for, Stage::Redis(s) if s >= RedisStage::Verified);
            if !gated || !on.steps.iter().any(|s| s.class() == StepClass::Check) {
                continue;
            }
            let served = match d.stage {
                Some(stage) => it.reached(stage),
                None => it.steps.is_empty() && it.root.is_none(),
            };
            let t = tally.entry(o).or_default();
            t.0 += 1;
            t.1 += usize::from(served);
        }
    }
    for (o, (waiting, served)) in tally {
        if waiting == served {
            items[o].steps.retain(|s| s.class() != StepClass::Check);
        }
    }
}
