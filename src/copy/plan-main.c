/* cbtrack plan - not implemented yet. */
#include <stdio.h>

#include "commands.h"

int
plan_main (int argc, char **argv)
{
  fprintf (stderr, "cbtrack plan: not implemented yet\n");
  return 1;
}
