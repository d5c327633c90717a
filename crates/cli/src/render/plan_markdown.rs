//! The markdown plan view: ready to paste as a pull-request comment (summary table, one
//! `<details>` per resource with a ```diff block). Reads only the [`Plan`] model; secrets appear
//! only as `{env: NAME}` references.

use std::fmt::Write;

use std::collections::HashMap;

use migplan_planner::{Plan, ResourcePlan};
use migplan_planner::{Step, StepId};

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// Renders a plan as GitHub-flavoured markdown.
pub fn render(plan: &Plan) -> String {
    let s = plan.summary;
    let mut out = String::new();
    let _ = writeln!(out, "### migplan plan `{}`\n", plan.name);
    if let Some(note) = super::targeting_note(plan) {
        let _ = writeln!(out, "> [!WARNING]\n> {note}\n");
    }
    irreversible_alert(&mut out, plan);
    if !plan.has_changes() && !plan.is_blocked() && s.check == 0 {
        out.push_str("**No changes.** Live state matches the plan.\n");
        return out;
    }
    if s.check > 0 {
        let _ = writeln!(
            out,
            "Apply runs {} (data comparisons that change nothing; a failed one holds what waits for it).\n",
            super::count(s.check, "check")
        );
    }
    let _ = writeln!(
        out,
        "| create | update | actions | irreversible | waits | blocked | unchanged |\n|---:|---:|---:|---:|---:|---:|---:|\n| {} | {} | {} | {} | {} | {} | {} |\n",
        s.create, s.update, s.action, s.irreversible, s.wait, s.blocked, s.unchanged
    );
    let shown: Vec<&ResourcePlan> = plan
        .resources
        .iter()
        .filter(|r| r.is_blocked() || !r.steps.is_empty())
        .collect();
    out.push_str("| resource | current | desired | steps | status |\n|---|---|---|---:|---|\n");
    for r in &shown {
        let mut status = match (r.is_blocked(), r.blocked_from()) {
            (true, Some(stage)) => format!("⛔ blocked from `{stage}`"),
            (true, None) => "⛔ blocked".to_string(),
            (false, _) => "changes".to_string(),
        };
        if let Some(f) = super::forecast::resource_text(r) {
            status.push_str(&format!(" · {f}"));
        }
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} | {} |",
            r.addr,
            cell(&r.current.label()),
            r.desired,
            r.steps.len(),
            status
        );
    }
    out.push('\n');
    let steps = plan.steps_by_id();
    for r in shown {
        details(&mut out, &steps, r);
    }
    waves(&mut out, plan);
    let _ = writeln!(
        out,
        "**Plan:** {} to create, {} to update, {} ({} irreversible), {}, {} blocked.",
        s.create,
        s.update,
        super::count(s.action, "action"),
        s.irreversible,
        super::count(s.wait, "wait"),
        s.blocked
    );
    if let Some(f) = plan.forecast.as_ref().filter(|_| plan.has_changes()) {
        let line = super::forecast::forecast_line(f);
        let line = line.strip_prefix("Forecast: ").unwrap_or(&line);
        let _ = writeln!(out, "\n**Forecast:** {}", cell(line));
        if let Some(path) = super::forecast::critical_path_text(f) {
            let path = path.strip_prefix("Critical path: ").unwrap_or(&path);
            let _ = writeln!(out, "\n**Critical path:** {}", cell(path));
        }
        for line in super::forecast::detach_lines(f) {
            let _ = writeln!(out, "\n> [!NOTE]\n> {}", cell(&line));
        }
    }
    out
}

/// First thing a reviewer reads: the steps that cannot be taken back.
fn irreversible_alert(out: &mut String, plan: &Plan) {
    let steps: Vec<String> = plan
        .steps
        .iter()
        .filter(|s| s.irreversible)
        .map(|s| match &s.resource {
            Some(r) => format!("`{r}` {}", s.label),
            None => s.label.clone(),
        })
        .collect();
    if steps.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "> [!CAUTION]\n> **{} irreversible step{}**, which cannot be taken back once applied: {}.\n",
        steps.len(),
        if steps.len() == 1 { "" } else { "s" },
        steps.join(", ")
    );
}

/// The waves as a table, in order, with their caps.
fn waves(out: &mut String, plan: &Plan) {
    if plan.waves.is_empty() {
        return;
    }
    out.push_str("**Waves** (each starts once every member of the one before reached its stage):\n\n| # | wave | cap | members |\n|---:|---|---|---|\n");
    for (i, w) in plan.waves.iter().enumerate() {
        let members: Vec<String> = w.members.iter().map(|m| format!("`{m}`")).collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            i + 1,
            cell(&w.name),
            super::wave_cap(w.max_parallel),
            members.join(", ")
        );
    }
    out.push('\n');
}

