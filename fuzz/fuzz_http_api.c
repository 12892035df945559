/*
 * fuzz_http_api.c - the whole HTTP request path without sockets: bytes go
 * through an llhttp parser wired the way src/http/http_conn.c wires it
 * (same callbacks, limits and pipelining via HPE_PAUSED), and every
 * complete request goes to api_handle() with a real struct app whose
 * store lives in a mkdtemp() directory. Routing, authentication, JSON
 * decoding, validation and the handlers all run; the answer is
 * serialised with http_response_serialize() like the server does.
 *
 * So that the fuzzer gets past authentication, the store is seeded once
 * with fixed credentials (see seed_principals(); the same strings are in
 * fuzz/http.dict and the corpus):
 *   owner session  FUZZ_SESSION        (user owner@fuzz.test / fuzz-password)
 *   agent token    FUZZ_TOKEN_FULL     scopes "full", inbox FUZZ_INBOX_ID
 *   agent token    FUZZ_TOKEN_READ     scopes "read", inbox FUZZ_INBOX_ID
 * Inputs that log out, revoke, pause or rotate these are undone after
 * the input (revive_principals()) so later inputs still authenticate.
 * Any other lookup simply misses.
 *
 * Oracle besides the sanitizers: every answer must be a well-formed
 * status, and a JSON answer (no content type set) must be valid JSON;
 * an error answer (>= 400) must carry the {"error": {...}} envelope.
 *
 * Per input: at most FUZZ_MAX_REQUESTS requests, bodies capped at
 * FUZZ_MAX_BODY; everything allocated for the input is freed before
 * returning so LeakSanitizer stays quiet. The store is opened on the
 * first call; its directory is removed at exit.
 *
 * Environment: GENT_FUZZ_DEBUG=1 prints "METHOD path -> status" per
 * request (useful with the replay driver to check what seeds reach);
 * GENT_FUZZ_LOG=debug|info|warn|error sets the server log level (error).
 */
#include <ftw.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <llhttp.h>

#include "gent/api.h"
#include "gent/app.h"
#include "gent/conf.h"
#include "gent/http.h"
#include "gent/ids.h"
#include "gent/log.h"
#include "gent/password.h"
#include "gent/store.h"
#include "gent/store_accounts.h"
#include "gent/store_tokens.h"
#include "gent/timefmt.h"
#include "gent/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_REQUESTS	8
#define FUZZ_MAX_BODY		(1024 * 1024)
#define FUZZ_MAX_HEADERS	100	/* MAX_HEADERS in http_conn.c */

/* Fixed credentials; keep in sync with fuzz/http.dict and the corpus. */
#define FUZZ_EMAIL		"owner@fuzz.test"
#define FUZZ_PASSWORD		"fuzz-password"
#define FUZZ_TENANT		"fuzz"
#define FUZZ_INBOX_ID		"inb_fuzz00000000000000000001"
#define FUZZ_INBOX_ADDR		"agent@fuzz.test"
#define FUZZ_SESSION_ID		"ses_fuzz00000000000000000001"
#define FUZZ_SESSION		"gses_fuzzsession0000000000000000000000000000000A"
#define FUZZ_TOKEN_FULL_ID	"tok_fuzz00000000000000000001"
#define FUZZ_TOKEN_FULL		"gent_fuzztokenfull00000000000000000000000000000A"
#define FUZZ_TOKEN_READ_ID	"tok_fuzz00000000000000000002"
#define FUZZ_TOKEN_READ		"gent_fuzztokenread00000000000000000000000000000A"

static struct conf fuzz_conf;
static struct app fuzz_app;
static char fuzz_dir[4096];
static char fuzz_user_id[64], fuzz_tenant_id[64];
static bool fuzz_seeded, fuzz_debug;
static uint64_t fuzz_request_seq;

/* ------------------------------------------------------------------ */
/* One-time setup: conf, store in a temp dir, seeded principals.      */

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/*
 * At exit only the directory goes; the store stays open. Joining its
 * writer threads from an atexit handler would leak their OpenSSL DRBGs
 * (libcrypto no longer frees thread state once exit() has begun), and
 * LeakSanitizer would report that. Open, the store is still reachable.
 */
