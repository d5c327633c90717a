#!/usr/bin/env python3
"""Official-SDK conformance test of the migplan emulator.

Drives a running emulator with the official Huawei Cloud Python SDKs (huaweicloudsdksms,
huaweicloudsdkdcs): every request is signed by the SDK's own AK/SK signer and every answer is
parsed by the SDK's own models and exception handler. Run through tests/sdk/run.sh, or set
MIGPLAN_EMULATOR_URL, MIGPLAN_AK and MIGPLAN_SK and run it directly.

Temporary credentials: when MIGPLAN_STS_URL, MIGPLAN_STS_AK, MIGPLAN_STS_SK and
MIGPLAN_STS_TOKEN are set (run.sh starts that emulator with --security-token), the SDK's
credentials `.with_security_token(...)` are accepted there, and refused with a wrong or no
token; the main emulator (permanent keys) refuses a request carrying a token.

Prints one PASS/FAIL line per check and a closing "N passed, N failed" line; exits 1 on any
failure.
"""

import json
import os
import sys
import time
import traceback
import urllib.request
import uuid

from huaweicloudsdkcore.auth.credentials import BasicCredentials, GlobalCredentials
from huaweicloudsdkcore.exceptions.exceptions import ClientRequestException
from huaweicloudsdkcore.http.http_config import HttpConfig
import huaweicloudsdkdcs.v2 as dcs
import huaweicloudsdksms.v3 as sms

URL = os.environ.get("MIGPLAN_EMULATOR_URL", "http://127.0.0.1:8080")
AK = os.environ.get("MIGPLAN_AK", "AK")
SK = os.environ.get("MIGPLAN_SK", "SK")
DOMAIN_ID = "0d1f2e3c4b5a69788796a5b4c3d2e1f0"
PROJECT_ID = "0123456789abcdef0123456789abcdef"
REGION = "ap-southeast-3"
STS_URL = os.environ.get("MIGPLAN_STS_URL")
STS_AK = os.environ.get("MIGPLAN_STS_AK")
STS_SK = os.environ.get("MIGPLAN_STS_SK")
STS_TOKEN = os.environ.get("MIGPLAN_STS_TOKEN")
TIMEOUT_S = float(os.environ.get("MIGPLAN_CONFORMANCE_TIMEOUT", "60"))
RUN = uuid.uuid4().hex[:6]
GIB = 1 << 30

passed = 0
failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print(f"PASS {what}")
    else:
        failed += 1
        print(f"FAIL {what}")
    return cond


def expect_error(call, status, code, what, contains=None):
    """The call must raise ClientRequestException with this status and error_code (and, if
    given, an error_msg containing `contains`: the reason, not just the code)."""
    try:
        call()
    except ClientRequestException as e:
        ok = e.status_code == status and e.error_code == code and bool(e.request_id)
        if contains is not None:
            ok = ok and contains in (e.error_msg or "")
            what = f"{what} ({e.error_msg!r})"
        return check(ok, f"{what}: got {e.status_code} {e.error_code} (want {status} {code}), request_id={e.request_id!r}")
    except Exception as e:  # noqa: BLE001 - any other exception is a failure to report
        return check(False, f"{what}: unexpected {type(e).__name__}: {e}")
    return check(False, f"{what}: no error raised (want {status} {code})")


def wait_for(fetch, pred, what):
    """Polls fetch() until pred(value) holds; returns the last value."""
    deadline = time.monotonic() + TIMEOUT_S
    value = fetch()
    while not pred(value) and time.monotonic() < deadline:
        time.sleep(0.05)
        value = fetch()
    check(pred(value), what)
    return value


def http_config():
    cfg = HttpConfig.get_default_config()
    cfg.timeout = (5, 30)
    return cfg


def with_token(creds, token):
    return creds.with_security_token(token) if token is not None else creds


