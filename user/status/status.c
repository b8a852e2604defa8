/* status/status.c — the status model: bounded slots, clean text, rollback of a failed source. */
#include "status/status.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct status_model *status_model_new(void)
{
	return calloc(1, sizeof(struct status_model));
}

void status_model_free(struct status_model *m)
{
	free(m);
}

struct status_mark status_mark(const struct status_model *m)
{
	struct status_mark k = {
		.have_http = m->have_http,
		.have_restart = m->have_restart,
		.have_rabbitmq = m->have_rabbitmq,
		.ntargets = m->ntargets,
		.targets_total = m->targets_total,
		.nrules = m->nrules,
	};
	return k;
}

void status_rollback(struct status_model *m, const struct status_mark *k)
{
	m->have_http = k->have_http;
	m->have_restart = k->have_restart;
	if (!k->have_rabbitmq) {
		m->have_rabbitmq = false;
		memset(&m->rabbitmq, 0, sizeof(m->rabbitmq));
	}
	m->ntargets = k->ntargets;
	m->targets_total = k->targets_total;
	m->nrules = k->nrules;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), or 0 when it is not one. */
static size_t utf8_len(const unsigned char *p, size_t n)
{
	size_t len;
	unsigned min;

	if (p[0] < 0x80)
		return 1;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
		min = 0x80;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		min = 0x800;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	unsigned cp = p[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	/* overlong forms, UTF-16 surrogates and code points past U+10FFFF are not text */
	if (cp < min || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

void status_copy(char *dst, size_t len, const char *src)
{
	const unsigned char *p = (const unsigned char *)(src ? src : "");
	size_t n = strlen((const char *)p), o = 0;

	if (!len)
		return;
	for (size_t i = 0; i < n;) {
		size_t l = utf8_len(p + i, n - i);
		if (o + (l ? l : 1) >= len)
			break; /* never cut a character */
		if (l == 1 && (p[i] < 0x20 || p[i] == 0x7f))
			dst[o++] = '?';
		else if (l == 0)
			dst[o++] = '?';
		else
			memcpy(dst + o, p + i, l), o += l;
		i += l ? l : 1;
	}
	dst[o] = '\0';
}

struct status_target *status_target_add(struct status_model *m)
{
	m->targets_total++;
	if (m->ntargets >= STATUS_TARGETS_MAX)
		return NULL;
	struct status_target *t = &m->targets[m->ntargets++];
	memset(t, 0, sizeof(*t));
	return t;
}

struct status_rule *status_rule_add(struct status_model *m)
{
	if (m->nrules >= STATUS_RULES_MAX)
		return NULL;
	struct status_rule *r = &m->rules[m->nrules++];
	memset(r, 0, sizeof(*r));
	return r;
}

void status_format_time(double t, char *out, size_t len)
{
	struct tm tm;
	time_t s = (time_t)t;

	if (!(t > 0) || !gmtime_r(&s, &tm)) {
		snprintf(out, len, "never");
		return;
	}
	strftime(out, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

void status_format_bytes(double b, char *out, size_t len)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	size_t u = 0;

	while (fabs(b) >= 1024 && u + 1 < sizeof(units) / sizeof(units[0])) {
		b /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(out, len, "%.0f B", b);
	else
		snprintf(out, len, "%.1f %s", b, units[u]);
}
