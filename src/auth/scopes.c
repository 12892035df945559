/*
 * scopes.c - the scope table and alias expansion.
 */
#include <string.h>

#include "gent/scopes.h"
#include "gent/util.h"

const struct scope_info scopes_table[] = {
	{ "email:read", "Read messages, threads and attachments", false },
	{ "email:send", "Send and reply to messages", false },
	{ "email:write", "Move, flag, archive and delete messages", false },
	{ "contacts:read", "Read contacts", false },
	{ "contacts:write", "Create, update and delete contacts", false },
	{ "calendar:read", "Read calendar events and tasks", false },
	{ "calendar:write", "Manage calendar events and tasks", false },
	{ "files:read", "Read files and create download links", false },
	{ "files:write", "Create and update files and folders", false },
	{ "labels:read", "Read labels", false },
	{ "labels:write", "Create, apply and remove labels", false },
	{ "alerts:read", "Read alert rules and deliveries", false },
	{ "alerts:write", "Manage alert rules", false },
	{ "context:read", "Read activity, timeline and context groups", false },
	{ "context:write", "Rename and merge context groups", false },
	{ "llm:read", "Read AI enrichment results", false },
	{ "llm:write", "Manage enrichment configuration", false },
	{ "workflows:read", "Read workflow, sender and forwarding rules", false },
	{ "workflows:write", "Manage workflow, sender and forwarding rules", false },
	{ "workflows:full", "Workflow writes with outbound targets", false },
	{ "billing:read", "Read caps and usage", false },
	{ "billing:write", "Change send and mailbox caps", true },
	{ "audit:read", "Read the audit log", true },
};
const unsigned scopes_count = GENT_ARRAY_LEN(scopes_table);

scope_set
scopes_bit(const char *name)
{
	for (unsigned i = 0; i < scopes_count; i++)
		if (strcmp(scopes_table[i].name, name) == 0)
			return (scope_set)1 << i;
	return 0;
}

static scope_set
non_admin_matching(const char *suffix)
{
	scope_set set = 0;

	for (unsigned i = 0; i < scopes_count; i++) {
		const char *colon = strchr(scopes_table[i].name, ':');
		if (scopes_table[i].admin_only)
			continue;
		if (!suffix || strcmp(colon + 1, suffix) == 0)
			set |= (scope_set)1 << i;
	}
	return set;
}

bool
scopes_expand(const char *name, scope_set *set_r)
{
	if (strcmp(name, "read") == 0)
		*set_r = non_admin_matching("read");
	else if (strcmp(name, "write") == 0 || strcmp(name, "full") == 0)
		*set_r = non_admin_matching(NULL);
	else
		*set_r = scopes_bit(name);
	return *set_r != 0;
}

bool
scopes_has(scope_set set, const char *name)
{
	scope_set bit = scopes_bit(name);

	return bit != 0 && (set & bit) == bit;
}

bool
scopes_any_admin(scope_set set)
{
	for (unsigned i = 0; i < scopes_count; i++)
		if (scopes_table[i].admin_only && (set & ((scope_set)1 << i)))
			return true;
	return false;
}
