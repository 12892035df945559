/*
 * domain_name.h - validate and normalise domain names typed by users.
 */
#ifndef GENT_DOMAIN_NAME_H
#define GENT_DOMAIN_NAME_H

/**
 * Normalise a domain to its lower-case A-label form (IDNA 2008 via
 * libidn2, so "Bücher.Example" becomes "xn--bcher-kva.example"), drop one
 * trailing dot, and check the DNS rules: at most 253 bytes, at least two
 * labels, labels of 1-63 letters, digits and inner hyphens, a top-level
 * label that is not all digits. Returns a new string, or NULL with a
 * static reason in *why_r.
 */
char *domain_name_normalize(const char *input, const char **why_r);

#endif
