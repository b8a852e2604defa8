/* cli/report.h — how a window is shown: sort keys, the marks on unusual rows, the host line,
 * the table and the JSON document of hostmon top. */
#ifndef HOSTMON_CLI_REPORT_H
#define HOSTMON_CLI_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "cli/window.h"
#include "lib/buf.h"
#include "lib/idmap.h"

/*
 * API:
 *   Sort keys by name (--sort) or letter (the live view's keys); 0 or
 *   -EINVAL. Rows sort descending by the key (NaN last), then by name.
 *
 *   report_mark_unusual() sets each row's unusual bits: throttled above
 *   UNUSUAL_THROTTLED of the window, run-queue wait above UNUSUAL_WAIT_MS
 *   per second, 5xx above UNUSUAL_ERRORS of the requests, node's event
 *   loops busy above UNUSUAL_ELU of the time, and p99 above
 *   UNUSUAL_P99_FACTOR times the median of the row's own p99 over the last
 *   UNUSUAL_P99_WINDOW_S (kept in h, once it holds at least
 *   UNUSUAL_P99_MIN_SAMPLES windows with requests). Each call records the
 *   window's p99s in h.
 *
 *   host_facts_read(): CPUs online and /proc/loadavg, when url names this
 *   host (loopback) or is NULL (standalone: the numbers are this host's);
 *   otherwise local is false and they are not shown.
 *
 *   report_table() appends the header (host CPU, load, worst p99 and its
 *   service, HTTP targets) and the rows that pass the filter, sorted, at
 *   most max_rows (0: all) in width columns (0: as wide as the names
 *   need), with colour when asked (a marker letter column either way).
 *   report_json() returns a malloc'd JSON document of the same (NULL on
 *   allocation failure); fields in docs/incident.md.
 */
enum sort_key { SORT_CPU, SORT_WAIT, SORT_THROTTLED, SORT_REQUESTS, SORT_P99, SORT_ERRORS };

int sort_key_from_name(const char *name, enum sort_key *out);
int sort_key_from_letter(char c, enum sort_key *out);
const char *sort_key_name(enum sort_key k);

enum unusual {
	UNUSUAL_THROTTLED_BIT = 1,
	UNUSUAL_WAIT_BIT = 2,
	UNUSUAL_ERRORS_BIT = 4,
	UNUSUAL_P99_BIT = 8,
	UNUSUAL_ELU_BIT = 16,
};

#define UNUSUAL_THROTTLED	0.10
#define UNUSUAL_WAIT_MS		50.0
#define UNUSUAL_ERRORS		0.01
#define UNUSUAL_ELU		0.9
#define UNUSUAL_P99_FACTOR	3.0
#define UNUSUAL_P99_WINDOW_S	300.0
#define UNUSUAL_P99_MIN_SAMPLES 10

struct p99_history {
	struct idmap by_path; /* hash of the cgroup path -> struct p99_ring */
	size_t cap;	      /* windows in UNUSUAL_P99_WINDOW_S */
};

int p99_history_init(struct p99_history *h, double interval_s);
void p99_history_free(struct p99_history *h);
void report_mark_unusual(struct window *w, struct p99_history *h);

struct host_facts {
	bool local;
	long cpus;
	bool has_load;
	double load[3];
};

void host_facts_read(struct host_facts *h, const char *url);

struct report_view {
	const struct window *w;
	const struct host_facts *host;
	enum sort_key sort;
	const struct window_filter *filter;
	const char *filter_text;
	const char *source; /* the header's words for where the numbers come from */
	bool colour;
	int max_rows, width;
};

void report_table(struct buf *out, const struct report_view *v);
char *report_json(const struct window *w, const struct host_facts *host, enum sort_key sort,
		  const struct window_filter *filter, const char *filter_text, const char *mode,
		  const char *url);

/* Seconds for people: "-" for NaN, ">10s" past the last bound, else ms or s. */
void format_seconds(char *out, size_t len, double v, bool beyond);

#endif
