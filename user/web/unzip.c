/* web/unzip.c — a gzip page sent as the text it holds, inflated a window at a time. */
#include "web/unzip.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdint.h>
#include <stdlib.h>

struct web_unzip {
	struct inflate_state st; /* keeps its own history: the window is reused */
	size_t start;		 /* text offset of win[0] */
	size_t len;		 /* bytes in win */
	size_t text_len;	 /* what the trailer promises */
	char win[WEB_UNZIP_WINDOW];
};

size_t web_unzip_text_len(const char *gz, size_t len)
{
	/* 10 bytes of header, at least 2 of deflate data, 8 of trailer */
	if (!gz || len < 20)
		return 0;
	const unsigned char *t = (const unsigned char *)gz + len - 4;
	return (size_t)t[0] | (size_t)t[1] << 8 | (size_t)t[2] << 16 | (size_t)t[3] << 24;
}

struct web_unzip *web_unzip_new(const char *gz, size_t len)
{
	struct web_unzip *u;

	if (len < 20 || len > UINT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	u = malloc(sizeof(*u));
	if (!u) {
		errno = ENOMEM;
		return NULL;
	}
	isal_inflate_init(&u->st);
	u->st.crc_flag = ISAL_GZIP; /* parses the header, checks the CRC and length at the end */
	u->st.next_in = (uint8_t *)(uintptr_t)gz;
	u->st.avail_in = (uint32_t)len;
	u->start = 0;
	u->len = 0;
	u->text_len = web_unzip_text_len(gz, len);
	return u;
}

/* The next window of text after the current one; 0 at the end. */
static int refill(struct web_unzip *u)
{
	u->start += u->len;
	u->len = 0;
	if (u->st.block_state == ISAL_BLOCK_FINISH)
		return u->start == u->text_len ? 0 : -EBADMSG;
	u->st.next_out = (uint8_t *)u->win;
	u->st.avail_out = sizeof(u->win);
	int ret = isal_inflate(&u->st);
	u->len = sizeof(u->win) - u->st.avail_out;
	if (ret != ISAL_DECOMP_OK && ret != ISAL_END_INPUT)
		return -EBADMSG;
	/* no text from a call that could write a window: the member ends early */
	if (!u->len && u->st.block_state != ISAL_BLOCK_FINISH)
		return -EBADMSG;
	if (u->start + u->len > u->text_len)
		return -EBADMSG;
	return 0;
}

ssize_t web_unzip_at(struct web_unzip *u, size_t off, const char **data)
{
	if (off < u->start || off > u->start + u->len)
		return -EINVAL;
	while (off == u->start + u->len) {
		int rc = refill(u);
		if (rc)
			return rc;
		if (!u->len) /* the end: every byte the trailer counts has been given */
			return u->start == u->text_len ? 0 : -EBADMSG;
	}
	*data = u->win + (off - u->start);
	return (ssize_t)(u->len - (off - u->start));
}

void web_unzip_free(struct web_unzip *u)
{
	free(u);
}

size_t web_unzip_bytes(void)
{
	return sizeof(struct web_unzip);
}
