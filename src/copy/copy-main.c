/* cbtrack copy - not implemented yet. */
#include <stdio.h>

#include "commands.h"

int
copy_main (int argc, char **argv)
{
  fprintf (stderr, "cbtrack copy: not implemented yet\n");
  return 1;
}
