#!/usr/bin/env bash
# Make sure the servers the tests talk to are there: PostgreSQL and Redis running, Dovecot installed
# (the test fixtures start their own Dovecot). Installs from Debian's packages when something is missing.
set -euo pipefail

PGHOST=${PGHOST:-127.0.0.1}
PGPORT=${PGPORT:-5432}
REDIS_PORT=${REDIS_PORT:-6379}

apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "error: $* missing and apt-get is not available; install it by hand" >&2
    exit 1
  fi
  if [ "$(id -u)" != 0 ]; then
    echo "error: $* missing; run as root or install it: apt-get install $*" >&2
    exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

ensure_postgres() {
  if pg_isready -q -h "$PGHOST" -p "$PGPORT" 2>/dev/null; then return; fi
  if ! command -v pg_ctlcluster >/dev/null; then
    echo "PostgreSQL not found: installing it"
    apt_install postgresql
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  # Trust local TCP connections: this server exists for the test run only.
  local hba="/etc/postgresql/$version/main/pg_hba.conf"
  if ! grep -q "^host all all 127.0.0.1/32 trust" "$hba"; then
    sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  fi
  pg_ctlcluster --skip-systemctl-redirect "$version" main start
  for _ in $(seq 30); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 0.5; done
  pg_isready -h "$PGHOST" -p "$PGPORT" || { echo "error: PostgreSQL does not answer on $PGHOST:$PGPORT" >&2; exit 1; }
  su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='test'\"" | grep -q 1 \
    || su postgres -c "createdb test"
}

ensure_redis() {
  if redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then return; fi
  if ! command -v redis-server >/dev/null; then
    echo "Redis not found: installing it"
    apt_install redis-server
  fi
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 20); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return; sleep 0.25; done
  echo "error: Redis does not answer on 127.0.0.1:$REDIS_PORT" >&2
  exit 1
}

ensure_dovecot() {
  if command -v dovecot >/dev/null && command -v doveadm >/dev/null; then return; fi
  echo "Dovecot not found: installing it"
  apt_install dovecot-imapd dovecot-lmtpd
}

ensure_chromium() {
  # Browser tests drive Debian's Chromium; nothing downloads a browser of its own.
  if [ -x /usr/bin/chromium ]; then return; fi
  echo "Chromium not found: installing it"
  apt_install chromium
}

ensure_gettext() {
  if command -v msgfmt >/dev/null; then return; fi
  apt_install gettext
}

ensure_postgres
ensure_redis
ensure_dovecot
ensure_chromium
ensure_gettext
echo "test services: PostgreSQL $PGHOST:$PGPORT, Redis 127.0.0.1:$REDIS_PORT, Dovecot $(dovecot --version | cut -d' ' -f1)"
