#!/usr/bin/env bash
# System packages the tests need beyond Python: Debian's Chromium for the browser tests
# (Playwright cannot download its own browsers here). Quiet when there is nothing to do.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
echo "ci: installing Chromium for the browser tests"
export DEBIAN_FRONTEND=noninteractive
if ! apt-get update -qq >/tmp/kapbook-apt.log 2>&1 || ! apt-get install -y -qq --no-install-recommends chromium >>/tmp/kapbook-apt.log 2>&1; then
  echo "ci: installing Chromium failed; apt-get said:" >&2
  tail -n 20 /tmp/kapbook-apt.log >&2
  exit 1
fi
if [ ! -x /usr/bin/chromium ]; then
  echo "ci: apt-get finished but /usr/bin/chromium is missing" >&2
  exit 1
fi
echo "ci: $(/usr/bin/chromium --version 2>/dev/null || echo chromium) installed"
