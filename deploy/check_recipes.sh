#!/usr/bin/env bash
# Offline checks of the deploy recipes, run by .ci/run:
#   - the Dockerfile is linted with dockerfile-utils (npm, pinned) when Node/npm can install it;
#   - deploy/phone-bridge.service is checked with `systemd-analyze verify` when present
#     (against a copy whose ExecStart points at a stub, since the binary is not built here).
# A missing tool SKIPS its check with a message; a finding FAILS. Neither check can
# build the image or start the unit: no Docker engine or systemd runs in CI.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
DOCKERFILE_UTILS_VERSION="0.16.3"

tools=".ci/.tools"
lint=""
if command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1; then
  lint="$tools/node_modules/dockerfile-utils/bin/dockerfile-utils"
  if [ ! -f "$lint" ] || ! grep -q "\"version\": \"$DOCKERFILE_UTILS_VERSION\"" \
    "$tools/node_modules/dockerfile-utils/package.json" 2>/dev/null; then
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$tools" \
      "dockerfile-utils@$DOCKERFILE_UTILS_VERSION" >/dev/null 2>&1 || lint=""
  fi
fi
if [ -n "$lint" ] && [ -f "$lint" ]; then
  if out="$(node "$lint" lint Dockerfile 2>&1)" && [ -z "$out" ]; then
    echo "Dockerfile lint (dockerfile-utils $DOCKERFILE_UTILS_VERSION): no findings."
  else
    echo "Dockerfile lint (dockerfile-utils $DOCKERFILE_UTILS_VERSION) FAILED:"
    echo "$out"
    status=1
  fi
else
  echo "Dockerfile lint SKIPPED: node/npm missing or dockerfile-utils@$DOCKERFILE_UTILS_VERSION could not be installed."
fi

if command -v systemd-analyze >/dev/null 2>&1; then
  tmp="$(mktemp -d)"
  printf '#!/bin/sh\nexit 0\n' >"$tmp/phone-bridge"
  chmod +x "$tmp/phone-bridge"
  sed "s|^ExecStart=.*|ExecStart=$tmp/phone-bridge|" deploy/phone-bridge.service >"$tmp/phone-bridge.service"
  out="$(systemd-analyze verify "$tmp/phone-bridge.service" 2>&1)"
  rc=$?
  if [ "$rc" -eq 0 ] && [ -z "$out" ]; then
    echo "systemd-analyze verify deploy/phone-bridge.service: no findings."
  else
    echo "systemd-analyze verify deploy/phone-bridge.service FAILED (exit $rc):"
    echo "$out" | sed "s|$tmp/|deploy/|g"
    status=1
  fi
  rm -rf "$tmp"
else
  echo "systemd unit check SKIPPED: systemd-analyze is not installed (apt-get install systemd)."
fi
exit "$status"
