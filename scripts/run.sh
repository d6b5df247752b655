#!/usr/bin/env bash
# Starts every Kapbook process on the embedded defaults (SQLite, filesystem broker, SMTP sink).
set -euo pipefail
cd "$(dirname "$0")/.."
port="${PORT:-8080}"
# honcho sets PORT per process itself (base + 100 x index), so the gateway gets its own variable.
export GATEWAY_PORT="$port"
export BOOKING_PORT="${BOOKING_PORT:-8081}" ELIGIBILITY_PORT="${ELIGIBILITY_PORT:-8082}" REMINDERS_PORT="${REMINDERS_PORT:-8083}"
export SMTP_PORT="${SMTP_PORT:-8025}"
# Where the gateway and the services find each other.
export GATEWAY_BOOKING_URL="http://127.0.0.1:${BOOKING_PORT}"
export GATEWAY_ELIGIBILITY_URL="http://127.0.0.1:${ELIGIBILITY_PORT}"
export GATEWAY_REMINDERS_URL="http://127.0.0.1:${REMINDERS_PORT}"
export BOOKING_ELIGIBILITY_URL="${BOOKING_ELIGIBILITY_URL:-http://127.0.0.1:${ELIGIBILITY_PORT}}"
export BOOKING_REMINDERS_URL="${BOOKING_REMINDERS_URL:-http://127.0.0.1:${REMINDERS_PORT}}"
# The services sit behind the gateway: believe the one X-Forwarded-For/-Proto entry it adds.
export KAPBOOK_TRUSTED_PROXIES="${KAPBOOK_TRUSTED_PROXIES:-1}"
mkdir -p "${KAPBOOK_VAR_DIR:-var}/mail"
for busy in "$port" "$BOOKING_PORT" "$ELIGIBILITY_PORT" "$REMINDERS_PORT" "$SMTP_PORT"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$busy") 2>/dev/null; then
    echo "Port $busy is already in use; stop what uses it (or set PORT=...) and try again." >&2
    exit 1
  fi
done
cat <<BANNER

  Kapbook is starting on http://127.0.0.1:${port}

    Booking API      http://127.0.0.1:${port}/api/booking/v1/   (OpenAPI: /api/booking/openapi.json)
    Eligibility API  http://127.0.0.1:${port}/api/eligibility/v1/
    Reminders API    http://127.0.0.1:${port}/api/reminders/v1/
    Emails           every message lands in ${KAPBOOK_VAR_DIR:-var}/mail/new (SMTP sink on 127.0.0.1:${SMTP_PORT:-8025})
    Staff console    http://127.0.0.1:${port}/staff/   (account: make staff-account in another terminal)
    Staff token      in another terminal: make staff-token

  Ctrl-C stops every process.

BANNER
exec .venv/bin/honcho --procfile deploy/Procfile.dev --app-root . start
