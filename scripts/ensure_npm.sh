#!/bin/sh
# Installs the npm packages Deno reads from node_modules (nodeModulesDir: manual).
# Skips the install when node_modules already matches package-lock.json.
set -eu
cd "$(dirname "$0")/.."
stamp=node_modules/.breadboard-lock
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "installing npm packages..." >&2
# npm install rather than npm ci: the lockfile has no entries for chDB's macOS packages (this registry lacks
# them), which npm ci counts as out of sync. With a lockfile present npm install keeps its versions.
npm install --no-audit --no-fund --loglevel=error >&2
echo "$want" > "$stamp"
