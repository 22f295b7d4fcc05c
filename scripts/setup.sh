#!/usr/bin/env bash
# Set up a fresh Debian 12 machine for shipway: apt packages, uv, the .venv
# (from uv.lock, so installs are reproducible), and npm packages for tests
# (rsync: gitlab-ci-local copies the checkout with it).
# Safe to run again: every step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(git podman buildah skopeo umoci runc busybox-static docker-registry uidmap postgresql
              kubectl openssl procps nodejs npm golang-go golang-github-masterminds-sprig-dev
              prometheus prometheus-alertmanager chromium rsync)
missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
# kubectl and node/npm may come from elsewhere than apt (nodesource's nodejs
# carries npm itself); only require the binaries.
for tool in kubectl nodejs:node npm; do
  pkg=${tool%%:*}; bin=${tool##*:}
  if command -v "$bin" >/dev/null 2>&1; then
    missing=("${missing[@]/$pkg}")
  fi
done
read -r -a missing <<<"${missing[*]:-}"
if [ "${#missing[@]}" -gt 0 ]; then
  echo "setup: installing apt packages: ${missing[*]}" >&2
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v uv >/dev/null 2>&1; then
  python3 -m pip install -q --disable-pip-version-check "uv==0.13.9"
fi
uv sync --frozen --quiet --compile-bytecode
# the editable install (src/) is not in site-packages: compile it too, for PYTHONDONTWRITEBYTECODE machines
.venv/bin/python -m compileall -q src >/dev/null

if [ -f package.json ] && [ ! -d node_modules ] || { [ -f package-lock.json ] && [ package-lock.json -nt node_modules ]; }; then
  npm ci --silent --no-audit --no-fund
fi
