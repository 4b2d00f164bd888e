#!/usr/bin/env bash
# CI step (issue 4, stress/, doc/torture.md): run after the main steps from
# the repo top, with build/ built.  `make check` (steps 1-3) already ran the
# short torture of every mode, scaled down in the ASan and TSan builds.
# Here:
#  1. a libFuzzer smoke run of stress/fuzz_lfd.c (clang, ASan + UBSan),
#  2. memcheck (valgrind) on the unit tests and on a short torture,
#  3. one deliberately broken build, which the short torture must catch
#     (all of them: LFD_CI_BROKEN=all; none: LFD_CI_BROKEN=none), and
#     lfd_trim without its grace period, which the torture does not catch
#     and tests/test_trim.c's test_trim_waits_gp must (doc/torture.md).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"

echo "--- fuzz smoke run (-runs=20000)"
LFD_FUZZ_DIR="$top/build-fuzz" stress/fuzz.sh -runs=20000

echo "--- memcheck: unit tests and a short torture"
# through libtool: build/ is a shared build, its programs are wrappers.
# Memcheck runs the unit tests that finish in minutes under valgrind (about
# 50 s together); test_resize (4M keys), test_hash, test_races and
# test_regress (threads, grace-period waits) would take far longer and are
# covered by the ASan, UBSan and TSan builds.
vg="build/libtool --mode=execute valgrind -q --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite --show-possibly-lost=no"
make -C build -j"$(nproc)" check TESTS= >/dev/null # build the test programs
for t in test_api test_destructor test_alloc_fail test_internal; do
	echo "memcheck tests/$t"
	CK_FORK=no CK_DEFAULT_TIMEOUT=600 $vg "build/tests/$t" >/dev/null
done
# --pool-mib: memcheck sets up the shadow of the default 16 GiB value pool
# in some 45 s; a 5 s run uses a few MiB of it.
$vg build/stress/lfd-torture --mode=mixed --duration=5 --threads=3 --pool-mib=1024 | tail -n 1

case ${LFD_CI_BROKEN:-one} in
none) ;;
all) LFD_BROKEN_DIR="$top/build-broken" stress/broken-builds.sh ;;
*) echo "--- a deliberately broken build must end in FAILURE"
   # Its first failing mode proves the point; the rest of its modes could
   # only add time (a corrupted table may spin until the 66 s watchdog:
   # this step took 19-146 s with every mode).
   LFD_BROKEN_DIR="$top/build-broken" LFD_BREAKS=PLAIN_STORE \
	LFD_TORTURE_SCALE=0.5 LFD_TORTURE_STOP_ON_FAIL=1 \
	stress/broken-builds.sh ;;
esac

case ${LFD_CI_BROKEN:-one} in
none) ;;
*) echo "--- lfd_trim without its grace period: test_trim_waits_gp must fail"
   mkdir -p "$top/build-broken"
   # shellcheck disable=SC2046 # pkg-config's flags are words
   cc -std=gnu11 -O2 -g -Wall -Wextra -Werror -DLFD_BREAK_TRIM_NO_GRACE \
	-Iinclude -Ilib $(pkg-config --cflags check liburcu-bp liburcu-memb) \
	lib/*.c tests/test_trim.c tests/rcu_pthread.c \
	$(pkg-config --libs check liburcu-bp liburcu-memb) -pthread \
	-o "$top/build-broken/test_trim_nograce"
   out=$("$top/build-broken/test_trim_nograce" 2>&1 || true)
   if ! grep -q ':F:trim:test_trim_waits_gp:' <<<"$out"; then
	echo "$out"
	echo "LFD_BREAK_TRIM_NO_GRACE was not caught by test_trim_waits_gp"
	exit 1
   fi
   grep ':F:trim:' <<<"$out" ;;
esac
