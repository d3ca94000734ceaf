/* cbtrack - writing Prometheus metrics (see metrics.h). */
#include <assert.h>
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "common/metrics.h"

void
cbt_metrics_header (FILE *fp, const char *name, const char *type,
                    const char *help)
{
  fprintf (fp, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void
cbt_metrics_label (FILE *fp, const char *value)
{
  for (; *value; value++) {
    if (*value == '\\' || *value == '"')
      fprintf (fp, "\\%c", *value);
    else if (*value == '\n')
      fputs ("\\n", fp);
    else
      fputc (*value, fp);
  }
}

void
cbt_metrics_build_info (FILE *fp, const char *component)
{
  cbt_metrics_header (fp, "cbtrack_build_info", "gauge",
                      "Always 1; the labels say which cbtrack this is.");
  fprintf (fp, "cbtrack_build_info{version=\"%s\",component=\"%s\"} 1\n",
           CBTRACK_VERSION, component);
}

/* The number of open file descriptors, or -1. */
static long
metrics_open_fds (void)
{
  DIR *dir = opendir ("/proc/self/fd");
  struct dirent *e;
  long n = 0;

  if (dir == NULL)
    return -1;
  while ((e = readdir (dir)) != NULL)
    if (e->d_name[0] != '.')
      n++;
  closedir (dir);
  return n - 1; /* the directory's own descriptor */
}

void
cbt_metrics_process (FILE *fp)
{
  char buf[1024], *p;
  unsigned long long utime, stime, starttime, vsize;
  long long rss;
  long ticks = sysconf (_SC_CLK_TCK), page = sysconf (_SC_PAGESIZE), fds;
  struct rlimit rl;
  struct timespec boot_ref, now;
  FILE *stat = fopen ("/proc/self/stat", "re");
  size_t len = 0;

  if (stat != NULL) {
    len = fread (buf, 1, sizeof buf - 1, stat);
    fclose (stat);
  }
  buf[len] = '\0';
  /* Fields after the command, which is in parentheses and may hold
   * spaces: state is field 3, utime 14, stime 15, starttime 22, vsize 23,
   * rss 24.
   */
  p = strrchr (buf, ')');
  if (p != NULL && ticks > 0 && page > 0 &&
      sscanf (p + 2,
              "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %*d "
              "%*d %*d %*d %*d %*d %llu %llu %lld",
              &utime, &stime, &starttime, &vsize, &rss) == 5) {
    cbt_metrics_header (fp, "process_cpu_seconds_total", "counter",
                        "User and system CPU time spent, in seconds.");
    fprintf (fp, "process_cpu_seconds_total %.2f\n",
             (double)(utime + stime) / (double)ticks);
    /* starttime counts from boot; the wall clock of boot is now minus
     * the time since boot (CLOCK_BOOTTIME).
     */
    if (clock_gettime (CLOCK_BOOTTIME, &boot_ref) == 0 &&
        clock_gettime (CLOCK_REALTIME, &now) == 0) {
      double boot = (double)now.tv_sec + (double)now.tv_nsec / 1e9 -
                    ((double)boot_ref.tv_sec + (double)boot_ref.tv_nsec / 1e9);

      cbt_metrics_header (fp, "process_start_time_seconds", "gauge",
                          "Start time of the process since the epoch, in "
                          "seconds.");
      fprintf (fp, "process_start_time_seconds %.2f\n",
               boot + (double)starttime / (double)ticks);
    }
    cbt_metrics_header (fp, "process_virtual_memory_bytes", "gauge",
                        "Virtual memory size in bytes.");
    fprintf (fp, "process_virtual_memory_bytes %llu\n", vsize);
    cbt_metrics_header (fp, "process_resident_memory_bytes", "gauge",
                        "Resident memory size in bytes.");
    fprintf (fp, "process_resident_memory_bytes %lld\n", rss * page);
  }
  fds = metrics_open_fds ();
  if (fds >= 0) {
    cbt_metrics_header (fp, "process_open_fds", "gauge",
                        "Number of open file descriptors.");
    fprintf (fp, "process_open_fds %ld\n", fds);
  }
  if (getrlimit (RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
    cbt_metrics_header (fp, "process_max_fds", "gauge",
                        "Maximum number of open file descriptors.");
    fprintf (fp, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
  }
}

void
cbt_histogram_observe (struct cbt_histogram *h, double value)
{
  size_t i;

  assert (h->nr_bounds <= CBT_HISTOGRAM_MAX_BUCKETS);
  for (i = 0; i < h->nr_bounds; i++)
    if (value <= h->bounds[i])
      h->counts[i]++;
  h->count++;
  h->sum += value;
}

void
cbt_histogram_write (FILE *fp, const char *name, const struct cbt_histogram *h)
{
  size_t i;

  for (i = 0; i < h->nr_bounds; i++)
    fprintf (fp, "%s_bucket{le=\"%g\"} %" PRIu64 "\n", name, h->bounds[i],
             h->counts[i]);
  fprintf (fp, "%s_bucket{le=\"+Inf\"} %" PRIu64 "\n", name, h->count);
  fprintf (fp, "%s_sum %.6f\n", name, h->sum);
  fprintf (fp, "%s_count %" PRIu64 "\n", name, h->count);
}
