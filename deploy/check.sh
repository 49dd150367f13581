#!/usr/bin/env bash
# Offline lint of the deployment artefacts: hadolint on the Dockerfile, kubernetes-validate
# (strict: unknown fields are errors) on every manifest in deploy/k8s. Nothing is built or
# applied; no network, no Docker, no cluster.
#
#   deploy/check.sh VENV     VENV: a virtualenv with tools/deploy-requirements.txt installed
#                            (`make deploy-venv` builds build/deploy-venv; `make lint-deploy`)
#
# Environment: K8S_VERSIONS (default "1.31.0 1.37.0"): the Kubernetes versions to validate
# against, all bundled in kubernetes-validate. 1.31 is the oldest the manifests support
# (PodDisruptionBudget unhealthyPodEvictionPolicy is GA there), 1.37 the newest schema in the
# pinned kubernetes-validate, so a field that is removed or not yet there fails either way.
# Exit status: 0 when everything passes, 1 on any finding, 2 on a usage error.
set -euo pipefail

if [[ $# -ne 1 ]]; then
    echo "usage: $0 VENV   (a virtualenv with tools/deploy-requirements.txt installed)" >&2
    exit 2
fi
venv=$1
hadolint=$venv/bin/hadolint
kvalidate=$venv/bin/kubernetes-validate
for tool in "$hadolint" "$kvalidate"; do
    if [[ ! -x $tool ]]; then
        echo "$tool not found: build the tool venv first (make deploy-venv)" >&2
        exit 2
    fi
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."  # repository root: paths below are relative to it
dockerfile=deploy/docker/Dockerfile
read -r -a versions <<< "${K8S_VERSIONS:-1.31.0 1.37.0}"
failed=()

# --- Dockerfile --------------------------------------------------------------------------
# Findings of level warning and error fail the check; info and style are shown only. Rules
# are ignored only inline (`# hadolint ignore=DLxxxx` with the reason), never here.
echo "== hadolint $("$hadolint" --version | awk '{print $NF}'): $dockerfile"
if "$hadolint" --no-color --failure-threshold warning "$dockerfile"; then
    hadolint_result="ok"
else
    hadolint_result="FAILED"
    failed+=(hadolint)
fi

# --- Kubernetes manifests ----------------------------------------------------------------
# Every manifest, the Secret example too; kustomization.yaml is kustomize's own file, not a
# Kubernetes object.
mapfile -t manifests < <(find deploy/k8s -maxdepth 1 -type f \( -name '*.yaml' -o -name '*.yml' \) \
    ! -name kustomization.yaml | sort)
version_args=()
for version in "${versions[@]}"; do
    version_args+=(-k "$version")
done
echo "== kubernetes-validate $("$kvalidate" --version) --strict, Kubernetes ${versions[*]}:" \
    "${#manifests[@]} files"
if [[ ${#manifests[@]} -eq 0 ]]; then
    output="ERROR no manifests found in deploy/k8s"
    status=1
else
    status=0
    output=$("$kvalidate" --strict "${version_args[@]}" "${manifests[@]}" 2>&1) || status=$?
fi
# kubernetes-validate only warns (exit 0) about a kind/apiVersion it has no schema for, which is
# how a typo in `kind` shows up: treat WARN like ERROR. INFO lines (one per resource and
# version) are counted, not shown.
problems=$(grep -v '^INFO ' <<< "$output" || true)
passed=$(grep -c '^INFO .* passed for resource ' <<< "$output" || true)
checked=$(grep -c -E '^(INFO|WARN|ERROR) ' <<< "$output" || true)
# A file that yields no resource (e.g. everything commented out) would pass silently.
empty=()
for manifest in "${manifests[@]}"; do
    grep -q "^INFO $manifest passed" <<< "$output" || empty+=("$manifest")
done
if [[ -n $problems ]]; then
    echo "$problems"
fi
if [[ $status -ne 0 || -n $problems || ${#empty[@]} -gt 0 ]]; then
    for manifest in "${empty[@]}"; do
        echo "ERROR $manifest: no resource validated"
    done
    k8s_result="FAILED"
    failed+=(kubernetes-validate)
else
    k8s_result="ok"
fi

echo
echo "summary:"
echo "  hadolint             $dockerfile: $hadolint_result"
echo "  kubernetes-validate  ${#manifests[@]} files, $passed of $checked resource checks" \
    "(resources x ${#versions[@]} versions) passed: $k8s_result"
if [[ ${#failed[@]} -gt 0 ]]; then
    echo "deploy check FAILED (${failed[*]})"
    exit 1
fi
echo "deploy check passed"
