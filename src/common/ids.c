/* cbtrack - job and disk identifiers. */
#include <string.h>

#include "common/ids.h"

bool
cbt_id_is_valid (const char *id)
{
  size_t i;

  if (id == NULL || id[0] == '\0')
    return false;
  for (i = 0; id[i] != '\0'; i++) {
    unsigned char c = (unsigned char)id[i];

    if (i >= CBT_ID_MAX)
      return false;
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
          (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
          c == '-'))
      return false;
  }
  return strcmp (id, ".") != 0 && strcmp (id, "..") != 0;
}
