/*
 * scopes.h - agent token scopes, their aliases and bit sets.
 *
 * Atomic scopes are "<area>:<verb>" strings (email:read, email:send, ...).
 * Aliases expand as the product guide says:
 *   read        every non-admin ":read" scope
 *   write, full every non-admin scope
 * Admin-only scopes can be granted only by a tenant owner or admin.
 */
#ifndef GENT_SCOPES_H
#define GENT_SCOPES_H

#include <stdbool.h>
#include <stdint.h>

typedef uint64_t scope_set;

struct scope_info {
	const char	*name;
	const char	*description;
	bool		 admin_only;
};

/** The atomic scopes in a fixed order; bit i of a scope_set is entry i. */
extern const struct scope_info scopes_table[];
extern const unsigned scopes_count;

/** Bit for an atomic scope name; 0 when unknown. */
scope_set scopes_bit(const char *name);
/**
 * Expand a scope or alias into a set. Returns false for an unknown name.
 * Aliases never include admin-only scopes.
 */
bool scopes_expand(const char *name, scope_set *set_r);
/** True when set contains the named atomic scope. */
bool scopes_has(scope_set set, const char *name);
/** True when any scope in the set is admin-only. */
bool scopes_any_admin(scope_set set);

#endif
