//! Why a resource cannot move: reasons are data, with a message and a remedy for people.

use migplan_parser::{ResourceAddr, Stage};

use crate::identity::Side;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Restarts made of a failed task, and the most `on_failure` allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct RestartCount {
    /// Restarts the task's history records.
    pub done: u32,
    /// `on_failure: {restart: N}`.
    pub limit: u32,
}

/// One reason a resource is blocked. Drives apply (a blocked resource gets no steps); the
/// [`Blocked`] wrapper adds display text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum BlockedReason {
    /// No source server with this name or id is registered with SMS.
    SourceNotRegistered {
        /// The name or id the plan gives.
        source: String,
    },
    /// The SMS Agent on the source is not connected (`connected == false`).
    SourceDisconnected {
        /// Source server id.
        source_id: String,
    },
    /// Several live objects carry the name; the planner never guesses.
    Ambiguous {
        /// What was looked up: `SMS task`, `source server`, `template`, `DCS migration task`.
        what: String,
        /// The name.
        name: String,
        /// Ids of every match.
        ids: Vec<String>,
    },
    /// The live task of this name migrates another source, or to another target: it is
    /// another entry's (or another team's) task and is never acted on.
    TaskMismatch {
        /// `SMS task` or `DCS migration task`.
        what: String,
        /// The task name (= the entry's name).
        name: String,
        /// The live task's id.
        task_id: String,
        /// Which end differs.
        side: Side,
        /// What the live task migrates, for people.
        live: String,
        /// What the plan says, for people.
        plan: String,
    },
    /// The target template does not exist.
    TemplateNotFound {
        /// Template name or id from the plan.
        template: String,
    },
    /// Live is past the desired stage: moving backwards is refused, never attempted.
    Backward {
        /// Stage reached live.
        #[schemars(with = "String")]
        live: Stage,
        /// Stage the plan asks for.
        #[schemars(with = "String")]
        desired: Stage,
    },
    /// The task failed and must be restarted before it can go on.
    NeedsRestart {
        /// Live state, e.g. `MIGRATE_FAIL`.
        state: String,
        /// The API's error text.
        error: Option<String>,
        /// With `on_failure`: the restarts already made, all it allows.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        restarted: Option<RestartCount>,
    },
    /// The task is busy with a transition the planner does not drive.
    Busy {
        /// Live state.
        state: String,
    },
    /// A live state this version does not know.
    UnknownState {
        /// Live state verbatim.
        state: String,
    },
    /// Secrets a step would send are not set where migplan runs.
    SecretUnset {
        /// The environment variables, by name.
        vars: Vec<String>,
    },
    /// Fields differ that cannot change on an existing task (see the resource's diffs).
    ForbiddenChange {
        /// The fields.
        fields: Vec<String>,
    },
    /// A resource this one waits for is blocked; its own reasons are shown there, once.
    DependencyBlocked {
        /// The resource waited for directly (or the wave barrier's member).
        #[schemars(with = "String")]
        on: ResourceAddr,
        /// The blocked resource at the root of the chain.
        #[schemars(with = "String")]
        root: ResourceAddr,
        /// The first stage of this resource that waits; earlier stages go ahead. Absent when the
        /// whole resource waits.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        #[schemars(with = "Option<String>")]
        from: Option<Stage>,
    },
    /// The resource's maintenance window is closed: its irreversible steps (from stage
    /// `from` on) wait for it to open; earlier stages go ahead.
    WindowClosed {
        /// The window's name.
        window: String,
        /// When it opens next (RFC 3339 in the window's time zone); absent when the time was
        /// not known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        opens_at: Option<String>,
        /// The first stage held.
        #[schemars(with = "String")]
        from: Stage,
    },
    /// The task's live network check measured less than the plan's `network_check.min_mbps`:
    /// `start` is held.
    NetworkTooSlow {
        /// What the check measured (speed, delay, loss, evaluation).
        measured: String,
        /// The plan's minimum, Mbit/s.
        min_mbps: String,
    },
    /// A resource this one waits for will never reach the stage waited for.
    DependencyUnreachable {
        /// The resource waited for.
        #[schemars(with = "String")]
        on: ResourceAddr,
        /// The stage waited for.
        #[schemars(with = "String")]
        stage: Stage,
    },
}

/// A blocked reason with its display text (computed once; renderers only print it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Blocked {
    /// The reason as data. Drives apply and exit code 3.
    #[serde(flatten)]
    pub reason: BlockedReason,
    /// What is wrong, one line. Display only.
    pub message: String,
    /// What the user can do. Display only.
    pub remedy: String,
}

impl From<BlockedReason> for Blocked {
    fn from(reason: BlockedReason) -> Self {
        let (message, remedy) = texts(&reason);
        Blocked {
            reason,
            message,
            remedy,
        }
    }
}

