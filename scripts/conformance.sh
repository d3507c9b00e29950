#!/usr/bin/env bash
# Runs the official MCP conformance suite (server scenarios) against `squint mcp --http`.
#
# The suite needs Node >= 22 (it imports fs.globSync); the project runs on Node 20. npx fetches a Node 22
# binary package (node-<platform>-<arch>) next to the suite, and its bin directory comes first on PATH inside
# the npx call, so the suite runs on 22 while the server under test runs on the system Node.
#
# Usage: scripts/conformance.sh [extra conformance args, e.g. --scenario tools-call-image]
# Env:   CONFORMANCE_VERSION (default 0.1.16), NODE22_VERSION (default 22.23.3), CONFORMANCE_OUT (results dir)
# Exit:  0 when every scenario passes except those listed in scripts/conformance-baseline.yml.
set -euo pipefail
cd "$(dirname "$0")/.."

CONFORMANCE_VERSION="${CONFORMANCE_VERSION:-0.1.16}"
NODE22_VERSION="${NODE22_VERSION:-22.23.3}"
NODE22_PKG="node-$(node -p process.platform)-$(node -p process.arch)@${NODE22_VERSION}"
OUT="${CONFORMANCE_OUT:-$(mktemp -d)/conformance}"
LOG="$(mktemp)"

SQUINT_MCP_CONFORMANCE=1 node --import tsx src/cli/main.ts mcp --http --port 0 >"$LOG" 2>&1 &
SERVER_PID=$!
trap 'kill "$SERVER_PID" 2>/dev/null || true; rm -f "$LOG"' EXIT

URL=""
for _ in $(seq 1 120); do
  URL="$(sed -n 's/^squint mcp: listening on \(http[^ ]*\).*/\1/p' "$LOG")"
  [ -n "$URL" ] && break
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then cat "$LOG" >&2; exit 1; fi
  sleep 0.5
done
if [ -z "$URL" ]; then echo "squint mcp did not start:" >&2; cat "$LOG" >&2; exit 1; fi
echo "server under test: $URL" >&2

npx -y -p "$NODE22_PKG" -p "@modelcontextprotocol/conformance@${CONFORMANCE_VERSION}" -- \
  conformance server --url "$URL" --expected-failures scripts/conformance-baseline.yml -o "$OUT" "$@"
