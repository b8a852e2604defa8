/* lib/curlutil.h — what every outgoing libcurl request shares, and URLs made safe to log. */
#ifndef HOSTMON_LIB_CURLUTIL_H
#define HOSTMON_LIB_CURLUTIL_H

#include <curl/curl.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   curlutil_easy_new() returns an easy handle set up as every hostmon
 *   client needs: hostmon's User-Agent, no signals (threads), http and https
 *   only, redirects not followed, TLS verified against the system CAs, the
 *   connect timeout given, and a progress callback that aborts the transfer
 *   (CURLE_ABORTED_BY_CALLBACK) within about a second of *stop turning true
 *   (stop NULL: no callback, for a caller that stops its multi handle
 *   itself). stop must outlive the handle. NULL when curl cannot create one. The
 *   caller owns the handle (curl_easy_cleanup) and sets what is its own.
 *
 *   curlutil_redact_url() writes url without user, password, query and
 *   fragment, for logs; "(invalid URL)" when curl cannot parse it.
 */
CURL *curlutil_easy_new(const atomic_bool *stop, uint64_t connect_timeout_ms);
void curlutil_redact_url(const char *url, char *out, size_t len);

#endif
