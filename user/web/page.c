/* web/page.c — shared, reference-counted response bodies and the bytes they hold. */
#include "web/page.h"

#include <errno.h>
#include <stdlib.h>

struct web_page *web_page_set_add(struct web_page_set *set, unsigned variant, struct buf *body,
				  uint64_t now_ms)
{
	struct web_page *p;

	if (variant >= WEB_PAGE_VARIANTS || body->err) {
		errno = body->err ? -body->err : EINVAL;
		return NULL;
	}
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	/*
	 * Not shrunk to fit: the unused tail of a big (mmap-backed) buffer was never touched so
	 * is not resident, and a smaller block freed later would raise glibc's mmap threshold,
	 * after which big renders come from the heap and stay in RSS once freed.
	 */
	p->data = body->data;
	p->len = body->len;
	p->set = set;
	p->refs = 1;
	p->variant = variant;
	p->made_ms = now_ms;
	buf_init(body);
	set->newest[variant] = p;
	set->last_len[variant] = p->len;
	set->bytes += p->len;
	set->pages++;
	set->made++;
	return p;
}

struct web_page *web_page_set_fresh(struct web_page_set *set, unsigned variant, uint64_t now_ms,
				    uint64_t max_age_ms)
{
	struct web_page *p = variant < WEB_PAGE_VARIANTS ? set->newest[variant] : NULL;

	if (!p || now_ms - p->made_ms >= max_age_ms)
		return NULL;
	p->refs++;
	return p;
}

void web_page_unref(struct web_page *p)
{
	if (!p || --p->refs)
		return;
	struct web_page_set *set = p->set;
	if (set->newest[p->variant] == p)
		set->newest[p->variant] = NULL;
	set->bytes -= p->len;
	set->pages--;
	free((void *)p->data);
	free(p);
}
