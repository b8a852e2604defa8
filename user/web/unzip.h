/* web/unzip.h — a gzip page sent as the text it holds, inflated a window at a time as the socket
 * takes it. */
#ifndef HOSTMON_WEB_UNZIP_H
#define HOSTMON_WEB_UNZIP_H

#include <stddef.h>
#include <sys/types.h>

/*
 * API:
 *   Why: a client that does not take gzip (curl without --compressed)
 *   gets the same shared gzip page as the others, decoded on its way out,
 *   so the text of a big page (tens of MB at 50,000 RabbitMQ queues) never
 *   sits in memory; a decoding connection holds WEB_UNZIP_WINDOW bytes and
 *   the inflate state (about 90 KiB) instead.
 *
 *   web_unzip_text_len() is the length of the text a gzip member of len
 *   bytes holds, from its trailer (pages are far below 4 GiB, where the
 *   trailer's count wraps); 0 when gz is too short to be one.
 *
 *   web_unzip_new() starts decoding gz[0..len), which must stay valid (a
 *   page the connection holds); NULL + errno. web_unzip_at() gives the text
 *   from offset off on: *data and how many bytes (> 0) are there, 0 at the
 *   end, -EBADMSG when the member is corrupt or holds less or more than
 *   web_unzip_text_len() says. Offsets only move forward, within the window
 *   given last or at its end (a partial send re-asks from where it stopped).
 *   web_unzip_free() accepts NULL; web_unzip_bytes() is what one holds.
 */
#define WEB_UNZIP_WINDOW (64u * 1024u)

struct web_unzip;

size_t web_unzip_text_len(const char *gz, size_t len);
struct web_unzip *web_unzip_new(const char *gz, size_t len);
ssize_t web_unzip_at(struct web_unzip *u, size_t off, const char **data);
void web_unzip_free(struct web_unzip *u);
size_t web_unzip_bytes(void);

#endif
