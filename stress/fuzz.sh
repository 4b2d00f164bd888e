#!/bin/sh
# Build the libFuzzer target stress/fuzz_lfd.c with clang (ASan + UBSan, the
# library's sources compiled in) and run it.  Arguments go to libFuzzer;
# default: -max_total_time=30.  LFD_FUZZ_DIR: build dir (/tmp/lfd-fuzz);
# LFD_FUZZ_CFLAGS: extra flags (e.g. -DLFD_BREAK_COUNT).
#   stress/fuzz.sh -runs=20000          # CI smoke run
#   stress/fuzz.sh -max_total_time=600  # longer
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${LFD_FUZZ_DIR:-/tmp/lfd-fuzz}
CC=${CC_FUZZ:-clang}
# -fno-sanitize=alignment: liburcu 0.13's inline urcu-bp read lock (used by
# lib/dict.c with _LGPL_SOURCE) reads its 128-byte-aligned reader struct at
# a 32-byte-aligned address (liburcu's registry layout), which UBSan flags.
mkdir -p "$dir/corpus"
$CC -std=gnu11 -g -O1 -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	-fno-sanitize=alignment ${LFD_FUZZ_CFLAGS:-} \
	-I"$top/include" -I"$top/lib" "$top"/lib/*.c "$top/stress/fuzz_lfd.c" \
	"$top/tests/rcu_pthread.c" \
	$(pkg-config --cflags --libs liburcu-bp) -lpthread -o "$dir/fuzz_lfd"
# a few seeds: every op on every key, with and without the destructor
printf '\001\001\003\005\002\003\006\003\003\007\004\003\010\005\003\011\006\003\000\007\003\001\010\000\000\011\000\000' >"$dir/corpus/seed1"
printf '\002\013\000\001\001\005\002\006\005\004\014\000\000\013\000\000\011\000\000' >"$dir/corpus/seed2"
printf '\021\021\004\004\001\004\005\022\004\006\003\004\007\031\000\000' >"$dir/corpus/seed3"
# cad, update (each of fn's decisions, one with an allocation failure),
# get_or_create (one failing create, one allocation failure)
printf '\001\016\003\001\036\006\001\016\003\004\016\003\002\016\003\003\016\003\005\017\004\005\037\007\005\017\005\003\015\004\007\015\004\005\012\000\000\011\000\000' >"$dir/corpus/seed4"
# trims between inserts and pops, one with its allocation failed (op 12
# with value bit 3)
printf '\001\001\003\005\001\004\006\006\003\000\014\000\010\034\000\010\001\003\007\014\000\010\011\000\000' >"$dir/corpus/seed5"
[ $# -gt 0 ] || set -- -max_total_time=30
cd "$dir"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} \
	./fuzz_lfd -print_final_stats=1 "$@" corpus
