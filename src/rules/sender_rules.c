/*
 * sender_rules.c - allowlist/blocklist decisions for inbound and outbound
 * mail. Patterns are stored lower-case by the API; addresses are compared
 * case-insensitively (local parts are case-sensitive in theory, but no
 * real mail system relies on it and a block list must not be dodged by
 * changing case).
 */
#include <jansson.h>
#include <string.h>
#include <strings.h>

#include "gent/sender_rules.h"
#include "gent/util.h"

/*
 * addr in the form patterns are written in: a quoted local part that
 * needs no quoting unquoted ("bad"@x.test is bad@x.test) and a trailing
 * dot of the domain dropped, so neither dodges a rule. false when it
 * does not fit cap.
 */
static bool
canonical(const char *addr, char *out, size_t cap)
{
	const char *at = strrchr(addr, '@');
	size_t n = 0, dlen;

	if (!at)
		return false;
	if (addr[0] == '"' && at > addr + 1 && at[-1] == '"') {
		for (const char *p = addr + 1; p < at - 1 && n + 1 < cap; p++) {
			if (*p == '\\' && p + 1 < at - 1)
				p++;
			out[n++] = *p;
		}
	} else {
		for (const char *p = addr; p < at && n + 1 < cap; p++)
			out[n++] = *p;
	}
	dlen = strlen(at);
	if (dlen > 1 && at[dlen - 1] == '.')
		dlen--;
	if (n + dlen + 1 > cap)
		return false;
	memcpy(out + n, at, dlen);
	out[n + dlen] = '\0';
	return true;
}

bool
sender_rules_match(const char *pattern, const char *addr)
{
	char canon[1024];
	const char *at;

	if (!pattern || !addr || !*addr)
		return false;
	if (canonical(addr, canon, sizeof(canon)))
		addr = canon;
	if (pattern[0] == '@') {
		at = strrchr(addr, '@');
		return at && strcasecmp(at, pattern) == 0;
	}
	return strcasecmp(pattern, addr) == 0;
}

bool
sender_rules_allows(const char *mode, const char *patterns_json,
    const char *const *candidates, size_t n, const char **matched_r,
    char **matched_copy_r)
{
	json_t *patterns, *p;
	bool any = false;
	size_t i;

	*matched_r = NULL;
	*matched_copy_r = NULL;
	if (!mode || strcmp(mode, "open") == 0)
		return true;
	patterns = json_loads(patterns_json ? patterns_json : "[]", 0, NULL);
	json_array_foreach(patterns, i, p) {
		for (size_t k = 0; k < n && !any; k++)
			any = sender_rules_match(json_string_value(p), candidates[k]);
		if (any) {
			*matched_copy_r = xstrdup(json_string_value(p));
			*matched_r = *matched_copy_r;
			break;
		}
	}
	json_decref(patterns);
	return strcmp(mode, "blocklist") == 0 ? !any : any;
}
