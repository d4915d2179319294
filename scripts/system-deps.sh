#!/usr/bin/env bash
# System packages the test suite needs that PyPI cannot provide: promtool (Debian's `prometheus` package) checks and
# unit-tests deploy/prometheus/*.yml; amtool and the Alertmanager binary (Debian's `prometheus-alertmanager`; the
# tests start their own on a free loopback port) check and run deploy/alertmanager/alertmanager.yml; Debian's
# `chromium` (/usr/bin/chromium) is the browser Playwright drives in tests/web (`playwright install` cannot download
# browsers here); a Redis server on 127.0.0.1:6379 (Debian's `redis-server`, started without persistence) backs
# tests/auth's Redis rate limiter and the Redis-broker tests of the worker mode; PostgreSQL with pgvector and a
# RabbitMQ broker (below). A no-op when already present.
set -euo pipefail
missing=()
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
{ command -v amtool && command -v prometheus-alertmanager; } >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
[ -x /usr/bin/chromium ] || missing+=(chromium)
redis_up() { command -v redis-cli >/dev/null 2>&1 && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = PONG ]; }
redis_up || command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
# OCR: tesseract-ocr with its French and English data, and the DejaVu fonts the OCR tests draw pages with.
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
for lang in fra eng; do
  tesseract --list-langs 2>/dev/null | grep -qx "$lang" || missing+=("tesseract-ocr-$lang")
done
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
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

# PostgreSQL 15 with pgvector on 127.0.0.1:5432, and a `ragd` superuser role (password `ragd`) the tests connect
# as (tests/pg.py). Debian bookworm has no pgvector package: Debian trixie's source package (pgvector 0.8.0) is
# built against bookworm's postgresql-server-dev and installed into the running server (about a minute, once).
pg_up() { command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; }
as_root() { [ "$(id -u)" = 0 ] || { echo "PostgreSQL set-up needs root (apt-get, the postgres account): $*" >&2; exit 1; }; }
if ! pg_up; then
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    as_root "install postgresql"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start || true
  for _ in $(seq 100); do pg_up && break; sleep 0.2; done
  pg_up || { echo "PostgreSQL did not answer on 127.0.0.1:5432" >&2; exit 1; }
fi
pg_major="$(ls /etc/postgresql | sort -V | tail -1)"
pg_config="/usr/lib/postgresql/${pg_major}/bin/pg_config"
psql_admin() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- psql -X -q -d postgres "$@"; else psql -X -q -h 127.0.0.1 -U postgres -d postgres "$@"; fi
}
if [ ! -f "/usr/share/postgresql/${pg_major}/extension/vector.control" ]; then
  as_root "build pgvector"
  src_list=/etc/apt/sources.list.d/ragd-trixie-src.sources
  if [ ! -f "$src_list" ]; then
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' >"$src_list"
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "postgresql-server-dev-${pg_major}" dpkg-dev make gcc >/dev/null
  build="$(mktemp -d)"
  (cd "$build" && apt-get source -qq pgvector >/dev/null 2>&1 && cd pgvector-*/ \
    && make -s PG_CONFIG="$pg_config" OPTFLAGS="" >/dev/null && make -s install PG_CONFIG="$pg_config" >/dev/null)
  rm -rf "$build"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'ragd'")" != 1 ]; then
  psql_admin -c "CREATE ROLE ragd LOGIN SUPERUSER PASSWORD 'ragd'"
fi

# A RabbitMQ broker on 127.0.0.1:5672 for the worker mode's tests (tests/jobs: Celery against a real broker), with
# Debian's default `guest`/`guest` account (RabbitMQ accepts it from loopback only). It is never stopped or
# restarted here: when something answers AMQP on the port, that is the broker. On a fresh machine the package is
# installed with a loopback-only listener and the node name `rabbit@localhost` (a container's host name may not
# resolve, and the node would not boot), written before the package's own start reads them.
amqp_up() {  # the server's first frame after the protocol header is connection.start: method frame, class 10, 10
  [ "$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/5672 && printf "AMQP\0\0\11\1" >&3 && od -An -tu1 -N11 <&3' \
    2>/dev/null | awk '{ print ($1 == 1 && $9 == 10 && $11 == 10) ? "yes" : "no" }')" = yes ]
}
if ! amqp_up; then
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    as_root "install rabbitmq-server"
    mkdir -p /etc/rabbitmq
    [ -e /etc/rabbitmq/rabbitmq-env.conf ] \
      || printf 'NODENAME=rabbit@localhost\nERL_EPMD_ADDRESS=127.0.0.1\nexport ERL_FLAGS="-kernel inet_dist_use_interface {127,0,0,1}"\n' \
        >/etc/rabbitmq/rabbitmq-env.conf
    [ -e /etc/rabbitmq/rabbitmq.conf ] || printf 'listeners.tcp.local = 127.0.0.1:5672\n' >/etc/rabbitmq/rabbitmq.conf
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends rabbitmq-server >/dev/null
  fi
  # a node already running (started by the package, still booting) is waited for, never started a second time
  if ! rabbitmq-diagnostics -q ping >/dev/null 2>&1; then
    as_root "start rabbitmq-server"
    rabbitmq-server -detached
  fi
  for _ in $(seq 120); do amqp_up && break; sleep 0.5; done
  amqp_up || { echo "RabbitMQ did not answer on 127.0.0.1:5672 (/var/log/rabbitmq/)" >&2; exit 1; }
fi
