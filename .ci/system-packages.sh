#!/usr/bin/env bash
# System packages the tests need beyond Python: Debian's Chromium for the browser tests
# (Playwright cannot download its own browsers here); nginx-light, which runs deploy/nginx.conf in
# tests/platform/test_gateway_access_log.py; redis-server, production's shared rate-limit store
# (.ci/run starts it; tests/security/test_rate_limits_redis.py counts in it); and spamassassin, which
# scores every email kind in tests/reminders/integration/test_spamassassin.py. Quiet when there is
# nothing to do.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
[ -x /usr/bin/spamassassin ] || missing+=(spamassassin)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "ci: installing ${missing[*]} for the tests"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/tmp/kapbook-apt.log 2>&1 || ! apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/kapbook-apt.log 2>&1; then
  echo "ci: installing ${missing[*]} failed; apt-get said:" >&2
  tail -n 20 /tmp/kapbook-apt.log >&2
  exit 1
fi
require() {  # require <path-or-command> <package>
  if ! command -v "$1" >/dev/null 2>&1 && [ ! -x "$1" ]; then
    echo "ci: apt-get finished but $2 is missing" >&2
    exit 1
  fi
}
require /usr/bin/chromium chromium
require /usr/sbin/nginx nginx-light
require redis-server redis-server
require /usr/bin/spamassassin spamassassin
echo "ci: $(/usr/bin/chromium --version 2>/dev/null || echo chromium), $(/usr/sbin/nginx -v 2>&1), $(redis-server --version | cut -d' ' -f1-3) and $(/usr/bin/spamassassin -V 2>/dev/null | head -n 1) installed"