def sms_client(sk=SK, url=URL, ak=AK, token=None):
    """SMS is documented as a global service (GlobalCredentials, X-Domain-Id), but recent
    huaweicloudsdksms releases (3.1.219) only accept BasicCredentials (X-Project-Id): try the
    global form first and fall back, so both SDK generations are exercised."""
    def build(creds):
        return sms.SmsClient.new_builder().with_credentials(with_token(creds, token)).with_endpoints([url]).with_http_config(http_config()).build()

    try:
        return build(GlobalCredentials(ak, sk, DOMAIN_ID))
    except TypeError:
        return build(BasicCredentials(ak, sk, PROJECT_ID))


def dcs_client(sk=SK, url=URL, ak=AK, token=None):
    return (
        dcs.DcsClient.new_builder()
        .with_credentials(with_token(BasicCredentials(ak, sk, PROJECT_ID), token))
        .with_endpoints([url])
        .with_http_config(http_config())
        .build()
    )


def register(client, name, ip):
    body = sms.PostSourceServerBody(
        name=name,
        ip=ip,
        hostname=name,
        os_type="LINUX",
        os_version="CENTOS7.9",
        firmware="BIOS",
        cpu_quantity=4,
        memory=8 * GIB,
        agent_version="25.3.0",
        networks=[sms.NetWork(name="eth0", ip=ip, netmask="255.255.255.0", gateway="10.0.0.1", mtu=1500, mac="fa:16:3e:00:00:01")],
        disks=[sms.ServerDisk(name="/dev/vda", size=200 * GIB, used_size=100 * GIB, device_use="BOOT", partition_style="MBR", physical_volumes=[])],
    )
    return client.register_server(sms.RegisterServerRequest(body=body)).id


def action(client, task_id, op, **kw):
    return client.update_task_status(sms.UpdateTaskStatusRequest(task_id=task_id, body=sms.UpdateTaskStatusReq(operation=op, **kw)))


