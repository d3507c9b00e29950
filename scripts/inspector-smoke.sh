#!/usr/bin/env bash
# Lists the tools of `squint mcp` (stdio) and calls the zoom tool on a test image, through the official
# MCP Inspector's CLI mode (@modelcontextprotocol/inspector 2.x, which needs Node >= 22.19: npx fetches a
# Node 22 binary package beside it, as scripts/conformance.sh does). The server itself runs on the system Node.
#
# Usage: scripts/inspector-smoke.sh [image] [bbox_2d JSON]
#   default image: ../shared/data/detail/qwen-agent-hop-inn-pub.jpg, box [574,301,660,468] (the pub sign)
# Exit: 0 when both calls succeed (the inspector exits 5 on an isError result).
set -euo pipefail
cd "$(dirname "$0")/.."

INSPECTOR_VERSION="${INSPECTOR_VERSION:-2.12.0}"
NODE22_VERSION="${NODE22_VERSION:-22.23.3}"
NODE22_PKG="node-$(node -p process.platform)-$(node -p process.arch)@${NODE22_VERSION}"
IMAGE="$(realpath "${1:-../shared/data/detail/qwen-agent-hop-inn-pub.jpg}")"
BOX="${2:-[574,301,660,468]}"
SYSTEM_NODE="$(command -v node)"
# The inspector keeps state under $HOME; keep it out of the user's.
SCRATCH_HOME="$(mktemp -d)"
trap 'rm -rf "$SCRATCH_HOME"' EXIT

inspect() {
  HOME="$SCRATCH_HOME" npx -y -p "$NODE22_PKG" -p "@modelcontextprotocol/inspector@${INSPECTOR_VERSION}" -- \
    mcp-inspector --cli --format json -q \
    "$SYSTEM_NODE" --import tsx src/cli/main.ts mcp --allow "$(dirname "$IMAGE")" "$@"
}

inspect --method tools/list
inspect --method tools/call --tool-name image_zoom_in_tool \
  --tool-args-json "{\"image\":\"$IMAGE\",\"bbox_2d\":$BOX,\"label\":\"zoom\"}"
