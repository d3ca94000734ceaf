/* cbtrack copy - one disk of a job. */
#include <assert.h>
#include <errno.h>
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
disk_checkpoint_open (struct disk *d, const char *state_dir,
                      const char *job_id, bool restart)
{
  char name[300];
  size_t len;
  int r;

  d->job_id = job_id;
  if (state_dir == NULL)
    return 0;
  if (checkpoint_prepare_dir (state_dir) == -1)
    return disk_fail (d);
  checkpoint_file_name (job_id, d->spec.id, d->spec.source, d->spec.target,
                        name, sizeof name);
  len = strlen (state_dir) + strlen (name) + 2;
  d->ckpt_path = malloc (len);
  if (d->ckpt_path == NULL) {
    cbt_set_error ("out of memory");
    return disk_fail (d);
  }
  snprintf (d->ckpt_path, len, "%s/%s", state_dir, name);
  if (restart)
    return checkpoint_remove (d->ckpt_path) == -1 ? disk_fail (d) : 0;
  r = checkpoint_load (d->ckpt_path, &d->saved);
  if (r == -1) {
    char msg[512];

    snprintf (msg, sizeof msg, "%s", cbt_get_error ());
    cbt_set_error ("%s; remove it or add --restart to copy from the start",
                   msg);
    return disk_fail (d);
  }
  if (r == 1) {
    d->resuming = true;
    progress_set_resumed (&d->progress, d->saved.id.total_bytes,
                          d->saved.done_bytes);
  }
  return 0;
}

/* Fills the identity of this copy, once the plan and the target are
 * known.
 */
static int
disk_fill_identity (struct disk *d)
{
  struct ckpt_identity *id = &d->ident;

  id->source = d->spec.source;
  id->source_size = d->src->size;
  id->target = d->spec.target;
  id->target_size = d->dst->size;
  id->target_file[0] = '\0';
  if (d->dst->ops->identity != NULL &&
      d->dst->ops->identity (d->dst, id->target_file,
                             sizeof id->target_file) == -1)
    return -1;
  id->sync_type = d->plan.incremental ? CBT_SYNC_INCREMENTAL : CBT_SYNC_FULL;
  id->bitmap = d->spec.bitmap ? d->spec.bitmap : "";
  id->changed_areas_hash = d->changed_areas_hash;
  id->change_id = "";
  checkpoint_plan_hash (&d->plan, id->plan_hash);
  id->total_bytes = d->plan.transfer_bytes;
  return 0;
}

/* Checks the checkpoint read at the start against this copy, and takes
 * its done-set.  Refuses, in one line, a checkpoint made for another
 * copy.
 */
static int
disk_checkpoint_check (struct disk *d)
{
  const char *why;
  uint64_t done;

  if (d->ckpt_path == NULL)
    return 0;
  if (disk_fill_identity (d) == -1)
    return -1;
  if (!d->resuming)
    return 0;
  why = checkpoint_mismatch (&d->saved.id, &d->ident);
  if (why == NULL) {
    done = checkpoint_done_copy_bytes (&d->saved.done, &d->plan);
    if (done != d->saved.done_bytes)
      why = "another plan (its done ranges do not add up)";
  }
  if (why) {
    cbt_set_error ("the checkpoint %s was made for %s: run the same command"
                   " again, or add --restart to copy from the start",
                   d->ckpt_path, why);
    return -1;
  }
  d->done.set = d->saved.done;
  d->saved.done = (ckpt_range_vector)empty_vector;
  d->target_is_zero = d->saved.target_is_zero;
  return 0;
}

/* Writes the checkpoint of D with done-set DONE (flushed already). */
static int
disk_checkpoint_write (struct disk *d, const ckpt_range_vector *done,
                       bool completed)
{
  struct checkpoint cp = {
    .id = d->ident,
    .job_id = d->job_id ? d->job_id : "",
    .disk_id = d->spec.id ? d->spec.id : "",
    .target_is_zero = d->target_is_zero,
    .completed = completed,
    .done_bytes = checkpoint_done_copy_bytes (done, &d->plan),
    .done = *done,
  };

  return checkpoint_save (d->ckpt_path, &cp);
}

/* The copier's checkpoint callback: DONE has been flushed. */
static int
disk_checkpoint_cb (void *opaque, const ckpt_range_vector *done)
{
  return disk_checkpoint_write (opaque, done, false);
}

int
disk_checkpoint_stopped (struct disk *d)
{
  if (d->ckpt_path == NULL || d->dst == NULL || !d->done.drained)
    return 0;
  if (d->dst->ops->flush (d->dst) == -1)
    return -1;
  return disk_checkpoint_write (d, &d->done.set, false);
}

int
disk_checkpoint_remove (struct disk *d)
{
  if (d->ckpt_path == NULL)
    return 0;
  return checkpoint_remove (d->ckpt_path);
}

int
disk_analyse_source_only (struct disk *d)
{
  const struct disk_spec *spec = &d->spec;
  map_extent_vector changed = empty_vector;
  struct rw_open_args src_args = { .bitmap = spec->bitmap,
                                   .command = spec->source_command };
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
  if (text)
    checkpoint_text_hash (text, len, d->changed_areas_hash);

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
  if (disk_checkpoint_check (d) == -1)
    return disk_fail (d);
  /* A target whose own map says it reads as zero (a new NBD export) gets
   * no zeroing; a file says so through SEEK_DATA when it is opened.
   */
  if (!d->dst->is_zero && !d->target_is_zero &&
      analyse_reads_as_zero (d->dst, d->src->size))
    d->dst->is_zero = true;
  progress_set_plan (&d->progress, d->plan.transfer_bytes, d->plan.capacity,
                     d->plan.hole_bytes, d->plan.zero_bytes);
  return 0;
}

int
disk_transfer (struct disk *d, const struct copier_options *opts)
{
  struct copier_options o = *opts;
  struct rw *dst;

  d->target_is_zero |=
      opts->target_is_zero || d->spec.target_is_zero || d->dst->is_zero;
  o.target_is_zero = d->target_is_zero;
  if (d->ckpt_path) {
    o.done = &d->done;
    o.checkpoint = disk_checkpoint_cb;
    o.checkpoint_opaque = d;
    /* Written before any byte moves, so that a rerun knows whether the
     * target read as zero (a new file), even if no piece got done.
     */
    if (disk_checkpoint_write (d, &d->done.set, false) == -1)
      return disk_fail (d);
  }
  progress_start_transfer (&d->progress, cbt_now_mono ());
  if (copier_run (d->src, d->dst, &d->plan, &o, &d->progress, &d->workers) ==
      -1) {
    char msg[1024];

    /* The copy's own failure is the one reported. */
    snprintf (msg, sizeof msg, "%s", cbt_get_error ());
    disk_checkpoint_stopped (d);
    cbt_set_error ("%s", msg);
    return disk_fail (d);
  }
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
  /* Until the whole job completed, a rerun must know this disk is done. */
  if (d->ckpt_path) {
    d->done.set.len = 0;
    if (checkpoint_done_add (&d->done.set, 0, d->plan.capacity) == -1 ||
        disk_checkpoint_write (d, &d->done.set, true) == -1)
      return disk_fail (d);
  }
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
  r.resumed_bytes = s.resumed_bytes;
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
  checkpoint_clear (&d->saved);
  ckpt_range_vector_reset (&d->done.set);
  free (d->ckpt_path);
  d->ckpt_path = NULL;
}