static void
fuzz_teardown(void)
{
	if (fuzz_dir[0])
		nftw(fuzz_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static const char *
temp_base(void)
{
	const char *t = getenv("TMPDIR");
	struct stat st;

	if (t && *t)
		return t;
	/* tmpfs makes the store's fsyncs cheap, so inputs run faster. */
	if (stat("/dev/shm", &st) == 0 && S_ISDIR(st.st_mode) &&
	    access("/dev/shm", W_OK) == 0)
		return "/dev/shm";
	return "/tmp";
}

static void
must(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_http_api: setup failed: %s\n", what);
		abort();
	}
}

static int
write_sql(sqlite3 *conn, void *arg)
{
	char *errmsg = NULL;

	if (sqlite3_exec(conn, arg, NULL, NULL, &errmsg) != SQLITE_OK) {
		fprintf(stderr, "fuzz_http_api: %s\n", errmsg ? errmsg : "sql error");
		sqlite3_free(errmsg);
		return STORE_ERR_SQL;
	}
	return STORE_OK;
}

static void
seed_token(const char *id, const char *raw, const char *scopes_json)
{
	char digest[IDS_DIGEST_HEX_LEN + 1];
	struct token_row t = { 0 };
	struct store_audit a = { .tenant_id = fuzz_tenant_id,
	    .actor_type = "cli", .action = "token.created" };

	must(ids_is_secret(raw, "gent"), "token literal is not a valid secret");
	snprintf(t.id, sizeof(t.id), "%s", id);
	snprintf(t.tenant_id, sizeof(t.tenant_id), "%s", fuzz_tenant_id);
	snprintf(t.inbox_id, sizeof(t.inbox_id), "%s", FUZZ_INBOX_ID);
	snprintf(t.status, sizeof(t.status), "active");
	snprintf(t.created_by, sizeof(t.created_by), "%s", fuzz_user_id);
	t.label = (char *)"fuzz";
	t.scopes_json = (char *)scopes_json;
	t.requires_approval_json = (char *)"[]";
	t.created_at = t.updated_at = time_now_ms();
	ids_sha256_hex(raw, strlen(raw), digest);
	must(store_tokens_create(store_control(fuzz_app.store), &t, digest, &a)
	    == STORE_OK, "store_tokens_create");
}

static char *
scopes_json(const char *alias)
{
	json_t *a = json_array();
	scope_set set;
	char *text;

	must(scopes_expand(alias, &set), "scopes_expand");
	for (unsigned i = 0; i < scopes_count; i++)
		if (set & ((scope_set)1 << i))
			json_array_append_new(a, json_string(scopes_table[i].name));
	text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

static void
seed_principals(void)
{
	struct store_db *db = store_control(fuzz_app.store), *tdb;
	struct new_user u = { .tenant_name = FUZZ_TENANT, .email = FUZZ_EMAIL,
	    .role = "owner" };
	struct store_audit a = { .actor_type = "cli", .action = "user.created" };
	struct inbox_row inbox = { 0 };
	char digest[IDS_DIGEST_HEX_LEN + 1], *err = NULL, *full, *read;

	u.password_hash = password_hash(FUZZ_PASSWORD, (int)fuzz_conf.scrypt_log2n);
	must(u.password_hash != NULL, "password_hash");
	must(store_accounts_create_user(db, &u, &a) == STORE_OK,
	    "store_accounts_create_user");
	free((char *)u.password_hash);
	snprintf(fuzz_user_id, sizeof(fuzz_user_id), "%s", u.user_id_r);
	snprintf(fuzz_tenant_id, sizeof(fuzz_tenant_id), "%s", u.tenant_id_r);
	if (store_tenant(fuzz_app.store, fuzz_tenant_id, &tdb, &err) != 0) {
		fprintf(stderr, "fuzz_http_api: store_tenant: %s\n", err);
		abort();
	}

	snprintf(inbox.id, sizeof(inbox.id), FUZZ_INBOX_ID);
	snprintf(inbox.tenant_id, sizeof(inbox.tenant_id), "%s", fuzz_tenant_id);
	snprintf(inbox.address, sizeof(inbox.address), FUZZ_INBOX_ADDR);
	snprintf(inbox.status, sizeof(inbox.status), "active");
	inbox.created_at = inbox.updated_at = time_now_ms();
	a = (struct store_audit){ .tenant_id = fuzz_tenant_id,
	    .actor_type = "cli", .action = "inbox.created" };
	must(store_inboxes_create(db, &inbox, &a) == STORE_OK,
	    "store_inboxes_create");

	must(ids_is_secret(FUZZ_SESSION, "gses"),
	    "session literal is not a valid secret");
	ids_sha256_hex(FUZZ_SESSION, strlen(FUZZ_SESSION), digest);
	a = (struct store_audit){ .tenant_id = fuzz_tenant_id,
	    .actor_type = "user", .actor_id = fuzz_user_id,
	    .action = "session.created" };
	must(store_sessions_create(db, FUZZ_SESSION_ID, digest, fuzz_user_id,
	    fuzz_tenant_id, time_now_ms() + 365LL * 24 * 3600 * 1000, &a)
	    == STORE_OK, "store_sessions_create");

	full = scopes_json("full");
	read = scopes_json("read");
	seed_token(FUZZ_TOKEN_FULL_ID, FUZZ_TOKEN_FULL, full);
	seed_token(FUZZ_TOKEN_READ_ID, FUZZ_TOKEN_READ, read);
	free(full);
	free(read);
	fuzz_seeded = true;
}

/*
 * Undo what an input may have done to the seeded principals: logout,
 * token revoke/pause/rotate, sign-in lock-out. Plain SQL through the
 * writer, so it follows the schema in schema/control/.
 */
static void
revive_principals(void)
{
	char d_ses[IDS_DIGEST_HEX_LEN + 1], d_full[IDS_DIGEST_HEX_LEN + 1],
	    d_read[IDS_DIGEST_HEX_LEN + 1];
	char *sql;

	if (!fuzz_seeded)
		return;
	ids_sha256_hex(FUZZ_SESSION, strlen(FUZZ_SESSION), d_ses);
	ids_sha256_hex(FUZZ_TOKEN_FULL, strlen(FUZZ_TOKEN_FULL), d_full);
	ids_sha256_hex(FUZZ_TOKEN_READ, strlen(FUZZ_TOKEN_READ), d_read);
	sql = xasprintf(
	    "UPDATE sessions SET revoked_at = NULL WHERE digest = '%s';"
	    "UPDATE tokens SET digest = '%s', status = 'active', revoked_at = NULL"
	    " WHERE id = '" FUZZ_TOKEN_FULL_ID "';"
	    "UPDATE tokens SET digest = '%s', status = 'active', revoked_at = NULL"
	    " WHERE id = '" FUZZ_TOKEN_READ_ID "';"
	    "UPDATE users SET role = 'owner', failed_logins = 0, locked_until = 0"
	    " WHERE id = '%s';", d_ses, d_full, d_read, fuzz_user_id);
	if (store_db_write(store_control(fuzz_app.store), write_sql, sql) !=
	    STORE_OK) {
		fprintf(stderr, "fuzz_http_api: reviving the fuzz principals "
		    "failed; later inputs will not authenticate\n");
		fuzz_seeded = false;
	}
	free(sql);
}

static void
fuzz_setup(void)
{
	const char *lvl = getenv("GENT_FUZZ_LOG");
	char *err = NULL;
	int level;

	fuzz_debug = getenv("GENT_FUZZ_DEBUG") && *getenv("GENT_FUZZ_DEBUG") == '1';
	level = lvl ? log_level_parse(lvl) : -1;
	log_set_level(level >= 0 ? (enum log_level)level : LOG_ERROR);

	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/gentd-fuzz-XXXXXX", temp_base());
	must(mkdtemp(fuzz_dir) != NULL, "mkdtemp");
	conf_init(&fuzz_conf);
	free(fuzz_conf.data_dir);
	fuzz_conf.data_dir = xstrdup(fuzz_dir);
	fuzz_conf.scrypt_log2n = 10;
	if (store_open(&fuzz_app.store, fuzz_conf.data_dir, &err) != 0) {
		fprintf(stderr, "fuzz_http_api: store_open: %s\n", err);
		abort();
	}
	fuzz_app.conf = &fuzz_conf;
	atexit(fuzz_teardown);
	seed_principals();
}

/* ------------------------------------------------------------------ */
/* The parser, wired like src/http/http_conn.c.                       */

struct fuzz_conn {
	llhttp_t		 parser;
	struct http_request	*req;
	uint64_t		 head_bytes;
	uint64_t		 max_header, max_body;
	bool			 in_header_value;
	bool			 keep_alive;
	int			 pending_error;
};

static void
request_free(struct http_request **reqp)
{
	struct http_request *req = *reqp;

	if (!req)
		return;
	for (size_t i = 0; i < req->n_headers; i++) {
		free(req->headers[i].name);
		free(req->headers[i].value);
	}
	free(req->headers);
	free(req->path);
	free(req->query);
	free(req->body);
	free(req);
	*reqp = NULL;
}

static int
count_head(struct fuzz_conn *c, size_t n)
{
	c->head_bytes += n;
	if (c->head_bytes > c->max_header) {
		c->pending_error = 431;
		return HPE_USER;
	}
	return HPE_OK;
}

static void
append_field(char **field, const char *at, size_t len)
{
	size_t old = *field ? strlen(*field) : 0;

	*field = xrealloc(*field, old + len + 1);
	memcpy(*field + old, at, len);
	(*field)[old + len] = '\0';
}

static int
on_message_begin(llhttp_t *p)
{
	struct fuzz_conn *c = p->data;

	request_free(&c->req);
	c->req = xcalloc(1, sizeof(*c->req));
	c->head_bytes = 0;
	c->in_header_value = false;
	return HPE_OK;
}

static int
on_url(llhttp_t *p, const char *at, size_t len)
{
	struct fuzz_conn *c = p->data;

	if (count_head(c, len) != HPE_OK)
		return HPE_USER;
	append_field(&c->req->path, at, len);
	return HPE_OK;
}

static int
on_header_field(llhttp_t *p, const char *at, size_t len)
{
	struct fuzz_conn *c = p->data;
	struct http_request *r = c->req;

	if (count_head(c, len + 4) != HPE_OK)
		return HPE_USER;
	if (r->n_headers == 0 || c->in_header_value) {
		if (r->n_headers == FUZZ_MAX_HEADERS) {
			c->pending_error = 431;
			return HPE_USER;
		}
		r->headers = xrealloc(r->headers, (r->n_headers + 1) * sizeof(*r->headers));
		r->headers[r->n_headers++] = (struct http_header){ 0 };
		c->in_header_value = false;
	}
	append_field(&r->headers[r->n_headers - 1].name, at, len);
	return HPE_OK;
}

static int
on_header_value(llhttp_t *p, const char *at, size_t len)
{
	struct fuzz_conn *c = p->data;
	struct http_request *r = c->req;

	if (count_head(c, len) != HPE_OK)
		return HPE_USER;
	c->in_header_value = true;
	append_field(&r->headers[r->n_headers - 1].value, at, len);
	return HPE_OK;
}

static int
on_headers_complete(llhttp_t *p)
{
	struct fuzz_conn *c = p->data;
	struct http_request *r = c->req;
	char *q;

	for (size_t i = 0; i < r->n_headers; i++)
		if (!r->headers[i].value)
			r->headers[i].value = xstrdup("");
	if (!r->path)
		r->path = xstrdup("");
	if ((q = strchr(r->path, '?')) != NULL) {
		r->query = xstrdup(q + 1);
		*q = '\0';
	}
	r->method = llhttp_method_name((llhttp_method_t)p->method);
	if ((p->flags & F_CONTENT_LENGTH) && p->content_length > c->max_body) {
		c->pending_error = 413;
		return HPE_USER;
	}
	/* The server writes "100 Continue" here; there is no socket. */
	return HPE_OK;
}

static int
on_body(llhttp_t *p, const char *at, size_t len)
{
	struct fuzz_conn *c = p->data;
	struct http_request *r = c->req;

	if (r->body_len + len > c->max_body) {
		c->pending_error = 413;
		return HPE_USER;
	}
	r->body = xrealloc(r->body, r->body_len + len + 1);
	memcpy(r->body + r->body_len, at, len);
	r->body_len += len;
	r->body[r->body_len] = '\0';
	return HPE_OK;
}

static int
on_message_complete(llhttp_t *p)
{
	struct fuzz_conn *c = p->data;

	c->keep_alive = llhttp_should_keep_alive(p);
	return HPE_PAUSED;
}

static const llhttp_settings_t *
parser_settings(void)
{
	static llhttp_settings_t s;
	static bool ready;

	if (!ready) {
		llhttp_settings_init(&s);
		s.on_message_begin = on_message_begin;
		s.on_url = on_url;
		s.on_header_field = on_header_field;
		s.on_header_value = on_header_value;
		s.on_headers_complete = on_headers_complete;
		s.on_body = on_body;
		s.on_message_complete = on_message_complete;
		ready = true;
	}
	return &s;
}

/* ------------------------------------------------------------------ */
/* Answers: serialise like the server, check the oracle.              */

static _Noreturn void
oracle_fail(const struct http_request *req, const struct http_response *resp,
    const char *why)
{
	fprintf(stderr, "fuzz_http_api: ORACLE: %s %s -> %d: %s\n  body (%zu "
	    "bytes): %.*s\n", req ? req->method : "-", req ? req->path : "-",
	    resp->status, why, resp->body.len,
	    (int)(resp->body.len > 400 ? 400 : resp->body.len),
	    resp->body.data ? resp->body.data : "");
	abort();
}

static void
check_and_serialize(const struct http_request *req,
    const struct http_response *resp, const char *request_id, bool keep_alive)
{
	struct buf out = { 0 };

	if (resp->status < 100 || resp->status > 599)
		oracle_fail(req, resp, "status out of range");
	if (!resp->content_type && resp->body.len > 0) {
		json_error_t jerr;
		json_t *j = json_loadb(resp->body.data, resp->body.len, 0, &jerr);
		if (!j)
			oracle_fail(req, resp, "JSON answer is not valid JSON");
		if (resp->status >= 400 &&
		    !json_is_object(json_object_get(j, "error"))) {
			json_decref(j);
			oracle_fail(req, resp, "error answer lacks the error envelope");
		}
		json_decref(j);
	} else if (!resp->content_type && resp->status >= 400) {
		oracle_fail(req, resp, "error answer has an empty body");
	}
	if (resp->headers.len && (resp->headers.len < 2 ||
	    memcmp(resp->headers.data + resp->headers.len - 2, "\r\n", 2) != 0))
		oracle_fail(req, resp, "extra headers do not end in CRLF");
	http_response_serialize(resp, request_id, keep_alive,
	    req && strcmp(req->method, "HEAD") == 0, &out);
	if (out.len < 12 || memcmp(out.data, "HTTP/1.1 ", 9) != 0)
		oracle_fail(req, resp, "serialised answer has no status line");
	buf_free(&out);
}

/* Returns true when the request may have changed state. */
static bool
handle_request(struct fuzz_conn *c)
{
	struct http_request *req = c->req;
	struct http_response resp = { 0 };
	bool mutating;

	c->req = NULL;
	snprintf(req->request_id, sizeof(req->request_id), "req_%016" PRIx64,
	    ++fuzz_request_seq);
	snprintf(req->client_ip, sizeof(req->client_ip), "127.0.0.1");
	api_handle(req, &resp, &fuzz_app);
	if (fuzz_debug)
		fprintf(stderr, "fuzz_http_api: %s %s%s%s -> %d %.*s\n",
		    req->method, req->path, req->query ? "?" : "",
		    req->query ? req->query : "", resp.status,
		    (int)(resp.body.len > 160 ? 160 : resp.body.len),
		    resp.body.data ? resp.body.data : "");
	check_and_serialize(req, &resp, req->request_id, c->keep_alive);
	http_response_free(&resp);
	mutating = strcmp(req->method, "GET") != 0 && strcmp(req->method, "HEAD") != 0;
	request_free(&req);
	return mutating;
}

/* What process_input() answers when llhttp or a limit rejects input. */
static void
protocol_error(struct fuzz_conn *c)
{
	struct http_response resp = { 0 };
	const char *code = "bad_request", *message = "malformed HTTP request";

	resp.status = 400;
	if (c->pending_error == 413) {
		resp.status = 413;
		code = "payload_too_large";
		message = "request body exceeds the limit";
	} else if (c->pending_error == 431) {
		resp.status = 431;
		code = "headers_too_large";
		message = "request headers exceed the limit";
	}
	buf_printf(&resp.body, "{\"error\":{\"status\":%d,\"code\":\"%s\","
	    "\"message\":\"%s\"}}", resp.status, code, message);
	if (fuzz_debug)
		fprintf(stderr, "fuzz_http_api: parse error %s (%s) -> %d\n",
		    llhttp_errno_name(llhttp_get_errno(&c->parser)),
		    llhttp_get_error_reason(&c->parser) ?
		    llhttp_get_error_reason(&c->parser) : "callback", resp.status);
	check_and_serialize(NULL, &resp, NULL, false);
	http_response_free(&resp);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_conn c = { 0 };
	const char *p = (const char *)data;
	size_t left = size;
	bool mutated = false;
	int n = 0;

	if (!fuzz_app.store)
		fuzz_setup();
	c.max_header = fuzz_conf.http_max_header;
	c.max_body = fuzz_conf.http_max_body < FUZZ_MAX_BODY ?
	    fuzz_conf.http_max_body : FUZZ_MAX_BODY;
	llhttp_init(&c.parser, HTTP_REQUEST, parser_settings());
	c.parser.data = &c;

	while (left > 0 && n < FUZZ_MAX_REQUESTS) {
		llhttp_errno_t err = llhttp_execute(&c.parser, p, left);

		if (err == HPE_OK)
			break;		/* all consumed; the rest never arrives */
		if (err != HPE_PAUSED) {
			protocol_error(&c);
			break;		/* the server answers and closes */
		}
		const char *pos = llhttp_get_error_pos(&c.parser);
		left -= (size_t)(pos - p);
		p = pos;
		llhttp_resume(&c.parser);
		mutated |= handle_request(&c);
		n++;
		if (!c.keep_alive)
			break;		/* "Connection: close": the rest is dropped */
	}
	request_free(&c.req);
	if (mutated)
		revive_principals();
	return 0;
}
