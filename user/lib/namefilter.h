/* lib/namefilter.h — the include/exclude regular-expression pair that cardinality flags give. */
#ifndef HOSTMON_LIB_NAMEFILTER_H
#define HOSTMON_LIB_NAMEFILTER_H

#include <regex.h>
#include <stdbool.h>

/*
 * API:
 *   name_filter_init() compiles the optional include and exclude POSIX
 *   extended expressions (NULL: none); 0 or -EINVAL (f then holds nothing to
 *   free). name_filter_pass(): the name matches include (if any) and does not
 *   match exclude (if any). name_filter_free() accepts a zeroed filter.
 */
struct name_filter {
	regex_t include, exclude;
	bool has_include, has_exclude;
};

int name_filter_init(struct name_filter *f, const char *include, const char *exclude);
bool name_filter_pass(const struct name_filter *f, const char *name);
void name_filter_free(struct name_filter *f);

#endif
