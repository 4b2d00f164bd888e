#!/bin/sh
# make check: every C snippet of README.md and doc/recipes.md (```c blocks)
# and of the man pages' EXAMPLES sections compiles, with warnings as errors, against this
# build's library, and runs to exit 0 (under valgrind's memcheck when it is
# installed and the build has no sanitizer: an uninitialized value a
# snippet passes on is an error there).  A snippet with its own main() is
# a whole program; any other is the body of a main() that has a fresh
# dictionary `d` (lfd_new(NULL)) and two helpers the man pages name,
# next(v) (v + 1) and use(v), and runs twice, so that a snippet that
# creates a key meets it present the second time.  A check written just
# after a snippet -- `<!-- check: "key" == N -->` in the README, `.\" check:
# "key" == N` in a man page, invisible to readers -- says which value a
# key must hold after the two runs.
# Run from the build directory; the compiler and flags come from make
# (AM_TESTS_ENVIRONMENT).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
cc=${LFD_CC:-cc}
cflags=${LFD_CFLAGS:-}
ldflags=${LFD_LDFLAGS:-}
case "$cflags" in
*-fsanitize=thread*)
	echo "SKIP: under ThreadSanitizer; the snippets use the default flavour"
	echo "(urcu-bp), whose grace periods TSan cannot see"
	exit 77 ;;
esac
run=
case "$cflags" in
*-fsanitize=*) ;;
*) command -v valgrind >/dev/null 2>&1 &&
	run="valgrind -q --error-exitcode=1 --leak-check=no" ;;
esac
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for md in README.md doc/recipes.md; do
	awk -v dir="$tmp" -v pre="$(basename "$md" .md)" '
	/^```c$/ { n++; f = sprintf("%s/%s-%d.snip", dir, pre, n); on = 1; next }
	/^```/ { on = 0; after = 1; next }
	after && /^<!-- check: / {
		sub(/^<!-- check: /, ""); sub(/ -->$/, "")
		print > sprintf("%s/%s-%d.check", dir, pre, n)
	}
	{ after = 0 }
	on { print > f }' "$top/$md"
done
for m in "$top"/doc/man/*.3; do
	awk -v f="$tmp/$(basename "$m" .3).snip" '
		/^\.SH EXAMPLES/ { ex = 1; next }
		/^\.SH/ { ex = 0 }
		ex && /^\.nf/ { on = 1; next }
		ex && /^\.fi/ { on = 0; after = 1; next }
		after && /^\.\\" check: / {
			sub(/^\.\\" check: /, ""); sub(/\.snip$/, ".check", f)
			print > f
		}
		{ after = 0 }
		on { gsub(/\\-/, "-"); gsub(/\\e/, "\\"); print > f }' "$m"
done

n=0
for s in "$tmp"/*.snip; do
	[ -e "$s" ] || continue
	name=$(basename "$s" .snip)
	c=$tmp/$name.c
	if grep -q 'int main' "$s"; then
		cp "$s" "$c"
	else
		{
			cat <<'HEAD'
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <lfdict.h>
__attribute__((unused)) static void *next(void *v)
{
	return (void *)((uintptr_t)v + 1);
}
__attribute__((unused)) static void use(void *v)
{
	(void)v;
}
int main(void)
{
	struct lfd *d = lfd_new(NULL);

	if (d == NULL)
		return 1;
	for (int round = 0; round < 2; round++) {
HEAD
			cat "$s"
			echo "	}"
			if [ -e "$tmp/$name.check" ]; then
				# "key" == N
				key=$(sed 's/^\("[^"]*"\).*/\1/' "$tmp/$name.check")
				want=$(sed 's/.*== *//' "$tmp/$name.check")
				cat <<CHECK
	{
		void *v_ = NULL;
		int r_ = lfd_get(d, $key, sizeof $key - 1, &v_);

		if (r_ != 0 || (uintptr_t)v_ != $want) {
			fprintf(stderr, "after two runs: lfd_get(%s) = %d, "
				"value %lu; the snippet's check says %s\\n",
				$key, r_, (unsigned long)(uintptr_t)v_, "$want");
			return 1;
		}
	}
CHECK
			fi
			cat <<'TAIL'
	return lfd_destroy(d) == 0 ? 0 : 1;
}
TAIL
		} >"$c"
	fi
	# shellcheck disable=SC2086
	if ! ./libtool --mode=link --quiet $cc -std=c11 -Wall -Wextra -Werror \
		-pthread $cflags -I"$top/include" "$c" lib/liblfdict.la $ldflags \
		-o "$tmp/$name" >"$tmp/$name.log" 2>&1; then
		echo "FAIL: the snippet of $name does not compile:"
		cat "$c" "$tmp/$name.log"
		exit 1
	fi
	# A snippet that forks while a thread runs is compiled but not run
	# under AddressSanitizer: clang 14's ASan allocator does not lock
	# itself across fork, so the child's first allocation can wait forever
	# for a lock a parent thread held (seen: the pre-fork recipe hung in 5
	# of 40 runs under ASan, 0 of 60 without).  test_fork runs forks under
	# ASan behind an allocator lock (tests/test_fork.c says why).
	case "$cflags" in
	*-fsanitize=*address*)
		if grep -q 'fork()' "$c" && grep -q 'pthread_create' "$c"; then
			echo "compiled, not run under ASan (forks while a thread runs): $name"
			continue
		fi ;;
	esac
	# shellcheck disable=SC2086
	if ! ./libtool --mode=execute $run "$tmp/$name" >"$tmp/$name.out" 2>&1; then
		echo "FAIL: the snippet of $name does not run to exit 0:"
		cat "$c" "$tmp/$name.out"
		exit 1
	fi
	echo "ok: $name${run:+ (memcheck)}$([ -e "$tmp/$name.check" ] && echo ", checked: $(cat "$tmp/$name.check")")"
	n=$((n + 1))
done
[ "$n" -ge 3 ] || { echo "FAIL: only $n snippets found"; exit 1; }
echo "$n snippets compiled and ran"
