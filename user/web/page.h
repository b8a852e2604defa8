/* web/page.h — response bodies rendered once and sent to every concurrent client, reference
 * counted. */
#ifndef HOSTMON_WEB_PAGE_H
#define HOSTMON_WEB_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/*
 * API:
 *   A page is an immutable body: each connection sending it holds a
 *   reference and its own write offset, never a copy. A page set keeps,
 *   for each variant (a small number the caller gives each rendering, such
 *   as format x encoding), the newest page while someone still holds it,
 *   and the bytes of every live page, each counted once.
 *
 *   web_page_set_add() takes over body's memory (body is left empty) and
 *   returns the new page with one reference, now the variant's newest;
 *   NULL + errno. web_page_set_fresh() returns the variant's newest page
 *   with a new reference when it is younger than max_age_ms, else NULL.
 *   web_page_unref() drops a reference (NULL accepted); the last one frees
 *   the page and takes its bytes off the set. A set outlives its pages.
 */

#define WEB_PAGE_VARIANTS 8

struct web_page {
	const char *data;
	size_t len;
	/* private */
	struct web_page_set *set;
	unsigned refs;
	unsigned variant;
	uint64_t made_ms;
};

struct web_page_set {
	struct web_page *newest[WEB_PAGE_VARIANTS];
	size_t last_len[WEB_PAGE_VARIANTS]; /* the last page's size: the next one's estimate */
	uint64_t bytes;			    /* every live page, each counted once */
	uint64_t pages;			    /* live pages */
	uint64_t made;			    /* pages made since start */
};

struct web_page *web_page_set_add(struct web_page_set *set, unsigned variant, struct buf *body,
				  uint64_t now_ms);
struct web_page *web_page_set_fresh(struct web_page_set *set, unsigned variant, uint64_t now_ms,
				    uint64_t max_age_ms);
void web_page_unref(struct web_page *p);

#endif
