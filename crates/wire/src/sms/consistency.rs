//! Consistency-check results (`GET /v3/tasks/{task_id}/consistency-result`): what a cutover
//! gate reads to decide whether the target holds the source's files.
//!
//! Sources: the API page "ShowConsistencyResult" (support.huaweicloud.com `api-sms`), the SDK
//! models `ShowConsistencyResultResponse`, `ConsistencyResultRequestBodyResultList` and
//! `ConsistencyResult` (huaweicloud-sdk-python-v3 / -go-v3, `services/sms/v3/model`) and the
//! Terraform data source `huaweicloud_sms_task_consistency_results`, which reads
//! `result_list[].{finished_time, check_result, consistency_result[]}` over raw HTTP.
//! Documented: field names and types, counts 0..1000000, `dir_check` up to 1024 characters.
//!
//! The answer's shape changed over SDK releases (python-v3 git history), and all three are
//! decoded:
//!
//! | SDK releases | shape |
//! |---|---|
//! | 3.1.72 (2023-12) | `{"consistency_result": [dir...], "finished_time"}`: one check |
//! | 3.1.141..3.1.174 (2025-03..11), Terraform | `{"result_list": [{"finished_time", "check_result", "consistency_result": [dir...]}], "task_id"}` |
//! | 3.1.185+ (2026-01), newest API pages | `result_list` is a list of *strings*, content undocumented |
//!
//! A string entry holding a JSON result object is read as one; any other text is kept
//! ([`ConsistencyCheck::text`]) and never judged consistent, so a gate fails closed.
//! Inferred, not documented: that each `result_list` entry is one check run (so the newest by
//! `finished_time` is the one judged) and what `check_result` may say (kept verbatim, not
//! interpreted).

use crate::value::null_as_empty;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// Answer of `GET /v3/tasks/{task_id}/consistency-result` (`ShowConsistencyResultResponse`).
/// An empty `result_list` means no check has finished. Written in the 2025 object shape.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawResults")]
pub struct ConsistencyResults {
    /// The check runs.
    pub result_list: Vec<ConsistencyCheck>,
    /// The task id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_id: Option<String>,
}

/// One entry of `result_list`: one check run (inferred) and its directories.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RawCheck")]
pub struct ConsistencyCheck {
    /// When the check finished, epoch ms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_time: Option<i64>,
    /// "The verification execution result": free text, kept as sent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub check_result: Option<String>,
    /// One result per directory checked.
    pub consistency_result: Vec<DirConsistency>,
    /// The entry as sent, clipped to [`TEXT_CHARS`] characters, when it was a string that is
    /// not a JSON result object (not an API field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
}

/// The result of one directory (`ConsistencyResult`). Counts are `None` when the service
/// left them out, which no verdict reads as zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DirConsistency {
    /// The directory checked.
    pub dir_check: String,
    /// Files checked.
    pub num_total_files: Option<i64>,
    /// Files whose content differs on the target.
    pub num_different_files: Option<i64>,
    /// Files missing on the target.
    pub num_target_miss_files: Option<i64>,
    /// Files on the target only.
    pub num_target_more_files: Option<i64>,
}

/// Longest [`ConsistencyCheck::text`] kept, in characters.
pub const TEXT_CHARS: usize = 200;

/// The answer as sent: any of the three shapes.
#[derive(Deserialize, Default)]
#[serde(default)]
struct RawResults {
    #[serde(deserialize_with = "null_as_empty")]
    result_list: Vec<ConsistencyCheck>,
    task_id: Option<String>,
    /// The 2023 shape: one check at the top level.
    #[serde(deserialize_with = "null_as_empty")]
    consistency_result: Vec<DirConsistency>,
    finished_time: Option<i64>,
}

impl From<RawResults> for ConsistencyResults {
    fn from(raw: RawResults) -> Self {
        let mut result_list = raw.result_list;
        if result_list.is_empty() && !raw.consistency_result.is_empty() {
            result_list.push(ConsistencyCheck {
                finished_time: raw.finished_time,
                consistency_result: raw.consistency_result,
                ..ConsistencyCheck::default()
            });
        }
        ConsistencyResults {
            result_list,
            task_id: raw.task_id,
        }
    }
}

/// One `result_list` entry as sent: an object, or a string (newest API pages).
#[derive(Deserialize)]
#[serde(untagged)]
enum RawCheck {
    Object(CheckFields),
    Text(String),
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CheckFields {
    finished_time: Option<i64>,
    check_result: Option<String>,
    #[serde(deserialize_with = "null_as_empty")]
    consistency_result: Vec<DirConsistency>,
}

impl From<CheckFields> for ConsistencyCheck {
    fn from(f: CheckFields) -> Self {
        ConsistencyCheck {
            finished_time: f.finished_time,
            check_result: f.check_result,
            consistency_result: f.consistency_result,
            text: None,
        }
    }
}

impl From<RawCheck> for ConsistencyCheck {
    fn from(raw: RawCheck) -> Self {
        match raw {
            RawCheck::Object(f) => f.into(),
            RawCheck::Text(s) => match serde_json::from_str::<CheckFields>(&s) {
                Ok(f) if s.trim_start().starts_with('{') => f.into(),
                _ => ConsistencyCheck {
                    text: Some(s.chars().take(TEXT_CHARS).collect()),
                    ..ConsistencyCheck::default()
                },
            },
        }
    }
}

/// What a result list says about the target, for a gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsistencyVerdict {
    /// No check has finished yet (empty `result_list`).
    NoResult,
    /// The newest check lists directories and none has a different or missing file.
    Consistent,
    /// The newest check lists a directory with different or missing files.
    Inconsistent,
    /// The newest check cannot be judged: it lists no directory, or a count is missing or
    /// negative (and no directory is plainly inconsistent).
    Undetermined,
}

