/* cbtrack - strict typed field readers for JSON request bodies.
 *
 * Both daemons accept JSON objects from the network.  These readers give
 * every field one rule: a field that is absent or null is "not given"
 * (return 0, output untouched), a field of the right type and range is
 * "given" (return 1, output set), and anything else is an error (return
 * -1, a message naming the field recorded with cbt_set_error, output
 * untouched).  Nothing is ever coerced: "12" is not a number, 1.5 is not
 * an integer, -1 is not a byte count.
 */
#ifndef CBTRACK_COMMON_JSONUTIL_H
#define CBTRACK_COMMON_JSONUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* Reads KEY of OBJ as a JSON integer in [0, INT64_MAX] (jansson's range).
 * Reals, strings, booleans and negative numbers are errors.
 */
int cbt_json_get_uint64 (const json_t *obj, const char *key,
                         uint64_t *ret_value);

/* Reads KEY of OBJ as a JSON number (integer or real) in [MIN, MAX].
 * Non-numbers and numbers out of range are errors.
 */
int cbt_json_get_number (const json_t *obj, const char *key, double min,
                         double max, double *ret_value);

/* Reads KEY of OBJ as a JSON string of at most MAX_LEN bytes.  *RET_VALUE
 * points into OBJ and lives as long as OBJ does.  Jansson has already
 * checked that it is valid UTF-8 without NUL bytes.
 */
int cbt_json_get_string (const json_t *obj, const char *key, size_t max_len,
                         const char **ret_value);

/* Reads KEY of OBJ as a JSON boolean. */
int cbt_json_get_bool (const json_t *obj, const char *key, int *ret_value);

/* Parses BUF of LEN bytes as one JSON object (duplicate keys rejected).
 * Returns the object (the caller owns the reference) or NULL with a
 * message recorded: "malformed JSON at line L column C: ..." or "the body
 * must be a JSON object".
 */
json_t *cbt_json_parse_object (const char *buf, size_t len);

/* Copies at most MAX bytes of the UTF-8 string S into a new
 * NUL-terminated string, cutting only at a character boundary.  Returns
 * NULL on allocation failure (errno set).
 */
char *cbt_json_strndup_utf8 (const char *s, size_t max);

/* Adds KEY: VALUE to OBJ (stealing VALUE), counting failures — VALUE NULL
 * or the insertion failing — in *FAILED, so that a whole object is built
 * and checked once instead of after every field.
 */
void cbt_json_set_counted (json_t *obj, const char *key, json_t *value,
                           int *failed);

#endif /* CBTRACK_COMMON_JSONUTIL_H */
