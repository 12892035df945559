/*
 * domain_name.c - domain name normalisation (libidn2) and LDH checks.
 */
#include <ctype.h>
#include <idn2.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gent/domain_name.h"
#include "gent/util.h"

static const char *
check_ldh(const char *name)
{
	size_t label = 0, labels = 1;
	const char *last = name;
	bool all_digits = true;

	if (strlen(name) > 253)
		return "is longer than 253 characters";
	for (const char *p = name;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0)
				return "has an empty label";
			if (p[-1] == '-' || p[-(long)label] == '-')
				return "has a label that starts or ends with '-'";
			if (*p == '\0')
				break;
			labels++;
			label = 0;
			last = p + 1;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return "may hold only letters, digits, '-' and '.'";
		if (++label > 63)
			return "has a label longer than 63 characters";
	}
	if (labels < 2)
		return "needs at least two labels (example.com)";
	for (const char *p = last; *p; p++)
		all_digits &= isdigit((unsigned char)*p) != 0;
	return all_digits ? "has a numeric top-level label" : NULL;
}

char *
domain_name_normalize(const char *input, const char **why_r)
{
	char *copy, *ascii = NULL;
	size_t n;
	int rc;

	if (!input || !*input || strlen(input) > 1024) {
		*why_r = "is empty or too long";
		return NULL;
	}
	copy = xstrdup(input);
	n = strlen(copy);
	if (n > 1 && copy[n - 1] == '.')
		copy[n - 1] = '\0';
	rc = idn2_to_ascii_8z(copy, &ascii, IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	free(copy);
	if (rc != IDN2_OK) {
		*why_r = "is not a valid internationalised domain name";
		return NULL;
	}
	copy = xstrdup(ascii);
	idn2_free(ascii);
	str_lower(copy);
	if ((*why_r = check_ldh(copy)) != NULL) {
		free(copy);
		return NULL;
	}
	return copy;
}
