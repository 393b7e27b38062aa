#!/bin/bash
# Keelson first boot: bring this node into the Kubernetes cluster with kubeadm.
#
# Installed on every node as /opt/keelson/bin/kubeadm-bootstrap and run by
# keelson-kubeadm.service until it succeeds once (the unit restarts it after
# a failure; after KEELSON_MAX_ATTEMPTS attempts it gives up with exit 75,
# which the unit does not restart). What differs between nodes is in
# /etc/keelson/bootstrap.env, which Ignition writes next to it.
#
# The sequence, each step logged to the journal with the node, the step and
# the attempt, and recorded in /var/lib/keelson/bootstrap-status:
#   address        the node's private address (metadata, else the node network)
#   keep-pki       controllers: the Ignition-provided CAs and service-account keys
#                  are copied once to /var/lib/keelson/pki (kubeadm reset does not
#                  touch it) and put back into /etc/kubernetes/pki before every
#                  attempt; a controller without them stops: it never makes a CA
#   probe          KEELSON_ACTION=init only (the first controller of a first
#                  deploy): if anything answers HTTP on the API endpoint within
#                  KEELSON_INIT_PROBE_SECONDS, a cluster exists and this node joins it
#   wait-api       joiners: GET /readyz through the load balancer until it is 200
#   wait-cluster-info  joiners: kube-public/cluster-info signed for our token
#   join-lock      control-plane joiners: Lease keelson-boot/control-plane-join,
#                  so one control-plane join runs at a time
#   etcd-restore   init with KEELSON_ETCD_RESTORE=yes: the snapshot into /var/lib/etcd
#   kubeadm-init / kubeadm-join   bounded by KEELSON_KUBEADM_TIMEOUT_SECONDS; on
#                  failure `kubeadm reset --force`, the PKI restored, exit 1
#   check-pki      the CAs and keys are still byte for byte what Ignition wrote
#   boot-rbac      init only: namespace keelson-boot and the bootstrap token's
#                  rights on its Leases (join lock, node status)
#   finish         configs with the bootstrap token removed, stamp written
set -Eeuo pipefail
umask 077

: "${KEELSON_ROOT:=}"
: "${KEELSON_BOOTSTRAP_ENV:=${KEELSON_ROOT}/etc/keelson/bootstrap.env}"
# shellcheck source=/dev/null
. "${KEELSON_BOOTSTRAP_ENV}"
# shellcheck source=bootstrap-lib.sh source-path=SCRIPTDIR
. "${KEELSON_LIB:-${KEELSON_ROOT}/opt/keelson/lib/bootstrap-lib.sh}"

# Node facts (from bootstrap.env) and every bound, in seconds.
: "${KEELSON_ROLE:?bootstrap.env sets KEELSON_ROLE}"
: "${KEELSON_ACTION:=join}"
: "${KEELSON_API_ENDPOINT:?bootstrap.env sets KEELSON_API_ENDPOINT}"
: "${KEELSON_NODE_NETWORK:=10.10.0.0/16}"
: "${KEELSON_ETCD_RESTORE:=no}"
: "${KEELSON_ETCD_RESTORE_SHA256:=}"
: "${KEELSON_ETCD_RESTORE_IMAGE:=}"
: "${KEELSON_MAX_ATTEMPTS:=10}"
: "${KEELSON_INIT_PROBE_SECONDS:=30}"
: "${KEELSON_API_WAIT_SECONDS:=1200}"
: "${KEELSON_CLUSTER_INFO_WAIT_SECONDS:=600}"
: "${KEELSON_LOCK_WAIT_SECONDS:=3600}"
: "${KEELSON_LOCK_LEASE_SECONDS:=1500}"
: "${KEELSON_KUBEADM_TIMEOUT_SECONDS:=1200}"

etc_keelson="${KEELSON_ROOT}/etc/keelson"
pki="${KEELSON_ROOT}/etc/kubernetes/pki"
kept="${KEELSON_STATE_DIR}/pki"
joined_stamp="${KEELSON_STATE_DIR}/kubeadm-joined"
kubeadm_done="${KEELSON_STATE_DIR}/kubeadm-succeeded"
initialized_stamp="${KEELSON_STATE_DIR}/cluster-initialized"
etcd_data="${KEELSON_ROOT}/var/lib/etcd"
restore_url_file="${etc_keelson}/etcd-restore-url"
snapshot="${KEELSON_STATE_DIR}/etcd-restore.db"
work="${KEELSON_RUN_DIR}/kubeadm.yaml"
KEELSON_CLUSTER_CA="${etc_keelson}/cluster-ca.crt"
# The files a controller must have from Ignition; kubeadm would generate any that is missing.
CONTROLLER_PKI=(ca.crt ca.key front-proxy-ca.crt front-proxy-ca.key etcd/ca.crt etcd/ca.key sa.key sa.pub)
LOCK=control-plane-join
lock_held=no

