//! Consistency results: decoding in the shape of the API page, verdicts and summaries.

use super::*;

fn dir(name: &str, total: i64, different: i64, miss: i64, more: i64) -> DirConsistency {
    DirConsistency {
        dir_check: name.into(),
        num_total_files: Some(total),
        num_different_files: Some(different),
        num_target_miss_files: Some(miss),
        num_target_more_files: Some(more),
    }
}

fn results(checks: Vec<(Option<i64>, Vec<DirConsistency>)>) -> ConsistencyResults {
    ConsistencyResults {
        result_list: checks
            .into_iter()
            .map(|(finished_time, consistency_result)| ConsistencyCheck {
                finished_time,
                check_result: Some("success".into()),
                consistency_result,
                text: None,
            })
            .collect(),
        task_id: Some("t1".into()),
    }
}

#[test]
fn decodes_the_documented_shape_and_ignores_unknown_fields() {
    let body = r#"{
        "task_id": "t1",
        "result_list": [{
            "finished_time": 1700000000000,
            "check_result": "success",
            "new_field": 1,
            "consistency_result": [
                {"dir_check": "/", "num_total_files": 1200, "num_different_files": 0,
                 "num_target_miss_files": 0, "num_target_more_files": 3},
                {"dir_check": "/data", "num_total_files": 80, "num_different_files": 2,
                 "num_target_miss_files": 1, "num_target_more_files": 0}
            ]
        }]
    }"#;
    let r: ConsistencyResults = serde_json::from_str(body).unwrap();
    assert_eq!(r.task_id.as_deref(), Some("t1"));
    let check = r.latest().unwrap();
    assert_eq!(check.finished_time, Some(1_700_000_000_000));
    assert_eq!(check.consistency_result[1], dir("/data", 80, 2, 1, 0));
    assert_eq!(r.verdict(), ConsistencyVerdict::Inconsistent);
    let round: ConsistencyResults =
        serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
    assert_eq!(round, r);
}

#[test]
fn empty_null_or_missing_lists_mean_no_result() {
    for body in [
        r#"{}"#,
        r#"{"result_list": null}"#,
        r#"{"result_list": [], "task_id": "t"}"#,
    ] {
        let r: ConsistencyResults = serde_json::from_str(body).unwrap();
        assert_eq!(r.verdict(), ConsistencyVerdict::NoResult, "{body}");
        assert!(!r.is_consistent());
        assert_eq!(r.summary(), "no consistency check has finished");
    }
}

#[test]
fn string_entries_are_read_when_they_hold_a_result_object_and_never_pass_otherwise() {
    // SDK 3.1.185+ and the newest API pages type `result_list` as a list of strings.
    let inner = r#"{"finished_time": 5, "check_result": "success", "consistency_result": [{"dir_check": "/", "num_total_files": 3, "num_different_files": 0, "num_target_miss_files": 0, "num_target_more_files": 0}]}"#;
    let body = serde_json::json!({"result_list": [inner], "task_id": "t"}).to_string();
    let r: ConsistencyResults = serde_json::from_str(&body).unwrap();
    assert!(r.is_consistent(), "{r:?}");
    assert_eq!(r.latest().unwrap().finished_time, Some(5));
    for text in ["ok", "", "[0, null, []]", "{not json", &"y".repeat(1000)] {
        let body = serde_json::json!({ "result_list": [text] }).to_string();
        let r: ConsistencyResults = serde_json::from_str(&body).unwrap();
        assert_eq!(r.verdict(), ConsistencyVerdict::Undetermined, "{text:?}");
        let kept = r.latest().unwrap().text.as_deref().unwrap();
        assert!(kept.chars().count() <= TEXT_CHARS && text.starts_with(kept));
        assert!(
            r.summary().starts_with("undetermined: the result is text"),
            "{}",
            r.summary()
        );
    }
    // Entries of any other type make the answer undecodable: an error, not a pass.
    assert!(serde_json::from_str::<ConsistencyResults>(r#"{"result_list": [1]}"#).is_err());
    assert!(
        serde_json::from_str::<ConsistencyResults>(
            r#"{"result_list": [{"finished_time": "soon"}]}"#
        )
        .is_err()
    );
}

#[test]
fn the_2023_shape_is_one_check() {
    let r: ConsistencyResults = serde_json::from_str(
        r#"{"finished_time": 7, "consistency_result": [{"dir_check": "/", "num_total_files": 2,
            "num_different_files": 1, "num_target_miss_files": 0, "num_target_more_files": 0}]}"#,
    )
    .unwrap();
    assert_eq!(r.result_list.len(), 1);
    assert_eq!(r.latest().unwrap().finished_time, Some(7));
    assert_eq!(r.verdict(), ConsistencyVerdict::Inconsistent);
    let r: ConsistencyResults =
        serde_json::from_str(r#"{"finished_time": null, "consistency_result": []}"#).unwrap();
    assert_eq!(r.verdict(), ConsistencyVerdict::NoResult);
}

