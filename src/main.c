/* cbtrack - command dispatcher.
 *
 * One executable, several subcommands; this file only finds the right one.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

struct command {
  const char *name;
  int (*main) (int argc, char **argv);
  const char *summary;
};

static const struct command commands[] = {
  { "copy", copy_main,
    "copy a disk (full or incremental) with true progress" },
  { "plan", plan_main, "show what a copy would move, from the source's maps" },
  { "vma", vma_main, "run the source-side progress service" },
  { "oma", oma_main, "run the destination-side poller, database and web UI" },
  { "status", status_main, "show jobs held by a progress service" },
  { "vsphere", vsphere_main,
    "VMware: list disks, make snapshots, read changed areas" },
};

static void
usage (FILE *fp)
{
  size_t i;

  fprintf (fp, "Usage: cbtrack COMMAND [OPTIONS] ...\n"
               "       cbtrack COMMAND --help\n"
               "       cbtrack --version\n"
               "\n"
               "Commands:\n");
  for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
    fprintf (fp, "  %-8s %s\n", commands[i].name, commands[i].summary);
  fprintf (fp, "\nSee man cbtrack and man cbtrack-COMMAND (or docs/).\n");
}

int
main (int argc, char **argv)
{
  size_t i;

  if (argc < 2) {
    usage (stderr);
    return 2;
  }
  if (strcmp (argv[1], "--help") == 0 || strcmp (argv[1], "-h") == 0 ||
      strcmp (argv[1], "help") == 0) {
    usage (stdout);
    return 0;
  }
  if (strcmp (argv[1], "--version") == 0 || strcmp (argv[1], "-V") == 0) {
    printf ("cbtrack %s\n", CBTRACK_VERSION);
    return 0;
  }
  for (i = 0; i < sizeof commands / sizeof commands[0]; i++)
    if (strcmp (argv[1], commands[i].name) == 0)
      return commands[i].main (argc - 1, argv + 1);

  fprintf (stderr, "cbtrack: unknown command '%s'\n", argv[1]);
  usage (stderr);
  return 2;
}
