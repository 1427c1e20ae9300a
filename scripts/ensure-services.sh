#!/usr/bin/env bash
# Start PostgreSQL (127.0.0.1:5432, trust auth) and Redis (127.0.0.1:6379) when they are not running;
# install them from Debian's packages when they are missing. Chromium for the browser tests too.
set -euo pipefail
SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
apt_updated=0
apt_install() {
  [ $apt_updated = 1 ] || { $SUDO apt-get update -qq; apt_updated=1; }
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@" >/dev/null
}

command -v chromium >/dev/null || apt_install chromium
# the pooler tests run a real PgBouncer in transaction mode (what Neon's pooled URL is)
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || apt_install pgbouncer
# the edge tests run a real Varnish 7 with ops/varnish/default.vcl; only the binaries are used (the
# package's own service is not started here: the tests start varnishd on free loopback ports)
command -v varnishd >/dev/null || [ -x /usr/sbin/varnishd ] || apt_install varnish

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  ver=$(ls /etc/postgresql | sort -n | tail -1)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  # tests connect as postgres over loopback without a password, like the CI machines
  grep -q "host all all 127.0.0.1/32 trust" "$hba" || sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || true
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi
pg_isready -h 127.0.0.1 -p 5432 >/dev/null && redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null
echo "services: postgresql and redis are up"

# promtool (checks the alert rules) comes in Debian's prometheus package; take only the binary so no
# Prometheus daemon is installed or started.
TOOLS="$(cd "$(dirname "$0")/.." && pwd)/.tools"
if ! command -v promtool >/dev/null && [ ! -x "$TOOLS/bin/promtool" ]; then
  tmp=$(mktemp -d)
  [ $apt_updated = 1 ] || { $SUDO apt-get update -qq; apt_updated=1; }
  (cd "$tmp" && apt-get download -qq prometheus >/dev/null && dpkg-deb -x prometheus_*.deb root)
  mkdir -p "$TOOLS/bin" && cp "$tmp/root/usr/bin/promtool" "$TOOLS/bin/" && rm -rf "$tmp"
fi