# On any exit: the work file (it holds the token) goes, and a join lock still held is released.
trap 'rm -f "${work}"; release_lock || true' EXIT
trap 'fail "unexpected failure (exit $?) in: ${BASH_COMMAND}"' ERR

# --- the Ignition-provided PKI, kept where kubeadm reset does not clean -------

keep_pki() {
  if [ -f "${kept}/.complete" ]; then return 0; fi
  local f missing=()
  for f in "${CONTROLLER_PKI[@]}"; do [ -s "${pki}/${f}" ] || missing+=("${f}"); done
  if [ "${#missing[@]}" -gt 0 ]; then
    fail "${pki} lacks ${missing[*]} from Ignition and ${kept} holds no copy; a controller never generates a CA (kubeadm would). Replace the node with a config from the same secrets bundle"
  fi
  rm -rf "${kept}.tmp"
  mkdir -p "${kept}.tmp/etcd"
  for f in "${CONTROLLER_PKI[@]}"; do cp -p "${pki}/${f}" "${kept}.tmp/${f}"; done
  touch "${kept}.tmp/.complete"
  rm -rf "${kept}"
  mv "${kept}.tmp" "${kept}"
  log "kept the Ignition-provided CAs and service-account keys in ${kept}"
}

restore_pki() {
  local f
  mkdir -p "${pki}/etcd"
  for f in "${CONTROLLER_PKI[@]}"; do
    if ! cmp -s "${kept}/${f}" "${pki}/${f}"; then
      install -m 0600 "${kept}/${f}" "${pki}/${f}"
      log "restored ${pki}/${f} from ${kept}"
    fi
  done
}

check_pki() {
  local f changed=()
  for f in "${CONTROLLER_PKI[@]}"; do cmp -s "${kept}/${f}" "${pki}/${f}" || changed+=("${f}"); done
  if [ "${#changed[@]}" -gt 0 ]; then
    fail "after kubeadm, ${changed[*]} in ${pki} differ from what Ignition wrote; this node must not serve with another CA. Replace it"
  fi
}

# --- waiting for the cluster ---------------------------------------------------

api_ready() {
  curl --silent --fail --max-time 5 --cacert "${KEELSON_CLUSTER_CA}" --output /dev/null "https://${KEELSON_API_ENDPOINT}/readyz"
}

cluster_info_published() {
  curl --silent --fail --max-time 5 --cacert "${KEELSON_CLUSTER_CA}" "https://${KEELSON_API_ENDPOINT}/api/v1/namespaces/kube-public/configmaps/cluster-info" |
    grep -q "\"jws-kubeconfig-${token_id}\""
}

api_answers_at_all() {
  local code
  code=$(curl --silent --insecure --output /dev/null --max-time 5 --write-out '%{http_code}' "https://${KEELSON_API_ENDPOINT}/livez" || true)
  [ "${code}" != 000 ] && [ -n "${code}" ]
}

rfc3339_now() { date -u +%Y-%m-%dT%H:%M:%S.000000Z; }

lease_manifest() {
  local now
  now=$(rfc3339_now)
  printf '{"apiVersion":"coordination.k8s.io/v1","kind":"Lease","metadata":{"name":"%s","namespace":"keelson-boot"%s},"spec":{"holderIdentity":"%s","leaseDurationSeconds":%s,"acquireTime":"%s","renewTime":"%s"}}\n' \
    "${LOCK}" "${1:+,\"resourceVersion\":\"$1\"}" "${KEELSON_NODE}" "${KEELSON_LOCK_LEASE_SECONDS}" "${now}" "${now}"
}

