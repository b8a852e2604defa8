/* exposition/expo_num.h — number formatting for the exposition writer: integers, sample values, le
 * bounds. */
#ifndef HOSTMON_EXPOSITION_EXPO_NUM_H
#define HOSTMON_EXPOSITION_EXPO_NUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * API:
 *   The writers store at p without printf and without a terminating NUL,
 *   and return the end of what they wrote; p must have room for
 *   EXPO_NUM_MAX bytes.
 *
 *   expo_num_put_u64() writes v in decimal.
 *
 *   expo_num_put_value() writes a sample value: integers up to 2^53 in
 *   magnitude as plain integers (-0 as "0"), other finite values in the
 *   shortest form that reads back as the same double (printf %g layout
 *   with that many digits), infinities as "+Inf"/"-Inf", NaN as "NaN".
 *
 *   expo_num_format_le() writes a finite histogram bound as Go's strconv
 *   'g' with shortest precision does (exponent form from 1e+06 and below
 *   1e-04), as client_golang writes le; with openmetrics, a result without
 *   '.' or exponent gains ".0" ("1.0"). Returns the length.
 */

/* Longest number we write: "-1.2345678901234567e-308" is 24 bytes. */
#define EXPO_NUM_MAX 32

char *expo_num_put_u64(char *p, uint64_t v);
char *expo_num_put_value(char *p, double v);
size_t expo_num_format_le(char *out, double bound, bool openmetrics);

#endif
