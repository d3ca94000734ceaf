/* cbtrack - job and disk identifiers (DESIGN §3). */
#ifndef CBTRACK_COMMON_IDS_H
#define CBTRACK_COMMON_IDS_H

#include <stdbool.h>

#define CBT_ID_MAX 128

/* True when ID is 1 to 128 characters of [A-Za-z0-9._:-] and is neither
 * "." nor "..".  Everything that names a job or a disk is checked with
 * this before it is used or stored.
 */
bool cbt_id_is_valid (const char *id);

#endif /* CBTRACK_COMMON_IDS_H */
