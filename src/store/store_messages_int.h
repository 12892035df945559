/*
 * store_messages_int.h - the message columns and their reader, shared by
 * store_messages.c (rows) and store_messages_list.c (the list query).
 */
#ifndef GENT_STORE_MESSAGES_INT_H
#define GENT_STORE_MESSAGES_INT_H

#include <sqlite3.h>

#include "gent/store_messages.h"

#define MESSAGE_COLUMNS "id, inbox_id, direction, message_id_hdr, subject, " \
	"from_addr, to_addrs, date_hdr, mail_from, rcpt_to, client_ip, helo, tls, " \
	"size, received_at, smtp_session, thread_id, trace, text_body, html_body, " \
	"n_attachments, malformed"
/* What a read adds (columns 22-25): the state agents change and the
 * labels as JSON. The query names the messages table "m". */
#define READ_COLUMNS "m.is_read, m.is_starred, m.is_archived, " \
	"(SELECT json_group_array(json_object('id', id, 'name', name)) FROM " \
	"(SELECT l.id, l.name FROM message_labels ml JOIN labels l " \
	"ON l.id = ml.label_id WHERE ml.message_id = m.id " \
	"ORDER BY ml.applied_at, l.id))"
#define READ_COLUMNS_N 26	/* MESSAGE_COLUMNS + READ_COLUMNS */

/* What a list reads (the table named "m", as the search joins it): the
 * same columns without the bodies (NULL), which no list shows and which
 * are most of a row's bytes. */
#define MESSAGE_LIST_COLUMNS_M "m.id, m.inbox_id, m.direction, m.message_id_hdr, " \
	"m.subject, m.from_addr, m.to_addrs, m.date_hdr, m.mail_from, m.rcpt_to, " \
	"m.client_ip, m.helo, m.tls, m.size, m.received_at, m.smtp_session, " \
	"m.thread_id, m.trace, NULL, NULL, m.n_attachments, m.malformed"

/* Fills m from columns 0..READ_COLUMNS_N-1 of st. */
void store__message_read_row(sqlite3_stmt *st, struct message_row *m);

#endif
