/* cbtrack - numbers for and from people: sizes, durations, counts. */
#ifndef CBTRACK_COMMON_HUMAN_H
#define CBTRACK_COMMON_HUMAN_H

#include <stddef.h>
#include <stdint.h>

/* Formats BYTES with binary units and one decimal ("12.0 GiB", "512 B")
 * into BUF of LEN bytes (32 is always enough).  Returns BUF.
 */
char *cbt_human_size (uint64_t bytes, char *buf, size_t len);

/* Formats SECONDS as "H:MM:SS" or "M:SS" into BUF.  Negative → "--:--".
 * Returns BUF.
 */
char *cbt_human_duration (double seconds, char *buf, size_t len);

/* Parses a size such as "4096", "256K", "1M", "2GiB", "8G" (binary
 * multiples, case-insensitive suffix, optional "B"/"iB").  Returns 0 and
 * sets *RET_BYTES, or -1 with an error recorded (cbt_get_error) and
 * *RET_BYTES untouched.
 */
int cbt_parse_size (const char *str, uint64_t *ret_bytes);

/* Parses a duration: plain seconds ("2", "0.5") or with a unit suffix
 * s, m, h, d ("10m", "24h").  Must be > 0.  Returns 0 and sets
 * *RET_SECONDS, or -1 with an error recorded.
 */
int cbt_parse_duration (const char *str, double *ret_seconds);

/* Parses a decimal integer in [MIN, MAX], rejecting junk, signs where
 * MIN >= 0, and overflow.  Returns 0 and sets *RET, or -1 with an error
 * naming WHAT.
 */
int cbt_parse_int (const char *what, const char *str, long long min,
                   long long max, long long *ret);

#endif /* CBTRACK_COMMON_HUMAN_H */
