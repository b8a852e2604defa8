/* exposition/metrics.c — the metric snapshot: families and series in one arena, validated on the
 * way in. */
#include "exposition/metrics.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/*
 * Every string and node lives in arena chunks, so a snapshot of 100k series
 * costs a few hundred allocations instead of a million, and freeing it is a
 * walk over the chunk list.
 */
#define ARENA_CHUNK_SIZE (256 * 1024)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used;
	size_t cap;
	_Alignas(16) unsigned char data[];
};

/* What keeps borrowed label strings alive: released when the snapshot is freed. */
struct metric_hold {
	struct metric_hold *next;
	void (*release)(void *arg);
	void *arg;
};

struct metric_snapshot {
	struct arena_chunk *chunk; /* current chunk first; all chunks linked */
	struct metric_family *first;
	struct metric_family *last;
	struct metric_hold *holds;
	struct metric_section *section; /* the innermost open one, NULL outside sections */
	uint64_t nfamilies;		/* families ever created: the next one's seq */
	uint64_t section_ids;
	int err;
};

/*
 * Where an older family's series ended before a section first added to it.
 * prev_logged_by is the section that had logged the family before, so an
 * inner section that succeeds can hand its entries to its parent exactly.
 */
struct metric_undo {
	struct metric_undo *next;
	struct metric_family *f;
	struct metric_series *last_series;
	size_t nseries;
	uint64_t prev_logged_by;
};

struct metric_family {
	struct metric_family *next;
	struct metric_snapshot *snap; /* the add functions get only the family */
	const char *name;
	const char *help;
	enum metric_type type;
	size_t nbounds;
	double *bounds;
	struct metric_series *first_series;
	struct metric_series *last_series;
	size_t nseries;
	uint64_t seq;	    /* creation order, compared with a section's first_seq */
	uint64_t logged_by; /* id of the section whose undo log has this family, 0 for none */
	size_t nlabels;
	const char *label_names[];
};

/* Histogram series keep the sum in value; buckets is NULL for the other types. */
struct metric_series {
	struct metric_series *next;
	double value;
	uint64_t *buckets;
	const struct metric_gen *gen; /* a node of metric_add_generated(), else NULL */
	const char *labels[];
};

/* Series made at render time; arg follows, copied. */
struct metric_gen {
	metric_series_fn series;
	size_t n;
	_Alignas(16) unsigned char arg[];
};

/* An error belongs to the innermost open section, so it rolls back only that section's work. */
static int *error_slot(struct metric_snapshot *s)
{
	return s->section ? &s->section->err : &s->err;
}

static void snapshot_fail(struct metric_snapshot *s, int err)
{
	int *slot = error_slot(s);

	if (!*slot)
		*slot = err;
}

static void *arena_alloc(struct metric_snapshot *s, size_t size)
{
	struct arena_chunk *c = s->chunk, *n;
	size_t cap;
	void *p;

	/* 16-byte alignment suits every node type we store (doubles, pointers, u64). */
	if (size > SIZE_MAX - 15 - sizeof(*c))
		goto nomem;
	size = (size + 15) & ~(size_t)15;
	if (c && c->cap - c->used >= size) {
		p = c->data + c->used;
		c->used += size;
		return p;
	}

	/*
	 * A large request gets a chunk of its own, linked behind the current
	 * one, so the space left in the current chunk is not wasted.
	 */
	cap = size > ARENA_CHUNK_SIZE / 4 ? size : ARENA_CHUNK_SIZE;
	n = malloc(sizeof(*n) + cap);
	if (!n)
		goto nomem;
	n->cap = cap;
	n->used = size;
	if (c && cap == size) {
		n->next = c->next;
		c->next = n;
	} else {
		n->next = c;
		s->chunk = n;
	}
	return n->data;
nomem:
	snapshot_fail(s, -ENOMEM);
	return NULL;
}

