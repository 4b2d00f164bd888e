#!/usr/bin/env bash
# README command 2: install dependencies, build, run the test suite
# (make check).  Logs of each test: build/tests/*.log
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
"$top/scripts/build.sh"
cd "${LFD_BUILD_DIR:-$top/build}"
status=0
make -j"$(nproc)" check || status=$?
if [ $status -ne 0 ]; then
	for f in tests/*.log; do
		grep -q '^FAIL\|^ERROR' "${f%.log}.trs" 2>/dev/null && cat "$f"
	done
fi
exit $status
