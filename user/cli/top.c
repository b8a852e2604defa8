/* cli/top.c — hostmon top: the per-service table, live on a terminal or once for a ticket. */
#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/report.h"
#include "cli/source.h"
#include "cli/term.h"
#include "cli/window.h"
#include "lib/buf.h"
#include "lib/clock.h"

/* The view's state between two refreshes; rows are re-sorted and re-filtered on each key. */
struct top {
	const struct cli_source_settings *src;
	const struct cli_top_settings *cfg;
	enum sort_key sort;
	struct window_filter filter;
	char filter_text[256];
	char editing[256]; /* the filter being typed after '/' */
	bool typing;
	char message[256]; /* one line under the header: a refused filter, a failed read */
	struct window w;
	bool have_window;
	struct p99_history history;
	struct host_facts host;
	struct source *source;
	char source_text[512];
};

static int set_filter(struct top *t, const char *text)
{
	struct window_filter f = { 0 };

	if (text && *text) {
		if (regcomp(&f.re, text, REG_EXTENDED | REG_NOSUB)) {
			snprintf(t->message, sizeof(t->message),
				 "not a regular expression: %s (filter unchanged)", text);
			return -EINVAL;
		}
		f.active = true;
	}
	if (t->filter.active)
		regfree(&t->filter.re);
	t->filter = f;
	snprintf(t->filter_text, sizeof(t->filter_text), "%s", text ? text : "");
	return 0;
}

static void draw(struct top *t, bool tty)
{
	struct buf out = { 0 }, frame = { 0 };
	struct report_view v = {
		.w = &t->w,
		.host = &t->host,
		.sort = t->sort,
		.filter = &t->filter,
		.filter_text = t->filter_text,
		.source = t->source_text,
		.colour = tty,
	};
	int rows = 0, cols = 0;

	if (tty) {
		term_size(&rows, &cols);
		v.max_rows = rows > 6 ? rows - 5 : 1;
		v.width = cols;
	}
	report_table(&frame, &v);
	if (tty) {
		if (t->typing)
			buf_printf(&frame, "\nfilter (regex, Enter applies, Esc cancels): /%s",
				   t->editing);
		else if (t->message[0])
			buf_printf(&frame, "\n%s", t->message);
		else
			buf_puts(&frame, "\nkeys: c w t r p e sort, / filter, q quit");
		/*
		 * Drawn over the last frame, each line cleared to its end and the rest of the
		 * screen after the last: no blank screen between two frames (no flicker, and a
		 * reader of the screen never sees half a table).
		 */
		buf_puts(&out, "\033[H");
		for (size_t i = 0; i < frame.len; i++) {
			if (frame.data[i] == '\n')
				buf_puts(&out, "\033[K");
			buf_putc(&out, frame.data[i]);
		}
		buf_puts(&out, "\033[K\033[J");
	} else {
		buf_append(&out, frame.data, frame.len);
	}
	if (!out.err && !frame.err && out.len)
		fwrite(out.data, 1, out.len, stdout);
	fflush(stdout);
	buf_free(&frame);
	buf_free(&out);
}

/* One key; returns false when the view should end. */
static bool on_key(struct top *t, int c)
{
	enum sort_key key;

	if (t->typing) {
		size_t n = strlen(t->editing);
		if (c == '\r' || c == '\n') {
			t->typing = false;
			if (set_filter(t, t->editing) == 0)
				t->message[0] = '\0';
		} else if (c == 27) {
			t->typing = false;
		} else if ((c == 127 || c == 8) && n) {
			t->editing[n - 1] = '\0';
		} else if (c >= 32 && c < 127 && n + 1 < sizeof(t->editing)) {
			t->editing[n] = (char)c;
			t->editing[n + 1] = '\0';
		}
		return true;
	}
	if (c == 'q' || c == 'Q')
		return false;
	if (c == '/') {
		t->typing = true;
		snprintf(t->editing, sizeof(t->editing), "%s", t->filter_text);
		return true;
	}
	if (sort_key_from_letter((char)c, &key) == 0) {
		t->sort = key;
		t->message[0] = '\0';
	}
	return true;
}

