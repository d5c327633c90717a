//! How long a step is expected to take, in (virtual) seconds: the weights of the longest
//! remaining path that orders the ready queue. Waits dominate: a full copy is the source's
//! bytes at the speed limit, plus the fixed subtasks around it.

use migplan_parser::{ResourceKind, ServerStage, Stage};
use migplan_planner::{LiveSnapshot, Step, StepClass};
use migplan_wire::sms::SourceServer;

use crate::request::SpecIndex;

/// Fixed subtasks of a full copy (create the server, configure, attach/detach the agent image).
const COPY_OVERHEAD_S: u64 = 240;
/// Bytes assumed when the source does not say.
const DEFAULT_BYTES: u64 = 10 << 30;
/// Mbit/s assumed without a speed limit.
const DEFAULT_MBIT: u64 = 1000;
/// One API call.
const CALL_S: u64 = 1;

/// Estimated duration of `step`, in seconds.
pub(crate) fn estimate(step: &Step, spec: &SpecIndex, live: &LiveSnapshot) -> u64 {
    let server = step
        .resource
        .as_ref()
        .filter(|r| r.kind == ResourceKind::Server)
        .and_then(|r| spec.server(&r.name));
    let copy_s = || {
        let Some(s) = server else {
            return COPY_OVERHEAD_S;
        };
        let bytes = source_of(s, live)
            .and_then(|src| src.totalsize)
            .and_then(|b| u64::try_from(b).ok())
            .filter(|b| *b > 0)
            .unwrap_or(DEFAULT_BYTES);
        let mbit = s
            .speed_limit
            .map(u64::from)
            .filter(|l| *l > 0)
            .unwrap_or(DEFAULT_MBIT);
        COPY_OVERHEAD_S + bytes * 8 / (mbit * 1_000_000)
    };
    // Re-attaching to running work: the service's own estimate of what is left.
    let remaining = server.and_then(|s| {
        live.tasks
            .iter()
            .find(|t| t.name == s.name)
            .and_then(|t| t.remain_seconds)
            .and_then(|r| u64::try_from(r).ok())
    });
    match step.class() {
        StepClass::Barrier => 0,
        // A comparison of 1000 samples per database takes seconds.
        StepClass::Check => 10,
        StepClass::Wait if remaining.is_some() => remaining.unwrap_or(0),
        StepClass::Wait => match step.stage {
            Some(Stage::Server(ServerStage::Replicated)) => copy_s(),
            Some(Stage::Server(ServerStage::Synced)) => copy_s() / 10,
            Some(Stage::Server(_)) => 60,
            Some(Stage::Redis(migplan_parser::RedisStage::Migrated)) => 120,
            Some(Stage::Redis(_)) => 10,
            None => 60,
        },
        StepClass::Create | StepClass::Update | StepClass::Action => {
            CALL_S + step.kind.spec().settle_seconds()
        }
    }
}

fn source_of<'a>(
    s: &migplan_parser::ServerSpec,
    live: &'a LiveSnapshot,
) -> Option<&'a SourceServer> {
    match &s.source {
        migplan_parser::SourceRef::Name(n) => {
            live.sources.iter().find(|x| x.name.as_deref() == Some(n))
        }
        migplan_parser::SourceRef::Id(id) => live.sources.iter().find(|x| &x.id == id),
    }
}
