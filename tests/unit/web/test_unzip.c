/* test_unzip.c — a gzip page read back as its text, a window at a time, and what a broken one
 * gives. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "exposition/expo.h"
#include "test.h"
#include "web/unzip.h"

/* Text that compresses like a metrics page but is not one repeated line. */
static void make_text(struct buf *b, size_t lines)
{
	for (size_t i = 0; i < lines; i++)
		buf_printf(
			b,
			"rabbitmq_individual_queue_messages{vhost=\"v%zu\",name=\"q-%zu\"} %llu\n",
			i % 7, i, (unsigned long long)(test_rng() % 100000));
}

/*
 * Reads the whole text the way a socket takes it: a random part of each window, then asks again
 * from where it stopped. Returns 0 at the end, or what web_unzip_at returned.
 */
static ssize_t read_all(const struct buf *gz, struct buf *text)
{
	struct web_unzip *u = web_unzip_new(gz->data, gz->len);
	size_t off = 0;
	ssize_t n = -ENOMEM;
	const char *data;

	while (u && (n = web_unzip_at(u, off, &data)) > 0) {
		size_t take = 1 + (size_t)(test_rng() % (uint64_t)n);
		buf_append(text, data, take);
		off += take;
	}
	web_unzip_free(u);
	return n;
}

int main(void)
{
	struct buf text = { 0 }, gz = { 0 }, back = { 0 };

	make_text(&text, 200000);
	CHECK(text.len > 40 * WEB_UNZIP_WINDOW, "a text of many windows: %zu bytes", text.len);
	CHECK(expo_gzip(text.data, text.len, &gz) == 0, "gzip");
	CHECK(web_unzip_text_len(gz.data, gz.len) == text.len, "the trailer gives the length: %zu",
	      web_unzip_text_len(gz.data, gz.len));
	CHECK(read_all(&gz, &back) == 0, "read to the end");
	CHECK(back.len == text.len && memcmp(back.data, text.data, text.len) == 0,
	      "the text, byte for byte, through a reused window (%zu of %zu bytes)", back.len,
	      text.len);

	/* offsets only move forward within the window */
	struct web_unzip *u = web_unzip_new(gz.data, gz.len);
	const char *data;
	ssize_t n = u ? web_unzip_at(u, 0, &data) : -1;
	CHECK(n == (ssize_t)WEB_UNZIP_WINDOW && memcmp(data, text.data, (size_t)n) == 0,
	      "the first window: %zd", n);
	CHECK(web_unzip_at(u, (size_t)n + 1, &data) == -EINVAL, "past the window");
	CHECK(web_unzip_at(u, (size_t)n, &data) > 0, "the next window");
	CHECK(web_unzip_at(u, 0, &data) == -EINVAL, "backwards");
	web_unzip_free(u);
	web_unzip_free(NULL);

	/* a corrupt member fails: a flipped byte in the middle, a cut, a wrong length */
	buf_reset(&back);
	gz.data[gz.len / 2] ^= 0x55;
	CHECK(read_all(&gz, &back) == -EBADMSG, "a flipped byte is found (CRC or stream)");
	gz.data[gz.len / 2] ^= 0x55;
	struct buf cut = { 0 };
	buf_append(&cut, gz.data, gz.len / 2);
	buf_append(&cut, gz.data + gz.len - 8, 8); /* the trailer, so the length still reads */
	buf_reset(&back);
	CHECK(read_all(&cut, &back) == -EBADMSG && back.len < text.len, "a member cut short");
	gz.data[gz.len - 4] ^= 1; /* the trailer's length, one off */
	buf_reset(&back);
	CHECK(read_all(&gz, &back) == -EBADMSG, "a length the text does not have");
	gz.data[gz.len - 4] ^= 1;
	/* a trailer promising windows less than the text: found before more than promised is given
	 * (inflate itself checks the trailer only at the end) */
	unsigned char *isize = (unsigned char *)gz.data + gz.len - 4;
	unsigned char was = isize[2];
	isize[2] = (unsigned char)(was - 4); /* 256 KiB less */
	buf_reset(&back);
	CHECK(read_all(&gz, &back) == -EBADMSG && back.len <= web_unzip_text_len(gz.data, gz.len),
	      "a length shorter than the text: %zu given", back.len);
	isize[2] = was;

	/* empty text and input too short to be gzip */
	struct buf empty = { 0 };
	CHECK(expo_gzip("", 0, &empty) == 0 && web_unzip_text_len(empty.data, empty.len) == 0,
	      "an empty page");
	buf_reset(&back);
	CHECK(read_all(&empty, &back) == 0 && back.len == 0, "reads as nothing");
	CHECK(web_unzip_text_len("\x1f\x8b", 2) == 0 && web_unzip_new("\x1f\x8b", 2) == NULL &&
		      errno == EINVAL,
	      "too short to be gzip");

	buf_free(&text);
	buf_free(&gz);
	buf_free(&back);
	buf_free(&cut);
	buf_free(&empty);
	return test_summary("web/test_unzip");
}
