/* lib/parse.c — checked parsers for the values people write: numbers, booleans, durations, sizes.
 */
#include "lib/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end != '\0' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = { "1", "true", "yes", "on" };
	static const char *const no[] = { "0", "false", "no", "off" };

	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -EINVAL;
}

int parse_duration_ms(const char *s, uint64_t *out)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
		{ "ms", 1 }, { "s", 1000 }, { "m", 60000 }, { "h", 3600000 }, { "d", 86400000 }
	};
	uint64_t total = 0;
	const char *p = s;

	if (!s || !*s)
		return -EINVAL;
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	while (*p) {
		char *end;
		uint64_t mult = 0;
		size_t ulen = 0;

		if (!isdigit((unsigned char)*p))
			return -EINVAL;
		errno = 0;
		unsigned long long n = strtoull(p, &end, 10);
		if (errno)
			return -EINVAL;
		/* a fraction ("1.5s"): up to 3 digits, enough for whole milliseconds of any unit */
		uint64_t frac = 0, frac_div = 1;
		if (*end == '.') {
			end++;
			if (!isdigit((unsigned char)*end))
				return -EINVAL;
			while (isdigit((unsigned char)*end)) {
				if (frac_div == 1000)
					return -EINVAL;
				frac = frac * 10 + (uint64_t)(*end++ - '0');
				frac_div *= 10;
			}
		}
		/* longest unit first so "ms" is not read as "m" */
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t l = strlen(units[i].unit);
			if (strncmp(end, units[i].unit, l) == 0 && l > ulen) {
				ulen = l;
				mult = units[i].ms;
			}
		}
		if (!mult || (frac * mult) % frac_div)
			return -EINVAL; /* no unit, or finer than a millisecond */
		if (n > (UINT64_MAX - total) / mult - 1)
			return -EINVAL;
		total += n * mult + frac * mult / frac_div;
		p = end + ulen;
	}
	*out = total;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	static const struct {
		const char *suffix;
		uint64_t mult;
	} suffixes[] = { { "", 1 },
			 { "B", 1 },
			 { "KiB", 1024 },
			 { "MiB", 1024 * 1024 },
			 { "GiB", 1024 * 1024 * 1024 } };
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	unsigned long long n = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (strcmp(end, suffixes[i].suffix) == 0) {
			if (n > UINT64_MAX / suffixes[i].mult)
				return -EINVAL;
			*out = n * suffixes[i].mult;
			return 0;
		}
	}
	return -EINVAL;
}
