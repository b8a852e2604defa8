/* exposition/expo_num.c — exposition numbers: shortest round-trip doubles, fast integers, le
 * bounds. */
#include "exposition/expo_num.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * Sample values are written without printf: integers take the digit-pair
 * path, other values between 2^-14 and 2^52 the exact 128-bit shortest
 * search; only the rest (tiny, huge, subnormal) goes through snprintf.
 */

static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
				  "25262728293031323334353637383940414243444546474849"
				  "50515253545556575859606162636465666768697071727374"
				  "75767778798081828384858687888990919293949596979899";

/* clang-format off */
static const uint64_t pow10_u64[20] = {
	1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
	100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL, 1000000000000ULL,
	10000000000000ULL, 100000000000000ULL, 1000000000000000ULL, 10000000000000000ULL,
	100000000000000000ULL, 1000000000000000000ULL, 10000000000000000000ULL,
};
/* clang-format on */

/* Writes v in decimal at p, back to front, two digits per division. */
char *expo_num_put_u64(char *p, uint64_t v)
{
	/* Digits from the bit length: log10(2) ~ 1233 / 4096, corrected by one compare. */
	int t = (64 - __builtin_clzll(v | 1)) * 1233 >> 12;
	int n = t + (t < 20 && v >= pow10_u64[t]);
	char *end;

	if (n == 0)
		n = 1;
	end = p + n;
	p = end;
	while (v >= 100) {
		unsigned int r = (unsigned int)(v % 100);

		v /= 100;
		p -= 2;
		p[0] = digit_pairs[2 * r];
		p[1] = digit_pairs[2 * r + 1];
	}
	if (v >= 10) {
		p[-2] = digit_pairs[2 * v];
		p[-1] = digit_pairs[2 * v + 1];
	} else {
		p[-1] = (char)('0' + v);
	}
	return end;
}

/* The shortest decimal that reads back as a positive finite double. */
struct decimal {
	char digits[24]; /* significant digits, no trailing zeros */
	int n;		 /* how many */
	int exp;	 /* decimal exponent of the first digit */
};

/* m * 10^-k, m > 0 */
static void decimal_set(struct decimal *d, uint64_t m, int k)
{
	char *end;

	/*
	 * expo_num_put_u64() writes every digit it counts, but clang --analyze
	 * follows an impossible path where it does not and reports garbage
	 * digits; one 24-byte store keeps the analyzer clean.
	 */
	memset(d->digits, '0', sizeof(d->digits));
	end = expo_num_put_u64(d->digits, m);

	d->n = (int)(end - d->digits);
	d->exp = d->n - 1 - k;
	while (d->n > 1 && d->digits[d->n - 1] == '0')
		d->n--;
}

#ifdef __SIZEOF_INT128__
typedef unsigned __int128 u128;

/*
 * Exact shortest digits for 2^-14 <= v < 2^52 (every metric value that is
 * not an integer, in practice), in the manner of Ryu: scale v's rounding
 * interval by 10^K, large enough that it holds at least one integer, with
 * exact 128-bit arithmetic; then drop decimal digits while the interval
 * still holds a multiple of the next power of ten; finally take the
 * candidate nearest to v. strtod() rounds ties to even, so the interval
 * ends count only when v's significand is even; at a power of two the gap
 * below v is half as wide.
 */
static bool shortest_exact(double v, struct decimal *d)
{
	uint64_t bits, frac, sig, a, b, q, rem, half, m;
	u128 p, x, lo, hi, mask, r;
	int biased, s, shift, k, j;
	bool inclusive, up;

	memcpy(&bits, &v, sizeof(bits));
	biased = (int)((bits >> 52) & 0x7ff);
	frac = bits & ((1ULL << 52) - 1);
	if (biased == 0 || biased == 0x7ff)
		return false;
	sig = frac | (1ULL << 52);
	s = 1075 - biased; /* v = sig * 2^-s */
	/* s > 66 would need 10^k beyond 2^70 and products beyond 128 bits. */
	if (s <= 0 || s > 66)
		return false;

	/* 10^k > 2^s / 0.75 guarantees an integer in the scaled interval. */
	k = (s * 1233 >> 12) + 2;
	if (k > 21)
		k = 21;
	p = k < 20 ? (u128)pow10_u64[k] : (u128)pow10_u64[19] * pow10_u64[k - 19];
	/* Units of 2^-(s+2): v is 4 sig, the interval ends are 2 (or 1 below) away. */
	x = (u128)(sig << 2) * p;
	lo = x - (frac == 0 ? p : 2 * p);
	hi = x + 2 * p;
	shift = s + 2;
	mask = ((u128)1 << shift) - 1;
	inclusive = !(sig & 1);
	lo = inclusive ? (lo + mask) >> shift : (lo >> shift) + 1; /* smallest candidate */
	hi = inclusive ? hi >> shift : (hi - 1) >> shift;	   /* largest candidate */
	if (lo > hi || hi > UINT64_MAX || lo == 0)
		return false;

	/*
	 * The interval holds a multiple of 10^j while floor(hi/10^j) >
	 * floor((lo-1)/10^j); drop four, two, then one digit at a time.
	 */
	a = (uint64_t)hi;
	b = (uint64_t)lo - 1;
	for (j = 0; a / 10000 > b / 10000; j += 4) {
		a /= 10000;
		b /= 10000;
	}
	for (; a / 100 > b / 100; j += 2) {
		a /= 100;
		b /= 100;
	}
	if (a / 10 > b / 10) {
		a /= 10;
		b /= 10;
		j++;
	}

	/* One candidate left (the usual case), or the nearest, ties to even, within (b, a]. */
	if (a - b == 1) {
		m = a;
	} else {
		q = (uint64_t)(x >> shift);
		r = x & mask;
		if (j == 0) {
			m = q;
			up = r > (u128)1 << (shift - 1) || (r == (u128)1 << (shift - 1) && (m & 1));
		} else {
			m = q / pow10_u64[j];
			rem = q % pow10_u64[j];
			half = pow10_u64[j] / 2;
			up = rem > half || (rem == half && (r != 0 || (m & 1)));
		}
		m += up;
		if (m <= b)
			m = b + 1;
		if (m > a)
			m = a;
	}
	decimal_set(d, m, k - j);
	return true;
}
#else
static bool shortest_exact(double v, struct decimal *d)
{
	(void)v;
	(void)d;
	return false;
}
#endif