static int one_window(struct top *t, struct metric_snapshot **prev, double *prev_at, char *err,
		      size_t errlen)
{
	struct metric_snapshot *cur;
	double at;
	int rc = source_read(t->source, &cur, &at, err, errlen);

	if (rc)
		return rc;
	if (t->have_window)
		window_free(&t->w);
	rc = window_compute(&t->w, *prev, cur, at - *prev_at, NULL, NULL, err, errlen);
	t->have_window = rc == 0;
	if (!rc) {
		report_mark_unusual(&t->w, &t->history);
		host_facts_read(&t->host,
				strcmp(source_mode(t->source), "daemon") == 0 ? t->src->url : NULL);
	}
	metric_snapshot_free(*prev);
	*prev = cur;
	*prev_at = at;
	return rc;
}

/* A key of the live view: answered at once, redrawn at once. */
static bool key_pressed(void *arg, int c)
{
	struct top *t = arg;

	if (!on_key(t, c))
		return false;
	if (t->have_window)
		draw(t, true);
	return true;
}

/* One window, then one table or document: for a ticket or a script. */
static int print_once(struct top *t, struct metric_snapshot **prev, double *prev_at, char *err,
		      size_t errlen)
{
	double interval = (double)t->cfg->interval_ms / 1000;

	if (!source_wait(t->source, *prev_at + interval, -1, NULL, NULL))
		return -ECANCELED;
	int rc = one_window(t, prev, prev_at, err, errlen);
	if (rc)
		return rc;
	if (!t->cfg->json) {
		draw(t, false);
		return 0;
	}
	char *doc = report_json(&t->w, &t->host, t->sort, &t->filter, t->filter_text,
				source_mode(t->source), t->src->url);
	if (!doc) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	printf("%s\n", doc);
	free(doc);
	return 0;
}

static void run_live(struct top *t, struct metric_snapshot **prev, double *prev_at)
{
	double interval = (double)t->cfg->interval_ms / 1000;
	char err[1024];

	printf("hostmon top: %s; rates need a second read in %.1f s\n", source_describe(t->source),
	       interval);
	fflush(stdout);
	for (double next = *prev_at + interval;
	     source_wait(t->source, next, STDIN_FILENO, key_pressed, t);) {
		int rc = one_window(t, prev, prev_at, err, sizeof(err));
		if (rc == -ECANCELED)
			break;
		/* a failed read (the daemon went away): say so, keep the last table, try again */
		snprintf(t->message, sizeof(t->message), "%.250s", rc ? err : "");
		next = (rc ? clock_monotonic_seconds() : *prev_at) + interval;
		if (t->have_window)
			draw(t, true);
	}
}

int top_run(const struct cli_source_settings *src, const struct cli_top_settings *cfg)
{
	struct top t = { .src = src, .cfg = cfg };
	struct metric_snapshot *prev = NULL;
	double prev_at;
	char err[1024] = "";
	int rc;

	if (sort_key_from_name(cfg->sort, &t.sort) || set_filter(&t, cfg->filter)) {
		fprintf(stderr, "hostmon top: %s\n", t.message[0] ? t.message : "bad --sort");
		return 2;
	}
	p99_history_init(&t.history, (double)cfg->interval_ms / 1000);
	bool live = !cfg->once && !cfg->json && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	term_signals();
	rc = source_open(&t.source, src, &prev, &prev_at, err, sizeof(err));
	snprintf(t.source_text, sizeof(t.source_text), "%s",
		 t.source ? source_describe(t.source) : "");
	if (!rc && live && term_begin()) {
		snprintf(err, sizeof(err), "cannot set up the terminal");
		rc = -ENOTTY;
	}
	if (!rc && live)
		run_live(&t, &prev, &prev_at);
	else if (!rc)
		rc = print_once(&t, &prev, &prev_at, err, sizeof(err));
	term_end();
	if (rc && rc != -ECANCELED)
		fprintf(stderr, "hostmon top: %s\n", err);
	metric_snapshot_free(prev);
	if (t.have_window)
		window_free(&t.w);
	p99_history_free(&t.history);
	set_filter(&t, NULL);
	/* unloads standalone collectors only after the terminal is back */
	source_close(t.source);
	return rc && rc != -ECANCELED ? 1 : 0;
}
