//! The consistency check's results (`GET /v3/tasks/{task_id}/consistency-result`), so a
//! cutover gate can be exercised both ways.
//!
//! Documented (API page ShowConsistencyResult, SDK models, Terraform's data source): the answer
//! `{"result_list": [{"finished_time", "check_result", "consistency_result": [{"dir_check",
//! "num_total_files", "num_different_files", "num_target_miss_files",
//! "num_target_more_files"}]}], "task_id"}` (the 2025 shape; the newest pages type the entries
//! as strings without saying what they hold, see `migplan_wire::sms::ConsistencyResults`);
//! counts 0..1000000; the source's `is_consistency_result_exist`.
//!
//! Emulator model (inferred; the service's rules are not documented):
//!
//! - A task created with `is_need_consistency_check` runs a `CONSISTENCY_CHECK` subtask after
//!   the copy ([`super::run`]). When that subtask finishes its work, one entry is added:
//!   `finished_time` = the subtask's end, `check_result` `"success"`. Before that the list is
//!   empty; a `skip`ped check adds nothing; a `restart` that runs the check again adds another
//!   entry (one per finished check, oldest first).
//! - Directories: `/` (Linux) or `C:\` (Windows) for the first disk, plus `/data` or `D:\` for
//!   the other disks when the source has more than one. `num_total_files` is one file per MiB
//!   used on those disks (1..=1000000).
//! - Every directory is consistent (zero different, missing and extra files), except for a
//!   source whose name starts with [`INCONSISTENT_PREFIX`]: its last directory has
//!   `files / 100` different and `files / 500` missing files (each at least 1).
//! - The results stay with the task; a source shows `is_consistency_result_exist: true` while
//!   its current task has any.

use super::run::Run;
use super::sms_source::SourceRec;
use super::sms_task::TaskRec;
use migplan_wire::sms::{ConsistencyCheck, ConsistencyResults, DirConsistency, OsType};
use serde::{Deserialize, Serialize};

/// Sources whose name starts with this get inconsistent results.
pub const INCONSISTENT_PREFIX: &str = "inconsistent-";

/// `check_result` of a check that ran (inferred: the value is undocumented).
pub const CHECK_RESULT: &str = "success";

/// Most files a directory reports (the documented maximum of the counts).
const MAX_FILES: i64 = 1_000_000;

/// One finished check of a task.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CheckRec {
    /// The `CONSISTENCY_CHECK` subtask it came from.
    pub subtask_id: i64,
    /// What it found.
    pub check: ConsistencyCheck,
}

/// Adds the results of the task's checks that finished since the last call (call after the
/// task's runs were advanced).
pub fn record(task: &mut TaskRec, source: Option<&SourceRec>) {
    let finished: Vec<(i64, i64)> = task
        .full
        .iter()
        .flat_map(Run::finished_checks)
        .filter(|(id, _)| !task.consistency.iter().any(|c| c.subtask_id == *id))
        .collect();
    for (subtask_id, end_ms) in finished {
        task.consistency.push(CheckRec {
            subtask_id,
            check: check_of(source, end_ms),
        });
    }
}

/// The answer of `GET /v3/tasks/{task_id}/consistency-result`.
pub fn view(task: &TaskRec) -> ConsistencyResults {
    ConsistencyResults {
        result_list: task.consistency.iter().map(|c| c.check.clone()).collect(),
        task_id: Some(task.id.clone()),
    }
}

