/* cbtrack - reading small files whole (manifests, changed-area lists). */
#ifndef CBTRACK_COMMON_READFILE_H
#define CBTRACK_COMMON_READFILE_H

#include <stddef.h>

/* Reads the regular FILE (at most 1 GiB) into a malloc'd, NUL-terminated
 * buffer.  Returns 0 and sets *RET_TEXT and *RET_LEN, or -1 with an error
 * recorded and both untouched.
 */
int cbt_read_file (const char *file, char **ret_text, size_t *ret_len);

#endif /* CBTRACK_COMMON_READFILE_H */
