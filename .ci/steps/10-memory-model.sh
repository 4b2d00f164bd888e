#!/usr/bin/env bash
# CI step: memory-model evidence (doc/memory-model.md).  Run from the repo
# top after the main steps (build/ is configured and built; the litmus
# tests already ran in its `make check`, and in the ASan and TSan builds).
#  1. the man pages are clean under mandoc -Tlint,
#  2. the Relacy model checker of the core (bounded),
#  3. the litmus tests again with more rounds.
set -euo pipefail
# mandoc, relacy-dev and g++ come from scripts/deps.sh; a missing tool
# fails the step (a skipped model check would prove nothing).
echo "--- mandoc -Tlint doc/man/*.3 (the .so link pages are checked by tests/manpages.sh)"
mandoc -Tlint $(grep -L '^\.so ' doc/man/*.3)
echo "--- make modelcheck"
make -C build modelcheck
echo "--- litmus tests, 30000 rounds each (make litmus-long: 10^6)"
for t in build/tests/litmus/lit_*; do
	[ -x "$t" ] || continue
	case "$t" in *.o|*.log|*.trs) continue ;; esac
	LFD_LITMUS_ROUNDS=30000 "$t" | tail -n 1
done
