/* cbtrack fuzz target: the job document decoder, as the OMA's poller reads
 * a VMA's answer (oma_vma_job_parse, cbt_job_doc_decode) and a VMA's list
 * (oma_vma_list_parse).
 */
#include <stddef.h>
#include <stdint.h>

#include "common/progress-model.h"
#include "oma/poll-logic.h"

int LLVMFuzzerTestOneInput (const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  struct cbt_doc_job job;
  cbt_doc_job_vector jobs = empty_vector;

  if (oma_vma_job_parse ((const char *)data, size, &job) == 0)
    cbt_doc_job_reset (&job);
  if (oma_vma_list_parse ((const char *)data, size, &jobs) == 0)
    oma_vma_job_vector_free (&jobs);
  else
    oma_vma_job_vector_free (&jobs);
  return 0;
}
