/*
 * store_threads.h - conversation threads (tenant.db), kept beside the
 * messages that form them (see schema/tenant/0008_message_state.sql).
 */
#ifndef GENT_STORE_THREADS_H
#define GENT_STORE_THREADS_H

#include <stdbool.h>
#include <stdint.h>

#include "gent/store.h"

struct thread_row {
	char	 id[64];
	char	 inbox_id[64];
	char	*subject;		/* of the first message */
	int64_t	 first_at, last_at;	/* received_at of first and latest */
	int64_t	 message_count, unread_count;
	char	*participants;		/* JSON array of From display forms */
};

/** Keyset page of an inbox's threads, most recently active first. */
int store_threads_list(struct store_db *db, const char *inbox_id, int limit,
    int64_t cursor_ms, const char *cursor_id, struct thread_row **rows_r,
    int *n_r, bool *more_r);
/** One thread; NOT_FOUND when absent. */
int store_threads_get(struct store_db *db, const char *id, struct thread_row *out);
void thread_row_free(struct thread_row *r);
void thread_rows_free(struct thread_row *rows, int n);

#endif
