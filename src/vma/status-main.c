/* cbtrack status - not implemented yet. */
#include <stdio.h>

#include "commands.h"

int
status_main (int argc, char **argv)
{
  fprintf (stderr, "cbtrack status: not implemented yet\n");
  return 1;
}
