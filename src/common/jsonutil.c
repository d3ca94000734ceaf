/* cbtrack - strict typed field readers for JSON request bodies. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/jsonutil.h"

/* Returns the value of KEY, or NULL when it is absent or JSON null. */
static json_t *
jsonutil_lookup (const json_t *obj, const char *key)
{
  json_t *v = json_object_get (obj, key);

  return v == NULL || json_is_null (v) ? NULL : v;
}

int
cbt_json_get_uint64 (const json_t *obj, const char *key, uint64_t *ret_value)
{
  json_t *v = jsonutil_lookup (obj, key);

  if (v == NULL)
    return 0;
  if (!json_is_integer (v) || json_integer_value (v) < 0) {
    cbt_set_error ("%s must be a non-negative integer", key);
    return -1;
  }
  *ret_value = (uint64_t)json_integer_value (v);
  return 1;
}

int
cbt_json_get_number (const json_t *obj, const char *key, double min,
                     double max, double *ret_value)
{
  json_t *v = jsonutil_lookup (obj, key);
  double d;

  if (v == NULL)
    return 0;
  if (!json_is_number (v)) {
    cbt_set_error ("%s must be a number", key);
    return -1;
  }
  d = json_number_value (v);
  if (!isfinite (d) || d < min || d > max) {
    cbt_set_error ("%s must be a number from %g to %g", key, min, max);
    return -1;
  }
  *ret_value = d;
  return 1;
}

int
cbt_json_get_string (const json_t *obj, const char *key, size_t max_len,
                     const char **ret_value)
{
  json_t *v = jsonutil_lookup (obj, key);

  if (v == NULL)
    return 0;
  if (!json_is_string (v)) {
    cbt_set_error ("%s must be a string", key);
    return -1;
  }
  if (json_string_length (v) > max_len) {
    cbt_set_error ("%s must be at most %zu bytes long", key, max_len);
    return -1;
  }
  *ret_value = json_string_value (v);
  return 1;
}

int
cbt_json_get_bool (const json_t *obj, const char *key, int *ret_value)
{
  json_t *v = jsonutil_lookup (obj, key);

  if (v == NULL)
    return 0;
  if (!json_is_boolean (v)) {
    cbt_set_error ("%s must be true or false", key);
    return -1;
  }
  *ret_value = json_is_true (v);
  return 1;
}

json_t *
cbt_json_parse_object (const char *buf, size_t len)
{
  json_error_t err;
  json_t *v;

  v = json_loadb (buf, len, JSON_REJECT_DUPLICATES, &err);
  if (v == NULL) {
    cbt_set_error ("malformed JSON at line %d column %d: %s", err.line,
                   err.column, err.text);
    return NULL;
  }
  if (!json_is_object (v)) {
    json_decref (v);
    cbt_set_error ("the body must be a JSON object");
    return NULL;
  }
  return v;
}

char *
cbt_json_strndup_utf8 (const char *s, size_t max)
{
  size_t len = strlen (s);

  if (len > max) {
    len = max;
    /* Step back over continuation bytes (10xxxxxx) so that the cut
     * falls before the lead byte of a character, never inside one.
     */
    while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
      len--;
  }
  return strndup (s, len);
}

void
cbt_json_set_counted (json_t *obj, const char *key, json_t *value, int *failed)
{
  if (value == NULL || json_object_set_new (obj, key, value) == -1)
    (*failed)++;
}
