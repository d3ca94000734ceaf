/* cbtrack copy - exact zero detection (I/O-free).
 *
 * Every byte is checked: a block is "zero" only if all its bytes are.
 * Sampling would lose data, so there is none.
 */
#ifndef CBTRACK_COPY_ZERO_H
#define CBTRACK_COPY_ZERO_H

#include <stdbool.h>
#include <stddef.h>

/* The granularity of zero detection inside data extents. */
#define ZERO_BLOCK_SIZE 4096

/* True if all LEN bytes at BUF are zero (LEN may be 0). */
bool zero_is_zero (const void *buf, size_t len);

/* Returns the end of the run that starts at POS in BUF[0..LEN): the run
 * is a maximal sequence of BLOCK-sized blocks (the last may be shorter)
 * that are all zero or all not zero; *RET_ZERO says which.  POS < LEN.
 */
size_t zero_run_end (const char *buf, size_t len, size_t pos, size_t block,
                     bool *ret_zero);

#endif /* CBTRACK_COPY_ZERO_H */
