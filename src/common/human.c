/* cbtrack - numbers for and from people. */
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#include "common/error.h"
#include "common/human.h"

char *
cbt_human_size (uint64_t bytes, char *buf, size_t len)
{
  static const char *const units[] = {
    "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"
  };
  double v = (double)bytes;
  size_t i = 0;

  if (bytes < 1024) {
    snprintf (buf, len, "%" PRIu64 " B", bytes);
    return buf;
  }
  v /= 1024;
  while (v >= 1023.95 && i + 1 < sizeof units / sizeof units[0]) {
    v /= 1024;
    i++;
  }
  snprintf (buf, len, "%.1f %s", v, units[i]);
  return buf;
}

char *
cbt_human_duration (double seconds, char *buf, size_t len)
{
  unsigned long long s;

  if (!(seconds >= 0) || seconds > 359999999.0) {
    snprintf (buf, len, "--:--");
    return buf;
  }
  s = (unsigned long long)llround (seconds);
  if (s >= 3600)
    snprintf (buf, len, "%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
  else
    snprintf (buf, len, "%llu:%02llu", s / 60, s % 60);
  return buf;
}

int
cbt_parse_size (const char *str, uint64_t *ret_bytes)
{
  unsigned long long v;
  uint64_t mult = 1;
  char *end;

  if (str == NULL || !isdigit ((unsigned char)str[0]))
    goto bad;
  errno = 0;
  v = strtoull (str, &end, 10);
  if (errno != 0)
    goto bad;
  switch (toupper ((unsigned char)*end)) {
  case '\0': break;
  case 'B': break;
  case 'K':
    mult = UINT64_C (1) << 10;
    end++;
    break;
  case 'M':
    mult = UINT64_C (1) << 20;
    end++;
    break;
  case 'G':
    mult = UINT64_C (1) << 30;
    end++;
    break;
  case 'T':
    mult = UINT64_C (1) << 40;
    end++;
    break;
  case 'P':
    mult = UINT64_C (1) << 50;
    end++;
    break;
  default: goto bad;
  }
  if (mult > 1 && (*end == 'i' || *end == 'I'))
    end++;
  if (*end == 'b' || *end == 'B')
    end++;
  if (*end != '\0' || v > UINT64_MAX / mult)
    goto bad;
  *ret_bytes = (uint64_t)v * mult;
  return 0;

bad:
  cbt_set_error ("invalid size '%s' (expected e.g. 4096, 256K, 1M, 2G)",
                 str ? str : "");
  return -1;
}

int
cbt_parse_duration (const char *str, double *ret_seconds)
{
  double v, mult = 1;
  char *end;

  if (str == NULL || !(isdigit ((unsigned char)str[0]) || str[0] == '.'))
    goto bad;
  errno = 0;
  v = strtod (str, &end);
  if (errno != 0 || end == str)
    goto bad;
  switch (*end) {
  case '\0': break;
  case 's': end++; break;
  case 'm':
    mult = 60;
    end++;
    break;
  case 'h':
    mult = 3600;
    end++;
    break;
  case 'd':
    mult = 86400;
    end++;
    break;
  default: goto bad;
  }
  if (*end != '\0' || !(v > 0) || !isfinite (v * mult))
    goto bad;
  *ret_seconds = v * mult;
  return 0;

bad:
  cbt_set_error ("invalid duration '%s' (expected e.g. 2, 0.5, 30s, 10m, 24h)",
                 str ? str : "");
  return -1;
}

int
cbt_parse_int (const char *what, const char *str, long long min, long long max,
               long long *ret)
{
  long long v;
  char *end;

  if (str == NULL || str[0] == '\0' || isspace ((unsigned char)str[0]) ||
      (min >= 0 && (str[0] == '-' || str[0] == '+')))
    goto bad;
  errno = 0;
  v = strtoll (str, &end, 10);
  if (errno != 0 || *end != '\0' || v < min || v > max)
    goto bad;
  *ret = v;
  return 0;

bad:
  cbt_set_error ("invalid %s '%s' (expected an integer from %lld to %lld)",
                 what, str ? str : "", min, max);
  return -1;
}
