/* exposition/family_table.h — metric families declared from tables of rows, for collectors that
 * export a fixed set of families. */
#ifndef HOSTMON_EXPOSITION_FAMILY_TABLE_H
#define HOSTMON_EXPOSITION_FAMILY_TABLE_H

#include <stddef.h>

#include "exposition/metrics.h"

/*
 * API:
 *   A struct metric_def is one family: name, HELP, type and label names
 *   (nlabels 0: unlabelled). metric_families_get() declares defs[0..n) in
 *   the snapshot and writes each family to out[i] (NULL where the snapshot
 *   refused it, which metric_add() accepts). metric_scalars_add() adds one
 *   unlabelled sample per row: values[i] to defs[i].
 */
struct metric_def {
	const char *name, *help;
	enum metric_type type;
	size_t nlabels;
	const char *const *labels;
};

#define METRIC_DEFS_N(defs) (sizeof(defs) / sizeof((defs)[0]))

void metric_families_get(struct metric_snapshot *s, const struct metric_def *defs, size_t n,
			 struct metric_family **out);
void metric_scalars_add(struct metric_snapshot *s, const struct metric_def *defs, size_t n,
			const double *values);

#endif
