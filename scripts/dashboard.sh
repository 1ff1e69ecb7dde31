#!/usr/bin/env bash
# `make dashboard`: the API on the embedded default (migrated, demo seeded) plus the dashboard's
# Vite dev server in front of it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
API_PORT="${API_PORT:-8000}"
DASHBOARD_PORT="${DASHBOARD_PORT:-5173}"
VENV="${VENV:-.venv}"

command -v npm >/dev/null || { echo "the dashboard needs Node.js 20.19+ and npm" >&2; exit 1; }
dashboard=examples/dashboard
if [ ! -f "$dashboard/node_modules/.package-lock.json" ] \
    || [ "$dashboard/package-lock.json" -nt "$dashboard/node_modules/.package-lock.json" ]; then
  (cd "$dashboard" && npm ci --no-audit --no-fund)
fi

ENVIRONMENT=development "$VENV/bin/meetings" serve --port "$API_PORT" &
api=$!
trap 'kill "$api" 2>/dev/null; wait "$api" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$API_PORT/healthz" >/dev/null 2>&1 && break
  kill -0 "$api" 2>/dev/null || { echo "the API did not start" >&2; exit 1; }
  sleep 0.2
done
echo "Dashboard: http://127.0.0.1:$DASHBOARD_PORT/ (sign in as a demo account)"
cd "$dashboard"
MEETINGS_API="http://127.0.0.1:$API_PORT" PORT="$DASHBOARD_PORT" npm run --silent dev
