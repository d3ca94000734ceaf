/* cbtrack fuzz target: the manifest reader (cbtrack copy --manifest). */
#include <stddef.h>
#include <stdint.h>

#include "copy/manifest.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct manifest m;

  if (manifest_parse ((const char *)data, size, &m) == 0)
    manifest_free (&m);
  return 0;
}
