/*
 * addr.c - the address syntax the API accepts (RFC 5321 dot-atom subset).
 */
#include <ctype.h>
#include <string.h>

#include "gent/addr.h"

static bool
local_ok(const char *s, size_t n)
{
	static const char specials[] = "!#$%&'*+-/=?^_`{|}~.";

	if (n == 0 || n > 64 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!isalnum(c) && !strchr(specials, c))
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return true;
}

static bool
domain_ok(const char *s)
{
	size_t label = 0, dots = 0;

	if (*s == '\0' || strlen(s) > 253)
		return false;
	for (const char *p = s;; p++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || p[-1] == '-' || *(p - label) == '-')
				return false;
			if (*p == '\0')
				break;
			dots++;
			label = 0;
			continue;
		}
		if (!isalnum((unsigned char)*p) && *p != '-')
			return false;
		if (++label > 63)
			return false;
	}
	return dots > 0;
}

bool
addr_is_valid(const char *addr)
{
	const char *at = strrchr(addr, '@');

	if (!at || strlen(addr) > 254)
		return false;
	return local_ok(addr, (size_t)(at - addr)) && domain_ok(at + 1);
}
