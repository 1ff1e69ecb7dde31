#!/usr/bin/env bash
# Starts PostgreSQL and Redis when they are not running (CI machines may have them stopped).
set -u
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start || true
  for _ in $(seq 1 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no || true
  for _ in $(seq 1 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done
fi
# Debian's chromium and docker-compose for the GraphiQL-in-a-browser and compose tests: best
# effort (root with apt only); those tests skip when their tool is missing.
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  missing=""
  [ -x /usr/bin/chromium ] || missing="$missing chromium"
  docker compose version >/dev/null 2>&1 || command -v docker-compose >/dev/null 2>&1 \
    || missing="$missing docker-compose"
  if [ -n "$missing" ]; then
    # shellcheck disable=SC2086
    timeout 900 apt-get install -y -q $missing >/dev/null 2>&1 \
      || { timeout 300 apt-get update -q >/dev/null 2>&1 \
           && timeout 900 apt-get install -y -q $missing >/dev/null 2>&1; } || true
  fi
fi
pg_isready -h 127.0.0.1 -p 5432 && redis-cli -h 127.0.0.1 -p 6379 ping