fn texts(r: &BlockedReason) -> (String, String) {
    use BlockedReason as B;
    match r {
        B::SourceNotRegistered { source } => (
            format!("source server `{source}` is not registered with SMS"),
            "install and start the SMS Agent on the source, or fix `source:` in the plan".into(),
        ),
        B::SourceDisconnected { source_id } => (
            format!("the SMS Agent of source {source_id} is disconnected"),
            "restart the Agent on the source server and check it can reach SMS".into(),
        ),
        B::Ambiguous { what, name, ids } => (
            format!("{} {what}s are named `{name}` ({})", ids.len(), ids.join(", ")),
            format!("delete or rename the extra {what}s so exactly one is named `{name}`"),
        ),
        B::TaskMismatch {
            what,
            name,
            task_id,
            side,
            live,
            plan,
        } => match side {
            Side::Source => (
                format!(
                    "the {what} named `{name}` ({task_id}) migrates the source {live}, not the plan's source {plan}"
                ),
                format!(
                    "rename this entry (the task name is the entry name) so it gets a task of its own, or delete task {task_id} if nothing needs it; migplan never acts on another source's task"
                ),
            ),
            Side::Target => (
                format!(
                    "the {what} named `{name}` ({task_id}) migrates to {live}, not to the plan's target ({plan})"
                ),
                format!(
                    "set `target` to what the task uses, delete task {task_id} so migplan creates one for the plan's target, or rename this entry; migplan never acts on a task with another target"
                ),
            ),
        },
        B::TemplateNotFound { template } => (
            format!("template `{template}` does not exist"),
            "create the template in SMS, or fix `target.template` in the plan".into(),
        ),
        B::Backward { live, desired } => (
            format!("live is already at `{live}`, past the desired `{desired}`; migplan never moves backwards"),
            format!("set `stage: {live}` (or later) in the plan; undoing a stage is a manual operation"),
        ),
        B::NeedsRestart {
            state,
            error,
            restarted,
        } => (
            {
                let mut text = match error {
                    Some(e) => format!("the task failed ({state}): {e}"),
                    None => format!("the task failed ({state})"),
                };
                if let Some(RestartCount { done, limit }) = restarted {
                    text.push_str(&format!(
                        "; it was restarted {done} {} already, all that `on_failure: {{restart: {limit}}}` allows",
                        if *done == 1 { "time" } else { "times" }
                    ));
                }
                text
            },
            "fix the cause, then restart the task (SMS `restart` / DCS batch-restart) and plan again".into(),
        ),
        B::Busy { state } => (
            format!("the task is busy ({state})"),
            "wait until the transition finishes, then plan again".into(),
        ),
        B::UnknownState { state } => (
            format!("the live state `{state}` is not known to this version of migplan"),
            "check the task in the console; upgrade migplan if the state is new".into(),
        ),
        B::SecretUnset { vars } => (
            format!(
                "{} {} not set (or empty) where migplan runs",
                vars.iter().map(|v| format!("`{v}`")).collect::<Vec<_>>().join(", "),
                if vars.len() == 1 { "is" } else { "are" }
            ),
            "export it with the secret's value before `plan` and `apply` (the plan file only \
             names the variable)"
                .into(),
        ),
        B::ForbiddenChange { fields } => (
            format!("cannot change {} on an existing task", fields.join(", ")),
            "revert these fields in the plan, or delete the task to recreate it".into(),
        ),
        B::DependencyBlocked { on, root, from } => {
            let who = match from {
                Some(stage) => format!("`{stage}` (and later) waits"),
                None => "waits".to_string(),
            };
            (
                if on == root {
                    format!("{who} for {on}, which is blocked")
                } else {
                    format!("{who} for {on}, which is blocked by {root}")
                },
                format!("resolve {root} first"),
            )
        }
        B::WindowClosed {
            window,
            opens_at,
            from,
        } => match opens_at {
            Some(at) => (
                format!("`{from}` (and later) held until {at} by window {window}"),
                format!("apply does the reversible work now; apply again once window {window} opens ({at})"),
            ),
            None => (
                format!("`{from}` (and later) held by window {window}: the time is not known"),
                "plan with the system clock available".into(),
            ),
        },
        B::NetworkTooSlow { measured, min_mbps } => (
            format!("the network check measured {measured}, below the plan's {min_mbps} Mbit/s"),
            "fix the network (or lower `network_check.min_mbps`), run the SMS network check again (action `network_check`), and plan again".into(),
        ),
        B::DependencyUnreachable { on, stage } => (
            format!("waits for {on}@{stage}, which its plan never reaches"),
            format!("raise the stage of {on} or drop the dependency"),
        ),
    }
}
