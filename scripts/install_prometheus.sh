#!/usr/bin/env bash
# Installs Prometheus and promtool from Debian's packages when promtool is missing (CI and developer
# machines have no Docker). Idempotent and quiet: prints one line, or the apt error when the install fails.
set -euo pipefail

if command -v promtool >/dev/null 2>&1 && command -v prometheus >/dev/null 2>&1; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo="sudo"
  else
    echo "install_prometheus: promtool is missing and this user is not root (no sudo): skipping" >&2
    exit 1
  fi
fi

log=$(mktemp)
trap 'rm -f "$log"' EXIT
if ! { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq \
    --no-install-recommends prometheus; } >"$log" 2>&1; then
  cat "$log" >&2
  echo "install_prometheus: apt-get install prometheus failed" >&2
  exit 1
fi

# Debian's package may start a system service; Newsflow's tests start their own Prometheus on a free port.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet prometheus 2>/dev/null; then
  $sudo systemctl stop prometheus >/dev/null 2>&1 || true
fi

echo "install_prometheus: $(promtool --version 2>&1 | head -n 1)"
