/*
 * test_store_search.c - src/store/store_messages_list.c: a search returns
 * the same messages, in the same order, whichever plan it takes. "common"
 * matches more documents than SEARCH_FROM_INDEX_MAX (the inbox walk),
 * "rare" fewer (read from the index); both are checked page by page
 * against what the corpus says they must return.
 */
#include <check.h>
#include <ftw.h>
#include <sys/stat.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gent/ids.h"
#include "gent/log.h"
#include "gent/search_query.h"
#include "gent/store.h"
#include "gent/store_messages.h"
#include "gent/util.h"

#define N_MAIN		2600	/* messages in the inbox under test */
#define N_OTHER		300	/* in another inbox of the same tenant */
#define BATCH		200
#define PAGE		50
#define T0		1700000000000LL

static char data_dir[PATH_MAX];
static struct store *store;
static struct store_db *db;

/* Message i of the main inbox: "common" unless i % 10 == 0, "rare" when
 * i % 100 == 7 (in the subject when i % 200 == 7, which ranks it first);
 * three messages share each millisecond so the id breaks ties. */
static bool is_common(int i) { return i % 10 != 0; }
static bool is_rare(int i) { return i % 100 == 7; }
static bool rare_in_subject(int i) { return i % 200 == 7; }

static void
fill_row(struct message_row *m, struct store_audit *a, const char *tenant,
    const char *inbox, int i, bool main_inbox)
{
	char *id = ids_new("msg");

	memset(m, 0, sizeof(*m));
	snprintf(m->id, sizeof(m->id), "%s", id);
	snprintf(m->inbox_id, sizeof(m->inbox_id), "%s", inbox);
	snprintf(m->direction, sizeof(m->direction), "inbound");
	m->message_id_hdr = xasprintf("<%s@test>", id);
	m->subject = xasprintf("subject %d%s", i,
	    main_inbox && rare_in_subject(i) ? " rare" : "");
	m->from_addr = xstrdup("a@example.com");
	m->to_addrs = xstrdup("b@example.com");
	m->mail_from = xstrdup("a@example.com");
	m->rcpt_to = xstrdup("b@example.com");
	m->raw = xstrdup("Subject: x\r\n\r\nx\r\n");
	m->raw_len = strlen(m->raw);
	m->text_body = xasprintf("body word%d%s%s", i,
	    !main_inbox || is_common(i) ? " common" : "",
	    !main_inbox || (is_rare(i) && !rare_in_subject(i)) ? " rare" : "");
	m->received_at = T0 + i / 3;
	m->size = 100;
	*a = (struct store_audit){ .tenant_id = tenant, .actor_type = "cli",
	    .actor_id = "unit", .action = "message.received", .target_type = "message",
	    .inbox_id = inbox };
	free(id);
}

static void
insert_inbox(const char *tenant, const char *inbox, int n, bool main_inbox)
{
	struct message_row rows[BATCH];
	struct store_audit audits[BATCH];

	for (int base = 0; base < n; base += BATCH) {
		int k = n - base < BATCH ? n - base : BATCH;
		for (int j = 0; j < k; j++) {
			fill_row(&rows[j], &audits[j], tenant, inbox, base + j, main_inbox);
			audits[j].target_id = rows[j].id;
		}
		ck_assert_int_eq(store_messages_insert(db, rows, (size_t)k, audits),
		    STORE_OK);
		for (int j = 0; j < k; j++)
			message_row_free(&rows[j]);
	}
}

