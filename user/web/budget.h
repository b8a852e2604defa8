/* web/budget.h — what clients that read slowly may hold: shared pages, queued bytes, scrapes in
 * flight. */
#ifndef HOSTMON_WEB_BUDGET_H
#define HOSTMON_WEB_BUDGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "web/page.h"
#include "web/server.h"

/*
 * API (the server's; web_server_serve_page() in server.h describes the rules):
 *   The server keeps one budget: it adds the private bytes of each response
 *   it sends to private_bytes and counts connections holding a page in
 *   scrapes_in_flight; shared pages count in pages.bytes, each once.
 *   web_budget_over() tells whether a response of len bytes would pass
 *   max_queued_bytes; web_budget_refuse() turns resp into the counted,
 *   logged 503 with Retry-After that closes the connection.
 */
struct web_budget {
	uint64_t max_scrapes, max_queued_bytes;
	struct web_page_set pages;
	uint64_t private_bytes;	    /* the responses in connections' own buffers */
	uint64_t scrapes_in_flight; /* connections holding a page */
	uint64_t refused[WEB_REFUSED_NREASONS];
	uint64_t pages_rendered;
	uint64_t refusals_unlogged; /* since the last log line about them */
	uint64_t refusal_logged_ms; /* 0: never */
};

uint64_t web_budget_queued(const struct web_budget *b);
bool web_budget_over(const struct web_budget *b, size_t len);
void web_budget_refuse(struct web_budget *b, struct web_response *r, enum web_refusal why);
int web_budget_serve_page(struct web_budget *b, struct web_response *resp, unsigned variant,
			  web_render_fn render, void *arg);

#endif