#[test]
fn consistent_when_every_directory_has_nothing_different_or_missing() {
    let r = results(vec![(
        Some(10),
        vec![dir("/", 1000, 0, 0, 4), dir("/data", 24, 0, 0, 0)],
    )]);
    assert_eq!(r.verdict(), ConsistencyVerdict::Consistent);
    assert!(r.is_consistent());
    assert_eq!(
        r.summary(),
        "consistent: 2 directories (/, /data), 1024 files, none different or missing on the target"
    );
}

#[test]
fn different_or_missing_files_make_it_inconsistent_extra_files_do_not() {
    for (different, miss) in [(1, 0), (0, 1), (5, 7)] {
        let r = results(vec![(
            Some(10),
            vec![dir("/", 10, 0, 0, 0), dir("/data", 10, different, miss, 0)],
        )]);
        assert_eq!(r.verdict(), ConsistencyVerdict::Inconsistent);
        assert!(!r.is_consistent());
    }
    let r = results(vec![(Some(10), vec![dir("/", 10, 0, 0, 9)])]);
    assert!(r.is_consistent());
    let r = results(vec![(
        Some(10),
        vec![dir("/", 10, 0, 0, 0), dir("/data", 80, 2, 1, 0)],
    )]);
    assert_eq!(
        r.summary(),
        "inconsistent: /data: 2 different, 1 missing, 0 extra on the target (of 80 files) (1 of 2 directories)"
    );
}

#[test]
fn missing_negative_or_absent_counts_are_never_read_as_zero() {
    let mut no_counts = dir("/", 10, 0, 0, 0);
    no_counts.num_target_miss_files = None;
    let r = results(vec![(Some(1), vec![no_counts.clone()])]);
    assert_eq!(r.verdict(), ConsistencyVerdict::Undetermined);
    assert_eq!(
        r.summary(),
        "undetermined: /: 0 different, ? missing, 0 extra on the target (of 10 files) (1 of 1 directory)"
    );
    let r = results(vec![(Some(1), vec![dir("/", 10, -1, 0, 0)])]);
    assert_eq!(r.verdict(), ConsistencyVerdict::Undetermined);
    // A plainly inconsistent directory wins over an unjudgeable one.
    let r = results(vec![(Some(1), vec![no_counts, dir("/data", 5, 0, 2, 0)])]);
    assert_eq!(r.verdict(), ConsistencyVerdict::Inconsistent);
    // A check that lists no directory verified nothing.
    let r = results(vec![(Some(1), vec![])]);
    assert_eq!(r.verdict(), ConsistencyVerdict::Undetermined);
    assert_eq!(r.summary(), "undetermined: the check lists no directory");
    // Fields left out decode as unknown, not as zero.
    let r: ConsistencyResults = serde_json::from_str(
        r#"{"result_list":[{"finished_time":1,"consistency_result":[{"dir_check":"/"}]}]}"#,
    )
    .unwrap();
    assert_eq!(r.verdict(), ConsistencyVerdict::Undetermined);
}

#[test]
fn the_newest_check_is_judged() {
    let bad = vec![dir("/", 10, 3, 0, 0)];
    let good = vec![dir("/", 10, 0, 0, 0)];
    let r = results(vec![(Some(200), good.clone()), (Some(100), bad.clone())]);
    assert!(r.is_consistent());
    assert!(r.summary().starts_with("consistent (newest of 2 checks): "));
    let r = results(vec![(Some(100), good.clone()), (Some(200), bad.clone())]);
    assert_eq!(r.verdict(), ConsistencyVerdict::Inconsistent);
    // Without a time an entry is the oldest; on a tie the later entry wins.
    let r = results(vec![(Some(5), bad.clone()), (None, good.clone())]);
    assert_eq!(r.verdict(), ConsistencyVerdict::Inconsistent);
    let r = results(vec![(Some(5), good), (Some(5), bad)]);
    assert_eq!(r.verdict(), ConsistencyVerdict::Inconsistent);
}

#[test]
fn summaries_are_bounded_and_escape_directory_names() {
    let mut dirs: Vec<DirConsistency> = (0..8)
        .map(|i| dir(&format!("/d{i}"), 10, 1, 0, 0))
        .collect();
    dirs.push(dir("/evil\u{1b}[31m\n", 10, 1, 0, 0));
    dirs.push(dir(&"x".repeat(500), 10, 1, 0, 0));
    dirs.push(dir("", 10, 1, 0, 0));
    dirs.rotate_right(3);
    let s = results(vec![(Some(1), dirs)]).summary();
    assert!(
        s.starts_with("inconsistent: /evil\\u{1b}[31m\\n: 1 different"),
        "{s}"
    );
    assert!(s.contains(&format!("{}…: ", "x".repeat(120))), "{s}");
    assert!(s.contains("(unnamed): "), "{s}");
    assert!(s.ends_with("; and 6 more (11 of 11 directories)"), "{s}");
    assert!(!s.chars().any(char::is_control), "{s}");
}
