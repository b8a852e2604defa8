/* test.h — a minimal TAP-style unit test harness: one "ok"/"not ok" line per check. */
#ifndef HOSTMON_TEST_H
#define HOSTMON_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int test_passed, test_failed;

#define CHECK(cond, ...)                                                           \
	do {                                                                       \
		if (cond) {                                                        \
			test_passed++;                                             \
		} else {                                                           \
			test_failed++;                                             \
			printf("not ok - %s:%d: %s: ", __FILE__, __LINE__, #cond); \
			printf(__VA_ARGS__);                                       \
			printf("\n");                                              \
		}                                                                  \
	} while (0)

#define CHECK_STR(got, want)                                                                       \
	CHECK((got) && strcmp((got), (want)) == 0, "got [%s] want [%s]", (got) ? (got) : "(null)", \
	      (want))

/* xorshift64 with a fixed seed: a fuzz loop that fails fails the same way on every run. */
static inline uint64_t test_rng(void)
{
	static uint64_t state = 0x9e3779b97f4a7c15ULL;
	state ^= state << 13;
	state ^= state >> 7;
	state ^= state << 17;
	return state;
}

/* Every test program ends main() with: return test_summary("name");
 * A program that made no check tested nothing: that is reported as one failure. */
static inline int test_summary(const char *name)
{
	if (test_passed + test_failed == 0) {
		test_failed++;
		printf("not ok - %s: no checks ran\n", name);
	}
	printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
	return test_failed ? 1 : 0;
}

#endif
