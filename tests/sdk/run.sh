#!/usr/bin/env bash
# Official-SDK conformance test of the migplan emulator.
#
# Creates (or reuses) a venv under target/sdk-venv with the pinned Huawei Cloud Python SDKs,
# builds and starts the emulator example (`migplan-emulator --example serve`) on a free
# loopback port with time_scale 1000, runs tests/sdk/conformance.py against it, stops the
# emulator and exits with the conformance status. Run from anywhere: bash tests/sdk/run.sh
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
"$SERVE" --listen 127.0.0.1:0 --access-key "$AK" --secret-key "$SK" --time-scale 1000 \
    >"$WORK/emulator.out" 2>"$WORK/emulator.err" &
EMU_PID=$!

stop_emulator() {
    if kill -0 "$EMU_PID" 2>/dev/null; then
        kill -INT "$EMU_PID" 2>/dev/null || true
        wait "$EMU_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap stop_emulator EXIT

URL=""
for _ in $(seq 1 300); do
    URL="$(sed -n 's/^MIGPLAN_EMULATOR_URL=//p' "$WORK/emulator.out")"
    [ -n "$URL" ] && break
    if ! kill -0 "$EMU_PID" 2>/dev/null; then
        echo "the emulator exited before listening:" >&2
        cat "$WORK/emulator.err" >&2
        exit 1
    fi
    sleep 0.1
done
if [ -z "$URL" ]; then
    echo "the emulator did not print its URL within 30 s" >&2
    exit 1
fi

set +e
MIGPLAN_EMULATOR_URL="$URL" MIGPLAN_AK="$AK" MIGPLAN_SK="$SK" "$PY" "$ROOT/tests/sdk/conformance.py"
STATUS=$?
set -e
if [ "$STATUS" -ne 0 ]; then
    echo "--- emulator stderr ---" >&2
    tail -n 50 "$WORK/emulator.err" >&2 || true
fi
exit "$STATUS"
