/* cbtrack fuzz target: the OMA's registration and PATCH decoders. */
#include <stddef.h>
#include <stdint.h>

#include "oma/api-logic.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct oma_job job;
  struct oma_patch patch;

  if (oma_parse_registration ((const char *)data, size, "http://vma:8081",
                              1700000000, &job) == 0)
    oma_job_reset (&job);
  (void)oma_parse_patch ((const char *)data, size, &patch);
  return 0;
}
