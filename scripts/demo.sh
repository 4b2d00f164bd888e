#!/usr/bin/env bash
# README command 1: install dependencies, build, run the demonstration.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
"${LFD_BUILD_DIR:-$top/build}/examples/demo"