# One try at the control-plane join lock: create the Lease, or take it over
# when its holder is this node (an earlier attempt) or its lease ran out.
try_lock() {
  local out holder renew duration version expires
  if out=$(lease_manifest | kubectl_bootstrap create -f - 2>&1); then lock_held=yes; return 0; fi
  if ! grep -q AlreadyExists <<<"${out}"; then log "cannot create Lease keelson-boot/${LOCK}: ${out}"; return 1; fi
  out=$(kubectl_bootstrap -n keelson-boot get lease "${LOCK}" -o jsonpath='{.spec.holderIdentity}{" "}{.spec.renewTime}{" "}{.spec.leaseDurationSeconds}{" "}{.metadata.resourceVersion}' 2>&1) || { log "cannot read Lease keelson-boot/${LOCK}: ${out}"; return 1; }
  read -r holder renew duration version <<<"${out}"
  expires=$(( $(date -d "${renew:-1970-01-01T00:00:00Z}" +%s) + ${duration:-0} ))
  if [ "${holder}" != "${KEELSON_NODE}" ] && [ -n "${holder}" ] && [ "$(date +%s)" -lt "${expires}" ]; then
    log "control-plane join lock held by ${holder} until $(date -u -d "@${expires}" +%H:%M:%SZ)"
    return 1
  fi
  if out=$(lease_manifest "${version}" | kubectl_bootstrap replace -f - 2>&1); then
    log "took the control-plane join lock over from ${holder:-nobody}"
    lock_held=yes
    return 0
  fi
  log "could not take the lock over: ${out}"
  return 1
}

release_lock() {
  [ "${lock_held}" = yes ] || return 0
  local holder
  holder=$(kubectl_bootstrap -n keelson-boot get lease "${LOCK}" -o jsonpath='{.spec.holderIdentity}' 2>/dev/null || true)
  if [ "${holder}" = "${KEELSON_NODE}" ]; then
    kubectl_bootstrap -n keelson-boot delete lease "${LOCK}" >/dev/null 2>&1 || log "could not release the control-plane join lock; it expires after ${KEELSON_LOCK_LEASE_SECONDS} s"
  fi
  lock_held=no
}

# --- etcd from a snapshot (init with a restore only) ----------------------------

etcd_restore() {
  rm -rf "${etcd_data}" "${snapshot}"
  mkdir -p "$(dirname "${snapshot}")"
  local url actual peer="https://${ip}:2380" container=keelson-etcd-restore
  url=$(cat "${restore_url_file}")
  curl --fail --silent --show-error --location --retry 10 --retry-delay 10 --retry-all-errors --connect-timeout 10 --max-time 1800 --output "${snapshot}" "${url}" ||
    restore_failed "could not download the etcd snapshot from the link in ${restore_url_file} (links expire 7 days after keelson synth; synth with --restore-etcd again and redeploy)"
  if [ -n "${KEELSON_ETCD_RESTORE_SHA256}" ]; then
    actual=$(sha256sum "${snapshot}" | cut -d ' ' -f 1)
    [ "${actual}" = "${KEELSON_ETCD_RESTORE_SHA256}" ] ||
      restore_failed "the etcd snapshot's sha256 is ${actual}, not ${KEELSON_ETCD_RESTORE_SHA256} (--restore-etcd-sha256); refusing to restore it: check the object key and the hash, synth again and redeploy"
  fi
  timeout 600 ctr -n k8s.io image pull "${KEELSON_ETCD_RESTORE_IMAGE}" >/dev/null || restore_failed "could not pull ${KEELSON_ETCD_RESTORE_IMAGE} for etcdutl"
  ctr -n k8s.io containers delete "${container}" >/dev/null 2>&1 || true
  # Flatcar has no etcd tools: etcdutl runs from the pinned etcd image, with /var/lib mounted.
  timeout 600 ctr -n k8s.io run --rm --mount type=bind,src=/var/lib,dst=/var/lib,options=rbind:rw "${KEELSON_ETCD_RESTORE_IMAGE}" "${container}" \
    etcdutl snapshot restore "${snapshot}" --data-dir "${etcd_data}" --name "${KEELSON_NODE}" --initial-cluster "${KEELSON_NODE}=${peer}" --initial-advertise-peer-urls "${peer}" ||
    restore_failed "etcdutl could not restore the snapshot into ${etcd_data}"
  rm -f "${snapshot}"
}

restore_failed() {
  rm -rf "${etcd_data}" "${snapshot}"
  fail "$1"
}

# --- kubeadm ---------------------------------------------------------------------

# After a failed kubeadm: undo it (kubeadm reset also empties /etc/kubernetes/pki), then put the PKI back.
reset_node() {
  log "kubeadm reset --force to undo the failed attempt"
  kubeadm reset --force >&2 || log "kubeadm reset failed too (exit $?)"
  if [ "${action}" = init ] && [ "${KEELSON_ETCD_RESTORE}" = yes ]; then rm -rf "${etcd_data}"; fi
  if [ "${KEELSON_ROLE}" = controller ]; then restore_pki; fi
}

