/* web/budget.c — what clients that read slowly may hold: shared pages, queued bytes, scrapes in
 * flight, and the 503s past those limits. */
#include "web/budget.h"

#include <errno.h>

#include "core/loop.h"
#include "core/log.h"

const char *web_refusal_name(enum web_refusal r)
{
	return r == WEB_REFUSED_SCRAPES ? "scrapes" : "queued_bytes";
}

uint64_t web_budget_queued(const struct web_budget *b)
{
	return b->pages.bytes + b->private_bytes;
}

bool web_budget_over(const struct web_budget *b, size_t len)
{
	uint64_t queued = web_budget_queued(b);

	/* alone, even a response bigger than the cap goes out: the page must stay servable */
	return len > WEB_SMALL_RESPONSE && queued > 0 && queued + len > b->max_queued_bytes;
}

/* One log line per WEB_REFUSAL_LOG_MS, however many refusals; the counter has each of them. */
static void log_refusal(struct web_budget *b, enum web_refusal why)
{
	uint64_t now = loop_now_ms();

	b->refusals_unlogged++;
	if (b->refusal_logged_ms && now - b->refusal_logged_ms < WEB_REFUSAL_LOG_MS)
		return;
	struct log_num n_refused, n_queued, n_scrapes;
	log_warn("HTTP requests refused with 503", "reason", web_refusal_name(why), "refused",
		 log_u64(&n_refused, b->refusals_unlogged), "queued_bytes",
		 log_u64(&n_queued, web_budget_queued(b)), "scrapes_in_flight",
		 log_u64(&n_scrapes, b->scrapes_in_flight), "hint",
		 "slow or stuck scrapers; --max-scrapes and --max-queued-bytes set the limits, "
		 "logged at most once a minute");
	b->refusals_unlogged = 0;
	b->refusal_logged_ms = now ? now : 1;
}

void web_budget_refuse(struct web_budget *b, struct web_response *r, enum web_refusal why)
{
	b->refused[why]++;
	log_refusal(b, why);
	buf_reset(r->body);
	buf_puts(r->body, why == WEB_REFUSED_SCRAPES ? "too many scrapes in flight\n"
						     : "too many bytes queued for slow readers\n");
	r->status = 503;
	r->content_type = "text/plain; charset=utf-8";
	r->content_encoding = NULL;
	r->extra_headers = "Retry-After: 1\r\n";
	r->close = true;
	if (r->page) {
		web_page_unref(r->page);
		r->page = NULL;
	}
}

int web_budget_serve_page(struct web_budget *b, struct web_response *resp, unsigned variant,
			  web_render_fn render, void *arg)
{
	uint64_t now = loop_now_ms();
	struct buf out = { 0 };
	int rc;

	if (variant >= WEB_PAGE_VARIANTS)
		return -EINVAL;
	if (b->scrapes_in_flight >= b->max_scrapes) {
		web_budget_refuse(b, resp, WEB_REFUSED_SCRAPES);
		return -EBUSY;
	}
	resp->page = web_page_set_fresh(&b->pages, variant, now, WEB_PAGE_SHARE_MS);
	if (resp->page)
		return 0;
	/* the last page of this variant is the best guess before paying for a render */
	if (web_budget_over(b, b->pages.last_len[variant])) {
		web_budget_refuse(b, resp, WEB_REFUSED_QUEUED_BYTES);
		return -ENOBUFS;
	}
	rc = render(arg, &out);
	if (!rc && out.err)
		rc = out.err;
	if (!rc && web_budget_over(b, out.len)) {
		b->pages.last_len[variant] = out.len;
		buf_free(&out);
		web_budget_refuse(b, resp, WEB_REFUSED_QUEUED_BYTES);
		return -ENOBUFS;
	}
	if (!rc) {
		resp->page = web_page_set_add(&b->pages, variant, &out, loop_now_ms());
		rc = resp->page ? 0 : -ENOMEM;
	}
	buf_free(&out);
	if (!rc)
		b->pages_rendered++;
	return rc;
}
