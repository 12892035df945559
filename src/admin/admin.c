/*
 * admin.c - operator commands that work on the store directly:
 *   create-user       a tenant (if new) and a user in it
 *   create-inbox      an inbox for a tenant (same store call as the API)
 *   approve-waitlist  issue a sign-up token for a waitlist entry
 *   verify-audit      check the audit chains (exit 0 intact, 1 not)
 * Each prints one JSON object on stdout. They go through the same store
 * functions as the API, so audit rows are written the same way.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "gent/addr.h"
#include "gent/admin.h"
#include "gent/api.h"
#include "gent/ids.h"
#include "gent/password.h"
#include "gent/store_accounts.h"
#include "gent/store_audit.h"
#include "gent/store_tokens.h"
#include "gent/timefmt.h"
#include "gent/util.h"

const char admin_usage[] =
    "  gentd admin create-user --config FILE --email E --password P\n"
    "        [--tenant NAME] [--role owner|admin|member]\n"
    "  gentd admin create-inbox --config FILE --tenant-id ID --address A\n"
    "        [--display-name NAME]\n"
    "  gentd admin approve-waitlist --config FILE --email E\n"
    "  gentd admin verify-audit --config FILE [--tenant-id ID]\n"
    "        check the audit hash chains (all tenants when no ID is given);\n"
    "        exit 0 when intact, 1 when not\n";

#define SIGNUP_TOKEN_TTL_MS (7LL * 24 * 3600 * 1000)

struct admin_args {
	const char *email, *password, *tenant, *role, *tenant_id, *address,
	    *display_name;
};

static void
print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);

	printf("%s\n", text);
	free(text);
	json_decref(j);
}

static int
fail(const char *msg)
{
	fprintf(stderr, "gentd admin: %s\n", msg);
	return 1;
}

static struct store_audit
cli_audit(const char *action)
{
	struct store_audit a = { .actor_type = "cli", .action = action };
	return a;
}

static int
create_user(struct store *store, const struct conf *conf, const struct admin_args *a)
{
	const char *role = a->role ? a->role : "owner";
	struct new_user u = { .tenant_name = a->tenant, .email = a->email, .role = role };
	struct store_audit audit = cli_audit("user.created");
	struct store_db *tdb;
	char *err = NULL;
	int rc;

	if (!a->email || !addr_is_valid(a->email))
		return fail("--email must be a valid address");
	if (!a->password || strlen(a->password) < PASSWORD_MIN_LEN)
		return fail("--password must be at least 8 characters");
	if (strcmp(role, "owner") && strcmp(role, "admin") && strcmp(role, "member"))
		return fail("--role must be owner, admin or member");
	if (!(u.password_hash = password_hash(a->password, (int)conf->scrypt_log2n)))
		return fail("password hashing failed");
	rc = store_accounts_create_user(store_control(store), &u, &audit);
	free((char *)u.password_hash);
	if (rc == STORE_ERR_CONFLICT)
		return fail("a user with that email already exists");
	if (rc != STORE_OK)
		return fail("store error (see log)");
	if (store_tenant(store, u.tenant_id_r, &tdb, &err) != 0) {
		fprintf(stderr, "gentd admin: %s\n", err);
		free(err);
		return 1;
	}
	print_json(json_pack("{s:s, s:s, s:s, s:s, s:b}", "tenant_id",
	    u.tenant_id_r, "user_id", u.user_id_r, "email", a->email, "role",
	    role, "tenant_created", u.tenant_created_r));
	return 0;
}

static int
create_inbox(struct store *store, const struct admin_args *a)
{
	struct inbox_row r = { 0 };
	struct store_audit audit = cli_audit("inbox.created");
	char *id;
	int rc;

	if (!a->tenant_id || !ids_is_id(a->tenant_id, "ten"))
		return fail("--tenant-id must be a tenant id (ten_...)");
	if (!a->address || !addr_is_valid(a->address))
		return fail("--address must be a valid address");
	id = ids_new("inb");
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.tenant_id, sizeof(r.tenant_id), "%s", a->tenant_id);
	snprintf(r.address, sizeof(r.address), "%s", a->address);
	str_lower(r.address);
	snprintf(r.status, sizeof(r.status), "active");
	r.display_name = (char *)a->display_name;
	r.created_at = r.updated_at = time_now_ms();
	audit.tenant_id = a->tenant_id;
	audit.target_type = "inbox";
	audit.target_id = id;
	rc = store_inboxes_create(store_control(store), &r, &audit);
	if (rc == STORE_ERR_CONFLICT)
		rc = fail("that address is already an inbox");
	else if (rc != STORE_OK)
		rc = fail("store error (unknown tenant?)");
	else
		print_json(json_pack("{s:s, s:s, s:s, s:s}", "inbox_id", id,
		    "tenant_id", a->tenant_id, "address", r.address, "status", "active"));
	free(id);
	return rc;
}

static int
approve_waitlist(struct store *store, const struct admin_args *a)
{
	char *raw, digest[IDS_DIGEST_HEX_LEN + 1];
	struct store_audit audit = cli_audit("waitlist.approved");
	int64_t expires = time_now_ms() + SIGNUP_TOKEN_TTL_MS;
	int rc;

	if (!a->email)
		return fail("--email is required");
	raw = ids_new_secret("gsup");
	ids_sha256_hex(raw, strlen(raw), digest);
	audit.target_type = "waitlist";
	audit.target_id = a->email;
	rc = store_waitlist_approve(store_control(store), a->email, digest,
	    expires, &audit);
	if (rc == STORE_ERR_NOT_FOUND)
		rc = fail("no pending waitlist entry for that email");
	else if (rc != STORE_OK)
		rc = fail("store error (see log)");
	else
		print_json(json_pack("{s:s, s:s, s:o}", "email", a->email,
		    "signup_token", raw, "expires_at", json_integer(expires / 1000)));
	free(raw);
	return rc;
}

/* control.db and every tenant's database: {ok, account, tenants: {id: check}}. */
static json_t *
verify_all(struct store *store)
{
	struct audit_check c;
	json_t *tenants;
	char **ids = NULL;
	int n = 0;
	bool ok;

	if (store_audit_verify(store_control(store), &c) != STORE_OK ||
	    store_tenants_ids(store_control(store), &ids, &n) != STORE_OK)
		return NULL;
	ok = c.ok;
	tenants = json_object();
	for (int i = 0; i < n; i++) {
		struct audit_check t;
		struct store_db *db;
		char *err = NULL;
		if (store_tenant(store, ids[i], &db, &err) != 0 ||
		    store_audit_verify(db, &t) != STORE_OK) {
			json_object_set_new(tenants, ids[i], json_pack("{s:b, s:s}",
			    "ok", 0, "problem", err ? err : "cannot read the database"));
			ok = false;
		} else {
			json_object_set_new(tenants, ids[i], api_audit_check_json(&t));
			ok = ok && t.ok;
		}
		free(err);
		free(ids[i]);
	}
	free(ids);
	return json_pack("{s:b, s:o, s:o}", "ok", ok, "account",
	    api_audit_check_json(&c), "tenants", tenants);
}

