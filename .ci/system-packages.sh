#!/usr/bin/env bash
# System packages the tests need beyond Python: Debian's Chromium for the browser tests
# (Playwright cannot download its own browsers here) nginx-light, which runs
# deploy/nginx.conf in tests/platform/test_gateway_access_log.py, and spamassassin, which scores every
# email kind in tests/reminders/integration/test_spamassassin.py. Quiet when there is nothing to do.
set -euo pipefail

missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
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
if [ ! -x /usr/bin/chromium ]; then
  echo "ci: apt-get finished but /usr/bin/chromium is missing" >&2
  exit 1
fi
if [ ! -x /usr/sbin/nginx ]; then
  echo "ci: apt-get finished but /usr/sbin/nginx is missing" >&2
  exit 1
fi
if [ ! -x /usr/bin/spamassassin ]; then
  echo "ci: apt-get finished but /usr/bin/spamassassin is missing" >&2
  exit 1
fi
echo "ci: $(/usr/bin/chromium --version 2>/dev/null || echo chromium), $(/usr/sbin/nginx -v 2>&1) and $(/usr/bin/spamassassin -V 2>/dev/null | head -n 1) installed"
