/*
 * webhook_http.c - webhook POSTs with libcurl's multi interface on the
 * libuv loop.
 *
 * curl says which sockets to watch (CURLMOPT_SOCKETFUNCTION); each gets a
 * uv_poll_t whose events go back through curl_multi_socket_action(). One
 * uv_timer carries curl's timeout (CURLMOPT_TIMERFUNCTION). Name lookups
 * use curl's threaded resolver, so nothing here blocks the loop.
 *
 * A post becomes a job: queued, then active (an easy handle in the multi,
 * at most WEBHOOK_HTTP_MAX_ACTIVE at once), then finished. Completions are
 * called from the poll/timer callbacks after curl has returned, or from
 * the "kick" timer for jobs that end before reaching curl (URL refused),
 * so a callback never runs inside webhook_http_post() or inside curl, and
 * it may post again or stop the engine. webhook_http_stop() cancels every
 * job; the struct is freed in the last close callback.
 *
 * SSRF: the URL is checked by webhook_url_check(), and every address curl
 * is about to connect to passes through open_socket(), which refuses the
 * ones webhook_addr_is_private() flags unless allow_private. Redirects
 * are not followed, only http and https are allowed, proxy environment
 * variables are ignored (CURLOPT_PROXY ""), and responses are not
 * decompressed. Neither the URL (it may carry a token) nor the body is
 * logged; log lines name the job by its number.
 */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "gent/log.h"
#include "gent/util.h"
#include "gent/webhook.h"
#include "gent/webhook_url.h"

struct webhook_sock {
	uv_poll_t		 poll;
	curl_socket_t		 fd;
	struct webhook_http	*h;
	struct webhook_sock	*prev, *next;	/* h->socks */
};

struct webhook_job {
	uint64_t		 id;		/* log key */
	struct webhook_http	*h;
	CURL			*easy;		/* NULL unless active */
	struct curl_slist	*hdrs;
	struct curl_slist	*resolve;	/* this request's pinned address */
	char			*url;
	char			*body;
	size_t			 body_len;
	uint64_t		 timeout_ms;
	webhook_done_cb		 done;
	void			*arg;
	uint64_t		 posted;	/* uv_now() at post */
	size_t			 resp_len;	/* response bytes read */
	bool			 resp_capped;	/* stopped reading at the cap */
	bool			 refused;	/* open_socket() said no */
	char			 refused_ip[64];
	struct webhook_result	 res;		/* set when finished early */
	char			 errbuf[CURL_ERROR_SIZE];
	struct webhook_job	*prev, *next;	/* in exactly one list */
};

struct webhook_list {
	struct webhook_job	*head, *tail;
	size_t			 n;
};

struct webhook_http {
	uv_loop_t		*loop;
	CURLM			*multi;		/* NULL once stopped */
	uv_timer_t		 timer;		/* curl's timeout */
	uv_timer_t		 kick;		/* runs early completions */
	bool			 allow_private;
	bool			 stopping;
	int			 handles_open;
	uint64_t		 next_id;
	struct webhook_list	 queued;	/* waiting for a slot */
	struct webhook_list	 active;	/* easy handle in the multi */
	struct webhook_list	 finished;	/* result set, callback due */
	struct webhook_sock	*socks;
	struct curl_slist	*resolve;	/* tests: CURLOPT_RESOLVE */
};

static void check_multi_info(struct webhook_http *h);
static void start_queued(struct webhook_http *h);
static void on_kick(uv_timer_t *t);

const char *
webhook_status_name(enum webhook_status status)
{
	switch (status) {
	case WEBHOOK_DELIVERED: return "delivered";
	case WEBHOOK_HTTP_ERROR: return "http-error";
	case WEBHOOK_NETWORK_ERROR: return "network-error";
	case WEBHOOK_REFUSED: return "refused";
	case WEBHOOK_CANCELLED: return "cancelled";
	}
	return "unknown";
}

/* --- job lists --- */

static void
list_push(struct webhook_list *l, struct webhook_job *j)
{
	j->next = NULL;
	j->prev = l->tail;
	if (l->tail)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
}