/*
 * Everything else (tiny, huge, subnormal): glibc's correctly rounded
 * printf and strtod. Rare in metrics. For a normal double at most one
 * 15-digit decimal reads back as it, so when the 15-digit rounding reads
 * back, stripping its zeros gives the shortest; subnormals have less
 * precision and need the search from one digit. The daemon never calls
 * setlocale(), so the decimal point is '.'.
 */
static void shortest_slow(double v, struct decimal *d)
{
	char tmp[40];
	const char *p;
	int prec;

	for (prec = v < DBL_MIN ? 1 : 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, v);
		if (prec == 17 || strtod(tmp, NULL) == v)
			break;
	}
	d->n = 0;
	for (p = tmp; *p && *p != 'e'; p++)
		if (*p >= '0' && *p <= '9')
			d->digits[d->n++] = *p;
	d->exp = *p == 'e' ? atoi(p + 1) : 0;
	/* %e of a finite double always has digits; this only reassures the analyzer. */
	if (!d->n)
		d->digits[d->n++] = '0';
	while (d->n > 1 && d->digits[d->n - 1] == '0')
		d->n--;
}

static void shortest(double v, struct decimal *d)
{
	if (!shortest_exact(v, d))
		shortest_slow(v, d);
}

/*
 * printf %g layout of the shortest digits: exponent form when the exponent
 * is below -4 or at least exp_limit, with at least two exponent digits.
 */
static char *put_decimal(char *p, const struct decimal *d, int exp_limit)
{
	int x = d->exp, n = d->n, i;

	if (x < -4 || x >= exp_limit) {
		*p++ = d->digits[0];
		if (n > 1) {
			*p++ = '.';
			memcpy(p, d->digits + 1, (size_t)n - 1);
			p += n - 1;
		}
		*p++ = 'e';
		*p++ = x < 0 ? '-' : '+';
		if (x < 0)
			x = -x;
		if (x < 10)
			*p++ = '0';
		return expo_num_put_u64(p, (uint64_t)x);
	}
	if (x < 0) {
		*p++ = '0';
		*p++ = '.';
		for (i = 0; i < -x - 1; i++)
			*p++ = '0';
		memcpy(p, d->digits, (size_t)n);
		return p + n;
	}
	if (x >= n - 1) {
		memcpy(p, d->digits, (size_t)n);
		p += n;
		for (i = 0; i < x - (n - 1); i++)
			*p++ = '0';
		return p;
	}
	memcpy(p, d->digits, (size_t)x + 1);
	p += x + 1;
	*p++ = '.';
	memcpy(p, d->digits + x + 1, (size_t)(n - x - 1));
	return p + (n - x - 1);
}

/* Below 2^53 every integer is exact, so integral values print as plain integers. */
#define EXACT_INT_MAX 9007199254740992.0

char *expo_num_put_value(char *p, double v)
{
	struct decimal d;

	if (isnan(v)) {
		memcpy(p, "NaN", 3);
		return p + 3;
	}
	if (isinf(v)) {
		memcpy(p, v > 0 ? "+Inf" : "-Inf", 4);
		return p + 4;
	}
	if (v >= -EXACT_INT_MAX && v <= EXACT_INT_MAX) {
		int64_t i = (int64_t)v;

		if ((double)i == v) {
			if (i < 0) {
				*p++ = '-';
				return expo_num_put_u64(p, (uint64_t)-i);
			}
			return expo_num_put_u64(p, (uint64_t)i);
		}
	}
	if (v < 0) {
		*p++ = '-';
		v = -v;
	}
	shortest(v, &d);
	/* Like printf("%.{digits}g"): plain while the integer part fits the digits. */
	return put_decimal(p, &d, d.n);
}

/*
 * le values follow Go's strconv 'g' with shortest precision (exponent from
 * 1e+06 and below 1e-04), as client_golang writes them, so our series match
 * those of Go exporters. OpenMetrics canonical numbers add ".0" to values
 * without a point or exponent ("1.0", "10.0", "100000.0").
 */
size_t expo_num_format_le(char *out, double bound, bool openmetrics)
{
	struct decimal d;
	char *p = out;
	size_t n;

	if (bound == 0) {
		*p++ = '0';
	} else {
		if (bound < 0) {
			*p++ = '-';
			bound = -bound;
		}
		shortest(bound, &d);
		p = put_decimal(p, &d, 6);
	}
	n = (size_t)(p - out);
	if (openmetrics && !memchr(out, '.', n) && !memchr(out, 'e', n)) {
		memcpy(p, ".0", 2);
		n += 2;
	}
	return n;
}
