//! The human plan view: Terraform-style text for a terminal or a CI log.
//!
//! Reads only the [`Plan`] model; every value (diffs, labels, reasons, remedies) was computed by
//! the planner, so this view and the JSON output cannot disagree. Secrets never reach the model
//! except as `{env: NAME}` references.

use std::fmt::Write;

use std::collections::HashMap;

use migplan_planner::{Change, FieldDiff, Plan, ResourcePlan, Step, StepId};

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const CYAN: &str = "\x1b[36m";
const RED: &str = "\x1b[31m";
const DIM: &str = "\x1b[2m";

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, style: &str, text: &str) -> String {
        if self.on {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
    fn symbol(&self, symbol: &str) -> String {
        let style = match symbol {
            "+" => GREEN,
            "~" => YELLOW,
            ">" => CYAN,
            "!" => RED,
            _ => DIM,
        };
        self.wrap(style, symbol)
    }
}

/// Renders a plan for people. `color` adds ANSI colours (the caller decides: TTY, `NO_COLOR`).
pub fn render(plan: &Plan, color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = String::new();
    let shown: Vec<&ResourcePlan> = plan
        .resources
        .iter()
        .filter(|r| r.is_blocked() || !r.steps.is_empty())
        .collect();
    if let Some(note) = super::targeting_note(plan) {
        let _ = writeln!(out, "{}\n", paint.wrap(YELLOW, &format!("Warning: {note}")));
    }
    if !shown.is_empty() {
        let _ = writeln!(out, "migplan will perform the following steps:\n");
    }
    let steps = plan.steps_by_id();
    for r in shown {
        resource(&mut out, &steps, r, &paint);
    }
    waves(&mut out, plan, &paint);
    out.push_str(&summary_line(plan, color));
    out.push('\n');
    forecast(&mut out, plan, &paint);
    out
}

/// The finish, the critical path, and where a wait timeout detaches, when the plan has a
/// forecast and changes.
fn forecast(out: &mut String, plan: &Plan, paint: &Paint) {
    let Some(f) = plan.forecast.as_ref().filter(|_| plan.has_changes()) else {
        return;
    };
    let _ = writeln!(
        out,
        "{}",
        paint.wrap(BOLD, &super::forecast::forecast_line(f))
    );
    if let Some(path) = super::forecast::critical_path_text(f) {
        let _ = writeln!(out, "{}", paint.wrap(DIM, &path));
    }
    for line in super::forecast::detach_lines(f) {
        let _ = writeln!(out, "{}", paint.wrap(YELLOW, &line));
    }
}

fn resource(out: &mut String, steps: &HashMap<&StepId, &Step>, r: &ResourcePlan, paint: &Paint) {
    let head = format!("{}: {} → {}", r.addr, r.current.label(), r.desired);
    if r.is_blocked() {
        let _ = writeln!(
            out,
            "  {} {}",
            paint.wrap(BOLD, &head),
            paint.wrap(RED, &blocked_note(r))
        );
    } else {
        let _ = writeln!(out, "  {}", paint.wrap(BOLD, &head));
    }
    if let Some(f) = super::forecast::resource_text(r) {
        let style = if r.queue.is_some() { YELLOW } else { DIM };
        let _ = writeln!(out, "      {}", paint.wrap(style, &f));
    }
    for d in &r.diffs {
        let _ = writeln!(out, "      {} {}", paint.symbol(d.symbol()), field_line(d));
    }
    if let Some(n) = &r.network_check {
        let _ = writeln!(
            out,
            "      {}",
            paint.wrap(DIM, &format!("network check: {n}"))
        );
    }
    for id in &r.steps {
        if let Some(s) = steps.get(id) {
            if s.irreversible {
                let _ = writeln!(
                    out,
                    "    {} {}  {}",
                    paint.wrap(RED, "!"),
                    paint.wrap(BOLD, &s.label),
                    paint.wrap(RED, "(irreversible)")
                );
            } else {
                let _ = writeln!(out, "    {} {}", paint.symbol(&s.symbol), s.label);
            }
            if let Some(waits) = super::waits_for(s, steps) {
                let _ = writeln!(
                    out,
                    "        {}",
                    paint.wrap(DIM, &format!("waits for {waits}"))
                );
            }
        }
    }
    for b in &r.blocked {
        let _ = writeln!(out, "    {} {}", paint.wrap(RED, "✗"), b.message);
        let _ = writeln!(out, "      {} {}", paint.wrap(DIM, "→"), b.remedy);
    }
    out.push('\n');
}

/// The waves, in order, with their caps.
fn waves(out: &mut String, plan: &Plan, paint: &Paint) {
    if plan.waves.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "{}",
        paint.wrap(
            BOLD,
            "Waves (each starts once every member of the one before reached its stage):"
        )
    );
    for (i, w) in plan.waves.iter().enumerate() {
        let members: Vec<String> = w.members.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "  {}. {} ({}): {}",
            i + 1,
            w.name,
            super::wave_cap(w.max_parallel),
            members.join(", ")
        );
    }
    out.push('\n');
}

/// `(blocked)`, or `(blocked from `stopped`)` when earlier stages go ahead.
pub fn blocked_note(r: &ResourcePlan) -> String {
    match r.blocked_from() {
        Some(stage) => format!("(blocked from `{stage}`)"),
        None => "(blocked)".to_string(),
    }
}