run_kubeadm() {
  local rc=0
  mkdir -p "${KEELSON_RUN_DIR}"
  sed "s/@NODE_IP@/${ip}/g" "${config}" > "${work}"
  if [ "${action}" = init ]; then
    if [ "${KEELSON_ETCD_RESTORE}" = yes ]; then
      # kubeadm init's preflight refuses a non-empty /var/lib/etcd; told to ignore that one check, it starts etcd on the restored data.
      timeout --kill-after=30 "${KEELSON_KUBEADM_TIMEOUT_SECONDS}" kubeadm init --config "${work}" --skip-token-print --ignore-preflight-errors=DirAvailable--var-lib-etcd >&2 || rc=$?
    else
      timeout --kill-after=30 "${KEELSON_KUBEADM_TIMEOUT_SECONDS}" kubeadm init --config "${work}" --skip-token-print >&2 || rc=$?
    fi
  else
    timeout --kill-after=30 "${KEELSON_KUBEADM_TIMEOUT_SECONDS}" kubeadm join --config "${work}" >&2 || rc=$?
  fi
  if [ "${rc}" -ne 0 ]; then
    local why="exit ${rc}"
    if [ "${rc}" -eq 124 ]; then why="no result within ${KEELSON_KUBEADM_TIMEOUT_SECONDS} s"; fi
    reset_node
    release_lock
    fail "kubeadm ${action} failed (${why}); reset, the next attempt starts clean. Its output is in the journal: journalctl -u keelson-kubeadm"
  fi
  touch "${kubeadm_done}"
}

# The namespace and rights a joining node has with only the bootstrap token:
# the control-plane join lock and its own status, as Leases in keelson-boot.
apply_boot_rbac() {
  kubectl --kubeconfig "${KEELSON_ROOT}/etc/kubernetes/admin.conf" --request-timeout=10s apply --server-side --force-conflicts --field-manager=keelson-bootstrap -f - >/dev/null <<'RBAC'
apiVersion: v1
kind: Namespace
metadata:
  name: keelson-boot
  labels:
    pod-security.kubernetes.io/enforce: restricted
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: keelson-boot-leases
  namespace: keelson-boot
rules:
  - apiGroups: [coordination.k8s.io]
    resources: [leases]
    verbs: [get, create, update, patch, delete]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata:
  name: keelson-boot-leases
  namespace: keelson-boot
roleRef:
  apiGroup: rbac.authorization.k8s.io
  kind: Role
  name: keelson-boot-leases
subjects:
  - apiGroup: rbac.authorization.k8s.io
    kind: Group
    name: system:bootstrappers:kubeadm:default-node-token
RBAC
}

# The bootstrap token from the join config (kept only until the node joined).
read_join_token() {
  sed -n 's/^ *token: *"\{0,1\}\([a-z0-9]\{6\}\.[a-z0-9]\{16\}\)"\{0,1\} *$/\1/p' "${etc_keelson}/kubeadm-join.yaml" 2>/dev/null | head -n 1 || true
}

# --- the sequence ----------------------------------------------------------------

next_attempt
if [ "${keelson_attempt}" -gt "${KEELSON_MAX_ATTEMPTS}" ]; then
  keelson_step=give-up
  status gave-up "$(sed -n 's/^message=//p' "${KEELSON_STATUS_FILE}" 2>/dev/null || true) (gave up after ${KEELSON_MAX_ATTEMPTS} attempts; replace the node)"
  log "gave up after ${KEELSON_MAX_ATTEMPTS} attempts; replace the node (keelson deploy shows its last error)"
  # Published, so keelson deploy stops waiting for this node at once.
  KEELSON_BOOTSTRAP_TOKEN=$(read_join_token)
  publish_status || true
  exit 75
fi

step address
ip=""
if [ -f "${KEELSON_ROOT}/run/metadata/flatcar" ]; then
  # shellcheck source=/dev/null
  . "${KEELSON_ROOT}/run/metadata/flatcar"
  ip="${COREOS_DIGITALOCEAN_IPV4_PRIVATE_0:-}"
fi
# Hetzner's metadata has no private address: the node's address in the node network.
[ -n "${ip}" ] || ip=$(ip -4 -o addr show to "${KEELSON_NODE_NETWORK}" | awk '{ split($4, a, "/"); print a[1]; exit }')
[ -n "${ip}" ] || fail "coreos-metadata wrote no private IPv4 address and no interface is in the node network ${KEELSON_NODE_NETWORK}"
log "private address ${ip}"

