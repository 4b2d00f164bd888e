/*
 * rcu_pthread.h - a test-only RCU flavour built on pthread primitives.
 *
 * ThreadSanitizer cannot see liburcu's grace periods (liburcu is not
 * instrumented and synchronizes through its own barriers), so under TSan a
 * free after a grace period looks like a race with the readers.  This
 * flavour is a valid -- and slow -- RCU whose every edge TSan understands:
 * a read-side section holds a read lock of one writer-preferring rwlock, a
 * grace period takes and drops its write lock, and callbacks run on one
 * worker thread after a grace period.  Tests pass it in lfd_config.flavor
 * when built with -DLFD_TEST_RCU_PTHREAD (the TSan build); it also works
 * with any build.
 */
#ifndef LFD_TEST_RCU_PTHREAD_H
#define LFD_TEST_RCU_PTHREAD_H

#include <urcu/call-rcu.h>
#include <urcu/flavor.h>

extern const struct rcu_flavor_struct lfd_test_rcu_pthread_flavor;

#endif
