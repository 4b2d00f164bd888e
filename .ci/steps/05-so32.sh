#!/usr/bin/env bash
# CI step: the split order's arithmetic on a 32-bit target.  lib/internal.h
# has a 32-bit branch (links to bucket nodes hold the key unshifted, at
# most 2^28 buckets) that no other build compiles; tests/test_so32.c runs
# tests/so_checks.h there.  Needs gcc-multilib (scripts/deps.sh): the
# checks use lib/internal.h's inline functions and liburcu's headers, no
# library.
#
# Some kernels cannot execute 32-bit programs (no IA32 emulation: exec
# fails with ENOEXEC, the shell's exit 126).  There the program runs under
# user-mode emulation, qemu-i386 from Debian's qemu-user, which this step
# installs when it is missing.  The check is never skipped: either path
# runs it, and the step says which.  LFD_SO32_EMULATE=1 forces the
# emulated path (to check it on a kernel that has 32-bit support).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
cd "$top"
mkdir -p build
triplet=$(gcc -print-multiarch)
# -Wno-psabi: gcc's note that _Atomic 64-bit fields changed alignment in
# gcc 11 (i386 ABI), which concerns no interface here.
gcc -m32 -std=c11 -O2 -Wall -Wextra -Werror -Wno-psabi -Iinclude -Ilib \
	-idirafter "/usr/include/$triplet" tests/test_so32.c -o build/test_so32-m32

# Can this kernel execute a 32-bit program?  Ask with the smallest one,
# so that a failure of the test itself is never taken for "cannot run".
printf 'int main(void) { return 0; }\n' >build/so32-probe.c
gcc -m32 build/so32-probe.c -o build/so32-probe-m32
runner=()
if [ "${LFD_SO32_EMULATE:-0}" = 1 ]; then
	echo "32-bit programs: emulated (LFD_SO32_EMULATE=1)"
	runner=(qemu-i386)
elif build/so32-probe-m32 2>/dev/null; then
	echo "32-bit programs: native (this kernel executes them)"
else
	echo "32-bit programs: this kernel cannot execute them; emulated"
	runner=(qemu-i386)
fi
if [ ${#runner[@]} -gt 0 ] && ! command -v qemu-i386 >/dev/null 2>&1; then
	sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
	echo "installing qemu-user"
	DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
		--no-install-recommends qemu-user >/dev/null ||
	{ DEBIAN_FRONTEND=noninteractive $sudo apt-get update -q >/dev/null &&
	  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q \
		--no-install-recommends qemu-user >/dev/null; }
fi
if [ ${#runner[@]} -gt 0 ]; then
	# the emulator itself must run a 32-bit program, or nothing is proved
	"${runner[@]}" build/so32-probe-m32 ||
		{ echo "qemu-i386 cannot run a 32-bit program"; exit 1; }
fi
rc=0
out=$("${runner[@]}" build/test_so32-m32) || rc=$?
echo "$out"
[ "$rc" -eq 0 ] || { echo "test_so32-m32 failed (exit $rc)"; exit "$rc"; }
case $out in
*"32-bit words"*) ;;
*) echo "test_so32-m32 did not run with 32-bit words"; exit 1 ;;
esac
