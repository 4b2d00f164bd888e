#!/usr/bin/env bash
# CI step: the split order's arithmetic on a 32-bit target.  lib/internal.h
# has a 32-bit branch (links to bucket nodes hold the key unshifted, at
# most 2^28 buckets) that no other build compiles; tests/test_so32.c runs
# tests/so_checks.h there.  Needs only gcc-multilib (scripts/deps.sh): the
# checks use lib/internal.h's inline functions and liburcu's headers, no
# library.
set -euo pipefail
triplet=$(gcc -print-multiarch)
# -Wno-psabi: gcc's note that _Atomic 64-bit fields changed alignment in
# gcc 11 (i386 ABI), which concerns no interface here.
gcc -m32 -std=c11 -O2 -Wall -Wextra -Werror -Wno-psabi -Iinclude -Ilib \
	-idirafter "/usr/include/$triplet" tests/test_so32.c -o build/test_so32-m32
rc=0
out=$(build/test_so32-m32) || rc=$?
echo "$out"
[ "$rc" -eq 0 ] || exit "$rc"
case $out in
*"32-bit words"*) ;;
*) echo "test_so32-m32 did not run with 32-bit words"; exit 1 ;;
esac
