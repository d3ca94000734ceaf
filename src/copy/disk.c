/* cbtrack copy - one disk of a job. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/error.h"
#include "common/readfile.h"
#include "common/timeutil.h"
#include "copy/analyse.h"
#include "copy/changed-areas.h"
#include "copy/disk.h"

void
disk_init (struct disk *d, const struct disk_spec *spec)
{
  memset (d, 0, sizeof *d);
  d->spec = *spec;
  progress_init (&d->progress,
                 spec->bitmap || spec->changed_areas || spec->changed_ranges,
                 cbt_now_mono ());
  d->progress.change_id = spec->change_id;
  d->progress.warning = spec->warning;
}

static int
disk_fail (struct disk *d)
{
  progress_fail (&d->progress, cbt_now_mono (), cbt_get_error ());
  return -1;
}

int
disk_analyse_source_only (struct disk *d)
{
  const struct disk_spec *spec = &d->spec;
  map_extent_vector changed = empty_vector;
  struct rw_open_args src_args = { .bitmap = spec->bitmap };
  struct analyse_args an = { .use_bitmap = spec->bitmap != NULL,
                             .target_is_zero = spec->target_is_zero };
  const map_extent_vector *given =
      spec->changed_ranges ? spec->changed_ranges : spec->allocated_ranges;
  char *text = NULL;
  size_t len = 0;
  int ret = -1;

  /* A malformed list is refused before anything is opened. */
  if (spec->changed_areas &&
      cbt_read_file (spec->changed_areas, &text, &len) == -1)
    goto out;

  d->src = rw_open (spec->source, &src_args);
  if (d->src == NULL)
    goto out;

  if (spec->expected_size && spec->expected_size != d->src->size) {
    cbt_set_error ("%s is %" PRIu64 " bytes but the vSphere disk is %" PRIu64
                   " bytes: not the same disk",
                   spec->source, d->src->size, spec->expected_size);
    goto out;
  }
  if (given) {
    /* A copy: the ranges are checked against the source's size. */
    if (map_extent_vector_reserve (&changed, given->len) == -1) {
      cbt_set_error ("out of memory");
      goto out;
    }
    if (given->len)
      memcpy (changed.ptr, given->ptr, given->len * sizeof *given->ptr);
    changed.len = given->len;
    if (plan_normalise_ranges (&changed, d->src->size) == -1)
      goto out;
    if (spec->changed_ranges)
      an.changed = &changed;
    else
      an.allocated = &changed;
  }
  if (text) {
    if (changed_areas_parse (text, len, d->src->size, &changed) == -1) {
      char msg[512];

      snprintf (msg, sizeof msg, "%s", cbt_get_error ());
      cbt_set_error ("%s: %s", spec->changed_areas, msg);
      goto out;
    }
    an.changed = &changed;
  }

  if (analyse_source (d->src, &an, &d->plan) == -1)
    goto out;
  ret = 0;
out:
  free (text);
  map_extent_vector_reset (&changed);
  return ret == 0 ? 0 : disk_fail (d);
}

int
disk_analyse (struct disk *d)
{
  struct rw_open_args dst_args = { .writable = true };
  const struct disk_spec *spec = &d->spec;

  if (disk_analyse_source_only (d) == -1)
    return -1;
  dst_args.create_size = d->src->size;
  d->dst = rw_open (spec->target, &dst_args);
  if (d->dst == NULL)
    return disk_fail (d);
  if (d->dst->size < d->src->size) {
    cbt_set_error ("%s: the target is smaller (%" PRIu64 " bytes) than the"
                   " source (%" PRIu64 " bytes)",
                   spec->target, d->dst->size, d->src->size);
    return disk_fail (d);
  }
  progress_set_plan (&d->progress, d->plan.transfer_bytes, d->plan.capacity,
                     d->plan.hole_bytes, d->plan.zero_bytes);
  return 0;
}

int
disk_transfer (struct disk *d, const struct copier_options *opts)
{
  struct copier_options o = *opts;
  struct rw *dst;

  o.target_is_zero =
      opts->target_is_zero || d->spec.target_is_zero || d->dst->is_zero;
  progress_start_transfer (&d->progress, cbt_now_mono ());
  if (copier_run (d->src, d->dst, &d->plan, &o, &d->progress, &d->workers) ==
      -1)
    return disk_fail (d);
  progress_set_stage (&d->progress, CBT_STAGE_FINALIZE);
  if (d->dst->ops->flush (d->dst) == -1)
    return disk_fail (d);
  /* Closing the target can still report a lost write: check it before
   * saying done.
   */
  dst = d->dst;
  d->dst = NULL;
  if (rw_close (dst) == -1)
    return disk_fail (d);
  progress_complete (&d->progress, cbt_now_mono ());
  return 0;
}

void
disk_get_result (struct disk *d, struct disk_result *ret)
{
  struct disk_result r = { 0 };
  struct progress_snapshot s;

  progress_snapshot (&d->progress, cbt_now_mono (), &s);
  r.status = s.status;
  if (s.status != CBT_STATUS_COMPLETED)
    snprintf (r.error, sizeof r.error, "%s",
              s.error_message[0] ? s.error_message : "failed");
  r.incremental = d->plan.incremental;
  r.have_allocation = d->plan.have_allocation;
  r.capacity_bytes = d->plan.capacity;
  r.dirty_bytes = d->plan.dirty_bytes;
  r.hole_bytes = d->plan.hole_bytes;
  r.zero_bytes = d->plan.zero_bytes;
  r.bytes_transferred = s.bytes_transferred;
  r.bytes_written = s.bytes_written;
  r.bytes_zero_skipped = s.bytes_zero_skipped;
  r.bytes_zeroed = s.bytes_zeroed;
  r.elapsed_seconds = s.elapsed_seconds;
  *ret = r;
}

void
disk_free (struct disk *d)
{
  if (d == NULL)
    return;
  rw_close (d->dst);
  rw_close (d->src);
  d->src = d->dst = NULL;
  plan_free (&d->plan);
  progress_destroy (&d->progress);
}
