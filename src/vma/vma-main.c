/* cbtrack vma - not implemented yet. */
#include <stdio.h>

#include "commands.h"

int
vma_main (int argc, char **argv)
{
  fprintf (stderr, "cbtrack vma: not implemented yet\n");
  return 1;
}
