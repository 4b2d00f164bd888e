/* hello.c - the smallest lfdict program (README.md).
 * Build: cc hello.c $(pkg-config --cflags --libs lfdict) */
#include <lfdict.h>
#include <stdio.h>

int main(void)
{
	struct lfd *d = lfd_new(NULL); /* defaults: any thread may call */
	void *v;

	if (d == NULL)
		return 1;
	lfd_insert(d, "answer", 6, (void *)42, NULL);      /* insert if absent */
	if (lfd_insert(d, "answer", 6, (void *)7, &v) == -EEXIST)
		printf("already there: %ld\n", (long)v);   /* 42 */
	lfd_set(d, "answer", 6, (void *)43, &v);           /* replace */
	if (lfd_pop(d, "answer", 6, &v) == 0)              /* remove, return */
		printf("popped: %ld\n", (long)v);          /* 43 */
	printf("get after pop: %s\n", lfd_strerror(lfd_get(d, "answer", 6, &v)));
	return lfd_destroy(d) == 0 ? 0 : 1;
}
