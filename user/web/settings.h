/* web/settings.h — the settings of hostmon's own HTTP server (listen address, limits, timeouts). */
#ifndef HOSTMON_WEB_SETTINGS_H
#define HOSTMON_WEB_SETTINGS_H

#include <stdint.h>

#include "config/options.h"

struct web_settings {
	char *listen; /* ADDR:PORT; ":9567" means every address */
	uint64_t max_connections;
	uint64_t max_request_header_bytes;
	uint64_t read_header_timeout_ms;
	uint64_t idle_timeout_ms;
	uint64_t write_timeout_ms;
	uint64_t max_scrapes;	   /* shared pages being sent at once */
	uint64_t max_queued_bytes; /* unsent response bytes, each shared page once */
};

extern const struct option_group web_option_group;

#endif