def sms_flow():
    c = sms_client()
    prefix = f"sdk-{RUN}"
    a = register(c, f"{prefix}-a", "10.0.0.11")
    b = register(c, f"{prefix}-b", "10.0.0.12")
    check(bool(a) and bool(b) and a != b, "RegisterServer returns two distinct ids")

    pages = [c.list_servers(sms.ListServersRequest(name=prefix, limit=1, offset=off)) for off in (0, 1, 2)]
    check(all(p.count == 2 for p in pages), f"ListServers count is 2 on every page: {[p.count for p in pages]}")
    ids = [s.id for p in pages[:2] for s in p.source_servers]
    check(sorted(ids) == sorted([a, b]), "ListServers limit=1 pages 1 and 2 hold one source each, both registered ones")
    check(pages[2].source_servers == [], "ListServers offset past the end is an empty page")

    src = c.show_server(sms.ShowServerRequest(source_id=a))
    check(src.name == f"{prefix}-a" and src.state == "waiting" and src.connected is True, f"ShowServer: name/state/connected = {src.name}/{src.state}/{src.connected}")
    check(bool(src.init_target_server and src.init_target_server.disks), "ShowServer has init_target_server.disks")

    task = sms.PostTask(
        name=f"{prefix}-a",
        type="MIGRATE_BLOCK",
        os_type="LINUX",
        source_server=sms.SourceServerByTask(id=a),
        target_server=sms.TargetServerByTask(name=f"{prefix}-a-target", vm_id=""),
        region_name=REGION,
        region_id=REGION,
        project_name=REGION,
        project_id=PROJECT_ID,
        priority=1,
        start_target_server=True,
        speed_limit=0,
        syncing=False,
    )
    tid = c.create_task(sms.CreateTaskRequest(body=task)).id
    check(bool(tid), "CreateTask returns an id")
    show = lambda: c.show_task(sms.ShowTaskRequest(task_id=tid))  # noqa: E731
    check(show().state == "READY", "new task is READY")

    expect_error(lambda: action(c, tid, "stop"), 400, "SMS.1038", "stop on a READY task is refused")
    expect_error(lambda: action(c, tid, "cutover"), 400, "SMS.2009", "cutover on a READY task is refused")
    expect_error(lambda: c.show_task(sms.ShowTaskRequest(task_id=str(uuid.uuid4()))), 404, "SMS.2252", "ShowTask of an unknown id is 404")
    expect_error(lambda: c.create_task(sms.CreateTaskRequest(body=task)), 400, "SMS.1002", "a second task for the same source is refused")

    action(c, tid, "start")
    t = show()
    check(t.state == "RUNNING", f"start: task RUNNING (got {t.state})")
    s = c.show_server(sms.ShowServerRequest(source_id=a))
    check((s.state, s.migration_cycle) == ("replicate", "replicating"), f"start: source replicate/replicating (got {s.state}/{s.migration_cycle})")
    t = wait_for(show, lambda t: t.state in ("MIGRATE_SUCCESS", "MIGRATE_FAIL"), "task reaches MIGRATE_SUCCESS")
    check(t.state == "MIGRATE_SUCCESS", f"final state {t.state}")
    check(len(t.sub_tasks) >= 5 and all(st.progress == 100 for st in t.sub_tasks), "all subtasks at 100%")
    check(any(st.name == "MIGRATE_LINUX_BLOCK" for st in t.sub_tasks), "MIGRATE_LINUX_BLOCK subtask present")
    check(bool(t.target_server and t.target_server.vm_id), "target server was created (vm_id set)")

    listed = c.list_tasks(sms.ListTasksRequest(name=prefix, state="MIGRATE_SUCCESS"))
    check(listed.count == 1 and listed.tasks[0].id == tid, "ListTasks state filter finds the task")

    srv = lambda: c.show_server(sms.ShowServerRequest(source_id=a))  # noqa: E731
    action(c, tid, "test")
    wait_for(srv, lambda s: s.migration_cycle == "tested", "test: source migration_cycle reaches tested")
    action(c, tid, "cutover")
    s = srv()
    check(s.state == "cutovering", f"cutover: source cutovering (got {s.state})")
    wait_for(srv, lambda s: (s.state, s.migration_cycle) == ("finished", "cutovered"), "cutover: source finished/cutovered")
    expect_error(lambda: action(c, tid, "start"), 400, "SMS.1039", "start after cutover is refused")
    action(c, tid, "clear")
    wait_for(srv, lambda s: s.state == "cleared", "clear: source reaches cleared")
    check(show().state == "MIGRATE_SUCCESS", "task stays MIGRATE_SUCCESS through test/cutover/clear")

    c.delete_task(sms.DeleteTaskRequest(task_id=tid))
    expect_error(show, 404, "SMS.2252", "deleted task is gone")

    expect_error(lambda: sms_client(sk=SK + "x").list_servers(sms.ListServersRequest()), 401, "APIG.0301", "SMS with a wrong SK is 401")


