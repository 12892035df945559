/*
 * test_webhook_http.c - the webhook engine against a real HTTP receiver
 * on 127.0.0.1 (webhook_receiver.py, started per test by /usr/bin/python3).
 *
 * Each test runs its own loop with a watchdog timer, so a hang fails in
 * bounded time; the last callback stops the engine, and every test ends
 * with uv_loop_close() == 0. The receiver logs each request (and its own
 * check of both signatures) before it answers, so "never hit" is read
 * from its log.
 */
#include <check.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gent/util.h"
#include "gent/webhook.h"

#define SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define MAX_SLOTS 128

/* --- the receiver --- */

static struct {
	pid_t	pid;
	int	port;
	char	dir[64];
	char	log[128];
} R;

static void
receiver_start(void)
{
	int fds[2];
	char line[32] = "";
	size_t got = 0;
	struct pollfd pfd;

	snprintf(R.dir, sizeof(R.dir), "/tmp/gent-hook-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(R.dir));
	snprintf(R.log, sizeof(R.log), "%s/requests.jsonl", R.dir);
	ck_assert_int_eq(pipe(fds), 0);
	R.pid = fork();
	ck_assert_int_ge(R.pid, 0);
	if (R.pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/usr/bin/python3", "python3", HOOK_RECEIVER, R.log,
		    SECRET, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	pfd = (struct pollfd){ .fd = fds[0], .events = POLLIN };
	while (got < sizeof(line) - 1 && !strchr(line, '\n')) {
		ssize_t n;

		ck_assert_msg(poll(&pfd, 1, 10000) == 1,
		    "receiver did not start");
		n = read(fds[0], line + got, sizeof(line) - 1 - got);
		ck_assert_msg(n > 0, "receiver exited");
		got += (size_t)n;
		line[got] = '\0';
	}
	close(fds[0]);
	R.port = (int)strtol(line, NULL, 10);
	ck_assert_int_gt(R.port, 0);
}

static void
receiver_stop(void)
{
	if (R.pid > 0) {
		kill(R.pid, SIGKILL);
		waitpid(R.pid, NULL, 0);
		R.pid = 0;
	}
	unlink(R.log);
	rmdir(R.dir);
}

/* The receiver's log as a JSON array (empty when nothing came). */
static json_t *
receiver_log(void)
{
	json_t *all = json_array();
	char line[65536];
	FILE *f = fopen(R.log, "r");

	while (f && fgets(line, sizeof(line), f)) {
		json_t *rec = json_loads(line, 0, NULL);

		ck_assert_ptr_nonnull(rec);
		json_array_append_new(all, rec);
	}
	if (f)
		fclose(f);
	return all;
}

static const char *
rec_str(json_t *log, size_t i, const char *key)
{
	json_t *rec = json_array_get(log, i);
	const char *s = json_string_value(json_object_get(rec, key));

	return s ? s : "(null)";
}

static char *
url(const char *path)
{
	static char buf[128];

	snprintf(buf, sizeof(buf), "http://127.0.0.1:%d%s", R.port, path);
	return buf;
}

/* --- one loop, its engine, and the callbacks' slots --- */

struct slot {
	struct run		*run;
	int			 calls;
	struct webhook_result	 r;
};

struct run {
	uv_loop_t		 loop;
	struct webhook_http	*h;
	uv_timer_t		 watchdog;
	uv_timer_t		 ticker;	/* shows the loop turning */
	int			 ticks;
	int			 expected;	/* callbacks before we stop */
	int			 got;
	bool			 timed_out;
	bool			 finished;
	struct slot		 slots[MAX_SLOTS];
};

static void
run_finish(struct run *run)
{
	if (run->finished)
		return;
	run->finished = true;
	webhook_http_stop(&run->h);
	uv_close((uv_handle_t *)&run->watchdog, NULL);
	uv_close((uv_handle_t *)&run->ticker, NULL);
}

static void
on_done(const struct webhook_result *r, void *arg)
{
	struct slot *s = arg;

	s->calls++;
	s->r = *r;
	if (++s->run->got >= s->run->expected)
		run_finish(s->run);
}

static void
on_watchdog(uv_timer_t *t)
{
	struct run *run = t->data;

	run->timed_out = true;
	run_finish(run);
}

static void
on_tick(uv_timer_t *t)
{
	((struct run *)t->data)->ticks++;
}

static void
run_begin(struct run *run, bool allow_private, int expected)
{
	char *err = NULL;

	memset(run, 0, sizeof(*run));
	ck_assert_int_eq(uv_loop_init(&run->loop), 0);
	ck_assert_int_eq(webhook_http_start(&run->h, &run->loop, allow_private,
	    &err), 0);
	run->expected = expected;
	for (int i = 0; i < MAX_SLOTS; i++)
		run->slots[i].run = run;
	uv_timer_init(&run->loop, &run->watchdog);
	uv_timer_init(&run->loop, &run->ticker);
	run->watchdog.data = run->ticker.data = run;
	uv_timer_start(&run->watchdog, on_watchdog, 15000, 0);
	uv_timer_start(&run->ticker, on_tick, 50, 50);
}

static void
run_wait(struct run *run)
{
	uv_run(&run->loop, UV_RUN_DEFAULT);
	ck_assert_msg(!run->timed_out, "watchdog fired");
	ck_assert_int_eq(uv_loop_close(&run->loop), 0);
}

static void
post(struct run *run, int slot, const char *u, const char *body,
    const char *const *headers, size_t n_headers, uint64_t timeout_ms)
{
	struct webhook_request req = {
		.url = u, .body = body, .body_len = strlen(body),
		.headers = headers, .n_headers = n_headers,
		.timeout_ms = timeout_ms,
	};

	ck_assert_int_eq(webhook_http_post(run->h, &req, on_done,
	    &run->slots[slot]), 0);
	/* Never called from inside webhook_http_post(). */
	ck_assert_int_eq(run->slots[slot].calls, 0);
}

static struct run RUN;

/* --- tests --- */

/* 200 with the body and all four signature headers byte for byte; the
 * receiver recomputes both HMACs from what it got. */
START_TEST(test_delivered_signed)
{
	const char *body = "{\"type\":\"message.received\",\"n\":1}", *err;
	struct webhook_signature sig;
	const char *hdrs[WEBHOOK_SIGN_NLINES];
	json_t *log;

	ck_assert_int_eq(webhook_sign(&sig, SECRET, "evt_42", 1700000000, body,
	    strlen(body), &err), 0);
	for (int i = 0; i < WEBHOOK_SIGN_NLINES; i++)
		hdrs[i] = sig.lines[i];
	run_begin(&RUN, true, 1);
	post(&RUN, 0, url("/ok"), body, hdrs, WEBHOOK_SIGN_NLINES, 0);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].calls, 1);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_DELIVERED);
	ck_assert_int_eq(RUN.slots[0].r.http_code, 200);
	ck_assert_str_eq(RUN.slots[0].r.error, "");
	ck_assert_str_eq(RUN.slots[0].r.connected_ip, "127.0.0.1");
	log = receiver_log();
	ck_assert_int_eq(json_array_size(log), 1);
	ck_assert_str_eq(rec_str(log, 0, "path"), "/ok");
	ck_assert_str_eq(rec_str(log, 0, "method"), "POST");
	ck_assert_str_eq(rec_str(log, 0, "content_type"), "application/json");
	ck_assert_str_eq(rec_str(log, 0, "user_agent"), "gentd-webhooks");
	ck_assert_str_eq(rec_str(log, 0, "body"), body);
	ck_assert_str_eq(rec_str(log, 0, "x_gent_signature"), sig.gent);
	ck_assert_str_eq(rec_str(log, 0, "webhook_id"), "evt_42");
	ck_assert_str_eq(rec_str(log, 0, "webhook_timestamp"), "1700000000");
	ck_assert_str_eq(rec_str(log, 0, "webhook_signature"), sig.v1);
	ck_assert(json_is_true(json_object_get(json_array_get(log, 0),
	    "gent_ok")));
	ck_assert(json_is_true(json_object_get(json_array_get(log, 0),
	    "v1_ok")));
	json_decref(log);
}
END_TEST

