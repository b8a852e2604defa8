/* web/settings.c — the option rows of hostmon's own HTTP server. */
#include "web/settings.h"

#include <stddef.h>

#define OFF(field) offsetof(struct web_settings, field)

static const struct option_def rows[] = {
	{ "listen", OPT_LISTEN, OFF(listen), ":9567", 0, 0, "ADDR:PORT",
	  "address to serve /metrics on; port 0 picks a free port" },
	{ "max-connections", OPT_U64, OFF(max_connections), "512", 1, 65536, "N",
	  "open HTTP connections; beyond it idle ones are closed, then new ones get 503" },
	{ "max-request-header-bytes", OPT_SIZE, OFF(max_request_header_bytes), "8KiB", 256,
	  1u << 20, "SIZE", "largest HTTP request head accepted (431 beyond it)" },
	{ "read-header-timeout", OPT_DURATION, OFF(read_header_timeout_ms), "10s", 1, 3600000,
	  "DURATION", "time a client has to send a complete request head" },
	{ "idle-timeout", OPT_DURATION, OFF(idle_timeout_ms), "120s", 1, 86400000, "DURATION",
	  "keep-alive connections idle this long are closed" },
	{ "write-timeout", OPT_DURATION, OFF(write_timeout_ms), "30s", 1, 3600000, "DURATION",
	  "a response that makes no progress this long is abandoned" },
	{ "max-scrapes", OPT_U64, OFF(max_scrapes), "16", 1, 4096, "N",
	  "/metrics responses being sent at once (concurrent ones share one page); beyond it 503 "
	  "with Retry-After" },
	{ "max-queued-bytes", OPT_SIZE, OFF(max_queued_bytes), "32MiB", 64 * 1024, 1ull << 40,
	  "SIZE",
	  "memory for responses slow clients have not read, a shared page counted once; a "
	  "response that would pass it gets 503 (one alone is always sent)" },
};

const struct option_group web_option_group = {
	.title = "HTTP server (/metrics, /healthz, /readyz)",
	.options = rows,
	.noptions = sizeof(rows) / sizeof(rows[0]),
};