static char *arena_strdup(struct metric_snapshot *s, const char *str, size_t len)
{
	char *p = arena_alloc(s, len + 1);

	if (p) {
		memcpy(p, str, len);
		p[len] = '\0';
	}
	return p;
}

struct metric_snapshot *metric_snapshot_new(void)
{
	struct metric_snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		errno = ENOMEM;
	return s;
}

void metric_snapshot_free(struct metric_snapshot *s)
{
	struct arena_chunk *c, *next;

	if (!s)
		return;
	for (struct metric_hold *h = s->holds; h; h = h->next)
		h->release(h->arg);
	for (c = s->chunk; c; c = next) {
		next = c->next;
		free(c);
	}
	free(s);
}

int metric_snapshot_error(const struct metric_snapshot *s)
{
	if (!s)
		return -EINVAL;
	return s->section ? s->section->err : s->err;
}

void metric_snapshot_begin_section(struct metric_snapshot *s, struct metric_section *sec)
{
	if (!s || !sec)
		return;
	*sec = (struct metric_section){
		.parent = s->section,
		.tail = s->last,
		.first_seq = s->nfamilies,
		.id = ++s->section_ids,
	};
	s->section = sec;
}

/* Before a section's first add to a family older than it, log where the family's series end. */
static int section_log(struct metric_family *f)
{
	struct metric_snapshot *s = f->snap;
	struct metric_section *sec = s->section;
	struct metric_undo *u;

	if (!sec || f->seq >= sec->first_seq || f->logged_by == sec->id)
		return 0;
	u = arena_alloc(s, sizeof(*u));
	if (!u)
		return -ENOMEM;
	*u = (struct metric_undo){ .next = sec->undo,
				   .f = f,
				   .last_series = f->last_series,
				   .nseries = f->nseries,
				   .prev_logged_by = f->logged_by };
	sec->undo = u;
	f->logged_by = sec->id;
	return 0;
}

static void undo_apply(const struct metric_undo *u)
{
	struct metric_family *f = u->f;

	f->last_series = u->last_series;
	if (u->last_series)
		u->last_series->next = NULL;
	else
		f->first_series = NULL;
	f->nseries = u->nseries;
	f->logged_by = u->prev_logged_by;
}

/*
 * A section that succeeded passes its log to its parent, which must still
 * be able to undo those adds, unless the parent has logged the family
 * itself or created it (then the parent's rollback unlinks it whole).
 */
static void undo_hand_over(struct metric_section *parent, struct metric_undo *u)
{
	if (parent && u->f->seq < parent->first_seq && u->prev_logged_by != parent->id) {
		u->next = parent->undo;
		parent->undo = u;
		u->f->logged_by = parent->id;
	} else {
		u->f->logged_by = u->prev_logged_by;
	}
}

int metric_snapshot_end_section(struct metric_snapshot *s, struct metric_section *sec, int rc)
{
	struct metric_undo *u, *next;

	if (!s || !sec || s->section != sec)
		return -EINVAL;
	s->section = sec->parent;
	if (!rc)
		rc = sec->err;
	for (u = sec->undo; u; u = next) {
		next = u->next;
		if (rc)
			undo_apply(u);
		else
			undo_hand_over(sec->parent, u);
	}
	sec->undo = NULL;
	if (rc) {
		s->last = sec->tail;
		if (sec->tail)
			sec->tail->next = NULL;
		else
			s->first = NULL;
	}
	sec->err = 0;
	return rc;
}

