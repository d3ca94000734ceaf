/* cbtrack - the subcommands.
 *
 * Each subcommand is one process with one job.  Its entry point takes the
 * arguments after the subcommand name (argv[0] is the subcommand) and
 * returns the process exit status: 0 success, 1 failure, 2 usage error.
 */
#ifndef CBTRACK_COMMANDS_H
#define CBTRACK_COMMANDS_H

int copy_main (int argc, char **argv);    /* src/copy/copy-main.c */
int plan_main (int argc, char **argv);    /* src/copy/plan-main.c */
int status_main (int argc, char **argv);  /* src/vma/status-main.c */
int vma_main (int argc, char **argv);     /* src/vma/vma-main.c */
int oma_main (int argc, char **argv);     /* src/oma/oma-main.c */
int vsphere_main (int argc, char **argv); /* src/vsphere/vsphere-main.c */

#endif /* CBTRACK_COMMANDS_H */
