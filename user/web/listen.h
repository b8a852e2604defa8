/* web/listen.h — the listening socket of hostmon's HTTP server. */
#ifndef HOSTMON_WEB_LISTEN_H
#define HOSTMON_WEB_LISTEN_H

#include <stddef.h>

/*
 * API:
 *   web_listen() binds and listens (non-blocking, close-on-exec) on
 *   "ADDR:PORT" ("[v6]:PORT" too); an empty ADDR means every address: one
 *   dual-stack IPv6 socket when available, else IPv4. Returns the fd, or
 *   -1 + errno with *err explaining.
 *   web_listen_address() writes the bound address with its real port
 *   ("host:port", "[v6]:port") to out.
 */
int web_listen(const char *listen, char *err, size_t errlen);
void web_listen_address(int fd, char *out, size_t outlen);

#endif