START_TEST(test_http_500)
{
	run_begin(&RUN, true, 1);
	post(&RUN, 0, url("/fail"), "{}", NULL, 0, 0);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_HTTP_ERROR);
	ck_assert_int_eq(RUN.slots[0].r.http_code, 500);
	ck_assert_str_eq(RUN.slots[0].r.error, "HTTP status 500");
}
END_TEST

/* A 302 is a failure, and its Location is never fetched. */
START_TEST(test_redirect_not_followed)
{
	json_t *log;

	run_begin(&RUN, true, 1);
	post(&RUN, 0, url("/redirect"), "{}", NULL, 0, 0);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_HTTP_ERROR);
	ck_assert_int_eq(RUN.slots[0].r.http_code, 302);
	log = receiver_log();
	ck_assert_int_eq(json_array_size(log), 1);
	ck_assert_str_eq(rec_str(log, 0, "path"), "/redirect");
	json_decref(log);
}
END_TEST

/* A 1 MiB answer is read up to the cap and still counts as delivered. */
START_TEST(test_big_response_capped)
{
	run_begin(&RUN, true, 1);
	post(&RUN, 0, url("/big"), "{}", NULL, 0, 0);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_DELIVERED);
	ck_assert_int_eq(RUN.slots[0].r.http_code, 200);
}
END_TEST