fn field_line(d: &FieldDiff) -> String {
    let before = d.before.as_deref().unwrap_or("(none)");
    let after = d.after.as_deref().unwrap_or("(none)");
    match &d.change {
        Change::Create { .. } => format!("{} = {after}", d.field),
        Change::InPlace { .. } => format!("{}: {before} → {after}", d.field),
        Change::Forbidden { reason, .. } => {
            format!("{}: {before} → {after}  (refused: {reason})", d.field)
        }
    }
}

/// `Plan: 3 to create, 1 to update, 7 actions, 1 wait, 2 blocked.` or the no-changes sentence.
pub fn summary_line(plan: &Plan, color: bool) -> String {
    let s = plan.summary;
    if !plan.has_changes() && !plan.is_blocked() {
        if s.check > 0 {
            return format!(
                "No changes. Apply runs {}: data is compared again until what waits for it is done.",
                super::count(s.check, "check")
            );
        }
        return "No changes. Live state matches the plan.".into();
    }
    let mut line = format!(
        "Plan: {} to create, {} to update, {}, ",
        s.create,
        s.update,
        super::count(s.action, "action")
    );
    if s.irreversible > 0 {
        let irreversible = format!("{} irreversible", s.irreversible);
        if color {
            let _ = write!(line, "{RED}{irreversible}{RESET}, ");
        } else {
            let _ = write!(line, "{irreversible}, ");
        }
    }
    if s.wait > 0 {
        let _ = write!(line, "{}, ", super::count(s.wait, "wait"));
    }
    if s.check > 0 {
        let _ = write!(line, "{}, ", super::count(s.check, "check"));
    }
    let blocked = format!("{} blocked", s.blocked);
    if s.blocked > 0 && color {
        line.push_str(&format!("{RED}{blocked}{RESET}"));
    } else {
        line.push_str(&blocked);
    }
    line.push('.');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::plan_of;

    const REDIS: &str = "redis:\n  - name: sessions\n    method: incremental\n    resume_mode: auto\n    network: {vpc_id: v, subnet_id: s, security_group_id: g}\n    source: {addrs: \"10.0.0.1:6379\", password: {env: SECRET_VAR}}\n    target: {instance_id: inst-1}\n    stage: migrated\n";

    #[test]
    fn new_resource_shows_fields_steps_and_summary() {
        let text = render(&plan_of(REDIS), false);
        assert!(text.contains("redis.sessions: (new) → migrated"), "{text}");
        assert!(
            text.contains("+ source.password = {env: SECRET_VAR}"),
            "{text}"
        );
        assert!(text.contains("    + create DCS migration task\n"), "{text}");
        assert!(text.contains("    … wait for INCRMIGEATING\n"), "{text}");
        assert!(
            text.ends_with("Plan: 1 to create, 0 to update, 1 action, 1 wait, 0 blocked.\n"),
            "{text}"
        );
        assert!(!text.contains('\x1b'));
        assert!(render(&plan_of(REDIS), true).contains('\x1b'));
    }

    #[test]
    fn blocked_resource_shows_reason_and_remedy() {
        let text = render(
            &plan_of(
                "servers:\n  - name: web-01\n    target: {server_id: e, migration_ip: 10.0.0.1}\n    stage: replicated\n",
            ),
            false,
        );
        assert!(
            text.contains("server.web-01: (new) → replicated (blocked)"),
            "{text}"
        );
        assert!(
            text.contains("✗ source server `web-01` is not registered with SMS"),
            "{text}"
        );
        assert!(text.contains("→ install and start the SMS Agent"), "{text}");
        assert!(
            text.ends_with("Plan: 0 to create, 0 to update, 0 actions, 1 blocked.\n"),
            "{text}"
        );
    }

    #[test]
    fn irreversible_steps_are_marked_and_counted_and_waits_named() {
        let body = "servers:\n  - name: db-01\n    target: {template: tpl}\n    stage: cutover\n  - name: web-01\n    target: {template: tpl}\n    stage: cutover\n    depends_on: [{cutover: server.db-01}]\nwaves:\n  - {name: first, members: [server.db-01], max_parallel: 1}\n  - {name: second, members: [server.web-01]}\n";
        let text = render(&crate::render::test_support::ready_plan_of(body), false);
        assert!(text.contains("    ! cutover  (irreversible)"), "{text}");
        assert!(
            text.contains("        waits for server.db-01 cutover"),
            "{text}"
        );
        assert!(
            text.contains("  1. first (at most 1 at a time): server.db-01"),
            "{text}"
        );
        assert!(
            text.contains("  2. second (no cap): server.web-01"),
            "{text}"
        );
        assert!(text.contains(" actions, 2 irreversible, "), "{text}");
    }

    #[test]
    fn a_targeted_plan_says_so() {
        let mut plan = plan_of(REDIS);
        assert!(!render(&plan, false).contains("targeting"));
        plan.targets = vec![migplan_parser::ResourceAddr::redis("sessions")];
        let text = render(&plan, false);
        assert!(
            text.starts_with("Warning: resource targeting is in effect (`redis.sessions`)"),
            "{text}"
        );
        let md = super::super::plan_markdown::render(&plan);
        assert!(
            md.contains("> [!WARNING]\n> resource targeting is in effect"),
            "{md}"
        );
    }

    #[test]
    fn empty_plan_says_no_changes() {
        assert_eq!(
            render(&plan_of(""), false),
            "No changes. Live state matches the plan.\n"
        );
    }
}
