#!/usr/bin/env bash
# Validate an AsyncAPI document with the official AsyncAPI CLI, pinned in deploy/tools/asyncapi/.
# Installs it once (npm ci, ~2 min, ~440 MB) under var/tools/asyncapi; later runs take ~15 s.
#   deploy/tools/asyncapi.sh [FILE]     (default: docs/asyncapi.yaml); exit 0 only when valid, no warnings
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
pinned="$root/deploy/tools/asyncapi"
tool="$root/var/tools/asyncapi"
document="${1:-$root/docs/asyncapi.yaml}"

command -v npm >/dev/null || { echo "asyncapi: npm is missing (apt-get install nodejs npm)" >&2; exit 2; }
if ! cmp -s "$pinned/package-lock.json" "$tool/package-lock.json" || [ ! -x "$tool/node_modules/.bin/asyncapi" ]; then
    echo "asyncapi: installing the pinned AsyncAPI CLI into $tool (once)" >&2
    rm -rf "$tool" && mkdir -p "$tool"
    cp "$pinned/package.json" "$pinned/package-lock.json" "$tool/"
    (cd "$tool" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
    # No analytics: it would try the network on every run.
    SUPPRESS_NO_CONFIG_WARNING=1 "$tool/node_modules/.bin/asyncapi" config analytics --disable >/dev/null 2>&1 || true
fi
export SUPPRESS_NO_CONFIG_WARNING=1  # the CLI's own missing config files are no concern of ours
exec "$tool/node_modules/.bin/asyncapi" validate "$document" --fail-severity warn
