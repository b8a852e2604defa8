/* lib/curl_dl.c — libcurl loaded on first use, so a daemon without RabbitMQ or webhooks never maps
 * it.
 */
/* these definitions are the functions; curl's type-checking macros would rename them */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>

#include "core/log.h"

/*
 * libcurl links about forty libraries (OpenSSL, GnuTLS, Kerberos, LDAP,
 * ...); mapping and relocating them costs about 7 MB of resident memory in
 * every hostmon, although only the rabbitmq collector, webhook
 * notifications and the top/latency commands use it. This file defines the libcurl functions
 * hostmon calls, with libcurl's own signatures, as forwarders to libcurl.so.4 opened on the first
 * call: callers are unchanged, and the binary does not link -lcurl. curl_global_init() runs once,
 * right after loading. Without libcurl every constructor returns NULL (or an error code) and the
 * reason is logged once.
 */

#define CURL_FUNCTIONS(X)           \
	X(curl_global_init)         \
	X(curl_global_cleanup)      \
	X(curl_easy_init)           \
	X(curl_easy_setopt)         \
	X(curl_easy_getinfo)        \
	X(curl_easy_perform)        \
	X(curl_easy_cleanup)        \
	X(curl_easy_strerror)       \
	X(curl_easy_escape)         \
	X(curl_free)                \
	X(curl_slist_append)        \
	X(curl_slist_free_all)      \
	X(curl_url)                 \
	X(curl_url_set)             \
	X(curl_url_get)             \
	X(curl_url_cleanup)         \
	X(curl_multi_init)          \
	X(curl_multi_setopt)        \
	X(curl_multi_add_handle)    \
	X(curl_multi_remove_handle) \
	X(curl_multi_perform)       \
	X(curl_multi_poll)          \
	X(curl_multi_info_read)     \
	X(curl_multi_strerror)      \
	X(curl_multi_cleanup)

static struct {
#define DECLARE(name) __typeof__(name) *name;
	CURL_FUNCTIONS(DECLARE)
#undef DECLARE
} real;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static bool loaded;

static void load(void)
{
	void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		log_warn("cannot load libcurl; RabbitMQ polling, webhooks and the top/latency "
			 "commands "
			 "are unavailable",
			 "reason", dlerror());
		return;
	}
#define RESOLVE(name)                                                                  \
	if (!(*(void **)&real.name = dlsym(h, #name))) {                               \
		log_warn("libcurl lacks a function hostmon needs", "function", #name); \
		return;                                                                \
	}
	CURL_FUNCTIONS(RESOLVE)
#undef RESOLVE
	/* thread-safe since 7.84 (Debian 12 has 7.88); done once here, before any handle */
	if (real.curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warn("libcurl failed to initialise");
		return;
	}
	loaded = true;
}

static bool ready(void)
{
	pthread_once(&once, load);
	return loaded;
}

CURLcode curl_global_init(long flags)
{
	return ready() ? real.curl_global_init(flags) : CURLE_FAILED_INIT;
}

void curl_global_cleanup(void)
{
	if (loaded)
		real.curl_global_cleanup();
}

CURL *curl_easy_init(void)
{
	return ready() ? real.curl_easy_init() : NULL;
}

/* The variadic argument's type follows the option's number range, as in libcurl itself. */
#define FORWARD_OPTION(fn, handle, option)                                                         \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, option);                                                              \
		if ((long)(option) < CURLOPTTYPE_OBJECTPOINT)                                      \
			rc = fn(handle, option, va_arg(ap, long));                                 \
		else if ((long)(option) < CURLOPTTYPE_OFF_T || (long)(option) >= CURLOPTTYPE_BLOB) \
			rc = fn(handle, option, va_arg(ap, void *));                               \
		else                                                                               \
			rc = fn(handle, option, va_arg(ap, curl_off_t));                           \
		va_end(ap);                                                                        \
	} while (0)

CURLcode curl_easy_setopt(CURL *curl, CURLoption option, ...)
{
	CURLcode rc;
	FORWARD_OPTION(real.curl_easy_setopt, curl, option);
	return rc;
}

CURLMcode curl_multi_setopt(CURLM *multi, CURLMoption option, ...)
{
	CURLMcode rc;
	FORWARD_OPTION(real.curl_multi_setopt, multi, option);
	return rc;
}

CURLcode curl_easy_getinfo(CURL *curl, CURLINFO info, ...)
{
	va_list ap;
	va_start(ap, info);
	CURLcode rc = real.curl_easy_getinfo(curl, info, va_arg(ap, void *));
	va_end(ap);
	return rc;
}

/* The rest take handles that only exist once libcurl is loaded: plain forwarders. */
CURLcode curl_easy_perform(CURL *curl)
{
	return real.curl_easy_perform(curl);
}

void curl_easy_cleanup(CURL *curl)
{
	if (curl)
		real.curl_easy_cleanup(curl);
}

const char *curl_easy_strerror(CURLcode code)
{
	return ready() ? real.curl_easy_strerror(code) : "libcurl not loaded";
}

char *curl_easy_escape(CURL *curl, const char *string, int length)
{
	return real.curl_easy_escape(curl, string, length);
}

void curl_free(void *p)
{
	if (p)
		real.curl_free(p);
}

struct curl_slist *curl_slist_append(struct curl_slist *list, const char *data)
{
	return ready() ? real.curl_slist_append(list, data) : NULL;
}

void curl_slist_free_all(struct curl_slist *list)
{
	if (list)
		real.curl_slist_free_all(list);
}

CURLU *curl_url(void)
{
	return ready() ? real.curl_url() : NULL;
}

CURLUcode curl_url_set(CURLU *u, CURLUPart what, const char *part, unsigned int flags)
{
	return real.curl_url_set(u, what, part, flags);
}

CURLUcode curl_url_get(CURLU *u, CURLUPart what, char **part, unsigned int flags)
{
	return real.curl_url_get(u, what, part, flags);
}

void curl_url_cleanup(CURLU *u)
{
	if (u)
		real.curl_url_cleanup(u);
}

CURLM *curl_multi_init(void)
{
	return ready() ? real.curl_multi_init() : NULL;
}

CURLMcode curl_multi_add_handle(CURLM *multi, CURL *curl)
{
	return real.curl_multi_add_handle(multi, curl);
}

CURLMcode curl_multi_remove_handle(CURLM *multi, CURL *curl)
{
	return real.curl_multi_remove_handle(multi, curl);
}

CURLMcode curl_multi_perform(CURLM *multi, int *running)
{
	return real.curl_multi_perform(multi, running);
}

CURLMcode curl_multi_poll(CURLM *multi, struct curl_waitfd extra_fds[], unsigned int extra_nfds,
			  int timeout_ms, int *ret)
{
	return real.curl_multi_poll(multi, extra_fds, extra_nfds, timeout_ms, ret);
}

CURLMsg *curl_multi_info_read(CURLM *multi, int *msgs_in_queue)
{
	return real.curl_multi_info_read(multi, msgs_in_queue);
}

const char *curl_multi_strerror(CURLMcode code)
{
	return ready() ? real.curl_multi_strerror(code) : "libcurl not loaded";
}

CURLMcode curl_multi_cleanup(CURLM *multi)
{
	return multi ? real.curl_multi_cleanup(multi) : CURLM_OK;
}