fn details(out: &mut String, steps: &HashMap<&StepId, &Step>, r: &ResourcePlan) {
    let _ = writeln!(
        out,
        "<details><summary><code>{}</code>: {} → {}{}</summary>\n",
        r.addr,
        html(&r.current.label()),
        r.desired,
        if r.is_blocked() { " ⛔" } else { "" }
    );
    if !r.diff_text.is_empty() {
        let _ = writeln!(out, "```diff\n{}```\n", r.diff_text);
    }
    if let Some(n) = &r.network_check {
        let _ = writeln!(out, "Network check: {}\n", html(n));
    }
    if !r.steps.is_empty() {
        out.push_str("Steps:\n\n");
        for (i, id) in r.steps.iter().enumerate() {
            if let Some(s) = steps.get(id) {
                let mark = if s.irreversible {
                    " ⚠️ **irreversible**"
                } else {
                    ""
                };
                let waits = super::waits_for(s, steps)
                    .map(|w| format!(" — waits for {w}"))
                    .unwrap_or_default();
                let _ = writeln!(out, "{}. `{}` {}{mark}{waits}", i + 1, s.symbol, s.label);
            }
        }
        out.push('\n');
    }
    for b in &r.blocked {
        let _ = writeln!(
            out,
            "- **Blocked:** {}  \n  _Remedy:_ {}",
            b.message, b.remedy
        );
    }
    out.push_str("\n</details>\n\n");
}

fn html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::test_support::plan_of;

    #[test]
    fn summary_table_details_and_diff_block() {
        let body = "redis:\n  - name: sessions\n    method: full\n    resume_mode: auto\n    network: {vpc_id: v, subnet_id: s, security_group_id: g}\n    source: {addrs: \"10.0.0.1:6379\", password: {env: SECRET_VAR}}\n    target: {instance_id: inst-1}\n    stage: migrated\nservers:\n  - name: web-01\n    target: {server_id: e, migration_ip: 10.0.0.1}\n    stage: replicated\n";
        let md = render(&plan_of(body));
        assert!(md.starts_with("### migplan plan `t`\n"), "{md}");
        assert!(md.contains("| 1 | 0 | 1 | 0 | 1 | 1 | 0 |"), "{md}");
        assert!(
            !md.contains("[!CAUTION]"),
            "nothing irreversible here: {md}"
        );
        assert!(
            md.contains(
                "<details><summary><code>redis.sessions</code>: (new) → migrated</summary>"
            ),
            "{md}"
        );
        assert!(md.contains("```diff\n--- live\n+++ plan\n"), "{md}");
        assert!(md.contains("+source.password = {env: SECRET_VAR}"), "{md}");
        assert!(
            md.contains("- **Blocked:** source server `web-01` is not registered"),
            "{md}"
        );
        assert!(
            md.contains("| `server.web-01` | (new) | replicated | 0 | ⛔ blocked |"),
            "{md}"
        );
    }

    #[test]
    fn irreversible_steps_come_first_and_waits_and_waves_are_shown() {
        let body = "servers:\n  - name: db-01\n    target: {template: tpl}\n    stage: cutover\n  - name: web-01\n    target: {template: tpl}\n    stage: cutover\n    depends_on: [{cutover: server.db-01}]\nwaves:\n  - {name: first, members: [server.db-01], max_parallel: 1}\n  - {name: second, members: [server.web-01]}\n";
        let md = render(&crate::render::test_support::ready_plan_of(body));
        let caution = md.find("> [!CAUTION]").expect("an irreversible alert");
        assert!(caution < md.find("| create |").expect("table"), "{md}");
        assert!(
            md.contains("**2 irreversible steps**") && md.contains("`server.db-01` cutover"),
            "{md}"
        );
        assert!(md.contains("`>` cutover ⚠️ **irreversible**"), "{md}");
        assert!(md.contains("waits for server.db-01 cutover"), "{md}");
        assert!(
            md.contains("| 1 | first | at most 1 at a time | `server.db-01` |"),
            "{md}"
        );
        assert!(
            md.contains("| 2 | second | no cap | `server.web-01` |"),
            "{md}"
        );
    }

    #[test]
    fn no_changes() {
        assert!(render(&plan_of("")).contains("**No changes.**"));
    }
}