static void
list_unlink(struct webhook_list *l, struct webhook_job *j)
{
	if (j->prev)
		j->prev->next = j->next;
	else
		l->head = j->next;
	if (j->next)
		j->next->prev = j->prev;
	else
		l->tail = j->prev;
	j->prev = j->next = NULL;
	l->n--;
}

static struct webhook_job *
list_pop(struct webhook_list *l)
{
	struct webhook_job *j = l->head;

	if (j)
		list_unlink(l, j);
	return j;
}

static void
job_free(struct webhook_job **jp)
{
	struct webhook_job *j = *jp;

	if (!j)
		return;
	if (j->easy)
		curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->hdrs);
	curl_slist_free_all(j->resolve);
	free(j->url);
	free(j->body);
	free(j);
	*jp = NULL;
}

/* Run the callback once and free the job; j is in no list. */
static void
job_complete(struct webhook_job *j)
{
	j->res.elapsed_ms = uv_now(j->h->loop) - j->posted;
	log_debug("webhook", NULL, "job %" PRIu64 " %s code=%ld ip=%s ms=%"
	    PRIu64 "%s%s", j->id, webhook_status_name(j->res.status),
	    j->res.http_code,
	    j->res.connected_ip[0] ? j->res.connected_ip : "-",
	    j->res.elapsed_ms, j->res.error[0] ? " error=" : "", j->res.error);
	j->done(&j->res, j->arg);
	job_free(&j);
}

/* Finish a job that never reached (or was taken out of) curl: the
 * callback runs from the kick timer, never from the caller's stack. */
static void
job_finish_later(struct webhook_job *j, enum webhook_status st,
    const char *error)
{
	j->res.status = st;
	snprintf(j->res.error, sizeof(j->res.error), "%s", error);
	list_push(&j->h->finished, j);
	if (!j->h->stopping)
		uv_timer_start(&j->h->kick, on_kick, 0, 0);
}

/* --- curl socket and timer plumbing --- */

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct webhook_sock *s = p->data;
	struct webhook_http *h = s->h;
	int flags = 0, running;

	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	/* s may be closed by the call (CURL_POLL_REMOVE); do not touch it. */
	curl_multi_socket_action(h->multi, s->fd, flags, &running);
	check_multi_info(h);
}

static void
on_sock_closed(uv_handle_t *handle)
{
	free(handle->data);
}

static void
sock_close(struct webhook_http *h, struct webhook_sock *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		h->socks = s->next;
	if (s->next)
		s->next->prev = s->prev;
	curl_multi_assign(h->multi, s->fd, NULL);
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_sock_closed);
}

