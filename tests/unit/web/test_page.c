/* test_page.c — shared pages: one body per variant while held, freshness, bytes counted once. */
#include <errno.h>
#include <string.h>

#include "test.h"
#include "web/page.h"

static struct web_page *add(struct web_page_set *set, unsigned variant, const char *text,
			    uint64_t now)
{
	struct buf b = { 0 };
	buf_puts(&b, text);
	struct web_page *p = web_page_set_add(set, variant, &b, now);
	CHECK(b.data == NULL && b.len == 0, "the body's memory moved into the page");
	return p;
}

int main(void)
{
	struct web_page_set set = { 0 };

	struct web_page *a = add(&set, 1, "page one\n", 1000);
	CHECK(a && a->len == 9 && memcmp(a->data, "page one\n", 9) == 0, "body kept");
	CHECK(set.bytes == 9 && set.pages == 1 && set.made == 1, "bytes %llu pages %llu",
	      (unsigned long long)set.bytes, (unsigned long long)set.pages);

	/* concurrent holders share it while it is young; another variant has its own */
	struct web_page *b = web_page_set_fresh(&set, 1, 1999, 1000);
	CHECK(b == a && a->refs == 2, "a fresh page is shared: refs %u", a->refs);
	CHECK(set.bytes == 9, "a shared page counts once: %llu", (unsigned long long)set.bytes);
	CHECK(web_page_set_fresh(&set, 0, 1000, 1000) == NULL, "another variant has none");
	CHECK(web_page_set_fresh(&set, 1, 2000, 1000) == NULL, "too old to share at max age");
	CHECK(web_page_set_fresh(&set, WEB_PAGE_VARIANTS, 1000, 1000) == NULL, "variant range");

	/* a newer page of the variant replaces it as newest; the old one lives while held */
	struct web_page *c = add(&set, 1, "page two, longer\n", 3000);
	CHECK(set.newest[1] == c && set.bytes == 9 + 17 && set.pages == 2, "two live pages");
	CHECK(set.last_len[1] == 17, "the estimate follows the last page");
	web_page_unref(a);
	web_page_unref(b);
	CHECK(set.bytes == 17 && set.pages == 1 && set.newest[1] == c,
	      "old page freed, newest kept");

	/* the last reference clears the slot: nothing is shared once nobody holds it */
	web_page_unref(c);
	CHECK(set.bytes == 0 && set.pages == 0 && set.newest[1] == NULL, "all freed");
	CHECK(web_page_set_fresh(&set, 1, 3000, 1000) == NULL, "nothing to share once freed");
	web_page_unref(NULL);

	/* a body whose allocation failed is refused, not published */
	struct buf bad = { .err = -ENOMEM };
	errno = 0;
	CHECK(web_page_set_add(&set, 0, &bad, 0) == NULL && errno == ENOMEM, "errno %d", errno);
	CHECK(web_page_set_add(&set, WEB_PAGE_VARIANTS, &bad, 0) == NULL, "variant range");
	CHECK(set.made == 2, "made %llu", (unsigned long long)set.made);
	return test_summary("web/test_page");
}
