//! SMS source servers: registration (the Agent's `POST /v3/sources`), views, changestate.

use super::timeline::Timeline;
use super::{World, new_id};
use crate::api_error::{ApiError, codes};
use migplan_wire::sms::{
    ChangeStateRequest, DeviceUse, EnvironmentCheck, InitTargetServer, MigrationCycle, Network,
    OsType, RegisterSourceRequest, ServerDisk, SourceServer, SourceState,
};
use serde::{Deserialize, Serialize};

const GIB: i64 = 1 << 30;

/// Names starting with this make every replication of the source fail halfway.
pub const FAIL_PREFIX: &str = "fail-";
/// Sources whose name starts with this fail their first replication; a restart succeeds.
pub const FLAKY_PREFIX: &str = "flaky-";

/// A registered source server.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SourceRec {
    /// Id.
    pub id: String,
    /// What the Agent registered (defaults filled in).
    pub reg: RegisterSourceRequest,
    /// Registration time.
    pub add_ms: i64,
    /// Agent connected.
    pub connected: bool,
    /// `(state, migration_cycle)` over time.
    pub timeline: Timeline<(SourceState, MigrationCycle)>,
    /// The task migrating it.
    pub current_task: Option<String>,
}

impl SourceRec {
    /// Bytes a full copy moves: the disks' used sizes (or sizes).
    pub fn replicate_bytes(&self) -> i64 {
        self.reg
            .disks
            .iter()
            .map(|d| d.used_size.filter(|u| *u > 0).unwrap_or(d.size).max(0))
            .fold(0i64, i64::saturating_add)
            .max(1)
    }

    /// Total disk bytes.
    pub fn total_bytes(&self) -> i64 {
        self.reg
            .disks
            .iter()
            .map(|d| d.size.max(0))
            .fold(0i64, i64::saturating_add)
    }

    /// Whether replications of this source are set up to fail.
    pub fn fails(&self) -> bool {
        self.reg.name.starts_with(FAIL_PREFIX)
    }

    /// Whether the first replication of this source's tasks is set up to fail.
    pub fn flaky(&self) -> bool {
        self.reg.name.starts_with(FLAKY_PREFIX)
    }

    /// The IP shown for the source.
    pub fn ip(&self) -> String {
        self.reg
            .ip
            .clone()
            .or_else(|| self.reg.networks.first().map(|n| n.ip.clone()))
            .unwrap_or_default()
    }
}

/// Fills the fields an Agent always sends, so seed files can stay short.
pub fn with_defaults(mut reg: RegisterSourceRequest, n: usize) -> RegisterSourceRequest {
    if reg.os_type.is_none() {
        reg.os_type = Some(OsType::Linux);
    }
    if reg.os_version.is_empty() {
        reg.os_version = if reg.os_type == Some(OsType::Windows) {
            "WINDOWS2019"
        } else {
            "CENTOS7.9"
        }
        .to_owned();
    }
    if reg.agent_version.is_empty() {
        reg.agent_version = "25.3.0".to_owned();
    }
    let octet = (n % 250) + 2;
    if reg.networks.is_empty() {
        let ip = reg
            .ip
            .clone()
            .unwrap_or_else(|| format!("192.168.0.{octet}"));
        reg.networks.push(Network {
            name: "eth0".into(),
            ip,
            netmask: Some("255.255.255.0".into()),
            gateway: Some("192.168.0.1".into()),
            mtu: Some(1500),
            mac: Some(format!("fa:16:3e:00:00:{:02x}", octet)),
            ..Network::default()
        });
    }
    if reg.ip.is_none() {
        reg.ip = reg.networks.first().map(|n| n.ip.clone());
    }
    if reg.hostname.is_none() {
        reg.hostname = Some(reg.name.clone());
    }
    if reg.cpu_quantity.is_none() {
        reg.cpu_quantity = Some(2);
    }
    if reg.memory.is_none() {
        reg.memory = Some(4 * GIB);
    }
    if reg.disks.is_empty() {
        reg.disks.push(ServerDisk {
            name: if reg.os_type == Some(OsType::Windows) {
                "Disk 0"
            } else {
                "/dev/vda"
            }
            .into(),
            device_use: Some(DeviceUse::Boot),
            size: 40 * GIB,
            used_size: Some(10 * GIB),
            partition_style: Some("MBR".into()),
            ..ServerDisk::default()
        });
    }
    reg
}

