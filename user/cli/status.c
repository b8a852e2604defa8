/* cli/status.c — hostmon status: the running daemon's /status.json, printed as text. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/cli.h"
#include "cli/scrape.h"
#include "lib/buf.h"
#include "status/status.h"

int status_run(const struct cli_source_settings *src, const struct cli_status_settings *st)
{
	struct buf page = { 0 }, text = { 0 };
	char err[1024] = "";
	double at;
	int rc = scrape_fetch(src->url, "/status.json", src->timeout_ms, NULL, &page, &at, err,
			      sizeof(err));

	if (rc) {
		fprintf(stderr, "hostmon status: %s%s\n", err,
			rc == -ECONNREFUSED ? "; is the daemon running, and is --url its --listen "
					      "address?"
					    : "");
		return 1;
	}
	if (st->json) {
		fwrite(page.data, 1, page.len, stdout);
		buf_free(&page);
		return 0;
	}
	struct status_model *m = status_model_new();
	rc = m ? status_from_json(page.data ? page.data : "", page.len, m, err, sizeof(err))
	       : -ENOMEM;
	buf_free(&page);
	if (rc) {
		fprintf(stderr, "hostmon status: %s/status.json: %s\n", src->url,
			rc == -ENOMEM ? "out of memory" : err);
		status_model_free(m);
		return 1;
	}
	status_print_text(m, &text);
	status_model_free(m);
	if (text.err) {
		fprintf(stderr, "hostmon status: out of memory\n");
		buf_free(&text);
		return 1;
	}
	fwrite(text.data, 1, text.len, stdout);
	buf_free(&text);
	return 0;
}
