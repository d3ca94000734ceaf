/* cbtrack oma - not implemented yet. */
#include <stdio.h>

#include "commands.h"

int
oma_main (int argc, char **argv)
{
  fprintf (stderr, "cbtrack oma: not implemented yet\n");
  return 1;
}
