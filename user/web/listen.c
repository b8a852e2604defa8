/* web/listen.c — the listening socket of hostmon's HTTP server: address parsing, binding, naming.
 */
#include "web/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static int split_listen(const char *listen, char *host, size_t hostlen, char *port, size_t portlen)
{
	const char *colon = strrchr(listen, ':');
	size_t hl;

	if (!colon || strlen(colon + 1) >= portlen)
		return -EINVAL;
	hl = (size_t)(colon - listen);
	if (hl >= 2 && listen[0] == '[' && listen[hl - 1] == ']') {
		listen++;
		hl -= 2;
	}
	if (hl >= hostlen)
		return -EINVAL;
	memcpy(host, listen, hl);
	host[hl] = '\0';
	strcpy(port, colon + 1);
	return 0;
}

static int bind_host_port(const char *host, const char *port, char *err, size_t errlen)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	int one = 1, zero = 0;
	int fd = -1;
	int last_errno = EADDRNOTAVAIL;
	/* An empty host means every address: one dual-stack IPv6 socket, else IPv4. */
	const char *const any_hosts[] = { "::", "0.0.0.0" };
	size_t ntries = *host ? 1 : 2;

	for (size_t t = 0; t < ntries && fd < 0; t++) {
		const char *h = *host ? host : any_hosts[t];
		int rc = getaddrinfo(h, port, &hints, &res);
		if (rc) {
			snprintf(err, errlen, "cannot resolve listen address %s: %s", h,
				 gai_strerror(rc));
			last_errno = EINVAL;
			continue;
		}
		for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
			fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
				    0);
			if (fd < 0) {
				last_errno = errno;
				continue;
			}
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
			if (ai->ai_family == AF_INET6 && !*host)
				setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
			if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 511) < 0) {
				last_errno = errno;
				snprintf(err, errlen, "cannot listen on %s:%s: %s", h, port,
					 strerror(errno));
				close(fd);
				fd = -1;
			}
		}
		freeaddrinfo(res);
		res = NULL;
	}
	if (fd < 0)
		errno = last_errno;
	return fd;
}

int web_listen(const char *listen, char *err, size_t errlen)
{
	char host[256], port[16];

	if (split_listen(listen, host, sizeof(host), port, sizeof(port))) {
		snprintf(err, errlen, "invalid listen address %s", listen);
		errno = EINVAL;
		return -1;
	}
	return bind_host_port(host, port, err, errlen);
}

void web_listen_address(int fd, char *out, size_t outlen)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	unsigned port = 0;

	if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
		if (ss.ss_family == AF_INET6) {
			struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
			inet_ntop(AF_INET6, &a->sin6_addr, host, sizeof(host));
			port = ntohs(a->sin6_port);
			snprintf(out, outlen, "[%s]:%u", host, port);
			return;
		}
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		inet_ntop(AF_INET, &a->sin_addr, host, sizeof(host));
		port = ntohs(a->sin_port);
	}
	snprintf(out, outlen, "%s:%u", host, port);
}
