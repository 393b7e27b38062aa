# shellcheck shell=bash
# Keelson first boot: the helpers every bootstrap script sources.
#
# Installed on every node as /opt/keelson/lib/bootstrap-lib.sh (embedded in
# the node's Ignition config by @keelson/ignition at build time). Sourced, never
# run. Everything a node's bootstrap leaves for an operator goes through here:
# one journal line per event, naming the node, the step and the attempt, and
# a status file (KEELSON_STATUS_FILE) that the node also publishes to the
# cluster as a Lease in the keelson-boot namespace once the API answers, so
# `keelson deploy` can show which step a node is stuck on without SSH.
#
# Paths: every path a script touches is "${KEELSON_ROOT}<path on the node>".
# KEELSON_ROOT is empty on a node; tests set it to a scratch root.

: "${KEELSON_ROOT:=}"
: "${KEELSON_NODE:=$(cat "${KEELSON_ROOT}/etc/hostname" 2>/dev/null || echo unknown)}"
: "${KEELSON_STATE_DIR:=${KEELSON_ROOT}/var/lib/keelson}"
: "${KEELSON_RUN_DIR:=${KEELSON_ROOT}/run/keelson}"
: "${KEELSON_STATUS_FILE:=${KEELSON_STATE_DIR}/bootstrap-status}"
: "${KEELSON_ATTEMPT_FILE:=${KEELSON_STATE_DIR}/bootstrap-attempt}"

keelson_step=start
keelson_attempt=0

# log MESSAGE...: one journal line (the unit's stderr goes to the journal).
log() {
  printf 'keelson-bootstrap node=%s step=%s attempt=%s: %s\n' "${KEELSON_NODE}" "${keelson_step}" "${keelson_attempt}" "$*" >&2
}

# step NAME: the step that runs now; recorded in the status file.
step() {
  keelson_step=$1
  status running "${2:-}"
  log "begin${2:+: $2}"
}

# next_attempt: counts this run of the unit (kept across restarts and reboots).
next_attempt() {
  mkdir -p "$(dirname "${KEELSON_ATTEMPT_FILE}")"
  local n=0
  if [ -f "${KEELSON_ATTEMPT_FILE}" ]; then n=$(cat "${KEELSON_ATTEMPT_FILE}"); fi
  keelson_attempt=$((n + 1))
  echo "${keelson_attempt}" > "${KEELSON_ATTEMPT_FILE}"
}

# status STATE [MESSAGE]: writes the status file (KEY=value lines, newest state only).
status() {
  local state=$1 message=${2:-}
  mkdir -p "$(dirname "${KEELSON_STATUS_FILE}")"
  {
    printf 'node=%s\n' "${KEELSON_NODE}"
    printf 'state=%s\n' "${state}"
    printf 'step=%s\n' "${keelson_step}"
    printf 'attempt=%s\n' "${keelson_attempt}"
    printf 'time=%s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    printf 'message=%s\n' "${message//$'\n'/ }"
  } > "${KEELSON_STATUS_FILE}.tmp"
  mv -f "${KEELSON_STATUS_FILE}.tmp" "${KEELSON_STATUS_FILE}"
}

# fail MESSAGE: records the failure of the current step and exits 1 (the unit retries).
fail() {
  status failed "$*"
  log "FAILED: $*"
  publish_status || true
  exit 1
}

# backoff_until BOUND_SECONDS WHAT COMMAND...: runs COMMAND until it succeeds,
# sleeping KEELSON_BACKOFF_FIRST_SECONDS (2), then twice as long each time up to
# KEELSON_BACKOFF_MAX_SECONDS (30) between tries, and gives up rather than wait
# past BOUND_SECONDS. Time waited is the wall clock (or the sleeps, if longer).
# Returns 1 when it gave up.
backoff_until() {
  local bound=$1 what=$2
  shift 2
  local start elapsed slept=0 delay=${KEELSON_BACKOFF_FIRST_SECONDS:-2} cap=${KEELSON_BACKOFF_MAX_SECONDS:-30} tries=0
  start=$(date +%s)
  while true; do
    tries=$((tries + 1))
    if "$@"; then
      log "${what}: yes after ${tries} tries, $(($(date +%s) - start)) s"
      return 0
    fi
    elapsed=$(($(date +%s) - start))
    if [ "${slept}" -gt "${elapsed}" ]; then elapsed=${slept}; fi
    if [ $((elapsed + delay)) -gt "${bound}" ]; then
      log "${what}: still no after ${tries} tries, ${elapsed} s (bound ${bound} s)"
      return 1
    fi
    log "${what}: not yet (try ${tries}); next try in ${delay} s"
    sleep "${delay}"
    slept=$((elapsed + delay))
    delay=$((delay * 2))
    if [ "${delay}" -gt "${cap}" ]; then delay=${cap}; fi
  done
}

