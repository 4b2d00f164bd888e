/*
 * test_so32.c - tests/so_checks.h as a program of its own, with no
 * library beyond libc: CI builds it for a 32-bit target (gcc -m32,
 * .ci/steps/05-so32.sh), where a link to a bucket node holds the key
 * itself and the index stops at 2^28 buckets.  The 64-bit build runs it
 * too, as part of make check.
 *
 * SPDX-License-Identifier: MIT
 */
#include "so_checks.h"

int main(void)
{
	const char *msg = so_checks();

	printf("test_so32: %u-bit words, LFD_MAX_LOG %d: %s\n",
	       (unsigned)(sizeof(uintptr_t) * 8), LFD_MAX_LOG,
	       msg ? msg : "ok");
	return msg ? 1 : 0;
}
