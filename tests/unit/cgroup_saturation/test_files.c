/* test_files.c — the parsers of a cgroup's memory, pressure and I/O files, on text as the kernel
 * writes it, and on text it never writes. */
#include <errno.h>

#include "cgroup_saturation/files.h"
#include "test.h"

static void keyed(void)
{
	uint64_t v = 0;
	const char *stat = "cache 1000\nrss 20\ninactive_file 4096\ntotal_inactive_file 8192\n";

	CHECK(sat_parse_keyed(stat, "inactive_file", &v) == 0 && v == 4096, "got %llu",
	      (unsigned long long)v);
	CHECK(sat_parse_keyed(stat, "total_inactive_file", &v) == 0 && v == 8192, "got %llu",
	      (unsigned long long)v);
	CHECK(sat_parse_keyed(stat, "inactive", &v) == -ENOENT, "a prefix is not a key");
	CHECK(sat_parse_keyed("inactive_file -1\n", "inactive_file", &v) == -EINVAL, "negative");
	CHECK(sat_parse_keyed("inactive_file 12x\n", "inactive_file", &v) == -EINVAL, "garbage");
}

static void limits(void)
{
	uint64_t lim = 1;
	bool has = true;

	CHECK(sat_parse_limit("max\n", &lim, &has) == 0 && !has && lim == 0, "cgroup2 max");
	CHECK(sat_parse_limit("33554432\n", &lim, &has) == 0 && has && lim == 33554432, "a limit");
	CHECK(sat_parse_limit("9223372036854771712\n", &lim, &has) == 0 && !has, "v1 unlimited");
	CHECK(sat_parse_limit("maximum\n", &lim, &has) == -EINVAL, "not max");
	CHECK(sat_parse_limit("\n", &lim, &has) == -EINVAL, "empty");
}

static void psi(void)
{
	struct sat_stall s;

	CHECK(sat_parse_psi("some avg10=0.12 avg60=1.00 avg300=2.00 total=1874165483\n"
			    "full avg10=0.00 avg60=0.00 avg300=0.00 total=5\n",
			    &s) == 0 &&
		      s.has_some && s.has_full && s.some_us == 1874165483 && s.full_us == 5,
	      "some and full");
	/* cpu.pressure before 5.13 has no full line */
	CHECK(sat_parse_psi("some avg10=0.00 avg60=0.00 avg300=0.00 total=7\n", &s) == 0 &&
		      s.has_some && !s.has_full && s.some_us == 7,
	      "some only");
	CHECK(sat_parse_psi("full avg10=0.00 total=5\n", &s) == -EINVAL, "no some line");
	CHECK(sat_parse_psi("some avg10=0.00 total=x\n", &s) == -EINVAL, "bad total");
	CHECK(sat_parse_psi("junk\n", &s) == -EINVAL, "junk");
}

static void io_stat(void)
{
	struct sat_io io;

	CHECK(sat_parse_io_stat("8:0 rbytes=100 wbytes=200 rios=1 wios=2 dbytes=0 dios=0\n"
				"7:0 rbytes=1000 wbytes=2000 rios=10 wios=20 dbytes=0 dios=0\n",
				&io) == 0 &&
		      io.read_bytes == 1100 && io.write_bytes == 2200 && io.read_ops == 11 &&
		      io.write_ops == 22,
	      "two devices summed");
	CHECK(sat_parse_io_stat("", &io) == 0 && io.read_bytes == 0, "no I/O yet: empty");
	CHECK(sat_parse_io_stat("8:0 rbytes=x\n", &io) == -EINVAL, "bad number");
}

static void blkio(void)
{
	uint64_t r = 0, w = 0;
	const char *text = "7:0 Read 8388608\n7:0 Write 16777216\n7:0 Sync 25165824\n"
			   "7:0 Async 0\n7:0 Discard 0\n7:0 Total 25165824\n"
			   "8:0 Read 1\n8:0 Write 2\nTotal 25165827\n";

	CHECK(sat_parse_blkio(text, &r, &w) == 0 && r == 8388609 && w == 16777218,
	      "Read and Write lines summed, Total skipped (%llu %llu)", (unsigned long long)r,
	      (unsigned long long)w);
	r = w = 0;
	CHECK(sat_parse_blkio("Total 0\n", &r, &w) == 0 && r == 0 && w == 0, "no devices");
	CHECK(sat_parse_blkio("7:0 Read x\n", &r, &w) == -EINVAL, "bad number");
}

int main(void)
{
	keyed();
	limits();
	psi();
	io_stat();
	blkio();
	return test_summary("unit/cgroup_saturation/test_files");
}
