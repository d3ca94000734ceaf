/* cbtrack - bearer tokens read from files (--token-file, --vma-token-file).
 */
#ifndef CBTRACK_COMMON_TOKEN_H
#define CBTRACK_COMMON_TOKEN_H

#define CBT_TOKEN_MAX 4096

/* Reads the token in PATH: its first line, without surrounding blanks,
 * which must be one word of printable characters of at most
 * CBT_TOKEN_MAX bytes.  Returns a malloc'd string, or NULL with an error
 * recorded (missing or unreadable file, empty, too long, blanks or control
 * characters inside).
 */
char *cbt_read_token (const char *path);

#endif /* CBTRACK_COMMON_TOKEN_H */
