#!/usr/bin/env bash
# The README's CI recipes, run by the migplan GitHub Action (action.yml beside this file).
#
#   MIGPLAN_COMMAND=plan   plan MIGPLAN_PLAN with --detailed-exitcode, write the markdown view and
#                          the saved plan; 0 no changes, 2 changes (comment), 3 blocked (comment,
#                          fail), anything else fails.
#   MIGPLAN_COMMAND=apply  apply MIGPLAN_PLAN (a reviewed saved plan, or a plan file) with
#                          --auto-approve; 0 done, 5 still in progress (not a failure: the next
#                          run continues), 3 blocked, 4 stale saved plan, anything else fails.
#
# Inputs (environment): MIGPLAN_BIN (default `migplan`), MIGPLAN_PLAN, MIGPLAN_SAVED_PLAN,
# MIGPLAN_MARKDOWN, MIGPLAN_WAIT_TIMEOUT, MIGPLAN_LOCK_TIMEOUT, MIGPLAN_EXTRA_ARGS (split on
# spaces), MIGPLAN_COMMENT (`true`: post the markdown on the pull request with `gh`).
# Outputs (to $GITHUB_OUTPUT when set): exit-code, result, markdown, saved-plan.
set -uo pipefail

bin="${MIGPLAN_BIN:-migplan}"
plan="${MIGPLAN_PLAN:?set the plan input: a plan file, or the saved plan to apply}"
saved="${MIGPLAN_SAVED_PLAN:-migplan.plan.json}"
markdown="${MIGPLAN_MARKDOWN:-migplan-plan.md}"
read -r -a extra <<<"${MIGPLAN_EXTRA_ARGS:-}"

output() {
  if [ -n "${GITHUB_OUTPUT:-}" ]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
  printf 'migplan: %s=%s\n' "$1" "$2"
}

comment() {
  if [ "${MIGPLAN_COMMENT:-false}" = "true" ]; then
    gh pr comment "${MIGPLAN_PR:?no pull request to comment on}" --body-file "$markdown"
  fi
}

case "${MIGPLAN_COMMAND:-}" in
  plan)
    "$bin" plan "$plan" --detailed-exitcode --format markdown --out "$saved" "${extra[@]}" >"$markdown"
    code=$?
    output exit-code "$code"
    output markdown "$markdown"
    output saved-plan "$saved"
    case $code in
      0) output result no-changes ;;
      2) output result changes; comment || exit 1 ;;
      3) output result blocked; comment; echo "::error::something is blocked: a person must act (see the plan)"; exit 1 ;;
      *) output result error; exit 1 ;;
    esac
    ;;
  apply)
    "$bin" apply "$plan" --auto-approve \
      --wait-timeout "${MIGPLAN_WAIT_TIMEOUT:-50m}" --lock-timeout "${MIGPLAN_LOCK_TIMEOUT:-5m}" "${extra[@]}"
    code=$?
    output exit-code "$code"
    case $code in
      0) output result "done" ;;
      5) output result in-progress; echo "::notice::still in progress: the next scheduled run continues" ;;
      3) output result blocked; echo "::error::blocked: a person must act (see the plan output)"; exit 1 ;;
      4) output result stale; echo "::error::live state or the saved plan changed since review: plan again"; exit 1 ;;
      *) output result error; exit 1 ;;
    esac
    ;;
  *)
    echo "::error::MIGPLAN_COMMAND must be plan or apply, not '${MIGPLAN_COMMAND:-}'" >&2
    exit 1
    ;;
esac
