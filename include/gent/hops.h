/*
 * hops.h - how many relays a message has passed through: the Received:
 * fields of its header section (RFC 5321 4.4 and 6.3).
 */
#ifndef GENT_HOPS_H
#define GENT_HOPS_H

#include <stddef.h>

/**
 * The number of Received: fields in the header section of raw (len bytes,
 * need not be NUL-terminated), counting no further than stop_at: a caller
 * asking "more than N?" passes N + 1, and the scan ends as soon as the
 * answer is known. Reads the header section only (up to the first empty
 * line), one pass, no allocation.
 */
size_t hops_count(const char *raw, size_t len, size_t stop_at);

#endif
