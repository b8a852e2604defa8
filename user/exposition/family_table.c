/* exposition/family_table.c — metric families declared from tables of rows. */
#include "exposition/family_table.h"

void metric_families_get(struct metric_snapshot *s, const struct metric_def *defs, size_t n,
			 struct metric_family **out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = metric_family_get(s, defs[i].name, defs[i].help, defs[i].type,
					   defs[i].nlabels, defs[i].labels);
}

void metric_scalars_add(struct metric_snapshot *s, const struct metric_def *defs, size_t n,
			const double *values)
{
	for (size_t i = 0; i < n; i++)
		metric_add(metric_family_get(s, defs[i].name, defs[i].help, defs[i].type, 0, NULL),
			   NULL, values[i]);
}
