#!/usr/bin/env bash
# System packages the test suite needs that PyPI cannot provide: promtool (Debian's `prometheus` package) checks and
# unit-tests deploy/prometheus/alerts.yml. A no-op when already present.
set -euo pipefail
if command -v promtool >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null
else
  echo "promtool is missing: install Debian's prometheus package (sudo apt-get install prometheus)" >&2
  exit 1
fi