def consistency_flow():
    """ShowConsistencyResult on tasks created with is_need_consistency_check. SDK 3.1.185+
    types `result_list` as a list of strings while the emulator answers the objects of the
    2025 API pages and Terraform (each entry then comes back as the SDK's str() of it), so the
    entries are checked in the raw answer and only their number through the model."""
    c = sms_client()
    gib_files = 1024  # the emulator reports one file per MiB used
    for suffix, prefix, want in (
        ("c", "", [0, 0]),
        ("i", "inconsistent-", [100 * gib_files // 100, 100 * gib_files // 500]),
    ):
        name = f"{prefix}sdk-{RUN}-{suffix}"
        src = register(c, name, "10.0.0.21")
        task = sms.PostTask(
            name=name, type="MIGRATE_BLOCK", os_type="LINUX",
            source_server=sms.SourceServerByTask(id=src),
            target_server=sms.TargetServerByTask(name=f"{name}-target", vm_id=""),
            region_name=REGION, region_id=REGION, project_name=REGION, project_id=PROJECT_ID,
            is_need_consistency_check=True,
        )
        tid = c.create_task(sms.CreateTaskRequest(body=task)).id
        show = lambda: c.show_consistency_result(sms.ShowConsistencyResultRequest(task_id=tid))  # noqa: E731
        r = show()
        check(r.task_id == tid and not r.result_list, f"{name}: ShowConsistencyResult is empty before the check (got {r.result_list!r})")
        action(c, tid, "start")
        wait_for(lambda: c.show_task(sms.ShowTaskRequest(task_id=tid)), lambda t: t.state in ("MIGRATE_SUCCESS", "MIGRATE_FAIL"), f"{name}: task finishes")
        r = show()
        raw = json.loads(r.raw_content)
        entries = raw.get("result_list") or []
        check(r.task_id == tid and len(r.result_list or []) == 1 and len(entries) == 1, f"{name}: one check result (SDK sees {len(r.result_list or [])})")
        dirs = entries[0].get("consistency_result", []) if entries and isinstance(entries[0], dict) else []
        got = [[d.get("num_different_files"), d.get("num_target_miss_files")] for d in dirs]
        check(got == [want] and dirs[0].get("dir_check") == "/" and dirs[0].get("num_total_files") == 100 * gib_files, f"{name}: / with 102400 files, different/missing {want} (got {dirs})")
        check(isinstance(entries[0].get("finished_time"), int) and entries[0].get("check_result") == "success", f"{name}: finished_time and check_result set")
        exist = json.loads(c.show_server(sms.ShowServerRequest(source_id=src)).raw_content).get("is_consistency_result_exist")
        check(exist is True, f"{name}: ShowServer is_consistency_result_exist (got {exist!r})")
    expect_error(lambda: c.show_consistency_result(sms.ShowConsistencyResultRequest(task_id=str(uuid.uuid4()))), 404, "SMS.2252", "ShowConsistencyResult of an unknown task is 404")


def dcs_flow():
    c = dcs_client()
    name = f"sdk-{RUN}-redis"
    body = dcs.CreateOnlineMigrationTaskBody(name=name, description="conformance", vpc_id="vpc-1", subnet_id="subnet-1", security_group_id="sg-1")
    resp = c.create_online_migration_task(dcs.CreateOnlineMigrationTaskRequest(body=body))
    tid = resp.instance_id
    job_id = json.loads(resp.raw_content).get("job_id")
    check(bool(tid) and bool(job_id), "CreateOnlineMigrationTask returns instance_id and job_id")
    wait_for(lambda: c.show_job_info(dcs.ShowJobInfoRequest(job_id=job_id)), lambda j: j.status in ("SUCCESS", "FAIL"), "job finishes")
    check(c.show_job_info(dcs.ShowJobInfoRequest(job_id=job_id)).status == "SUCCESS", "job SUCCESS")

    show = lambda: c.show_migration_task(dcs.ShowMigrationTaskRequest(task_id=tid))  # noqa: E731
    check(show().status == "RUNNING", "created task is RUNNING (waiting for configuration)")

    cfg = dcs.SetOnlineMigrationTaskBody(
        migration_method="incremental_migration",
        resume_mode="auto",
        bandwidth_limit_mb="100",
        source_instance=dcs.ConfigMigrationInstanceBody(addrs="10.0.0.1:6379", password="conformance-secret"),
        target_instance=dcs.ConfigMigrationInstanceBody(id="cf4a05df-1c38-47c5-bb5a-0a7b3673b3bd"),
    )
    r = c.set_online_migration_task(dcs.SetOnlineMigrationTaskRequest(task_id=tid, body=cfg))
    check(r.id == tid and r.status == "FULLMIGRATING", f"configure answers FULLMIGRATING (got {r.status})")
    expect_error(lambda: c.set_online_migration_task(dcs.SetOnlineMigrationTaskRequest(task_id=tid, body=cfg)), 400, "DCS.4957", "configuring twice is refused")
    t = wait_for(show, lambda t: t.status == "INCRMIGEATING", "incremental task reaches INCRMIGEATING")
    check(t.migration_method == "incremental_migration" and t.bandwidth_limit_mb == "100", "show echoes method and bandwidth")
    stats = c.show_migration_task_stats(dcs.ShowMigrationTaskStatsRequest(task_id=tid))
    check(stats.full_migration_progress == "100" and stats.is_migrating is True, "stats: full copy 100%, migrating")

    r = c.stop_migration_task(dcs.StopMigrationTaskRequest(task_id=tid))
    check(r.status == "TERMINATING", f"stop answers TERMINATING (got {r.status})")
    wait_for(show, lambda t: t.status == "TERMINATED", "stopped task reaches TERMINATED")

    d = c.delete_migration_task(dcs.DeleteMigrationTaskRequest(body=dcs.DeleteMigrateTaskRequest(task_id_list=[tid])))
    check(d.task_id_list == [tid], "delete echoes task_id_list")
    listed = c.list_migration_task(dcs.ListMigrationTaskRequest(name=name))
    check(all(m.task_id != tid for m in listed.migration_tasks) and listed.count == 0, "deleted task is gone from the list")
    expect_error(show, 400, "DCS.4133", "show of a deleted task is 400 DCS.4133")

    expect_error(lambda: dcs_client(sk="wrong").list_migration_task(dcs.ListMigrationTaskRequest()), 401, "APIG.0301", "DCS with a wrong SK is 401")


def security_token_flow():
    """Temporary credentials (AK/SK + security token), signed by the SDK's own signer, which
    adds X-Security-Token before signing."""
    if not (STS_URL and STS_AK and STS_SK and STS_TOKEN):
        check(False, "security_token_flow: MIGPLAN_STS_URL/AK/SK/TOKEN are not set (run through tests/sdk/run.sh)")
        return
    sts = dict(url=STS_URL, ak=STS_AK, sk=STS_SK)
    r = sms_client(token=STS_TOKEN, **sts).list_servers(sms.ListServersRequest())
    check(r.count is not None, f"SMS with the security token is accepted (count={r.count})")
    r = dcs_client(token=STS_TOKEN, **sts).list_migration_task(dcs.ListMigrationTaskRequest())
    check(r.count is not None, f"DCS with the security token is accepted (count={r.count})")
    expect_error(lambda: sms_client(token=STS_TOKEN + "x", **sts).list_servers(sms.ListServersRequest()), 401, "APIG.0301", "SMS with a wrong security token is 401", contains="invalid or expired")
    expect_error(lambda: dcs_client(token="wrong", **sts).list_migration_task(dcs.ListMigrationTaskRequest()), 401, "APIG.0301", "DCS with a wrong security token is 401", contains="invalid or expired")
    expect_error(lambda: sms_client(**sts).list_servers(sms.ListServersRequest()), 401, "APIG.0301", "SMS without the security token is 401", contains="no X-Security-Token")
    expect_error(lambda: dcs_client(**sts).list_migration_task(dcs.ListMigrationTaskRequest()), 401, "APIG.0301", "DCS without the security token is 401", contains="no X-Security-Token")
    expect_error(lambda: sms_client(token=STS_TOKEN).list_servers(sms.ListServersRequest()), 401, "APIG.0301", "a security token with permanent keys is 401", contains="permanent credentials")


def admin_stats():
    with urllib.request.urlopen(f"{URL}/_emulator/stats", timeout=10) as r:
        stats = json.load(r)
    routes = stats.get("by_route", {})
    check(routes.get("POST /v3/tasks/{task_id}/action", 0) >= 7, "emulator counted the SDK's action calls")
    check(routes.get("GET /v2/{project_id}/migration-task/{task_id}", 0) >= 3, "emulator counted the SDK's DCS show calls")


def main():
    print(f"emulator {URL}, run {RUN}")
    for flow in (sms_flow, consistency_flow, dcs_flow, security_token_flow, admin_stats):
        try:
            flow()
        except Exception:  # noqa: BLE001 - report and carry on with the next flow
            check(False, f"{flow.__name__} raised:\n{traceback.format_exc()}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