static int
on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct webhook_http *h = userp;
	struct webhook_sock *s = socketp;
	int events = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s)
			sock_close(h, s);
		return 0;
	}
	if (h->stopping)
		return 0;
	if (!s) {
		s = xcalloc(1, sizeof(*s));
		if (uv_poll_init_socket(h->loop, &s->poll, fd) != 0) {
			free(s);
			return -1;
		}
		s->fd = fd;
		s->h = h;
		s->poll.data = s;
		s->next = h->socks;
		if (h->socks)
			h->socks->prev = s;
		h->socks = s;
		curl_multi_assign(h->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

static void
on_curl_timeout(uv_timer_t *t)
{
	struct webhook_http *h = t->data;
	int running;

	curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_multi_info(h);
}

/* curl wants socket_action(TIMEOUT) after timeout_ms; -1 cancels. A 0
 * still goes through the loop: curl must not be re-entered from here. */
static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct webhook_http *h = userp;

	(void)multi;
	if (h->stopping)
		return 0;
	if (timeout_ms < 0)
		uv_timer_stop(&h->timer);
	else
		uv_timer_start(&h->timer, on_curl_timeout,
		    (uint64_t)timeout_ms, 0);
	return 0;
}

/* --- per-transfer callbacks --- */

static bool
addr_text(const struct sockaddr *sa, char *out, size_t cap)
{
	if (sa->sa_family == AF_INET)
		return inet_ntop(AF_INET,
		    &((const struct sockaddr_in *)(const void *)sa)->sin_addr,
		    out, (socklen_t)cap) != NULL;
	if (sa->sa_family == AF_INET6)
		return inet_ntop(AF_INET6,
		    &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr,
		    out, (socklen_t)cap) != NULL;
	return false;
}

/* Every connection attempt comes here with the address curl resolved, so
 * the policy sees what is actually dialled, not what the URL says. */
static curl_socket_t
open_socket(void *clientp, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct webhook_job *j = clientp;
	char ip[64];

	if (purpose != CURLSOCKTYPE_IPCXN ||
	    !addr_text(&a->addr, ip, sizeof(ip))) {
		j->refused = true;
		snprintf(j->refused_ip, sizeof(j->refused_ip), "non-IP");
		return CURL_SOCKET_BAD;
	}
	if (!j->h->allow_private && webhook_addr_is_private(ip)) {
		j->refused = true;
		snprintf(j->refused_ip, sizeof(j->refused_ip), "%s", ip);
		log_info("webhook", NULL, "job %" PRIu64 " refused connect to "
		    "private address %s", j->id, ip);
		return CURL_SOCKET_BAD;
	}
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* The response is read to learn that it ended, never kept. Past the cap
 * the transfer is aborted (CURLE_WRITE_ERROR); the status line is known
 * by then, so the result still counts. */
static size_t
on_body(char *data, size_t size, size_t n, void *arg)
{
	struct webhook_job *j = arg;
	size_t len = size * n;

	(void)data;
	if (len > WEBHOOK_HTTP_RESPONSE_MAX - j->resp_len) {
		j->resp_capped = true;
		return 0;
	}
	j->resp_len += len;
	return len;
}

/* --- transfers --- */

static void
result_from_curl(struct webhook_job *j, CURLcode rc)
{
	struct webhook_result *r = &j->res;
	char *ip = NULL;

	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &r->http_code);
	if (curl_easy_getinfo(j->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
	    ip && (r->http_code > 0 || rc == CURLE_OK))
		snprintf(r->connected_ip, sizeof(r->connected_ip), "%s", ip);
	if (rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && j->resp_capped &&
	    r->http_code > 0)) {
		r->status = r->http_code >= 200 && r->http_code <= 299 ?
		    WEBHOOK_DELIVERED : WEBHOOK_HTTP_ERROR;
		if (r->status != WEBHOOK_DELIVERED)
			snprintf(r->error, sizeof(r->error), "HTTP status %ld",
			    r->http_code);
	} else if (j->refused && r->http_code == 0) {
		r->status = WEBHOOK_REFUSED;
		snprintf(r->error, sizeof(r->error), "connect to %s refused: "
		    "loopback, private or reserved address", j->refused_ip);
	} else {
		r->status = WEBHOOK_NETWORK_ERROR;
		snprintf(r->error, sizeof(r->error), "%s", j->errbuf[0] ?
		    j->errbuf : curl_easy_strerror(rc));
	}
}

static void
check_multi_info(struct webhook_http *h)
{
	CURLMsg *msg;
	int left;

	while (!h->stopping && (msg = curl_multi_info_read(h->multi, &left))) {
		struct webhook_job *j = NULL;
		CURLcode rc = msg->data.result;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE,
		    (char **)&j);
		gent_assert(j != NULL && j->easy == msg->easy_handle);
		result_from_curl(j, rc);
		list_unlink(&h->active, j);
		curl_multi_remove_handle(h->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
		job_complete(j);	/* may post, or stop the engine */
	}
	start_queued(h);
}

static bool
easy_setup(struct webhook_job *j)
{
	CURL *e = j->easy;
	bool ok = true;

#define SET(opt, val) ok = ok && curl_easy_setopt(e, opt, val) == CURLE_OK
	SET(CURLOPT_PRIVATE, (void *)j);
	SET(CURLOPT_ERRORBUFFER, j->errbuf);
	SET(CURLOPT_URL, j->url);
	SET(CURLOPT_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	SET(CURLOPT_FOLLOWLOCATION, 0L);
	SET(CURLOPT_PROXY, "");		/* ignore *_proxy in the environment */
	SET(CURLOPT_NOSIGNAL, 1L);
	SET(CURLOPT_USERAGENT, "gentd-webhooks");
	SET(CURLOPT_HTTPHEADER, j->hdrs);
	SET(CURLOPT_POSTFIELDS, j->body);
	SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)j->body_len);
	SET(CURLOPT_TIMEOUT_MS, (long)j->timeout_ms);
	SET(CURLOPT_WRITEFUNCTION, on_body);
	SET(CURLOPT_WRITEDATA, (void *)j);
	SET(CURLOPT_OPENSOCKETFUNCTION, open_socket);
	SET(CURLOPT_OPENSOCKETDATA, (void *)j);
	if (j->resolve || j->h->resolve)
		SET(CURLOPT_RESOLVE, j->resolve ? j->resolve : j->h->resolve);
#undef SET
	return ok;
}

