/* cbtrack - type-safe growable arrays.
 *
 * DEFINE_VECTOR_TYPE (name, type) declares
 *
 *   typedef struct { type *ptr; size_t len; size_t cap; } name;
 *
 * (a value type, zero-initialised with `name v = empty_vector;`) and
 * static inline functions:
 *
 *   int  name_reserve (name *v, size_t n)  make room for n more; -1/ENOMEM
 *   int  name_append (name *v, type elem)  add at the end; -1/ENOMEM
 *   void name_reset (name *v)              free storage, back to empty
 *
 * All growth in the project goes through these, never ad-hoc realloc.
 */
#ifndef CBTRACK_COMMON_VECTOR_H
#define CBTRACK_COMMON_VECTOR_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

#define empty_vector                                                          \
  {                                                                           \
    .ptr = NULL, .len = 0, .cap = 0                                           \
  }

/* Grows the storage behind *PTR so that it can hold at least LEN + N
 * elements of ITEMSIZE bytes.  Returns 0, or -1 with errno = ENOMEM and
 * the vector unchanged.
 */
static inline int
generic_vector_reserve (void **ptr, size_t len, size_t *cap, size_t n,
                        size_t itemsize)
{
  size_t want, newcap;
  void *p;

  if (n > SIZE_MAX / itemsize - len) {
    errno = ENOMEM;
    return -1;
  }
  want = len + n;
  if (want <= *cap)
    return 0;
  newcap = *cap ? *cap : 8;
  while (newcap < want)
    newcap = newcap > SIZE_MAX / 2 / itemsize ? want : newcap * 2;
  p = realloc (*ptr, newcap * itemsize);
  if (p == NULL)
    return -1;
  *ptr = p;
  *cap = newcap;
  return 0;
}

#define DEFINE_VECTOR_TYPE(name, type)                                        \
  typedef struct {                                                            \
    type *ptr;                                                                \
    size_t len;                                                               \
    size_t cap;                                                               \
  } name;                                                                     \
                                                                              \
  static inline                                                               \
      __attribute__ ((__unused__)) int name##_reserve (name *v, size_t n)     \
  {                                                                           \
    return generic_vector_reserve ((void **)&v->ptr, v->len, &v->cap, n,      \
                                   sizeof (type));                            \
  }                                                                           \
                                                                              \
  static inline                                                               \
      __attribute__ ((__unused__)) int name##_append (name *v, type elem)     \
  {                                                                           \
    if (name##_reserve (v, 1) == -1)                                          \
      return -1;                                                              \
    v->ptr[v->len++] = elem;                                                  \
    return 0;                                                                 \
  }                                                                           \
                                                                              \
  static inline __attribute__ ((__unused__)) void name##_reset (name *v)      \
  {                                                                           \
    free (v->ptr);                                                            \
    v->ptr = NULL;                                                            \
    v->len = v->cap = 0;                                                      \
  }

#endif /* CBTRACK_COMMON_VECTOR_H */