# The cluster as a joining node sees it: the API endpoint behind the load
# balancer, the cluster CA (public) and the bootstrap token, in a kubeconfig
# under /run (mode 0600), so the token never shows in a process list.
bootstrap_kubeconfig() {
  local kubeconfig="${KEELSON_RUN_DIR}/bootstrap.kubeconfig"
  if [ ! -f "${kubeconfig}" ]; then
    mkdir -p "${KEELSON_RUN_DIR}"
    (
      umask 077
      cat > "${kubeconfig}" <<KUBECONFIG
apiVersion: v1
kind: Config
clusters:
- name: keelson
  cluster:
    server: https://${KEELSON_API_ENDPOINT}
    certificate-authority: ${KEELSON_CLUSTER_CA}
users:
- name: bootstrap
  user:
    token: ${KEELSON_BOOTSTRAP_TOKEN}
contexts:
- name: bootstrap
  context: {cluster: keelson, user: bootstrap}
current-context: bootstrap
KUBECONFIG
    )
  fi
  echo "${kubeconfig}"
}

# kubectl_bootstrap ARGS...: kubectl as this node's bootstrap token, each request bounded.
kubectl_bootstrap() {
  kubectl --kubeconfig "$(bootstrap_kubeconfig)" --request-timeout=10s "$@"
}

# status_kubectl ARGS...: kubectl as the node's admin once kubeadm made it a
# control-plane node, else as its bootstrap token.
status_kubectl() {
  local admin="${KEELSON_ROOT}/etc/kubernetes/admin.conf"
  if [ -r "${admin}" ]; then
    kubectl --kubeconfig "${admin}" --request-timeout=10s "$@"
  else
    kubectl_bootstrap "$@"
  fi
}

# publish_status: best effort, the status file as Lease keelson-boot/status-<node>'s
# annotations (with KEELSON_MAX_ATTEMPTS, the attempts the unit allows), so `kubectl -n keelson-boot get leases` (and keelson deploy)
# show every node's last step without SSH. Silent when the API does not answer.
publish_status() {
  [ -f "${KEELSON_STATUS_FILE}" ] || return 0
  if [ -z "${KEELSON_BOOTSTRAP_TOKEN:-}" ] && [ ! -r "${KEELSON_ROOT}/etc/kubernetes/admin.conf" ]; then return 0; fi
  command -v kubectl >/dev/null 2>&1 || return 0
  local state step attempt time message
  state=$(sed -n 's/^state=//p' "${KEELSON_STATUS_FILE}")
  step=$(sed -n 's/^step=//p' "${KEELSON_STATUS_FILE}")
  attempt=$(sed -n 's/^attempt=//p' "${KEELSON_STATUS_FILE}")
  time=$(sed -n 's/^time=//p' "${KEELSON_STATUS_FILE}")
  message=$(sed -n 's/^message=//p' "${KEELSON_STATUS_FILE}" | cut -c1-1000)
  printf '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":%s,"namespace":"keelson-boot","annotations":{"keelson.dev/state":%s,"keelson.dev/step":%s,"keelson.dev/attempt":%s,"keelson.dev/max-attempts":%s,"keelson.dev/time":%s,"keelson.dev/message":%s}},"spec":{"holderIdentity":%s}}\n' \
    "$(json_string "status-${KEELSON_NODE}")" "$(json_string "${state}")" "$(json_string "${step}")" "$(json_string "${attempt}")" "$(json_string "${KEELSON_MAX_ATTEMPTS:-}")" "$(json_string "${time}")" "$(json_string "${message}")" "$(json_string "${KEELSON_NODE}")" |
    status_kubectl apply --server-side --force-conflicts --field-manager=keelson-bootstrap -f - >/dev/null 2>&1
}

# json_string TEXT: TEXT as a JSON string (quotes and backslashes escaped, control characters dropped).
json_string() {
  local s=${1//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$(printf '%s' "${s}" | tr -d '\000-\037')"
}