/// What a check of `source` finishing at `end_ms` reports.
fn check_of(source: Option<&SourceRec>, end_ms: i64) -> ConsistencyCheck {
    let windows = source.is_some_and(|s| s.reg.os_type == Some(OsType::Windows));
    let (root, data) = if windows {
        ("C:\\", "D:\\")
    } else {
        ("/", "/data")
    };
    let used: Vec<i64> = source.map_or_else(Vec::new, |s| {
        s.reg
            .disks
            .iter()
            .map(|d| d.used_size.filter(|u| *u > 0).unwrap_or(d.size).max(0))
            .collect()
    });
    let files = |bytes: i64| (bytes >> 20).clamp(1, MAX_FILES);
    let mut dirs = vec![clean(root, files(used.first().copied().unwrap_or(0)))];
    if used.len() > 1 {
        let rest = used[1..].iter().fold(0i64, |a, b| a.saturating_add(*b));
        dirs.push(clean(data, files(rest)));
    }
    if source.is_some_and(|s| s.reg.name.starts_with(INCONSISTENT_PREFIX))
        && let Some(last) = dirs.last_mut()
    {
        let total = last.num_total_files.unwrap_or(1);
        last.num_different_files = Some((total / 100).max(1));
        last.num_target_miss_files = Some((total / 500).max(1));
    }
    ConsistencyCheck {
        finished_time: Some(end_ms),
        check_result: Some(CHECK_RESULT.into()),
        consistency_result: dirs,
        text: None,
    }
}

fn clean(dir: &str, files: i64) -> DirConsistency {
    DirConsistency {
        dir_check: dir.into(),
        num_total_files: Some(files),
        num_different_files: Some(0),
        num_target_miss_files: Some(0),
        num_target_more_files: Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::sms_source::with_defaults;
    use crate::state::timeline::Timeline;
    use migplan_wire::sms::{
        ConsistencyVerdict, MigrationCycle, RegisterSourceRequest, ServerDisk, SourceState,
    };

    const GIB: i64 = 1 << 30;

    fn source(name: &str, used_gib: &[i64]) -> SourceRec {
        let disks = used_gib
            .iter()
            .enumerate()
            .map(|(i, g)| ServerDisk {
                name: format!("/dev/vd{}", (b'a' + i as u8) as char),
                size: 2 * g * GIB,
                used_size: Some(g * GIB),
                ..ServerDisk::default()
            })
            .collect();
        SourceRec {
            id: "s".into(),
            reg: with_defaults(
                RegisterSourceRequest {
                    name: name.into(),
                    disks,
                    ..RegisterSourceRequest::default()
                },
                0,
            ),
            add_ms: 0,
            connected: true,
            timeline: Timeline::new(0, (SourceState::Waiting, MigrationCycle::Checking)),
            current_task: None,
        }
    }

    fn results(check: ConsistencyCheck) -> ConsistencyResults {
        ConsistencyResults {
            result_list: vec![check],
            task_id: None,
        }
    }

    #[test]
    fn one_directory_per_disk_group_with_files_from_the_used_bytes() {
        let c = check_of(Some(&source("web-01", &[10])), 42);
        assert_eq!(c.finished_time, Some(42));
        assert_eq!(c.consistency_result, vec![clean("/", 10 * 1024)]);
        let c = check_of(Some(&source("db-01", &[10, 3, 2])), 42);
        assert_eq!(
            c.consistency_result,
            vec![clean("/", 10 * 1024), clean("/data", 5 * 1024)]
        );
        assert!(results(c).is_consistent());
        let c = check_of(Some(&source("big", &[5000])), 1);
        assert_eq!(c.consistency_result[0].num_total_files, Some(MAX_FILES));
        let c = check_of(None, 1);
        assert_eq!(c.consistency_result, vec![clean("/", 1)]);
    }

    #[test]
    fn inconsistent_sources_differ_in_their_last_directory() {
        let c = check_of(Some(&source("inconsistent-db", &[10, 3])), 42);
        assert_eq!(c.consistency_result[0], clean("/", 10 * 1024));
        let data = &c.consistency_result[1];
        assert_eq!(
            (data.num_different_files, data.num_target_miss_files),
            (Some(30), Some(6))
        );
        assert_eq!(results(c).verdict(), ConsistencyVerdict::Inconsistent);
        let c = check_of(Some(&source("inconsistent-tiny", &[0])), 42);
        assert_eq!(c.consistency_result[0].num_different_files, Some(1));
        assert_eq!(c.consistency_result[0].num_target_miss_files, Some(1));
    }
}
