#!/bin/sh
# make check: every name the library exports has a man page (or a .so
# link page to the page that documents it) among the installed ones
# (man3_MANS in tests/litmus/local.mk), and every .so link leads to a page
# that exists.  The names: the functions <lfdict.h> declares, and, in a
# shared build, the library's dynamic symbols.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
names=$(sed -n 's/^[a-z].*[ *]\(lfd_[a-z_0-9]*\)(.*/\1/p' "$top/include/lfdict.h")
so=lib/.libs/liblfdict.so
[ -e "$so" ] && names="$names $(nm -D --defined-only "$so" | awk '$3 ~ /^lfd_/ { print $3 }')"
installed=$(sed -n '/^man3_MANS/,/[^\\]$/p' "$top/tests/litmus/local.mk")
bad=0
n=0
for name in $(printf '%s\n' $names | sort -u); do
	page=doc/man/$name.3
	[ -e "$top/$page" ] || { echo "FAIL: $name has no $page"; bad=1; continue; }
	case $installed in
	*"$page"*) ;;
	*) echo "FAIL: $page is not installed (man3_MANS)"; bad=1 ;;
	esac
	target=$(sed -n 's/^\.so man3\/\(.*\)$/\1/p' "$top/$page")
	if [ -n "$target" ] && [ ! -e "$top/doc/man/$target" ]; then
		echo "FAIL: $page links to a missing page $target"; bad=1
	fi
	n=$((n + 1))
done
[ "$n" -ge 16 ] || { echo "FAIL: only $n exported names found"; bad=1; }
[ "$bad" -eq 0 ] && echo "$n exported names, each with an installed man page"
exit "$bad"
