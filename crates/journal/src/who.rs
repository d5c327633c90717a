//! Who runs: user, host, process and, on a CI runner, the job's URL.

use serde::Serialize;

use crate::error::clip;

/// Longest user, host or URL text stored.
const FIELD_MAX: usize = 512;

/// The person or job behind a run or a lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Who {
    /// OS user (`USER`, `USERNAME` or `LOGNAME`).
    pub user: String,
    /// Host name.
    pub host: String,
    /// Process id.
    pub pid: u32,
    /// The CI job's page, when a known CI says so.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ci_job_url: Option<String>,
}

impl Who {
    /// This process, described from its environment.
    pub fn current() -> Who {
        let env = |k: &str| std::env::var(k).ok();
        Who {
            user: ["USER", "USERNAME", "LOGNAME"]
                .iter()
                .find_map(|k| env(k).filter(|v| !v.is_empty()))
                .or_else(user_from_uid)
                .map(|u| clip(&u, FIELD_MAX))
                .unwrap_or_else(|| "unknown".into()),
            host: clip(&hostname(), FIELD_MAX),
            pid: std::process::id(),
            ci_job_url: ci_job_url(env),
        }
    }
}

impl std::fmt::Display for Who {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} on host {} (pid {})", self.user, self.host, self.pid)?;
        if let Some(url) = &self.ci_job_url {
            write!(f, ", CI job {url}")?;
        }
        Ok(())
    }
}

/// The CI job's URL: GitHub Actions (`GITHUB_SERVER_URL/GITHUB_REPOSITORY/actions/runs/GITHUB_RUN_ID`),
/// GitLab (`CI_JOB_URL`), Jenkins (`BUILD_URL`).
pub fn ci_job_url(env: impl Fn(&str) -> Option<String>) -> Option<String> {
    let get = |k: &str| env(k).filter(|v| !v.trim().is_empty());
    let url = if let (Some(server), Some(repo), Some(run)) = (
        get("GITHUB_SERVER_URL"),
        get("GITHUB_REPOSITORY"),
        get("GITHUB_RUN_ID"),
    ) {
        Some(format!(
            "{}/{repo}/actions/runs/{run}",
            server.trim_end_matches('/')
        ))
    } else {
        get("CI_JOB_URL").or_else(|| get("BUILD_URL"))
    };
    url.map(|u| clip(&u, FIELD_MAX))
}

/// The user name of this process's uid, from `/etc/passwd` (no `USER` under cron, CI
/// containers, `env -i`).
fn user_from_uid() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let uid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))?
        .split_whitespace()
        .next()?
        .to_string();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        (f.nth(1)? == uid).then(|| name.to_string())
    })
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn ci_job_urls_come_from_each_known_ci() {
        assert_eq!(
            ci_job_url(env(&[
                ("GITHUB_SERVER_URL", "https://github.com/"),
                ("GITHUB_REPOSITORY", "acme/infra"),
                ("GITHUB_RUN_ID", "42"),
            ])),
            Some("https://github.com/acme/infra/actions/runs/42".into())
        );
        assert_eq!(
            ci_job_url(env(&[("CI_JOB_URL", "https://gitlab.example/j/7")])),
            Some("https://gitlab.example/j/7".into())
        );
        assert_eq!(
            ci_job_url(env(&[("BUILD_URL", "https://jenkins.example/job/x/3/")])),
            Some("https://jenkins.example/job/x/3/".into())
        );
        // GitHub without a run id is not a job URL; nothing known is none.
        assert_eq!(
            ci_job_url(env(&[("GITHUB_SERVER_URL", "https://github.com")])),
            None
        );
        assert_eq!(ci_job_url(env(&[("CI", "true")])), None);
    }
}