/* The endpoint sleeps 5 s; a 300 ms limit ends it, and the loop kept
 * running meanwhile (the 50 ms ticker fired). */
START_TEST(test_timeout)
{
	run_begin(&RUN, true, 1);
	post(&RUN, 0, url("/slow"), "{}", NULL, 0, 300);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_NETWORK_ERROR);
	ck_assert_int_eq(RUN.slots[0].r.http_code, 0);
	ck_assert_uint_ge(RUN.slots[0].r.elapsed_ms, 250);
	ck_assert_uint_lt(RUN.slots[0].r.elapsed_ms, 3000);
	ck_assert_int_ge(RUN.ticks, 4);
}
END_TEST

static int
closed_port(void)
{
	struct sockaddr_in sin = { .sin_family = AF_INET,
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port;

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	port = ntohs(sin.sin_port);
	close(fd);	/* nobody listens there now */
	return port;
}

START_TEST(test_connection_refused)
{
	char u[64];

	snprintf(u, sizeof(u), "http://127.0.0.1:%d/ok", closed_port());
	run_begin(&RUN, true, 1);
	post(&RUN, 0, u, "{}", NULL, 0, 0);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_NETWORK_ERROR);
	ck_assert_int_eq(RUN.slots[0].r.http_code, 0);
	ck_assert_str_ne(RUN.slots[0].r.error, "");
}
END_TEST

/* Without allow_private a literal loopback URL (and plain http) is
 * refused before any connection; the callback still comes later. */
START_TEST(test_url_policy_refused)
{
	json_t *log;

	run_begin(&RUN, false, 2);
	post(&RUN, 0, url("/ok"), "{}", NULL, 0, 0);
	post(&RUN, 1, "ftp://example.com/x", "{}", NULL, 0, 0);
	run_wait(&RUN);
	for (int i = 0; i < 2; i++) {
		ck_assert_int_eq(RUN.slots[i].calls, 1);
		ck_assert_int_eq(RUN.slots[i].r.status, WEBHOOK_REFUSED);
		ck_assert_ptr_nonnull(strstr(RUN.slots[i].r.error, "URL"));
	}
	log = receiver_log();
	ck_assert_int_eq(json_array_size(log), 0);
	json_decref(log);
}
END_TEST

/* Public-looking names pinned (CURLOPT_RESOLVE) to loopback, metadata
 * and a v4-mapped loopback: refused at connect time, receiver untouched. */
START_TEST(test_connect_policy_refused)
{
	static const char *ips[] = { "127.0.0.1", "169.254.169.254",
	    "[::ffff:127.0.0.1]" };
	static const char *want[] = { "127.0.0.1", "169.254.169.254",
	    "::ffff:127.0.0.1" };
	char entry[96], u[96];
	json_t *log;

	run_begin(&RUN, false, 3);
	for (int i = 0; i < 3; i++) {
		snprintf(entry, sizeof(entry), "hook%d.example:%d:%s", i,
		    R.port, ips[i]);
		webhook_http_set_resolve(RUN.h, entry);
	}
	for (int i = 0; i < 3; i++) {
		snprintf(u, sizeof(u), "https://hook%d.example:%d/ok", i,
		    R.port);
		post(&RUN, i, u, "{}", NULL, 0, 0);
	}
	run_wait(&RUN);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(RUN.slots[i].r.status, WEBHOOK_REFUSED);
		ck_assert_msg(strstr(RUN.slots[i].r.error, want[i]) != NULL,
		    "error \"%s\" lacks %s", RUN.slots[i].r.error, want[i]);
		ck_assert_str_eq(RUN.slots[i].r.connected_ip, "");
	}
	log = receiver_log();
	ck_assert_int_eq(json_array_size(log), 0);
	json_decref(log);
}
END_TEST

