/* lib/parse.h — checked parsers for the values people write: numbers, booleans, durations, sizes.
 */
#ifndef HOSTMON_LIB_PARSE_H
#define HOSTMON_LIB_PARSE_H

#include <stdbool.h>
#include <stdint.h>

/*
 * API:
 *   Each returns 0, or -EINVAL for text that is not entirely one value (no
 *   sign, no leading space, no trailing garbage, no overflow); *out is written
 *   only on success.
 *   parse_u64: decimal, min <= v <= max.
 *   parse_bool: 1/true/yes/on, 0/false/no/off (any case).
 *   parse_duration_ms: "0", or one or more <n><unit> with units ms s m h d ("1h2m3s", "500ms").
 *   parse_size: bytes, with an optional B, KiB, MiB or GiB suffix ("8192", "8KiB").
 */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_bool(const char *s, bool *out);
int parse_duration_ms(const char *s, uint64_t *out);
int parse_size(const char *s, uint64_t *out);

#endif
