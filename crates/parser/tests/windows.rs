//! Maintenance windows (`windows:` and `window:`) decode into the spec: days, times, zones,
//! inheritance from defaults and waves, and a diagnostic at the cause for each mistake.

use migplan_parser::{TimeOfDay, Weekday};

const HEADER: &str = "version: 1\nname: win\ncloud: {region: ap-southeast-3, project_id: 0123456789abcdef0123456789abcdef}\n";

const NIGHT: &str = "windows:\n  - {name: night, days: [sun, sat, sat], start: \"22:00\", end: \"02:00\", timezone: Europe/Berlin}\n  - {name: daily, start: \"01:00\", end: \"05:00\", timezone: UTC}\n";

fn parse(body: &str) -> Result<migplan_parser::Spec, Vec<(String, String, usize)>> {
    let text = format!("{HEADER}{body}");
    migplan_parser::parse("win.yaml", &text)
        .map(|p| p.spec)
        .map_err(|e| {
            e.to_json()
                .into_iter()
                .map(|d| (d.code.to_string(), d.message, d.line))
                .collect()
        })
}

#[test]
fn windows_decode_with_sorted_days_and_every_day_by_default() {
    let s = parse(NIGHT).expect("valid");
    let night = &s.windows[0];
    assert_eq!(night.days, [Weekday::Sat, Weekday::Sun]);
    assert_eq!(
        (night.start, night.end),
        (TimeOfDay(22 * 60), TimeOfDay(2 * 60))
    );
    assert!(night.crosses_midnight());
    assert_eq!(night.timezone, "Europe/Berlin");
    assert_eq!(s.windows[1].days.len(), 7);
    assert!(!s.windows[1].crosses_midnight());
}

#[test]
fn entries_inherit_the_default_window_and_waves_carry_their_own() {
    let s = parse(&format!(
        "{NIGHT}defaults:\n  servers: {{window: night}}\nservers:\n  - {{name: a, target: {{template: t}}, stage: cutover}}\n  - {{name: b, target: {{template: t}}, stage: cutover, window: daily}}\nredis:\n  - {{name: rds1, source: {{instance_id: s}}, target: {{instance_id: t}}, network: {{vpc_id: v, subnet_id: s, security_group_id: g}}, method: full, stage: migrated, window: daily}}\nwaves:\n  - {{name: w, members: [server.a], window: daily}}\n"
    ))
    .expect("valid");
    assert_eq!(s.servers[0].window.as_deref(), Some("night"));
    assert_eq!(s.servers[1].window.as_deref(), Some("daily"));
    assert_eq!(s.redis[0].window.as_deref(), Some("daily"));
    assert_eq!(s.waves[0].window.as_deref(), Some("daily"));
}

#[test]
fn every_mistake_is_reported_at_its_line() {
    let errs = parse(
        "windows:\n  - {name: w1, days: [Satu], start: \"25:00\", end: \"1:00\", timezone: Mars/Base}\n  - {name: w2, start: \"01:00\", end: \"01:00\", timezone: UTC}\n  - {name: w3, days: [], start: \"01:00\", end: \"02:00\", timezone: UTC}\n  - {name: w1, start: \"01:00\", end: \"02:00\", timezone: UTC}\nservers:\n  - {name: a, target: {template: t}, stage: cutover, window: w4}\n",
    )
    .expect_err("invalid");
    let has = |code: &str, text: &str, line: usize| {
        assert!(
            errs.iter()
                .any(|(c, m, l)| c.ends_with(code) && m.contains(text) && *l == line),
            "{code} {text} at {line}: {errs:#?}"
        )
    };
    has("invalid_value", "`Satu` is not a day of the week", 5);
    has("invalid_value", "`25:00` is not a time of day", 5);
    has("invalid_value", "`1:00` is not a time of day", 5);
    has("invalid_value", "`Mars/Base` is not a time zone", 5);
    has("conflict", "opens and closes at 01:00", 6);
    has("invalid_value", "lists no days", 7);
    has("duplicate_name", "two window entries are named `w1`", 8);
    has("unknown_reference", "names window `w4`", 10);
    assert_eq!(errs.len(), 8, "{errs:#?}");
}

#[test]
fn a_reference_to_a_window_with_a_mistake_is_not_reported_again() {
    let errs = parse(
        "windows:\n  - {name: w1, start: \"1:00\", end: \"02:00\", timezone: UTC}\nservers:\n  - {name: a, target: {template: t}, stage: cutover, window: w1}\n",
    )
    .expect_err("invalid");
    assert_eq!(errs.len(), 1, "{errs:#?}");
}