action="${KEELSON_ACTION}"
config="${etc_keelson}/kubeadm-join.yaml"
if [ "${action}" = init ]; then config="${etc_keelson}/kubeadm-init.yaml"; fi
token=$(read_join_token)
KEELSON_BOOTSTRAP_TOKEN="${token}"
token_id="${token%%.*}"

if [ "${KEELSON_ROLE}" = controller ]; then
  step keep-pki
  keep_pki
  restore_pki
fi

if [ -f "${kubeadm_done}" ]; then
  log "kubeadm ${action} succeeded in an earlier attempt; finishing"
  if [ -f "${initialized_stamp}" ]; then action=init; fi
else
  if [ "${action}" = init ]; then
    step probe "init only if nothing answers at ${KEELSON_API_ENDPOINT} within ${KEELSON_INIT_PROBE_SECONDS} s"
    # One try every 5 s (each at most 5 s), KEELSON_INIT_PROBE_SECONDS / 5 + 1 tries.
    for ((probe = 0; probe <= KEELSON_INIT_PROBE_SECONDS / 5; probe++)); do
      if api_answers_at_all; then
        log "an API server already answers at ${KEELSON_API_ENDPOINT}: a cluster exists, so this node joins it instead of creating one"
        action="join"
        config="${etc_keelson}/kubeadm-join.yaml"
        break
      fi
      if [ "${probe}" -lt $((KEELSON_INIT_PROBE_SECONDS / 5)) ]; then sleep 5; fi
    done
    if [ "${action}" = init ]; then log "nothing answered at ${KEELSON_API_ENDPOINT}: this first deploy creates the cluster"; fi
  fi

  if [ "${action}" = join ]; then
    [ -n "${token}" ] || fail "no bootstrap token in ${etc_keelson}/kubeadm-join.yaml"
    step wait-api "GET https://${KEELSON_API_ENDPOINT}/readyz, at most ${KEELSON_API_WAIT_SECONDS} s"
    backoff_until "${KEELSON_API_WAIT_SECONDS}" "API ready at ${KEELSON_API_ENDPOINT}" api_ready ||
      fail "the API at ${KEELSON_API_ENDPOINT} was not ready within ${KEELSON_API_WAIT_SECONDS} s (is the first controller up, and the load balancer's health check green?)"
    step wait-cluster-info "kube-public/cluster-info signed for token ${token_id}, at most ${KEELSON_CLUSTER_INFO_WAIT_SECONDS} s"
    backoff_until "${KEELSON_CLUSTER_INFO_WAIT_SECONDS}" "cluster-info published" cluster_info_published ||
      fail "kube-public/cluster-info carries no signature for bootstrap token ${token_id} after ${KEELSON_CLUSTER_INFO_WAIT_SECONDS} s (keelson deploy re-applies the token; is kube-controller-manager's bootstrapsigner running?)"
    publish_status || true
    if [ "${KEELSON_ROLE}" = controller ]; then
      step join-lock "Lease keelson-boot/${LOCK}, at most ${KEELSON_LOCK_WAIT_SECONDS} s"
      backoff_until "${KEELSON_LOCK_WAIT_SECONDS}" "control-plane join lock" try_lock ||
        fail "another controller held Lease keelson-boot/${LOCK} for ${KEELSON_LOCK_WAIT_SECONDS} s (kubectl -n keelson-boot get lease ${LOCK})"
    fi
  elif [ "${KEELSON_ETCD_RESTORE}" = yes ]; then
    step etcd-restore
    etcd_restore
  fi

  step "kubeadm-${action}" "at most ${KEELSON_KUBEADM_TIMEOUT_SECONDS} s"
  run_kubeadm
fi

if [ "${KEELSON_ROLE}" = controller ]; then
  step check-pki
  check_pki
fi

if [ "${action}" = init ]; then
  touch "${initialized_stamp}"
  step boot-rbac "namespace keelson-boot and the bootstrap token's Lease rights"
  backoff_until 300 "boot RBAC applied" apply_boot_rbac || fail "could not apply the keelson-boot namespace and its RBAC within 300 s"
fi
release_lock

step finish
# Joined: the configs with the bootstrap token are not needed any more.
rm -f "${etc_keelson}/kubeadm-init.yaml" "${etc_keelson}/kubeadm-join.yaml" "${restore_url_file}"
touch "${joined_stamp}"
status joined "kubeadm ${action} done"
publish_status || true
log "joined the cluster"
