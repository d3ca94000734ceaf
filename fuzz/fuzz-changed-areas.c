/* cbtrack fuzz target: the changed-areas reader (VMware CBT JSON). */
#include <stddef.h>
#include <stdint.h>

#include "copy/changed-areas.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  map_extent_vector ranges = empty_vector;

  if (changed_areas_parse ((const char *)data, size, UINT64_C (1) << 40,
                           &ranges) == 0)
    map_extent_vector_reset (&ranges);
  return 0;
}