/* Control for the test above: with allow_private the same pinned name is
 * dialled (and then fails TLS against the plain-HTTP receiver). */
START_TEST(test_connect_policy_control)
{
	char entry[96], u[96];

	run_begin(&RUN, true, 1);
	snprintf(entry, sizeof(entry), "hook.example:%d:127.0.0.1", R.port);
	webhook_http_set_resolve(RUN.h, entry);
	snprintf(u, sizeof(u), "https://hook.example:%d/ok", R.port);
	post(&RUN, 0, u, "{}", NULL, 0, 3000);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_NETWORK_ERROR);
}
END_TEST

/* More posts than WEBHOOK_HTTP_MAX_ACTIVE: some queue, all arrive. */
START_TEST(test_many_concurrent)
{
	enum { N = 100 };
	char body[32];
	json_t *log;

	run_begin(&RUN, true, N);
	for (int i = 0; i < N; i++) {
		snprintf(body, sizeof(body), "{\"n\":%d}", i);
		post(&RUN, i, url("/ok"), body, NULL, 0, 0);
	}
	ck_assert_uint_eq(webhook_http_pending(RUN.h), N);
	run_wait(&RUN);
	for (int i = 0; i < N; i++) {
		ck_assert_int_eq(RUN.slots[i].calls, 1);
		ck_assert_int_eq(RUN.slots[i].r.status, WEBHOOK_DELIVERED);
	}
	log = receiver_log();
	ck_assert_int_eq(json_array_size(log), N);
	json_decref(log);
}
END_TEST

/* http_proxy/https_proxy in the environment are not used: a proxy that
 * does not exist would make every post fail. */
START_TEST(test_env_proxy_ignored)
{
	char proxy[64];

	snprintf(proxy, sizeof(proxy), "http://127.0.0.1:%d", closed_port());
	setenv("http_proxy", proxy, 1);
	setenv("ALL_PROXY", proxy, 1);
	run_begin(&RUN, true, 1);
	post(&RUN, 0, url("/ok"), "{}", NULL, 0, 0);
	run_wait(&RUN);
	unsetenv("http_proxy");
	unsetenv("ALL_PROXY");
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_DELIVERED);
}
END_TEST

/* A callback may post again (the caller's retry): the failed attempt's
 * callback queues a second post, and the second one arrives. */
static void
on_done_retry(const struct webhook_result *r, void *arg)
{
	struct slot *s = arg;
	struct webhook_request req = { .url = url("/ok"), .body = "{}",
	    .body_len = 2 };

	s->calls++;
	s->r = *r;
	ck_assert_int_eq(webhook_http_post(s->run->h, &req, on_done,
	    &s->run->slots[1]), 0);
}

START_TEST(test_post_from_callback)
{
	struct webhook_request req = { .url = url("/fail"), .body = "{}",
	    .body_len = 2 };
	json_t *log;

	run_begin(&RUN, true, 1);
	ck_assert_int_eq(webhook_http_post(RUN.h, &req, on_done_retry,
	    &RUN.slots[0]), 0);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_HTTP_ERROR);
	ck_assert_int_eq(RUN.slots[1].calls, 1);
	ck_assert_int_eq(RUN.slots[1].r.status, WEBHOOK_DELIVERED);
	log = receiver_log();
	ck_assert_int_eq(json_array_size(log), 2);
	ck_assert_str_eq(rec_str(log, 1, "path"), "/ok");
	json_decref(log);
}
END_TEST

static void
on_stop_timer(uv_timer_t *t)
{
	struct run *run = t->data;

	webhook_http_stop(&run->h);
	ck_assert_ptr_null(run->h);
	uv_close((uv_handle_t *)t, NULL);
}

/* Stop with five slow transfers in flight: each callback runs once with
 * CANCELLED and the loop closes cleanly (ASan checks the memory). */
