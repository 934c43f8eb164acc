/* fuzz_check.h — what every libFuzzer target of tests/fuzz/ shares: CHECK(c) stops the run
 * (a crash for libFuzzer, with the failed condition and its place on stderr) when a
 * property of the code under test does not hold, and the entry point's prototype. */
#ifndef FUZZ_CHECK_H
#define FUZZ_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define CHECK(c)                                                                           \
	do {                                                                               \
		if (!(c)) {                                                                \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #c);  \
			abort();                                                           \
		}                                                                          \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
