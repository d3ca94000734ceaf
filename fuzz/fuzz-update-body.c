/* cbtrack fuzz target: the update body decoder (cbt_update_decode). */
#include <stddef.h>
#include <stdint.h>

#include "common/progress-model.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct cbt_update u;

  if (cbt_update_decode ((const char *)data, size, &u) == 0)
    cbt_update_clear (&u);
  return 0;
}
