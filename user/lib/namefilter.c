/* lib/namefilter.c — the include/exclude regular-expression pair that cardinality flags give. */
#include "lib/namefilter.h"

#include <errno.h>
#include <string.h>

int name_filter_init(struct name_filter *f, const char *include, const char *exclude)
{
	memset(f, 0, sizeof(*f));
	if (include) {
		if (regcomp(&f->include, include, REG_EXTENDED | REG_NOSUB))
			return -EINVAL;
		f->has_include = true;
	}
	if (exclude) {
		if (regcomp(&f->exclude, exclude, REG_EXTENDED | REG_NOSUB)) {
			name_filter_free(f);
			return -EINVAL;
		}
		f->has_exclude = true;
	}
	return 0;
}

bool name_filter_pass(const struct name_filter *f, const char *name)
{
	if (f->has_include && regexec(&f->include, name, 0, NULL, 0) != 0)
		return false;
	return !(f->has_exclude && regexec(&f->exclude, name, 0, NULL, 0) == 0);
}

void name_filter_free(struct name_filter *f)
{
	if (f->has_include)
		regfree(&f->include);
	if (f->has_exclude)
		regfree(&f->exclude);
	f->has_include = f->has_exclude = false;
}
