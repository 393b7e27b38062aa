#!/bin/bash
# Keelson first boot, on the node that created the cluster: one step of
# giving the new cluster its pod network, CoreDNS and Argo CD.
#
# Installed as /opt/keelson/bin/bootstrap-manifests; keelson-bootstrap-manifests.service
# runs it once per step, in order (ExecStart= lines), and restarts the whole
# list after a failure (every step is idempotent). Each step is logged to the
# journal and recorded in /var/lib/keelson/bootstrap-status, which the node
# publishes as Lease keelson-boot/status-<node>.
#
#   bootstrap-manifests apply NAME FILE [NS|-] [SHA256]  server-side apply of FILE; with SHA256,
#                                                        only when FILE has that digest
#   bootstrap-manifests apply-url NAME URL NS|- [SHA256] the same for an upstream URL, checked
#                                                        against SHA256 when given
#   bootstrap-manifests wait-job NAMESPACE JOB SECONDS   until the Job completes; fails at
#                                                        once when it fails, and after SECONDS
#   bootstrap-manifests delete NAMESPACE KIND/NAME...     removes what only served a step
#   bootstrap-manifests begin                             ExecStartPre: counts this run of the list
#   bootstrap-manifests done                              the last step: status "bootstrapped"
#
# A run of the whole list is one attempt; the unit allows KEELSON_MAX_ATTEMPTS
# (its StartLimitBurst, set in its Environment=), so a failure in the last one
# is final and the published status says so (attempt = max-attempts).
set -Eeuo pipefail
umask 077

: "${KEELSON_ROOT:=}"
: "${KEELSON_BOOTSTRAP_ENV:=${KEELSON_ROOT}/etc/keelson/bootstrap.env}"
# shellcheck source=/dev/null
. "${KEELSON_BOOTSTRAP_ENV}"
# This list counts its runs apart from kubeadm-bootstrap's attempts.
: "${KEELSON_ATTEMPT_FILE:=${KEELSON_STATE_DIR:-${KEELSON_ROOT}/var/lib/keelson}/bootstrap-manifests-attempt}"
# shellcheck source=bootstrap-lib.sh source-path=SCRIPTDIR
. "${KEELSON_LIB:-${KEELSON_ROOT}/opt/keelson/lib/bootstrap-lib.sh}"
: "${KEELSON_MAX_ATTEMPTS:=6}"
keelson_attempt=$(cat "${KEELSON_ATTEMPT_FILE}" 2>/dev/null || echo 0)

trap 'fail "unexpected failure (exit $?) in: ${BASH_COMMAND}"' ERR

admin() {
  kubectl --kubeconfig "${KEELSON_ROOT}/etc/kubernetes/admin.conf" --request-timeout=30s "$@"
}

apply() {
  local name=$1 source=$2 namespace=${3:-} sha256=${4:-} actual out
  if [ "${namespace}" = - ]; then namespace=""; fi
  step "manifests:${name}" "server-side apply of ${source}${sha256:+, sha256 ${sha256}}"
  if [ -n "${sha256}" ]; then
    # A carried file (Ignition wrote it from the config synth checked): checked again here, on the node.
    [ -f "${source}" ] || fail "${source} is missing; Ignition writes it from the node's secret part: replace the node"
    actual=$(sha256sum "${source}" | cut -d ' ' -f 1)
    if [ "${actual}" != "${sha256}" ]; then
      fail "${source} has sha256 ${actual}, not the pinned ${sha256}; refusing to apply it (the file changed after synth checked it): replace the node"
    fi
  fi
  if ! out=$(admin apply --server-side --force-conflicts --field-manager=keelson-bootstrap ${namespace:+--namespace="${namespace}"} -f "${source}" 2>&1); then
    fail "kubectl apply of ${source} failed: $(tail -n 3 <<<"${out}" | tr '\n' ' ')"
  fi
  log "applied ${source}"
}

# apply_url NAME URL NAMESPACE|- [SHA256]: with a digest, the file is downloaded (at most
# 300 s) and applied only when its SHA-256 is the pinned one; without, kubectl reads the URL.
apply_url() {
  local name=$1 url=$2 namespace=${3:--} sha256=${4:-} file actual
  if [ -z "${sha256}" ]; then
    log "${url} is not pinned by digest"
    apply "${name}" "${url}" "${namespace}"
    return 0
  fi
  step "manifests:${name}" "download ${url}, sha256 ${sha256}"
  mkdir -p "${KEELSON_RUN_DIR}"
  file="${KEELSON_RUN_DIR}/${name}.yaml"
  curl --fail --silent --show-error --location --retry 5 --retry-delay 5 --retry-all-errors --connect-timeout 10 --max-time 300 --output "${file}" "${url}" ||
    fail "could not download ${url}"
  actual=$(sha256sum "${file}" | cut -d ' ' -f 1)
  if [ "${actual}" != "${sha256}" ]; then
    rm -f "${file}"
    fail "${url} has sha256 ${actual}, not the pinned ${sha256}; refusing to apply it (a moved tag or a changed file)"
  fi
  apply "${name}" "${file}" "${namespace}"
  rm -f "${file}"
}

job_state() {
  admin --namespace "$1" get job "$2" -o jsonpath='{range .status.conditions[?(@.status=="True")]}{.type}{" "}{end}' 2>/dev/null || true
}

wait_job() {
  local namespace=$1 job=$2 bound=$3 start states waited slept=0
  step "manifests:wait-${job}" "Job ${namespace}/${job} complete, at most ${bound} s"
  start=$(date +%s)
  while true; do
    states=$(job_state "${namespace}" "${job}")
    case " ${states} " in
      *" Complete "*) log "Job ${namespace}/${job} completed"; return 0 ;;
      *" Failed "*)
        fail "Job ${namespace}/${job} failed: $(admin --namespace "${namespace}" logs "job/${job}" --tail=5 2>&1 | tr '\n' ' ' | cut -c1-600)"
        ;;
    esac
    # The wall clock, or the sleeps if longer.
    waited=$(($(date +%s) - start))
    if [ "${slept}" -gt "${waited}" ]; then waited=${slept}; fi
    if [ "${waited}" -ge "${bound}" ]; then
      fail "Job ${namespace}/${job} did not complete within ${bound} s (conditions: ${states:-none}); kubectl -n ${namespace} describe job ${job}"
    fi
    sleep 5
    slept=$((waited + 5))
  done
}

remove() {
  local namespace=$1
  shift
  step "manifests:cleanup" "delete $*"
  admin delete --ignore-not-found --wait=false --namespace="${namespace}" "$@" >/dev/null || fail "could not delete $* in ${namespace}"
}

command=${1:-}
if [ "$#" -gt 0 ]; then shift; fi
case "${command}" in
  apply) apply "$@" ;;
  apply-url) apply_url "$@" ;;
  wait-job) wait_job "$@" ;;
  delete) remove "$@" ;;
  begin)
    next_attempt
    log "run ${keelson_attempt} of the bootstrap steps, at most ${KEELSON_MAX_ATTEMPTS}"
    ;;
  done)
    step manifests:done
    status bootstrapped "pod network, CoreDNS and Argo CD applied; Argo CD takes over"
    publish_status || true
    log "bootstrapped"
    ;;
  *) echo "usage: bootstrap-manifests apply|apply-url|wait-job|delete|begin|done ..." >&2; exit 2 ;;
esac
