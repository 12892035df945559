/*
 * util.h - allocation that cannot fail, a growable byte buffer, assertions.
 *
 * Internal out-of-memory is not recoverable in a mail server that must not
 * half-write state, so x*alloc() abort instead of returning NULL.
 */
#ifndef GENT_UTIL_H
#define GENT_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#define GENT_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/** Abort with file and line when an invariant does not hold. */
#define gent_assert(expr) \
	((expr) ? (void)0 : gent__assert_fail(#expr, __FILE__, __LINE__))
_Noreturn void gent__assert_fail(const char *expr, const char *file, int line);

/** malloc that aborts on failure. */
void *xmalloc(size_t size);
/** calloc that aborts on failure. */
void *xcalloc(size_t n, size_t size);
/** realloc that aborts on failure. */
void *xrealloc(void *ptr, size_t size);
/** strdup that aborts on failure; NULL in gives NULL out. */
char *xstrdup(const char *s);
/** strndup that aborts on failure. */
char *xstrndup(const char *s, size_t n);
/** asprintf that aborts on failure. */
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** Free *p and set it to NULL. */
void xfree(void *pp);

/* A growable byte buffer; always NUL-terminated for convenience. */
struct buf {
	char	*data;	/* NULL until the first append */
	size_t	 len;	/* bytes used, excluding the terminating NUL */
	size_t	 cap;	/* bytes allocated */
};

/** Append n bytes. */
void buf_append(struct buf *b, const void *data, size_t n);
/** Append a NUL-terminated string. */
void buf_append_str(struct buf *b, const char *s);
/** Append formatted text. */
void buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/** Drop the first n bytes, keeping the rest. */
void buf_consume(struct buf *b, size_t n);
/** Release the memory and reset to empty. */
void buf_free(struct buf *b);

/** Case-insensitive ASCII comparison of n bytes; 0 when equal. */
int str_ncaseeq(const char *a, const char *b, size_t n);
/** Number of characters (UTF-8 code points) in s; limits the API
 *  states in characters are checked with this, not strlen. */
size_t str_chars(const char *s);

/** fsync a directory, so a file just created in it survives a crash;
 *  0 or -1 with errno set. */
int util_fsync_dir(const char *dir);
/** Lower-case an ASCII string in place. */
void str_lower(char *s);

#endif
