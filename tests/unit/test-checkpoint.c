/* Unit tests of src/copy/checkpoint.c: the done-set, identities, the
 * file format and file names (everything but the file I/O).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/error.h"
#include "copy/checkpoint.h"

/* The done-set as a string "a-b,c-d" for easy comparison. */
static const char *
set_str (const ckpt_range_vector *set)
{
  static char buf[512];
  size_t i, used = 0;

  buf[0] = '\0';
  for (i = 0; i < set->len; i++)
    used +=
        (size_t)snprintf (buf + used, sizeof buf - used, "%s%llu-%llu",
                          i ? "," : "", (unsigned long long)set->ptr[i].start,
                          (unsigned long long)set->ptr[i].end);
  return buf;
}

static void
test_done_add_merges (void **state)
{
  ckpt_range_vector s = empty_vector;

  (void)state;
  assert_int_equal (checkpoint_done_add (&s, 10, 20), 0);
  assert_int_equal (checkpoint_done_add (&s, 30, 40), 0);
  assert_int_equal (checkpoint_done_add (&s, 0, 5), 0);
  assert_string_equal (set_str (&s), "0-5,10-20,30-40");
  /* An empty range changes nothing. */
  assert_int_equal (checkpoint_done_add (&s, 7, 7), 0);
  assert_string_equal (set_str (&s), "0-5,10-20,30-40");
  /* Touching ranges merge. */
  assert_int_equal (checkpoint_done_add (&s, 5, 8), 0);
  assert_string_equal (set_str (&s), "0-8,10-20,30-40");
  /* A range over several merges them all. */
  assert_int_equal (checkpoint_done_add (&s, 8, 31), 0);
  assert_string_equal (set_str (&s), "0-40");
  /* Inside an existing range: nothing new. */
  assert_int_equal (checkpoint_done_add (&s, 3, 9), 0);
  assert_string_equal (set_str (&s), "0-40");
  assert_int_equal (checkpoint_done_add (&s, 100, 200), 0);
  assert_int_equal (checkpoint_done_add (&s, 50, 60), 0);
  assert_int_equal (checkpoint_done_add (&s, 45, 150), 0);
  assert_string_equal (set_str (&s), "0-40,45-200");
  ckpt_range_vector_reset (&s);
}

/* Pieces completing out of order, with the gaps the cursor passes, end
 * up as one range.
 */
static void
test_done_add_out_of_order (void **state)
{
  ckpt_range_vector s = empty_vector;
  static const uint64_t order[] = { 3, 1, 0, 4, 2, 7, 5, 6 };
  size_t i;

  (void)state;
  for (i = 0; i < sizeof order / sizeof order[0]; i++) {
    assert_int_equal (
        checkpoint_done_add (&s, order[i] * 100, order[i] * 100 + 100), 0);
    assert_true (s.len <= 3);
  }
  assert_string_equal (set_str (&s), "0-800");
  ckpt_range_vector_reset (&s);
}

/* A plan: copy [0,100), skip [100,200), copy [200,300), zero [300,400). */
static void
make_plan (struct plan *p)
{
  static const struct plan_entry e[] = {
    { 0, 100, PLAN_DATA, PLAN_COPY, false },
    { 100, 100, PLAN_HOLE, PLAN_SKIP, false },
    { 200, 100, PLAN_DATA, PLAN_COPY, false },
    { 300, 100, PLAN_HOLE, PLAN_MAKE_ZERO, false },
  };
  size_t i;

  memset (p, 0, sizeof *p);
  p->capacity = 400;
  p->transfer_bytes = 200;
  p->zeroing_bytes = 100;
  for (i = 0; i < 4; i++)
    assert_int_equal (plan_entry_vector_append (&p->entries, e[i]), 0);
}

static void
test_done_bytes_and_cover (void **state)
{
  ckpt_range_vector s = empty_vector;
  struct plan p;

  (void)state;
  make_plan (&p);
  assert_int_equal (checkpoint_done_copy_bytes (&s, &p), 0);
  assert_int_equal (checkpoint_done_add (&s, 50, 250), 0);
  /* 50 of the first copy range, 50 of the second; the skip counts not. */
  assert_int_equal (checkpoint_done_copy_bytes (&s, &p), 100);
  assert_false (checkpoint_done_covers_plan (&s, &p, true));
  assert_int_equal (checkpoint_done_add (&s, 0, 300), 0);
  assert_int_equal (checkpoint_done_copy_bytes (&s, &p), 200);
  /* The zero range is work unless the target reads as zero. */
  assert_true (checkpoint_done_covers_plan (&s, &p, true));
  assert_false (checkpoint_done_covers_plan (&s, &p, false));
  assert_int_equal (checkpoint_done_add (&s, 300, 400), 0);
  assert_true (checkpoint_done_covers_plan (&s, &p, false));
  ckpt_range_vector_reset (&s);
  plan_free (&p);
}

