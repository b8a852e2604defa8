/* test_proc.c — /proc/PID/stat field parsing: command names that look like fields, bounds. */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "lib/proc.h"
#include "test.h"

/* Fields 3.. of a stat line whose command name holds spaces and parentheses. */
static const char stat_line[] = "4242 (a) b) (c 5) S 17 4242 4242 0 -1 4194560 9 0 0 0 "
				"120 30 0 0 20 0 1 0 987654 12345678 321 18446744073709551615\n";

static void test_fields(void)
{
	static const int want[] = { 4, 14, 15, 22, 23, 24, 25 };
	uint64_t out[7] = { 0 }, one = 7;

	CHECK(proc_stat_fields(stat_line, want, 7, out) == 0, "fields read");
	CHECK(out[0] == 17 && out[1] == 120 && out[2] == 30 && out[3] == 987654 &&
		      out[4] == 12345678 && out[5] == 321 && out[6] == UINT64_MAX,
	      "values %llu %llu %llu %llu %llu %llu", (unsigned long long)out[0],
	      (unsigned long long)out[1], (unsigned long long)out[2], (unsigned long long)out[3],
	      (unsigned long long)out[4], (unsigned long long)out[5]);
	CHECK(proc_stat_field(stat_line, 22, &one) == 0 && one == 987654, "one field: %llu",
	      (unsigned long long)one);
	CHECK(proc_stat_fields(stat_line, want, 0, out) == 0, "no field asked");
}

static void test_refused(void)
{
	static const int down[] = { 14, 4 };
	static const int two[] = { 2 };
	static const int past[] = { 4, 26 };
	static const int many[PROC_STAT_MAX_FIELDS + 1] = { 4 };
	uint64_t out[PROC_STAT_MAX_FIELDS + 1] = { 0 }, v = 7;

	CHECK(proc_stat_fields(stat_line, down, 2, out) == -EINVAL, "decreasing order");
	CHECK(proc_stat_fields(stat_line, two, 1, out) == -EINVAL, "the command name is no number");
	CHECK(proc_stat_field(stat_line, 3, &v) == -EINVAL && v == 7, "the state is no number");
	CHECK(proc_stat_fields(stat_line, past, 2, out) == -EINVAL && out[0] == 0,
	      "past the end, and nothing written");
	CHECK(proc_stat_fields(stat_line, many, PROC_STAT_MAX_FIELDS + 1, out) == -EINVAL,
	      "too many fields");
	CHECK(proc_stat_field("4242 no parenthesis 1 2", 4, &v) == -EINVAL, "no ')'");
}

/* pid 0 is /proc/self: the same process as /proc/<getpid()> here. */
static void test_self(void)
{
	char a[1024], b[1024];
	uint64_t ppid = 0, start_a = 0, start_b = 1;

	CHECK(proc_stat_read(0, a, sizeof(a)) == 0, "self");
	CHECK(proc_stat_read(getpid(), b, sizeof(b)) == 0, "by pid");
	CHECK(proc_stat_field(a, 4, &ppid) == 0 && ppid == (uint64_t)getppid(), "ppid %llu",
	      (unsigned long long)ppid);
	CHECK(proc_stat_field(a, 22, &start_a) == 0 && proc_stat_field(b, 22, &start_b) == 0 &&
		      start_a == start_b,
	      "same start time");
}

int main(void)
{
	test_fields();
	test_refused();
	test_self();
	return test_summary("lib/test_proc");
}
