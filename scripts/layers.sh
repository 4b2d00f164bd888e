#!/usr/bin/env bash
# The layers of lib/ hold: `make layers`, and `make check` (tests/layers.sh).
#
#   scripts/layers.sh [--lib DIR] [--picture FILE] OBJDIR
#
# The picture is the "Layers of lib/" block of the design comment in
# lib/dict.c (or FILE): one row per layer, the top one first, each naming
# its files (a row indented deeper that starts with a file names more
# files of the layer above it).  Fails (exit 1, one line per violation) when
#   - a file of lib/ (*.c, *.h) is in no row, or a row names a missing file,
#   - a file includes a header of lib/ that sits in a higher layer,
#   - an object file of the library (OBJDIR/liblfdict_la-*.o, built by
#     libtool, PIC or not) refers to an lfd_ symbol that another object of
#     a higher layer defines: a call, or a use of its data.
# Inline functions live in headers, so the include rule covers them.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
lib=$top/lib
picture=
while [ $# -gt 1 ]; do
	case $1 in
	--lib) lib=$2; shift 2 ;;
	--picture) picture=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--lib DIR] [--picture FILE] OBJDIR" >&2; exit 2; }
objdir=$1
[ -n "$picture" ] || picture=$lib/dict.c

# Rows: "<layer> <rank> <file>" per file; rank 0 is the top layer.
rows=$(awk '
	/^ \* Layers of lib\// { on = 1; next }
	on && /^ \*$/ { exit }
	# a row: "<layer> <files> <what>"; a row indented deeper that
	# starts with a file goes on with the layer above it
	on && /^ \*   [a-z]+ +[a-z0-9_]+\.[ch]( |$)/ {
		name = $2; r = rank++; first = 3
	}
	on && /^ \*    +[a-z0-9_]+\.[ch]( |$)/ { first = 2 }
	on && first {
		for (i = first; i <= NF; i++)
			if ($i ~ /^[a-z0-9_]+\.[ch]$/)
				print name, r + 0, $i
		first = 0
	}' "$picture")
[ -n "$rows" ] || { echo "layers: no 'Layers of lib/' picture in $picture"; exit 1; }

declare -A rank layer
while read -r name r file; do
	if [ -n "${rank[$file]:-}" ]; then
		echo "layers: $file is in two rows of the picture"
		bad=1
	fi
	rank[$file]=$r
	layer[$file]=$name
done <<<"$rows"

bad=${bad:-0}
fail() { echo "layers: $*"; bad=1; }

# Every file of lib/ in the picture, every file of the picture in lib/.
for f in "$lib"/*.c "$lib"/*.h; do
	b=$(basename "$f")
	[ -n "${rank[$b]:-}" ] || fail "lib/$b is in no layer of the picture"
done
for b in "${!rank[@]}"; do
	[ -e "$lib/$b" ] || fail "the picture names lib/$b, which does not exist"
done

# Includes: a header of lib/ from the same layer or a lower one (a higher
# rank number).
for f in "$lib"/*.c "$lib"/*.h; do
	b=$(basename "$f")
	[ -n "${rank[$b]:-}" ] || continue
	while read -r inc; do
		[ -n "$inc" ] || continue
		[ -e "$lib/$inc" ] || continue # not lib/'s (lfdict.h)
		[ -n "${rank[$inc]:-}" ] || continue # reported above
		if [ "${rank[$inc]}" -lt "${rank[$b]}" ]; then
			fail "lib/$b (${layer[$b]}) includes $inc (${layer[$inc]}), a higher layer"
		fi
	done < <(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f")
done

# Symbols: who defines each lfd_ symbol, who refers to it.
objs=()
for o in "$objdir"/.libs/liblfdict_la-*.o "$objdir"/liblfdict_la-*.o; do
	[ -e "$o" ] && objs+=("$o")
done
[ ${#objs[@]} -gt 0 ] || { echo "layers: no objects liblfdict_la-*.o in $objdir (build lib/ first)"; exit 1; }
declare -A def
for o in "${objs[@]}"; do
	src=${o##*/liblfdict_la-}
	src=${src%.o}.c
	while read -r sym; do
		def[$sym]=$src
	done < <(nm --defined-only "$o" | awk '$2 ~ /^[A-Z]$/ && $3 ~ /^lfd_/ { print $3 }')
done
declare -A seen
for o in "${objs[@]}"; do
	src=${o##*/liblfdict_la-}
	src=${src%.o}.c
	[ -z "${seen[$src]:-}" ] || continue # the PIC and non-PIC copies
	seen[$src]=1
	[ -n "${rank[$src]:-}" ] || { fail "object of $src, which is in no layer"; continue; }
	while read -r sym; do
		d=${def[$sym]:-}
		[ -n "$d" ] && [ -n "${rank[$d]:-}" ] || continue
		if [ "${rank[$d]}" -lt "${rank[$src]}" ]; then
			fail "lib/$src (${layer[$src]}) uses $sym of lib/$d (${layer[$d]}), a higher layer"
		fi
	done < <(nm -u "$o" | awk '$2 ~ /^lfd_/ { print $2 }')
done

# doc/design.md's table ("## Files in layers") names the same files in
# the same layers.
doc=$top/doc/design.md
if [ -e "$doc" ]; then
	docrows=$(awk '
		/^## Files in layers/ { on = 1; next }
		on && /^## / { exit }
		on && /^\| [a-z]+ \| `/ {
			split($0, c, "|"); name = c[2]; gsub(/ /, "", name)
			n = split(c[3], f, "`")
			for (i = 2; i <= n; i += 2) print name, f[i]
		}' "$doc" | sort)
	picrows=$(awk '{ print $1, $3 }' <<<"$rows" | sort)
	if [ "$docrows" != "$picrows" ]; then
		fail "doc/design.md's table of layers differs from the picture:"
		diff <(echo "$picrows") <(echo "$docrows") | sed 's/^/    /' || true
	fi
fi

nlayers=$(cut -d' ' -f1 <<<"$rows" | uniq | wc -l)
if [ "$bad" -ne 0 ]; then
	echo "layers: FAILED (the picture: $picture)"
	exit 1
fi
echo "layers: ok ($nlayers layers, ${#rank[@]} files, ${#seen[@]} objects)"