/* [a-zA-Z_:][a-zA-Z0-9_:]* — the classic Prometheus metric name. */
static bool valid_metric_name(const char *n)
{
	const char *p;

	if (!n || !*n)
		return false;
	for (p = n; *p; p++) {
		char c = *p;
		bool alpha =
			(c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';

		if (!alpha && !(p != n && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* [a-zA-Z_][a-zA-Z0-9_]*, and "__" is reserved for Prometheus itself. */
static bool valid_label_name(const char *n)
{
	const char *p;

	if (!n || !*n || (n[0] == '_' && n[1] == '_'))
		return false;
	for (p = n; *p; p++) {
		char c = *p;
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';

		if (!alpha && !(p != n && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

static bool has_suffix(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && memcmp(s + len - n, suffix, n) == 0;
}

static bool same_declaration(const struct metric_family *f, enum metric_type type, size_t nlabels,
			     const char *const *label_names, size_t nbounds, const double *bounds)
{
	size_t i;

	if (f->type != type || f->nlabels != nlabels || f->nbounds != nbounds)
		return false;
	for (i = 0; i < nlabels; i++)
		if (strcmp(f->label_names[i], label_names[i]) != 0)
			return false;
	for (i = 0; i < nbounds; i++)
		if (f->bounds[i] != bounds[i])
			return false;
	return true;
}

static int check_declaration(const char *name, enum metric_type type, size_t nlabels,
			     const char *const *label_names, size_t nbounds, const double *bounds)
{
	size_t i, j;

	if (!valid_metric_name(name))
		return -EINVAL;
	/* The OpenMetrics family name is the counter name minus _total: it must not be empty. */
	if (type == METRIC_COUNTER &&
	    (strlen(name) <= 6 || !has_suffix(name, strlen(name), "_total")))
		return -EINVAL;
	if (nlabels && !label_names)
		return -EINVAL;
	for (i = 0; i < nlabels; i++) {
		if (!valid_label_name(label_names[i]))
			return -EINVAL;
		if (type == METRIC_HISTOGRAM && strcmp(label_names[i], "le") == 0)
			return -EINVAL;
		for (j = 0; j < i; j++)
			if (strcmp(label_names[i], label_names[j]) == 0)
				return -EINVAL;
	}
	if (nbounds && !bounds)
		return -EINVAL;
	for (i = 0; i < nbounds; i++) {
		if (!isfinite(bounds[i]) || (i > 0 && !(bounds[i] > bounds[i - 1])))
			return -EINVAL;
	}
	return 0;
}

static struct metric_family *family_get(struct metric_snapshot *s, const char *name,
					const char *help, enum metric_type type, size_t nlabels,
					const char *const *label_names, size_t nbounds,
					const double *bounds)
{
	struct metric_family *f;
	size_t i, size;
	int err;

	if (!s)
		return NULL;
	err = check_declaration(name, type, nlabels, label_names, nbounds, bounds);
	if (err) {
		snapshot_fail(s, err);
		return NULL;
	}

	/* Families are few (tens to hundreds): a linear scan is cheaper than a hash. */
	for (f = s->first; f; f = f->next) {
		if (strcmp(f->name, name) != 0)
			continue;
		/* The first declaration's help text stays; help is not part of identity. */
		if (same_declaration(f, type, nlabels, label_names, nbounds, bounds))
			return f;
		snapshot_fail(s, -EINVAL);
		return NULL;
	}

	if (nlabels > (SIZE_MAX - sizeof(*f)) / sizeof(f->label_names[0]) / 2 ||
	    nbounds > SIZE_MAX / 2 / sizeof(double)) {
		snapshot_fail(s, -ENOMEM);
		return NULL;
	}
	size = sizeof(*f) + nlabels * sizeof(f->label_names[0]);
	f = arena_alloc(s, size);
	if (!f)
		return NULL;
	memset(f, 0, size);
	f->snap = s;
	f->seq = s->nfamilies++;
	f->type = type;
	f->name = arena_strdup(s, name, strlen(name));
	f->help = arena_strdup(s, help ? help : "", help ? strlen(help) : 0);
	f->nlabels = nlabels;
	for (i = 0; i < nlabels; i++)
		f->label_names[i] = arena_strdup(s, label_names[i], strlen(label_names[i]));
	f->nbounds = nbounds;
	if (nbounds) {
		f->bounds = arena_alloc(s, nbounds * sizeof(double));
		if (f->bounds)
			memcpy(f->bounds, bounds, nbounds * sizeof(double));
	}
	/* A failed allocation above has recorded -ENOMEM; do not link a half-built family. */
	if (!f->name || !f->help || (nbounds && !f->bounds))
		return NULL;
	for (i = 0; i < nlabels; i++)
		if (!f->label_names[i])
			return NULL;
	if (s->last)
		s->last->next = f;
	else
		s->first = f;
	s->last = f;
	return f;
}

struct metric_family *metric_family_get(struct metric_snapshot *s, const char *name,
					const char *help, enum metric_type type, size_t nlabels,
					const char *const *label_names)
{
	/* A histogram needs its bounds: it is declared with metric_histogram_get(). */
	if (type != METRIC_COUNTER && type != METRIC_GAUGE) {
		if (s)
			snapshot_fail(s, -EINVAL);
		return NULL;
	}
	return family_get(s, name, help, type, nlabels, label_names, 0, NULL);
}

struct metric_family *metric_histogram_get(struct metric_snapshot *s, const char *name,
					   const char *help, size_t nlabels,
					   const char *const *label_names, size_t nbounds,
					   const double *bounds)
{
	return family_get(s, name, help, METRIC_HISTOGRAM, nlabels, label_names, nbounds, bounds);
}

/*
 * One arena block per series: the node, its label table, the histogram
 * buckets and the label bytes, so rendering walks memory in order.
 */
static struct metric_series *series_new(struct metric_family *f, const char *const *label_values,
					const uint64_t *bucket_counts, bool borrow)
{
	struct metric_snapshot *s = f->snap;
	struct metric_series *m;
	size_t nb = 0, size, i, total = 0, len;
	char *str;

	if (f->nlabels && !label_values) {
		snapshot_fail(s, -EINVAL);
		return NULL;
	}
	for (i = 0; i < f->nlabels; i++) {
		if (!label_values[i]) {
			snapshot_fail(s, -EINVAL);
			return NULL;
		}
		if (borrow)
			continue;
		len = strlen(label_values[i]) + 1;
		if (len > SIZE_MAX / 2 - total) {
			snapshot_fail(s, -ENOMEM);
			return NULL;
		}
		total += len;
	}
	if (f->type == METRIC_HISTOGRAM)
		nb = f->nbounds + 1;
	size = sizeof(*m) + f->nlabels * sizeof(m->labels[0]) + nb * sizeof(uint64_t);
	m = arena_alloc(s, size + total);
	if (!m)
		return NULL;
	m->next = NULL;
	m->value = 0;
	m->buckets = NULL;
	m->gen = NULL;
	if (nb) {
		m->buckets = (uint64_t *)&m->labels[f->nlabels];
		memcpy(m->buckets, bucket_counts, nb * sizeof(uint64_t));
	}
	/* Copying again costs a second strlen, but only on the add path, not per scrape byte. */
	str = (char *)&m->labels[f->nlabels] + nb * sizeof(uint64_t);
	for (i = 0; i < f->nlabels; i++) {
		if (borrow) {
			m->labels[i] = label_values[i];
			continue;
		}
		len = strlen(label_values[i]) + 1;
		memcpy(str, label_values[i], len);
		m->labels[i] = str;
		str += len;
	}
	return m;
}

static void series_link(struct metric_family *f, struct metric_series *m)
{
	/* A series the section could not roll back is dropped (-ENOMEM is recorded). */
	if (section_log(f))
		return;
	if (f->last_series)
		f->last_series->next = m;
	else
		f->first_series = m;
	f->last_series = m;
	f->nseries++;
}

static void add_value(struct metric_family *f, const char *const *label_values, double value,
		      bool borrow)
{
	struct metric_series *m;

	if (!f)
		return;
	if (f->type == METRIC_HISTOGRAM) {
		snapshot_fail(f->snap, -EINVAL);
		return;
	}
	m = series_new(f, label_values, NULL, borrow);
	if (!m)
		return;
	m->value = value;
	series_link(f, m);
}

void metric_add(struct metric_family *f, const char *const *label_values, double value)
{
	add_value(f, label_values, value, false);
}

void metric_add_borrowed(struct metric_family *f, const char *const *label_values, double value)
{
	add_value(f, label_values, value, true);
}

int metric_snapshot_hold(struct metric_snapshot *s, void (*release)(void *arg), void *arg)
{
	struct metric_hold *h = arena_alloc(s, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->release = release;
	h->arg = arg;
	h->next = s->holds;
	s->holds = h;
	return 0;
}

void metric_add_generated(struct metric_family *f, size_t n, metric_series_fn series,
			  const void *arg, size_t arg_size)
{
	struct metric_series *m;
	struct metric_gen *g;

	if (!f)
		return;
	if (f->type == METRIC_HISTOGRAM || !series || (arg_size && !arg)) {
		snapshot_fail(f->snap, -EINVAL);
		return;
	}
	if (arg_size > SIZE_MAX / 2) {
		snapshot_fail(f->snap, -ENOMEM);
		return;
	}
	m = arena_alloc(f->snap, sizeof(*m));
	g = m ? arena_alloc(f->snap, sizeof(*g) + arg_size) : NULL;
	if (!g)
		return;
	g->series = series;
	g->n = n;
	if (arg_size)
		memcpy(g->arg, arg, arg_size);
	*m = (struct metric_series){ .gen = g };
	series_link(f, m);
}

void metric_add_histogram(struct metric_family *f, const char *const *label_values,
			  const uint64_t *bucket_counts, double sum)
{
	struct metric_series *m;

	if (!f)
		return;
	if (f->type != METRIC_HISTOGRAM || !bucket_counts) {
		snapshot_fail(f->snap, -EINVAL);
		return;
	}
	m = series_new(f, label_values, bucket_counts, false);
	if (!m)
		return;
	m->value = sum;
	series_link(f, m);
}

const struct metric_family *metric_snapshot_first(const struct metric_snapshot *s)
{
	return s ? s->first : NULL;
}

const struct metric_family *metric_family_next(const struct metric_family *f)
{
	return f->next;
}

const char *metric_family_name(const struct metric_family *f)
{
	return f->name;
}

const char *metric_family_help(const struct metric_family *f)
{
	return f->help;
}

enum metric_type metric_family_type(const struct metric_family *f)
{
	return f->type;
}

size_t metric_family_nlabels(const struct metric_family *f)
{
	return f->nlabels;
}

const char *metric_family_label_name(const struct metric_family *f, size_t i)
{
	return i < f->nlabels ? f->label_names[i] : NULL;
}

size_t metric_family_nbounds(const struct metric_family *f)
{
	return f->nbounds;
}

const double *metric_family_bounds(const struct metric_family *f)
{
	return f->bounds;
}

size_t metric_family_nseries(const struct metric_family *f)
{
	return f->nseries;
}

const struct metric_series *metric_family_first_series(const struct metric_family *f)
{
	return f->first_series;
}

const struct metric_series *metric_series_next(const struct metric_series *m)
{
	return m->next;
}

const char *metric_series_label_value(const struct metric_series *m, size_t i)
{
	return m->labels[i];
}

double metric_series_value(const struct metric_series *m)
{
	return m->value;
}

const uint64_t *metric_series_buckets(const struct metric_series *m)
{
	return m->buckets;
}

double metric_series_sum(const struct metric_series *m)
{
	return m->value;
}

bool metric_series_generator(const struct metric_series *m, metric_series_fn *series,
			     const void **arg, size_t *n)
{
	if (!m->gen)
		return false;
	*series = m->gen->series;
	*arg = m->gen->arg;
	*n = m->gen->n;
	return true;
}
