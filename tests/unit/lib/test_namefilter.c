/* test_namefilter.c — include/exclude expression pairs used by the cardinality flags. */
#include <errno.h>

#include "lib/namefilter.h"
#include "test.h"

int main(void)
{
	struct name_filter f;

	CHECK(name_filter_init(&f, NULL, NULL) == 0, "no expressions");
	CHECK(name_filter_pass(&f, "/anything"), "no expressions pass everything");
	name_filter_free(&f);

	CHECK(name_filter_init(&f, "^/system\\.slice(/|$)", "docker") == 0, "both");
	CHECK(name_filter_pass(&f, "/system.slice/php8.2-fpm.service"), "included");
	CHECK(!name_filter_pass(&f, "/user.slice"), "not included");
	CHECK(!name_filter_pass(&f, "/system.slice/docker-1.scope"), "excluded wins");
	name_filter_free(&f);

	CHECK(name_filter_init(&f, NULL, "^tmp\\.") == 0, "exclude only");
	CHECK(name_filter_pass(&f, "orders") && !name_filter_pass(&f, "tmp.x"), "exclude only");
	name_filter_free(&f);

	CHECK(name_filter_init(&f, "ok", "(") == -EINVAL, "a bad exclude is refused");
	CHECK(!f.has_include && !f.has_exclude, "and leaves nothing to free");
	name_filter_free(&f);
	CHECK(name_filter_init(&f, "[", NULL) == -EINVAL, "a bad include is refused");
	name_filter_free(&f);
	return test_summary("lib/test_namefilter");
}