/// Registers a source, or updates the one already registered under the same name (an Agent
/// re-registering). Returns its id.
pub fn register(
    world: &mut World,
    reg: RegisterSourceRequest,
    id: Option<String>,
    now: i64,
) -> Result<String, ApiError> {
    if reg.name.trim().is_empty() {
        return Err(ApiError::sms_invalid("name is required"));
    }
    let n = world.sources.len();
    let reg = with_defaults(reg, n);
    if let Some(existing) = world.sources.iter_mut().find(|s| s.reg.name == reg.name) {
        existing.reg = reg;
        existing.connected = true;
        return Ok(existing.id.clone());
    }
    let state = reg.state.clone().unwrap_or(SourceState::Waiting);
    let cycle = reg
        .migration_cycle
        .clone()
        .unwrap_or(MigrationCycle::Checking);
    let id = id.unwrap_or_else(new_id);
    world.sources.push(SourceRec {
        id: id.clone(),
        reg,
        add_ms: now,
        connected: true,
        timeline: Timeline::new(now, (state, cycle)),
        current_task: None,
    });
    Ok(id)
}

/// `PUT /v3/sources/{id}/changestate`. Accepted but without effect while the source is
/// unavailable, stopping, stopped, deleting, finished, clearing or clear-failed (per the docs).
pub fn change_state(
    world: &mut World,
    id: &str,
    req: &ChangeStateRequest,
    now: i64,
) -> Result<(), ApiError> {
    let src = find_mut(world, id)?;
    let (current, _) = src.timeline.at(now);
    let (cur_state, cur_cycle) = current.clone();
    if matches!(
        cur_state,
        SourceState::Unavailable
            | SourceState::Stopping
            | SourceState::Stopped
            | SourceState::Deleting
            | SourceState::Finished
            | SourceState::Clearing
            | SourceState::ClearFailed
    ) {
        return Ok(());
    }
    let state = req.copystate.clone().unwrap_or(cur_state);
    let cycle = req.migrationcycle.clone().unwrap_or(cur_cycle);
    src.timeline.set(now, (state, cycle));
    Ok(())
}

/// The 404 answer for an unknown source.
pub fn not_found(id: &str) -> ApiError {
    ApiError::sms(
        404,
        codes::SMS_SOURCE_NOT_FOUND,
        format!("source server {id} does not exist"),
    )
}

/// Finds a source by id.
pub fn find_mut<'w>(world: &'w mut World, id: &str) -> Result<&'w mut SourceRec, ApiError> {
    world
        .sources
        .iter_mut()
        .find(|s| s.id == id)
        .ok_or_else(|| not_found(id))
}

/// The wire view of a source; `detail` adds the fields only `GET /v3/sources/{id}` has.
pub fn view(src: &SourceRec, now: i64, detail: bool) -> SourceServer {
    let ((state, cycle), since) = {
        let (v, t) = src.timeline.at(now);
        (v.clone(), t)
    };
    let init_disks: Vec<ServerDisk> = src
        .reg
        .disks
        .iter()
        .map(|d| ServerDisk {
            used_size: None,
            physical_volumes: Vec::new(),
            ..d.clone()
        })
        .collect();
    SourceServer {
        id: src.id.clone(),
        ip: Some(src.ip()),
        name: Some(src.reg.name.clone()),
        hostname: detail.then(|| src.reg.hostname.clone()).flatten(),
        enterprise_project_id: Some(
            src.reg
                .enterprise_project_id
                .clone()
                .unwrap_or_else(|| "0".into()),
        ),
        add_date: Some(src.add_ms),
        os_type: src.reg.os_type.clone(),
        os_version: Some(src.reg.os_version.clone()),
        oem_system: Some(src.reg.oem_system.unwrap_or(false)),
        state: Some(state),
        connected: Some(src.connected),
        firmware: Some(
            src.reg
                .firmware
                .clone()
                .unwrap_or(migplan_wire::sms::Firmware::Bios),
        ),
        cpu_quantity: src.reg.cpu_quantity,
        memory: src.reg.memory,
        disks: detail.then(|| src.reg.disks.clone()),
        volume_groups: detail.then(|| src.reg.volume_groups.clone().unwrap_or_default()),
        btrfs_list: detail.then(|| src.reg.btrfs_list.clone().unwrap_or_default()),
        networks: detail.then(|| src.reg.networks.clone()),
        agent_version: Some(src.reg.agent_version.clone()),
        current_task: None,
        checks: Some(vec![EnvironmentCheck {
            id: 1,
            name: "OS_CHECK".into(),
            result: "OK".into(),
            ..EnvironmentCheck::default()
        }]),
        init_target_server: Some(InitTargetServer {
            disks: init_disks,
            volume_groups: Vec::new(),
        }),
        replicatesize: Some(0),
        totalsize: Some(src.total_bytes()),
        stage_action_time: Some(since),
        state_action_time: Some(since),
        last_visit_time: Some(now),
        migration_cycle: Some(cycle),
        is_consistency_result_exist: Some(false),
        has_tc: Some(false),
        platform: src.reg.platform.clone(),
    }
}
