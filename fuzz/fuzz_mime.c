/*
 * fuzz_mime.c - src/mail/mime.c on hostile messages: the raw input goes
 * to mime_summarize() exactly as the inbound path hands it a spooled
 * body, then mime_summary_free(). GMime is initialised once.
 *
 * Oracle besides the sanitizers: the summary is self-consistent (every
 * attachment has a content type, sizes match their buffers as far as
 * can be checked, n_from > 0 implies a From string). With
 * GENT_FUZZ_MIME_UTF8=1 the text and HTML bodies must also be valid
 * UTF-8, as mime.h promises; that check is off by default while
 * fuzz/crashes/mime-body-not-utf8 is open.
 */
#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gent/mime.h"
#include "gent/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool ready, check_utf8;

static void
check(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "fuzz_mime: ORACLE: %s\n", what);
		abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_summary s;

	if (!ready) {
		const char *u = getenv("GENT_FUZZ_MIME_UTF8");

		mime_init();
		check_utf8 = u && *u == '1';
		ready = true;
	}
	mime_summarize((const char *)data, size, &s);
	check(s.n_from == 0 || s.parsed, "From mailboxes without a message");
	check(s.n_parents == 0 || s.parents != NULL, "parents missing");
	for (size_t i = 0; i < s.n_parents; i++)
		check(s.parents[i] != NULL, "NULL parent id");
	check(s.n_attachments == 0 || s.attachments != NULL, "attachments missing");
	for (size_t i = 0; i < s.n_attachments; i++) {
		const struct mime_attachment *a = &s.attachments[i];
		check(a->content_type != NULL, "attachment without a content type");
		check(a->size == 0 || a->data != NULL, "attachment size without data");
	}
	if (check_utf8) {
		check(!s.text_body || g_utf8_validate(s.text_body, -1, NULL),
		    "text_body is not UTF-8");
		check(!s.html_body || g_utf8_validate(s.html_body, -1, NULL),
		    "html_body is not UTF-8");
	}
	mime_summary_free(&s);
	return 0;
}
