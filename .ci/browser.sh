#!/usr/bin/env bash
# The real-browser test: headless Chromium driven through chromedriver against the server on
# 127.0.0.1. Installs Debian's chromium and chromium-driver when they are missing.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
  echo "installing chromium and chromium-driver from Debian's packages"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

cargo test --features browser-tests --test browser