START_TEST(test_stop_in_flight)
{
	uv_timer_t stopper;

	run_begin(&RUN, true, 5);
	for (int i = 0; i < 5; i++)
		post(&RUN, i, url("/slow"), "{}", NULL, 0, 0);
	uv_timer_init(&RUN.loop, &stopper);
	stopper.data = &RUN;
	uv_timer_start(&stopper, on_stop_timer, 300, 0);
	run_wait(&RUN);
	for (int i = 0; i < 5; i++) {
		ck_assert_int_eq(RUN.slots[i].calls, 1);
		ck_assert_int_eq(RUN.slots[i].r.status, WEBHOOK_CANCELLED);
	}
}
END_TEST

static void
on_post_then_stop(uv_timer_t *t)
{
	struct run *run = t->data;
	struct webhook_request bad = { .url = "ftp://x/", .body = "{}",
	    .body_len = 2 };
	struct webhook_http *h = run->h;

	/* Refused URL pending in the kick timer when stop runs. */
	ck_assert_int_eq(webhook_http_post(h, &bad, on_done, &run->slots[0]),
	    0);
	webhook_http_stop(&run->h);
	ck_assert_int_eq(run->slots[0].calls, 1);
	uv_close((uv_handle_t *)t, NULL);
}

START_TEST(test_stop_with_early_result)
{
	uv_timer_t t;

	run_begin(&RUN, false, 1);
	uv_timer_init(&RUN.loop, &t);
	t.data = &RUN;
	uv_timer_start(&t, on_post_then_stop, 10, 0);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].r.status, WEBHOOK_REFUSED);
}
END_TEST

static int
post_raw(const struct webhook_request *req)
{
	return webhook_http_post(RUN.h, req, on_done, RUN.slots);
}

/* Malformed requests are rejected synchronously and never call back. */
START_TEST(test_bad_requests)
{
	const char *inject[] = { "X-A: b\r\nX-Evil: 1" };
	const char *nocolon[] = { "X-A b" };
	const char *many[WEBHOOK_HTTP_MAX_HEADERS + 1];
	struct webhook_request req = { .url = "http://127.0.0.1:1/",
	    .body = "{}", .body_len = 2 };
	char *big;

	for (size_t i = 0; i < GENT_ARRAY_LEN(many); i++)
		many[i] = "X-A: b";
	run_begin(&RUN, true, 1);
	req.headers = inject;
	req.n_headers = 1;
	ck_assert_int_eq(post_raw(&req), -1);
	req.headers = nocolon;
	ck_assert_int_eq(post_raw(&req), -1);
	req.headers = many;
	req.n_headers = GENT_ARRAY_LEN(many);
	ck_assert_int_eq(post_raw(&req), -1);
	req.headers = NULL;
	req.n_headers = 0;
	big = calloc(1, WEBHOOK_HTTP_BODY_MAX + 1);
	req.body = big;
	req.body_len = WEBHOOK_HTTP_BODY_MAX + 1;
	ck_assert_int_eq(post_raw(&req), -1);
	free(big);
	req.url = NULL;
	ck_assert_int_eq(post_raw(&req), -1);
	run_finish(&RUN);
	run_wait(&RUN);
	ck_assert_int_eq(RUN.slots[0].calls, 0);
}
END_TEST

static Suite *
suite(void)
{
	Suite *s = suite_create("webhook_http");
	TCase *tc = tcase_create("receiver");

	tcase_add_checked_fixture(tc, receiver_start, receiver_stop);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_delivered_signed);
	tcase_add_test(tc, test_http_500);
	tcase_add_test(tc, test_redirect_not_followed);
	tcase_add_test(tc, test_big_response_capped);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_connection_refused);
	tcase_add_test(tc, test_url_policy_refused);
	tcase_add_test(tc, test_connect_policy_refused);
	tcase_add_test(tc, test_connect_policy_control);
	tcase_add_test(tc, test_many_concurrent);
	tcase_add_test(tc, test_env_proxy_ignored);
	tcase_add_test(tc, test_post_from_callback);
	tcase_add_test(tc, test_stop_in_flight);
	tcase_add_test(tc, test_stop_with_early_result);
	tcase_add_test(tc, test_bad_requests);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
