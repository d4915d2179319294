#!/usr/bin/env bash
# System packages the test suite needs that PyPI cannot provide: promtool (Debian's `prometheus` package) checks and
# unit-tests deploy/prometheus/alerts.yml; Debian's `chromium` (/usr/bin/chromium) is the browser Playwright drives
# in tests/web (`playwright install` cannot download browsers here); a Redis server on 127.0.0.1:6379 (Debian's
# `redis-server`, started without persistence) backs tests/auth's Redis rate limiter. A no-op when already present.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
[ -x /usr/bin/chromium ] || missing+=(chromium)
redis_up() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
redis_up || command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
if [ "${#missing[@]}" -ne 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "missing system packages: install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi
if ! redis_up; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null
  for _ in $(seq 50); do redis_up && break; sleep 0.1; done
  redis_up || { echo "redis-server did not answer on 127.0.0.1:6379" >&2; exit 1; }
fi