static void
job_start(struct webhook_job *j)
{
	struct webhook_http *h = j->h;

	if (!(j->easy = curl_easy_init()) || !easy_setup(j)) {
		job_finish_later(j, WEBHOOK_NETWORK_ERROR, "curl setup failed");
		return;
	}
	list_push(&h->active, j);
	if (curl_multi_add_handle(h->multi, j->easy) != CURLM_OK) {
		list_unlink(&h->active, j);
		job_finish_later(j, WEBHOOK_NETWORK_ERROR, "curl multi refused "
		    "the transfer");
	}
}

static void
start_queued(struct webhook_http *h)
{
	while (!h->stopping && h->active.n < WEBHOOK_HTTP_MAX_ACTIVE &&
	    h->queued.head)
		job_start(list_pop(&h->queued));
}

/* Early completions, then any queued job a slot is free for. */
static void
on_kick(uv_timer_t *t)
{
	struct webhook_http *h = t->data;
	struct webhook_job *j;

	while (!h->stopping && (j = list_pop(&h->finished)))
		job_complete(j);
	start_queued(h);
}

/* --- requests --- */

static bool
header_ok(const char *line)
{
	size_t n = strnlen(line, WEBHOOK_HTTP_HEADER_MAX + 1);
	const char *colon = strchr(line, ':');

	return n > 0 && n <= WEBHOOK_HTTP_HEADER_MAX && colon && colon > line &&
	    strpbrk(line, "\r\n") == NULL;
}

static bool
request_ok(const struct webhook_request *req)
{
	if (!req->url || (!req->body && req->body_len) ||
	    req->body_len > WEBHOOK_HTTP_BODY_MAX ||
	    req->n_headers > WEBHOOK_HTTP_MAX_HEADERS ||
	    (req->n_headers && !req->headers) || (req->resolve &&
	    (strlen(req->resolve) > WEBHOOK_HTTP_HEADER_MAX ||
	    strpbrk(req->resolve, "\r\n"))))
		return false;
	for (size_t i = 0; i < req->n_headers; i++)
		if (!req->headers[i] || !header_ok(req->headers[i]))
			return false;
	return true;
}

static struct curl_slist *
headers_build(const struct webhook_request *req)
{
	/* "Expect:" keeps curl from waiting for 100-continue on big bodies. */
	struct curl_slist *l = curl_slist_append(NULL,
	    "Content-Type: application/json");

	l = curl_slist_append(l, "Expect:");
	for (size_t i = 0; i < req->n_headers; i++)
		l = curl_slist_append(l, req->headers[i]);
	if (!l)
		abort();	/* OOM, as xmalloc does */
	return l;
}