impl DirConsistency {
    /// `Some(true)` when no file differs or is missing, `Some(false)` when one does, `None`
    /// when a count is missing or negative. Extra files on the target do not count.
    pub fn is_consistent(&self) -> Option<bool> {
        let (d, m) = (self.num_different_files, self.num_target_miss_files);
        if d.is_some_and(|n| n > 0) || m.is_some_and(|n| n > 0) {
            return Some(false);
        }
        (d == Some(0) && m == Some(0)).then_some(true)
    }
}

impl ConsistencyResults {
    /// The check run a verdict is about: the greatest `finished_time` (one without counts as
    /// oldest; the later entry wins a tie).
    pub fn latest(&self) -> Option<&ConsistencyCheck> {
        self.result_list
            .iter()
            .enumerate()
            .max_by_key(|(i, c)| (c.finished_time.unwrap_or(i64::MIN), *i))
            .map(|(_, c)| c)
    }

    /// The verdict on the newest check run (see [`ConsistencyVerdict`]).
    pub fn verdict(&self) -> ConsistencyVerdict {
        let Some(check) = self.latest() else {
            return ConsistencyVerdict::NoResult;
        };
        let dirs = &check.consistency_result;
        if dirs.iter().any(|d| d.is_consistent() == Some(false)) {
            ConsistencyVerdict::Inconsistent
        } else if dirs.is_empty() || dirs.iter().any(|d| d.is_consistent().is_none()) {
            ConsistencyVerdict::Undetermined
        } else {
            ConsistencyVerdict::Consistent
        }
    }

    /// True only for [`ConsistencyVerdict::Consistent`]: a check finished and every directory
    /// it lists has zero different and zero missing files.
    pub fn is_consistent(&self) -> bool {
        self.verdict() == ConsistencyVerdict::Consistent
    }

    /// One line for people: the verdict, the inconsistent (or unjudgeable) directories with
    /// their counts, at most [`SUMMARY_DIRS`] of them. Directory names are clipped and
    /// control characters escaped, so the line is safe to print.
    pub fn summary(&self) -> String {
        let Some(check) = self.latest() else {
            return "no consistency check has finished".into();
        };
        let dirs = &check.consistency_result;
        let runs = match self.result_list.len() {
            1 => String::new(),
            n => format!(" (newest of {n} checks)"),
        };
        let verdict = self.verdict();
        let mut out = match verdict {
            ConsistencyVerdict::Consistent => {
                let files: i64 = dirs
                    .iter()
                    .filter_map(|d| d.num_total_files)
                    .filter(|n| *n > 0)
                    .fold(0, i64::saturating_add);
                let names: Vec<String> = dirs
                    .iter()
                    .take(SUMMARY_DIRS)
                    .map(|d| shown(&d.dir_check))
                    .collect();
                let more = dirs.len().saturating_sub(SUMMARY_DIRS);
                let more = if more > 0 {
                    format!(", {more} more")
                } else {
                    String::new()
                };
                return format!(
                    "consistent{runs}: {} {} ({}{more}), {files} files, none different or missing on the target",
                    dirs.len(),
                    plural(dirs.len(), "directory", "directories"),
                    names.join(", "),
                );
            }
            ConsistencyVerdict::Inconsistent => format!("inconsistent{runs}:"),
            _ if dirs.is_empty() => {
                return match &check.text {
                    Some(t) => format!(
                        "undetermined{runs}: the result is text, not a result object: \"{}\"",
                        escaped(t)
                    ),
                    None => format!("undetermined{runs}: the check lists no directory"),
                };
            }
            _ => format!("undetermined{runs}:"),
        };
        let wanted = if verdict == ConsistencyVerdict::Inconsistent {
            Some(false)
        } else {
            None
        };
        let bad: Vec<&DirConsistency> = dirs
            .iter()
            .filter(|d| d.is_consistent() == wanted)
            .collect();
        for (i, d) in bad.iter().take(SUMMARY_DIRS).enumerate() {
            let sep = if i == 0 { " " } else { "; " };
            let _ = write!(out, "{sep}{}: {}", shown(&d.dir_check), counts(d));
        }
        if bad.len() > SUMMARY_DIRS {
            let _ = write!(out, "; and {} more", bad.len() - SUMMARY_DIRS);
        }
        let _ = write!(
            out,
            " ({} of {} {})",
            bad.len(),
            dirs.len(),
            plural(dirs.len(), "directory", "directories")
        );
        out
    }
}

/// Most directories a [`ConsistencyResults::summary`] names.
pub const SUMMARY_DIRS: usize = 5;

/// Longest directory name (in characters) a summary shows.
const NAME_CHARS: usize = 120;

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 { one } else { many }
}

fn count(n: Option<i64>) -> String {
    n.map_or_else(|| "?".into(), |n| n.to_string())
}

fn counts(d: &DirConsistency) -> String {
    format!(
        "{} different, {} missing, {} extra on the target (of {} files)",
        count(d.num_different_files),
        count(d.num_target_miss_files),
        count(d.num_target_more_files),
        count(d.num_total_files)
    )
}

/// A directory name as shown: [`escaped`], `(unnamed)` if empty.
fn shown(name: &str) -> String {
    if name.is_empty() {
        "(unnamed)".into()
    } else {
        escaped(name)
    }
}

/// Text from the service as shown: control characters escaped, clipped to [`NAME_CHARS`].
fn escaped(text: &str) -> String {
    crate::display_text::shown(text, NAME_CHARS)
}

#[cfg(test)]
#[path = "consistency_tests.rs"]
mod tests;
