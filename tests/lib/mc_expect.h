/* mc_expect.h — criterion checks around the test MSRP client (msrp_client.h) for suites
 * that drive relays. Macros, so that a failure names the test's line and the client's
 * expression. Include it after <criterion/criterion.h>. */
#ifndef TESTS_MC_EXPECT_H
#define TESTS_MC_EXPECT_H

#include <errno.h>
#include <string.h>

#include "tests/lib/msrp_client.h"

/* Connects <c> to <hostport> over TCP within <ms>, or fails the test. */
#define MC_EXPECT_CONNECT(c, hostport, ms)                                                  \
	do {                                                                                \
		int rc_ = mc_connect((c), (hostport), (ms));                                \
		cr_assert_eq(rc_, 0, "connect %s: %s", (hostport), strerror(-rc_));         \
	} while (0)

/* Reads the next frame on <c> into <f> (a struct mc_frame *) within <ms>, or fails. */
#define MC_EXPECT_FRAME(c, f, ms)                                                           \
	do {                                                                                \
		int rc_ = mc_read_frame((c), (f), (ms));                                    \
		cr_assert_eq(rc_, 0, "no frame on " #c ": %s", strerror(-rc_));             \
	} while (0)

/* Nothing arrives on <c> within <ms> (<f> receives what came, if anything). */
#define MC_EXPECT_SILENCE(c, f, ms)                                                         \
	do {                                                                                \
		int rc_ = mc_read_frame((c), (f), (ms));                                    \
		cr_assert_eq(rc_, -ETIMEDOUT,                                               \
			     "unexpected on " #c " (rc %d): %s %s %d %s, To-Path %s, "      \
			     "From-Path %s", rc_, (f)->tid,                                 \
			     (f)->is_request ? (f)->method : "response", (f)->status,       \
			     rc_ ? "" : (f)->comment,                                       \
			     rc_ ? "" : mc_header((f), "To-Path"),                          \
			     rc_ ? "" : mc_header((f), "From-Path"));                       \
	} while (0)

#endif