static void
setup(void)
{
	char *err = NULL, *tenant = ids_new("ten");

	snprintf(data_dir, sizeof(data_dir), "/tmp/gentd-unit-search-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(data_dir));
	ck_assert_int_eq(store_open(&store, data_dir, &err), 0);
	ck_assert_int_eq(store_tenant(store, tenant, &db, &err), 0);
	insert_inbox(tenant, "inb_main", N_MAIN, true);
	insert_inbox(tenant, "inb_other", N_OTHER, false);
	free(tenant);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

static void
teardown(void)
{
	store_close(&store);
	nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The message number from "subject N..." */
static int
number_of(const struct message_row *m)
{
	return (int)strtol(m->subject + strlen("subject "), NULL, 10);
}

/* Pages through q newest first with keyset cursors; checks order, inbox,
 * snippets and that exactly the messages want() accepts come back. */
static void
check_newest_first(const char *q, bool (*want)(int), int64_t before_ms)
{
	const char *err = NULL;
	char *fts = search_query_to_fts(q, &err);
	struct message_filter f = MESSAGE_FILTER_ALL;
	char cursor_id[64] = "";
	int64_t cursor_ms = 0, last_ms = INT64_MAX;
	static bool seen[N_MAIN];
	int total = 0, expected = 0;
	bool more = true;

	ck_assert_ptr_nonnull(fts);
	f.fts = fts;
	f.before_ms = before_ms;
	memset(seen, 0, sizeof(seen));
	while (more) {
		struct message_row *rows;
		int n;
		ck_assert_int_eq(store_messages_list(db, "inb_main", &f, PAGE, cursor_ms,
		    cursor_id[0] ? cursor_id : NULL, &rows, &n, &more), STORE_OK);
		for (int i = 0; i < n; i++) {
			int k = number_of(&rows[i]);
			ck_assert_str_eq(rows[i].inbox_id, "inb_main");
			ck_assert_msg(want(k), "%s: message %d should not match", q, k);
			ck_assert_msg(!seen[k], "%s: message %d twice", q, k);
			ck_assert_int_le(rows[i].received_at, last_ms);
			ck_assert_ptr_nonnull(strstr(rows[i].snippet, "<mark>"));
			seen[k] = true;
			last_ms = rows[i].received_at;
		}
		total += n;
		if (n) {
			cursor_ms = rows[n - 1].received_at;
			snprintf(cursor_id, sizeof(cursor_id), "%s", rows[n - 1].id);
		}
		message_rows_free(rows, n);
	}
	for (int k = 0; k < N_MAIN; k++)
		expected += want(k) && (!before_ms || T0 + k / 3 < before_ms);
	ck_assert_int_eq(total, expected);
	free(fts);
}

START_TEST(test_common_word_walks_the_inbox)
{
	check_newest_first("common", is_common, 0);
	check_newest_first("common", is_common, T0 + 600);	/* with a filter */
}
END_TEST

START_TEST(test_rare_word_reads_the_index)
{
	check_newest_first("rare", is_rare, 0);
	check_newest_first("rare", is_rare, T0 + 600);
}
END_TEST

/* Relevance: subject hits (weight 5) first, every hit once across pages. */
START_TEST(test_relevance_pages)
{
	const char *err = NULL;
	char *fts = search_query_to_fts("rare", &err);
	struct message_filter f = MESSAGE_FILTER_ALL;
	int total = 0, subject_hits_seen = 0;
	double last_rank = -1e300;
	bool more = true, past_subject_hits = false;

	f.fts = fts;
	f.by_relevance = true;
	for (int64_t offset = 0; more; offset += PAGE) {
		struct message_row *rows;
		int n;
		ck_assert_int_eq(store_messages_list(db, "inb_main", &f, PAGE, offset,
		    "", &rows, &n, &more), STORE_OK);
		for (int i = 0; i < n; i++) {
			int k = number_of(&rows[i]);
			ck_assert(is_rare(k));
			ck_assert(rows[i].rank >= last_rank);
			if (rare_in_subject(k)) {
				ck_assert(!past_subject_hits);
				subject_hits_seen++;
			} else {
				past_subject_hits = true;
			}
			last_rank = rows[i].rank;
		}
		total += n;
		message_rows_free(rows, n);
	}
	ck_assert_int_eq(total, N_MAIN / 100);
	ck_assert_int_eq(subject_hits_seen, N_MAIN / 200);
	free(fts);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store_search");
	TCase *tc = tcase_create("plans");
	SRunner *sr;
	int failed;

	log_set_level(LOG_WARN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_common_word_walks_the_inbox);
	tcase_add_test(tc, test_rare_word_reads_the_index);
	tcase_add_test(tc, test_relevance_pages);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