static void
test_plan_hash (void **state)
{
  struct plan p;
  char a[33], b[33], c[33];

  (void)state;
  make_plan (&p);
  checkpoint_plan_hash (&p, a);
  assert_int_equal (strlen (a), 32);
  checkpoint_plan_hash (&p, b);
  assert_string_equal (a, b);
  /* Another action, another plan. */
  p.entries.ptr[3].action = PLAN_SKIP;
  checkpoint_plan_hash (&p, b);
  assert_string_not_equal (a, b);
  p.entries.ptr[3].action = PLAN_MAKE_ZERO;
  /* Another boundary, another plan. */
  p.entries.ptr[0].length = 99;
  p.entries.ptr[1].offset = 99;
  p.entries.ptr[1].length = 101;
  checkpoint_plan_hash (&p, c);
  assert_string_not_equal (a, c);
  plan_free (&p);

  checkpoint_text_hash ("abc", 3, a);
  checkpoint_text_hash ("abd", 3, b);
  assert_string_not_equal (a, b);
}

static struct ckpt_identity
make_identity (void)
{
  struct ckpt_identity id = {
    .source = "nbd+unix:///?socket=/s",
    .source_size = 400,
    .target = "/t.img",
    .target_size = 400,
    .target_file = "64768:12",
    .sync_type = CBT_SYNC_INCREMENTAL,
    .bitmap = "b1",
    .changed_areas_hash = "",
    .change_id = "",
    .plan_hash = "0123456789abcdef0123456789abcdef",
    .total_bytes = 200,
  };

  return id;
}

static void
test_mismatch (void **state)
{
  struct ckpt_identity a = make_identity (), b = make_identity ();

  (void)state;
  assert_null (checkpoint_mismatch (&a, &b));
  b.source = "nbd+unix:///?socket=/other";
  assert_string_equal (checkpoint_mismatch (&a, &b), "another source");
  b = make_identity ();
  b.plan_hash[0] = 'f';
  assert_non_null (strstr (checkpoint_mismatch (&a, &b), "another plan"));
  b = make_identity ();
  b.target_file[0] = '9';
  assert_non_null (strstr (checkpoint_mismatch (&a, &b), "another target"));
  b = make_identity ();
  b.target_size = 800;
  assert_non_null (strstr (checkpoint_mismatch (&a, &b), "another target"));
  b = make_identity ();
  b.sync_type = CBT_SYNC_FULL;
  assert_string_equal (checkpoint_mismatch (&a, &b), "another sync type");
  b = make_identity ();
  b.bitmap = "b2";
  assert_string_equal (checkpoint_mismatch (&a, &b), "another bitmap");
  b = make_identity ();
  b.change_id = "52 de 2a/7";
  assert_string_equal (checkpoint_mismatch (&a, &b), "another changeId");
}

static void
test_encode_decode (void **state)
{
  struct checkpoint cp = { .id = make_identity (),
                           .job_id = "job-1",
                           .disk_id = "disk-2",
                           .target_is_zero = true,
                           .done_bytes = 150 };
  struct checkpoint back;
  char *text;

  (void)state;
  assert_int_equal (checkpoint_done_add (&cp.done, 0, 150), 0);
  assert_int_equal (checkpoint_done_add (&cp.done, 200, 250), 0);
  text = checkpoint_encode (&cp);
  assert_non_null (text);
  assert_int_equal (text[strlen (text) - 1], '\n');
  assert_int_equal (checkpoint_decode (text, strlen (text), &back), 0);
  assert_null (checkpoint_mismatch (&cp.id, &back.id));
  assert_string_equal (back.job_id, "job-1");
  assert_string_equal (back.disk_id, "disk-2");
  assert_true (back.target_is_zero);
  assert_false (back.completed);
  assert_int_equal (back.done_bytes, 150);
  assert_string_equal (set_str (&back.done), "0-150,200-250");
  checkpoint_clear (&back);
  checkpoint_clear (&back); /* cleared twice is fine */
  free (text);
  ckpt_range_vector_reset (&cp.done);
}

