#!/usr/bin/env bash
# Official-SDK conformance test of the migplan emulator.
#
# Creates (or reuses) a venv under target/sdk-venv with the pinned Huawei Cloud Python SDKs,
# builds and starts the emulator example (`migplan-emulator --example serve`) on a free
# loopback port with time_scale 1000, plus a second one issuing temporary credentials
# (`--security-token`), runs tests/sdk/conformance.py against both, stops them and exits with
# the conformance status. Run from anywhere: bash tests/sdk/run.sh
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

SDK_VERSION="3.1.219"   # huaweicloudsdkcore/sms/dcs, verified against the emulator
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
VENV="$TARGET_DIR/sdk-venv"
PY="$VENV/bin/python"

if [ ! -x "$PY" ]; then
    python3 -m venv "$VENV"
fi
if ! "$PY" - "$SDK_VERSION" <<'PYEOF' 2>/dev/null
import sys, importlib.metadata as m
want = sys.argv[1]
sys.exit(0 if all(m.version(p) == want for p in ("huaweicloudsdkcore", "huaweicloudsdksms", "huaweicloudsdkdcs")) else 1)
PYEOF
then
    echo "installing huaweicloudsdksms/huaweicloudsdkdcs $SDK_VERSION into $VENV" >&2
    "$PY" -m pip install --quiet --disable-pip-version-check \
        "huaweicloudsdkcore==$SDK_VERSION" "huaweicloudsdksms==$SDK_VERSION" "huaweicloudsdkdcs==$SDK_VERSION"
fi

cargo build --quiet -p migplan-emulator --example serve
SERVE="$TARGET_DIR/debug/examples/serve"

WORK="$(mktemp -d)"
AK="conformance-ak"
SK="conformance-sk-$RANDOM$RANDOM"
# Temporary credentials: a second emulator requiring this security token.
STS_AK="conformance-sts-ak"
STS_SK="conformance-sts-sk-$RANDOM$RANDOM"
STS_TOKEN="conformance-sts-token-$RANDOM$RANDOM"
"$SERVE" --listen 127.0.0.1:0 --access-key "$AK" --secret-key "$SK" --time-scale 1000 \
    >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMU_PID=$!
"$SERVE" --listen 127.0.0.1:0 --access-key "$STS_AK" --secret-key "$STS_SK" \
    --security-token "$STS_TOKEN" --time-scale 1000 \
    >"$WORK/sts.out" 2>"$WORK/sts.err" &
STS_PID=$!

stop_emulators() {
    for pid in "$EMU_PID" "$STS_PID"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -INT "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap stop_emulators EXIT

# Waits for an emulator to print its URL; prints the URL.
url_of() {
    local name="$1" pid="$2" url=""
    for _ in $(seq 1 300); do
        url="$(sed -n 's/^MIGPLAN_EMULATOR_URL=//p' "$WORK/$name.out")"
        [ -n "$url" ] && { echo "$url"; return 0; }
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "the $name emulator exited before listening:" >&2
            cat "$WORK/$name.err" >&2
            return 1
        fi
        sleep 0.1
    done
    echo "the $name emulator did not print its URL within 30 s" >&2
    return 1
}
URL="$(url_of emulator "$EMU_PID")"
STS_URL="$(url_of sts "$STS_PID")"

set +e
MIGPLAN_EMULATOR_URL="$URL" MIGPLAN_AK="$AK" MIGPLAN_SK="$SK" \
    MIGPLAN_STS_URL="$STS_URL" MIGPLAN_STS_AK="$STS_AK" MIGPLAN_STS_SK="$STS_SK" \
    MIGPLAN_STS_TOKEN="$STS_TOKEN" \
    "$PY" "$ROOT/tests/sdk/conformance.py"
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
    for name in emulator sts; do
        echo "--- $name emulator stderr ---" >&2
        tail -n 50 "$WORK/$name.err" >&2 || true
    done
fi
exit "$STATUS"