int
webhook_http_post(struct webhook_http *h, const struct webhook_request *req,
    webhook_done_cb done, void *arg)
{
	struct webhook_job *j;
	const char *why;

	if (!h || h->stopping || !done || !request_ok(req) ||
	    h->queued.n + h->finished.n >= WEBHOOK_HTTP_MAX_QUEUED)
		return -1;
	j = xcalloc(1, sizeof(*j));
	j->id = ++h->next_id;
	j->h = h;
	j->done = done;
	j->arg = arg;
	j->posted = uv_now(h->loop);
	j->url = xstrdup(req->url);
	j->body = xmalloc(req->body_len + 1);
	if (req->body_len)
		memcpy(j->body, req->body, req->body_len);
	j->body[req->body_len] = '\0';
	j->body_len = req->body_len;
	j->timeout_ms = req->timeout_ms ? req->timeout_ms :
	    WEBHOOK_HTTP_TIMEOUT_MS;
	if (j->timeout_ms > WEBHOOK_HTTP_TIMEOUT_MAX_MS)
		j->timeout_ms = WEBHOOK_HTTP_TIMEOUT_MAX_MS;
	j->hdrs = headers_build(req);
	if (req->resolve && !(j->resolve = curl_slist_append(NULL, req->resolve)))
		abort();
	if ((why = webhook_url_check(req->url, h->allow_private)) != NULL) {
		char msg[128];

		snprintf(msg, sizeof(msg), "URL %s", why);
		log_info("webhook", NULL, "job %" PRIu64 " refused: %s", j->id,
		    msg);
		job_finish_later(j, WEBHOOK_REFUSED, msg);
		return 0;
	}
	list_push(&h->queued, j);
	start_queued(h);
	return 0;
}

void
webhook_http_set_resolve(struct webhook_http *h, const char *entry)
{
	struct curl_slist *l = curl_slist_append(h->resolve, entry);

	if (!l)
		abort();
	h->resolve = l;
}

size_t
webhook_http_pending(const struct webhook_http *h)
{
	return h->queued.n + h->active.n + h->finished.n;
}

/* --- life cycle --- */

int
webhook_http_start(struct webhook_http **h_r, uv_loop_t *loop,
    bool allow_private, char **error_r)
{
	struct webhook_http *h;
	CURLcode rc;

	if ((rc = curl_global_init(CURL_GLOBAL_DEFAULT)) != CURLE_OK) {
		*error_r = xasprintf("webhooks: curl init: %s",
		    curl_easy_strerror(rc));
		return -1;
	}
	h = xcalloc(1, sizeof(*h));
	if (!(h->multi = curl_multi_init())) {
		*error_r = xasprintf("webhooks: curl_multi_init failed");
		free(h);
		curl_global_cleanup();
		return -1;
	}
	h->loop = loop;
	h->allow_private = allow_private;
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
	curl_multi_setopt(h->multi, CURLMOPT_MAXCONNECTS,
	    (long)WEBHOOK_HTTP_MAX_ACTIVE);
	uv_timer_init(loop, &h->timer);
	uv_timer_init(loop, &h->kick);
	h->timer.data = h->kick.data = h;
	h->handles_open = 2;
	*h_r = h;
	return 0;
}

static void
on_handle_closed(uv_handle_t *handle)
{
	struct webhook_http *h = handle->data;

	if (--h->handles_open > 0)
		return;
	curl_slist_free_all(h->resolve);
	free(h);
	curl_global_cleanup();
}

void
webhook_http_stop(struct webhook_http **hp)
{
	struct webhook_http *h = hp ? *hp : NULL;
	struct webhook_job *j;

	if (!h)
		return;
	*hp = NULL;
	if (h->stopping)
		return;
	h->stopping = true;
	/* Poll handles first, so curl closing its sockets below leaves no
	 * handle watching a dead fd. */
	while (h->socks)
		sock_close(h, h->socks);
	while ((j = list_pop(&h->active))) {
		curl_multi_remove_handle(h->multi, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
		j->res = (struct webhook_result){ .status = WEBHOOK_CANCELLED };
		snprintf(j->res.error, sizeof(j->res.error), "cancelled");
		job_complete(j);
	}
	while ((j = list_pop(&h->queued))) {
		j->res.status = WEBHOOK_CANCELLED;
		snprintf(j->res.error, sizeof(j->res.error), "cancelled");
		job_complete(j);
	}
	/* Already decided (URL refused): report what was decided. */
	while ((j = list_pop(&h->finished)))
		job_complete(j);
	curl_multi_cleanup(h->multi);
	h->multi = NULL;
	uv_timer_stop(&h->timer);
	uv_timer_stop(&h->kick);
	uv_close((uv_handle_t *)&h->timer, on_handle_closed);
	uv_close((uv_handle_t *)&h->kick, on_handle_closed);
}
