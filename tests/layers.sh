#!/bin/sh
# make check: the layers of lib/ hold (scripts/layers.sh, the picture in
# lib/dict.c's design comment), and the check can fail: it must reject
#  1. a copy of lib/ where solist.c includes a header of a higher layer,
#  2. this build's objects against a picture with the count layer moved
#     above the resize layer (buckets.c calls lfd_count_sum).
# Run from the build directory (the objects are in lib/).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
check=$top/scripts/layers.sh
objs=${1:-lib}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

bash "$check" "$objs"

cp "$top"/lib/*.c "$top"/lib/*.h "$tmp"/
printf '#include "reclaim.h"\n' >>"$tmp"/solist.c
if out=$(bash "$check" --lib "$tmp" "$objs"); then
	echo "layers.sh accepted solist.c including reclaim.h"; exit 1
fi
echo "$out" | grep -q 'lib/solist.c (list) includes reclaim.h (reclaim)' || {
	echo "layers.sh failed, but not on the injected include:"; echo "$out"; exit 1; }
echo "rejected as it must: an upward include"

awk '/^ \*   count / { held = $0; next }
     { print }
     /^ \*   reclaim / { print held_fix }' held_fix=" *   count     count.c count.h" \
	"$top"/lib/dict.c >"$tmp"/picture.c
if out=$(bash "$check" --picture "$tmp"/picture.c "$objs"); then
	echo "layers.sh accepted count above resize"; exit 1
fi
echo "$out" | grep -q 'lib/buckets.c (resize) uses lfd_count_sum of lib/count.c (count)' || {
	echo "layers.sh failed, but not on the moved layer:"; echo "$out"; exit 1; }
echo "rejected as it must: an upward call"
