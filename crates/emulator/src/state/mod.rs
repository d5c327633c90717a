//! The emulated world: SMS sources, tasks and templates, DCS tasks and jobs.
//!
//! Everything is plain data behind one mutex; states are computed lazily from timestamps on
//! each access ([`timeline::Timeline`], [`run::Run`]), so idle objects cost nothing.

pub mod dcs;
pub mod run;
pub mod sms_action;
pub mod sms_consistency;
pub mod sms_quota;
pub mod sms_source;
pub mod sms_task;
pub mod sms_template;
pub mod sms_view;
pub mod timeline;

use serde::{Deserialize, Serialize};

/// Everything the emulator knows. Serializable for `persist`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct World {
    /// SMS source servers, in registration order.
    pub sources: Vec<sms_source::SourceRec>,
    /// SMS tasks, in creation order.
    pub tasks: Vec<sms_task::TaskRec>,
    /// SMS server templates.
    pub templates: Vec<sms_template::TemplateRec>,
    /// DCS migration tasks.
    pub dcs_tasks: Vec<dcs::DcsTaskRec>,
    /// DCS jobs.
    pub jobs: Vec<dcs::JobRec>,
    /// The cap on SMS migrations at once and its high-water mark (configuration and an
    /// observation: never persisted).
    #[serde(skip)]
    pub quota: sms_quota::Quota,
}

/// Page sizes per list (documented in the crate docs).
#[derive(Debug, Clone, Copy)]
pub struct PageRule {
    /// Used when `limit` is absent (or 0 where the API says 0 means default).
    pub default: u32,
    /// Largest page served.
    pub max: u32,
}

/// `GET /v3/sources`: default and max 200.
pub const SMS_SOURCES_PAGE: PageRule = PageRule {
    default: 200,
    max: 200,
};
/// `GET /v3/tasks`: default and max 200.
pub const SMS_TASKS_PAGE: PageRule = PageRule {
    default: 200,
    max: 200,
};
/// `GET /v3/vm/templates`: default 50, max 100.
pub const SMS_TEMPLATES_PAGE: PageRule = PageRule {
    default: 50,
    max: 100,
};
/// `GET /v2/{project_id}/migration-tasks`: default 100, max 1000 (emulator choice).
pub const DCS_TASKS_PAGE: PageRule = PageRule {
    default: 100,
    max: 1000,
};

/// Applies item-offset paging: `count` is the total; an offset past the end gives `[]`.
pub fn page<T>(
    items: Vec<T>,
    offset: Option<u32>,
    limit: Option<u32>,
    rule: PageRule,
    cap: Option<u32>,
) -> (u64, Vec<T>) {
    let count = items.len() as u64;
    let mut limit = match limit {
        None | Some(0) => rule.default,
        Some(l) => l.min(rule.max),
    };
    if let Some(c) = cap {
        limit = limit.min(c.max(1));
    }
    let offset = offset.unwrap_or(0) as usize;
    let page = items
        .into_iter()
        .skip(offset)
        .take(limit as usize)
        .collect();
    (count, page)
}

/// A fresh id: a UUID with dashes, as SMS and DCS use.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paging_rules() {
        let items: Vec<u32> = (0..450).collect();
        let (count, p) = page(items.clone(), None, None, SMS_TASKS_PAGE, None);
        assert_eq!((count, p.len()), (450, 200));
        let (_, p) = page(items.clone(), Some(400), Some(1000), SMS_TASKS_PAGE, None);
        assert_eq!(p, (400..450).collect::<Vec<_>>());
        let (count, p) = page(items.clone(), Some(450), Some(10), SMS_TASKS_PAGE, None);
        assert_eq!((count, p.len()), (450, 0));
        let (_, p) = page(items.clone(), Some(0), Some(0), SMS_SOURCES_PAGE, None);
        assert_eq!(p.len(), 200);
        let (_, p) = page(items, Some(3), Some(50), SMS_TASKS_PAGE, Some(2));
        assert_eq!(p, vec![3, 4]);
    }
}