static void
test_decode_refuses (void **state)
{
  static const char *bad[] = {
    "",
    "[]",
    "{\"format\":\"something else\",\"version\":1}",
    "{\"format\":\"cbtrack-checkpoint\",\"version\":2}",
  };
  struct checkpoint cp = { .id = make_identity (),
                           .job_id = "",
                           .disk_id = "" };
  struct checkpoint back;
  char *text, *p;
  size_t i;

  (void)state;
  for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
    assert_int_equal (checkpoint_decode (bad[i], strlen (bad[i]), &back), -1);

  /* Ranges out of order, or outside the source, are refused. */
  assert_int_equal (checkpoint_done_add (&cp.done, 0, 10), 0);
  assert_int_equal (checkpoint_done_add (&cp.done, 20, 30), 0);
  text = checkpoint_encode (&cp);
  assert_non_null (text);
  p = strstr (text, "[[0,10],[20,30]]");
  assert_non_null (p);
  memcpy (p, "[[20,30],[0,10]]", 16);
  assert_int_equal (checkpoint_decode (text, strlen (text), &back), -1);
  /* A range past the end of the source ("source_size": 29, space-padded
   * to keep the length).
   */
  memcpy (p, "[[0,10],[20,30]]", 16);
  p = strstr (text, "\"source_size\":400");
  assert_non_null (p);
  memcpy (p, "\"source_size\":29 ", 17);
  p = strstr (text, "\"total_bytes\":200");
  assert_non_null (p);
  memcpy (p, "\"total_bytes\":20 ", 17);
  assert_int_equal (checkpoint_decode (text, strlen (text), &back), -1);
  assert_non_null (strstr (cbt_get_error (), "done[1]"));
  free (text);
  /* More done than the plan's total is refused. */
  cp.done_bytes = 201;
  text = checkpoint_encode (&cp);
  assert_int_equal (checkpoint_decode (text, strlen (text), &back), -1);
  free (text);
  ckpt_range_vector_reset (&cp.done);
}

static void
test_file_names (void **state)
{
  char a[128], b[128], c[128];

  (void)state;
  assert_string_equal (
      checkpoint_file_name ("job-1", "disk-2", "s", "t", a, sizeof a),
      "job-1--disk-2.checkpoint");
  checkpoint_file_name (NULL, NULL, "s", "t", a, sizeof a);
  checkpoint_file_name (NULL, NULL, "s", "t", b, sizeof b);
  checkpoint_file_name (NULL, NULL, "s", "u", c, sizeof c);
  assert_string_equal (a, b);
  assert_string_not_equal (a, c);
  assert_int_equal (strncmp (a, "copy-", 5), 0);
  assert_int_equal (strlen (a), strlen ("copy-.checkpoint") + 16);
  checkpoint_file_name ("job-1", NULL, "s", "t", c, sizeof c);
  assert_int_equal (strncmp (c, "job-1--", 7), 0);
}

static void
test_default_dir (void **state)
{
  char buf[256];

  (void)state;
  assert_int_equal (setenv ("XDG_STATE_HOME", "/x/state", 1), 0);
  assert_int_equal (checkpoint_default_dir (buf, sizeof buf), 0);
  assert_string_equal (buf, "/x/state/cbtrack");
  /* A relative XDG_STATE_HOME is ignored, as the XDG spec says. */
  assert_int_equal (setenv ("XDG_STATE_HOME", "rel", 1), 0);
  assert_int_equal (setenv ("HOME", "/home/u", 1), 0);
  assert_int_equal (checkpoint_default_dir (buf, sizeof buf), 0);
  assert_true (strcmp (buf, "/home/u/.local/state/cbtrack") == 0 ||
               strcmp (buf, "/var/lib/cbtrack") == 0);
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_done_add_merges),
    cmocka_unit_test (test_done_add_out_of_order),
    cmocka_unit_test (test_done_bytes_and_cover),
    cmocka_unit_test (test_plan_hash),
    cmocka_unit_test (test_mismatch),
    cmocka_unit_test (test_encode_decode),
    cmocka_unit_test (test_decode_refuses),
    cmocka_unit_test (test_file_names),
    cmocka_unit_test (test_default_dir),
  };

  return cmocka_run_group_tests (tests, NULL, NULL);
}