/* The answer of GET /v1/audit/verify/ for one tenant, or for all. */
static int
verify_audit(struct store *store, const struct admin_args *a)
{
	struct tenant_row t;
	struct store_db *db;
	json_t *answer;
	char *err = NULL;
	int rc;

	if (!a->tenant_id) {
		answer = verify_all(store);
	} else if (!ids_is_id(a->tenant_id, "ten")) {
		return fail("--tenant-id must be a tenant id (ten_...)");
	} else if ((rc = store_tenants_get(store_control(store), a->tenant_id,
	    &t)) != STORE_OK) {
		return fail(rc == STORE_ERR_NOT_FOUND ? "no such tenant" :
		    "store error (see log)");
	} else {
		tenant_row_free(&t);
		if (store_tenant(store, a->tenant_id, &db, &err) != 0) {
			fprintf(stderr, "gentd admin: %s\n", err);
			free(err);
			return 1;
		}
		answer = api_audit_verify_json(store, db);
	}
	if (!answer)
		return fail("store error (see log)");
	rc = json_is_true(json_object_get(answer, "ok")) ? 0 : 1;
	print_json(answer);
	return rc;
}

static int
parse_args(int argc, char **argv, struct admin_args *a)
{
	static const struct option opts[] = {
		{ "email", required_argument, NULL, 'e' },
		{ "password", required_argument, NULL, 'p' },
		{ "tenant", required_argument, NULL, 't' },
		{ "role", required_argument, NULL, 'r' },
		{ "tenant-id", required_argument, NULL, 'T' },
		{ "address", required_argument, NULL, 'a' },
		{ "display-name", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },	/* read by main */
		{ NULL, 0, NULL, 0 },
	};
	int c;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e': a->email = optarg; break;
		case 'p': a->password = optarg; break;
		case 't': a->tenant = optarg; break;
		case 'r': a->role = optarg; break;
		case 'T': a->tenant_id = optarg; break;
		case 'a': a->address = optarg; break;
		case 'd': a->display_name = optarg; break;
		case 'c': break;
		default: return -1;
		}
	}
	return optind == argc ? 0 : -1;
}

int
admin_main(const struct conf *conf, int argc, char **argv)
{
	struct admin_args a = { 0 };
	struct store *store;
	char *err = NULL;
	int rc;

	if (argc < 1 || parse_args(argc, argv, &a) != 0) {
		fprintf(stderr, "usage:\n%s", admin_usage);
		return 2;
	}
	if (store_open(&store, conf->data_dir, &err) != 0) {
		fprintf(stderr, "gentd admin: %s\n", err);
		free(err);
		return 1;
	}
	if (strcmp(argv[0], "create-user") == 0)
		rc = create_user(store, conf, &a);
	else if (strcmp(argv[0], "create-inbox") == 0)
		rc = create_inbox(store, &a);
	else if (strcmp(argv[0], "approve-waitlist") == 0)
		rc = approve_waitlist(store, &a);
	else if (strcmp(argv[0], "verify-audit") == 0)
		rc = verify_audit(store, &a);
	else {
		fprintf(stderr, "gentd admin: unknown command '%s'\nusage:\n%s",
		    argv[0], admin_usage);
		rc = 2;
	}
	store_close(&store);
	return rc;
}
