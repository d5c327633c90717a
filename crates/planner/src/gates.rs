//! Gates on irreversible steps: a resource's maintenance window (its own `window`, else its
//! wave's). Reversible work is never held. While the window is closed, the resource's steps
//! from the stage of its first irreversible step on are held, and the resource is blocked
//! from that stage, naming the next opening (dependents waiting on that stage are held in
//! turn). While it is open, each irreversible step carries the closing instant, and apply
//! starts none after it.

use std::collections::HashMap;

use jiff::Timestamp;
use migplan_parser::{ResourceAddr, Spec, WindowSpec};

use crate::blocked::BlockedReason;
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
