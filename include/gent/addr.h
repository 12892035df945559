/*
 * addr.h - email address checks for API input (not the SMTP parser).
 */
#ifndef GENT_ADDR_H
#define GENT_ADDR_H

#include <stdbool.h>

/**
 * True for a plausible "local@domain": at most 254 bytes, local part 1-64
 * bytes of printable ASCII without spaces, quotes or angle brackets, and a
 * domain of dot-separated LDH labels (1-63 bytes) with at least one dot.
 */
bool addr_is_valid(const char *addr);

#endif
