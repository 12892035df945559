/*
 * test_mime_corpus.c - RELIABILITY.md row 18: the shared MIME corpus
 * (shared/testdata/mime, 140-odd messages from mime4j, MIME-tools,
 * mailparser, GMime and MimeKit; see its README.txt) through
 * src/mail/mime.c.
 *
 * usage: test_mime_corpus DIR   (meson passes ../shared/testdata/mime)
 *
 *   every_file_parses   every regular file under DIR, bare LF turned into
 *                       CRLF as it would arrive over SMTP, goes through
 *                       mime_summarize(): no crash, text/HTML bodies and
 *                       the decoded headers are valid UTF-8, every file
 *                       finishes within FILE_TIME_MAX and FILE_RSS_MAX.
 *   dos_files_bounded   stack-overflow.txt (2700 encoded words in one
 *                       header) and outofmemory.eml (mailparser's DoS
 *                       regression) in particular, with tighter caps.
 *   mime4j_trees        for every mime4j-testmsgs/X.msg with an X.xml
 *                       (mime4j's expected event tree), the part tree
 *                       GMime builds equals the one in the .xml: multipart
 *                       nesting, embedded messages, leaf content types in
 *                       order. mime_summarize() flattens the tree, so the
 *                       walker here reads GMime directly, the same way
 *                       mime.c drives the parser.
 *
 * A missing DIR fails the run: the corpus is part of the test plan, not
 * an optional extra.
 */
#include <check.h>
#include <ftw.h>
#include <gmime/gmime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "gent/mime.h"
#include "gent/util.h"

/*
 * Caps per file. GMime needs a few times the input size: in a plain
 * build the 1.1 MB files and stack-overflow.txt stay under 10 MiB of
 * peak RSS growth and 50 ms. The caps leave room for slow CI machines and
 * valgrind, and still catch a blow-up. Under ASan only the time caps are
 * checked (see summarize_measured()).
 */
#if defined(__SANITIZE_ADDRESS__)
#define UNDER_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define UNDER_ASAN 1
#endif
#endif

#define FILE_TIME_MAX	20.0			/* seconds, any file */
#define FILE_RSS_MAX	(512L * 1024 * 1024)	/* bytes of peak RSS growth */
#define DOS_TIME_MAX	10.0			/* the two DoS regressions */
#define DOS_RSS_MAX	(256L * 1024 * 1024)

static const char *corpus_dir;

/* ------------------------------------------------------------------ */
/* Files                                                               */

static char *
read_all(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct buf b = { 0 };
	char chunk[65536];
	size_t n;

	ck_assert_msg(f != NULL, "cannot open %s", path);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(&b, chunk, n);
	fclose(f);
	if (!b.data)
		buf_append(&b, "", 0);
	*len_r = b.len;
	return b.data;
}

/* Bare LF becomes CRLF; existing CRLF (and lone CR) stay as they are. */
static char *
to_crlf(const char *in, size_t len, size_t *len_r)
{
	struct buf b = { 0 };

	buf_append(&b, "", 0);
	for (size_t i = 0; i < len; i++) {
		if (in[i] == '\n' && (i == 0 || in[i - 1] != '\r'))
			buf_append(&b, "\r", 1);
		buf_append(&b, in + i, 1);
	}
	*len_r = b.len;
	return b.data;
}

static char **corpus_files;
static size_t n_corpus_files;

static int
collect(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_F) {
		corpus_files = xrealloc(corpus_files,
		    (n_corpus_files + 1) * sizeof(char *));
		corpus_files[n_corpus_files++] = xstrdup(path);
	}
	return 0;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void
list_corpus(void)
{
	if (corpus_files)
		return;
	ck_assert_msg(nftw(corpus_dir, collect, 16, FTW_PHYS) == 0,
	    "cannot walk %s", corpus_dir);
	qsort(corpus_files, n_corpus_files, sizeof(char *), cmp_str);
}

static const char *
rel(const char *path)
{
	size_t n = strlen(corpus_dir);

	return strncmp(path, corpus_dir, n) == 0 && path[n] == '/' ?
	    path + n + 1 : path;
}

/* ------------------------------------------------------------------ */
/* Time and peak memory of one mime_summarize()                        */

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "VmHWM:" or "VmRSS:" from /proc/self/status, in bytes; -1 if absent. */
static long
proc_status_kb(const char *key)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long kb = -1;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, key, strlen(key)) == 0) {
			kb = strtol(line + strlen(key), NULL, 10);
			break;
		}
	fclose(f);
	return kb < 0 ? -1 : kb * 1024;
}

/* Reset the peak RSS (Linux >= 4.0); false when it cannot be reset. */
static bool
reset_peak_rss(void)
{
	FILE *f = fopen("/proc/self/clear_refs", "w");
	bool ok;

	if (!f)
		return false;
	ok = fputs("5", f) >= 0;
	return fclose(f) == 0 && ok;
}

struct cost {
	double	 seconds;
	long	 rss_growth;	/* -1 when not measurable here */
};

static void
summarize_measured(const char *raw, size_t len, struct mime_summary *out,
    struct cost *c)
{
	bool peak = reset_peak_rss();
	long before = proc_status_kb("VmRSS:");
	double t0 = now();

	mime_summarize(raw, len, out);
	c->seconds = now() - t0;
	c->rss_growth = -1;
#ifdef UNDER_ASAN
	/* ASan's quarantine keeps freed memory resident (up to 256 MiB), so
	 * RSS measures what was ever allocated, not what was live: only the
	 * time caps apply in sanitizer builds. */
	(void)peak;
	(void)before;
	return;
#endif
	if (peak && before >= 0) {
		long hwm = proc_status_kb("VmHWM:");
		if (hwm >= 0)
			c->rss_growth = hwm > before ? hwm - before : 0;
	}
}

/* ------------------------------------------------------------------ */
/* Every file parses                                                   */

static bool
utf8_ok(const char *s)
{
	return !s || g_utf8_validate(s, -1, NULL);
}

/* Appends a line to *report for each contract mime_summarize() broke. */
static void
check_summary(const char *name, const struct mime_summary *s,
    struct buf *report)
{
	static const char *const what[] = { "text_body", "html_body",
	    "subject", "from", "to" };
	const char *val[] = { s->text_body, s->html_body, s->subject, s->from,
	    s->to };

	for (size_t i = 0; i < GENT_ARRAY_LEN(what); i++)
		if (!utf8_ok(val[i]))
			buf_printf(report, "  %s: %s is not valid UTF-8\n", name,
			    what[i]);
	if (s->parsed && s->n_from > 0 && s->from == NULL)
		buf_printf(report, "  %s: %zu From mailboxes but no from\n", name,
		    s->n_from);
	for (size_t i = 0; i < s->n_attachments; i++)
		if (!s->attachments[i].content_type ||
		    (s->attachments[i].size > 0 && !s->attachments[i].data))
			buf_printf(report, "  %s: attachment %zu incomplete\n",
			    name, i);
}

START_TEST(every_file_parses)
{
	struct buf report = { 0 };
	size_t n_parsed = 0, n_text = 0, n_html = 0, n_att = 0;
	double slowest = 0;
	const char *slowest_name = "";
	bool ok;

	list_corpus();
	ck_assert_msg(n_corpus_files >= 100, "only %zu files under %s",
	    n_corpus_files, corpus_dir);
	for (size_t i = 0; i < n_corpus_files; i++) {
		const char *name = rel(corpus_files[i]);
		size_t len, crlf_len;
		char *raw = read_all(corpus_files[i], &len);
		char *crlf = to_crlf(raw, len, &crlf_len);
		struct mime_summary s;
		struct cost c;

		free(raw);
		summarize_measured(crlf, crlf_len, &s, &c);
		check_summary(name, &s, &report);
		if (c.seconds > FILE_TIME_MAX)
			buf_printf(&report, "  %s: %.2f s (cap %.0f s)\n", name,
			    c.seconds, FILE_TIME_MAX);
		if (c.rss_growth > FILE_RSS_MAX)
			buf_printf(&report, "  %s: peak RSS +%ld MiB (cap %ld MiB)\n",
			    name, c.rss_growth >> 20, FILE_RSS_MAX >> 20);
		if (c.seconds > slowest) {
			slowest = c.seconds;
			slowest_name = name;
		}
		n_parsed += s.parsed;
		n_text += s.text_body != NULL;
		n_html += s.html_body != NULL;
		n_att += s.n_attachments;
		mime_summary_free(&s);
		free(crlf);
	}
	printf("mime corpus: %zu files, %zu parsed as messages, %zu with a "
	    "text body, %zu with an HTML body, %zu attachments; slowest %s "
	    "(%.3f s)\n", n_corpus_files, n_parsed, n_text, n_html, n_att,
	    slowest_name, slowest);
	ok = report.len == 0;
	if (!ok)
		printf("mime corpus problems:\n%s", report.data);
	fflush(stdout);
	buf_free(&report);	/* before the assert: CK_FORK=no jumps out */
	ck_assert_msg(ok, "mime corpus problems (listed on stdout)");
}
END_TEST

/* ------------------------------------------------------------------ */
/* The DoS regressions                                                 */

static void
check_bounded(const char *relpath)
{
	char path[4096];
	size_t len, crlf_len;
	char *raw, *crlf;
	struct mime_summary s;
	struct cost c;
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", corpus_dir, relpath);
	ck_assert_msg(stat(path, &st) == 0, "%s is missing from the corpus", path);
	raw = read_all(path, &len);
	crlf = to_crlf(raw, len, &crlf_len);
	free(raw);
	summarize_measured(crlf, crlf_len, &s, &c);
	if (c.rss_growth >= 0)
		snprintf(path, sizeof(path), "+%ld KiB", c.rss_growth >> 10);
	else
		snprintf(path, sizeof(path), "not measured");
	printf("%s: %zu bytes, %.3f s, peak RSS %s, parsed=%d "
	    "attachments=%zu truncated=%d\n", relpath, crlf_len, c.seconds,
	    path, s.parsed, s.n_attachments, s.truncated);
	fflush(stdout);
	ck_assert_msg(c.seconds <= DOS_TIME_MAX, "%s took %.2f s", relpath,
	    c.seconds);
	ck_assert_msg(c.rss_growth <= DOS_RSS_MAX, "%s grew RSS by %ld MiB",
	    relpath, c.rss_growth >> 20);
	ck_assert_msg(s.parsed, "%s was not parsed as a message", relpath);
	mime_summary_free(&s);
	free(crlf);
}

START_TEST(dos_files_bounded)
{
	check_bounded("mimekit-messages/stack-overflow.txt");
	check_bounded("mailparser-fixtures/outofmemory.eml");
	check_bounded("mailparser-fixtures/htmllargecallstack.eml");
	check_bounded("mailparser-fixtures/large_text.eml");
}
END_TEST

/* ------------------------------------------------------------------ */
/* mime4j part trees                                                   */

/*
 * A tree is written as a string so two trees compare with strcmp and a
 * mismatch prints readably:
 *   leaf          text/plain
 *   multipart     multipart/mixed[text/plain,image/png]
 *   message/rfc822 body   message/rfc822{<tree of the inner message>}
 */

/* "type/subtype" of a Content-Type value, lower case; NULL if invalid. */
static char *
mime_type_of(const char *value)
{
	const char *p = value, *slash, *end;
	char *out;

	while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
		p++;
	end = p;
	while (*end && *end != ';' && *end != ' ' && *end != '\t' &&
	    *end != '\r' && *end != '\n' && *end != '(')
		end++;
	slash = memchr(p, '/', (size_t)(end - p));
	if (!slash || slash == p || slash + 1 == end)
		return NULL;
	out = xstrndup(p, (size_t)(end - p));
	str_lower(out);
	return out;
}

/* XML of mime4j's event tree: only the tags listed in its README. */
struct xml {
	const char	*p;
	bool		 bad;
};

static bool
xml_at(struct xml *x, const char *tag)
{
	while (*x->p == '\n' || *x->p == '\r')
		x->p++;
	return strncmp(x->p, tag, strlen(tag)) == 0;
}

static void
xml_expect(struct xml *x, const char *tag)
{
	if (!xml_at(x, tag)) {
		x->bad = true;
		return;
	}
	x->p += strlen(tag);
}

/* Skip to just after the closing tag (bodies contain no '<': escaped). */
static void
xml_skip_to(struct xml *x, const char *close)
{
	const char *e = strstr(x->p, close);

	if (!e) {
		x->bad = true;
		x->p += strlen(x->p);
		return;
	}
	x->p = e + strlen(close);
}

static char *
xml_unescape(const char *s, size_t n)
{
	static const struct { const char *ent; char c; } ents[] = {
		{ "&lt;", '<' }, { "&gt;", '>' }, { "&amp;", '&' },
		{ "&quot;", '"' }, { "&apos;", '\'' },
	};
	struct buf b = { 0 };

	buf_append(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		size_t k;
		for (k = 0; k < GENT_ARRAY_LEN(ents); k++) {
			size_t el = strlen(ents[k].ent);
			if (n - i >= el && memcmp(s + i, ents[k].ent, el) == 0) {
				buf_append(&b, &ents[k].c, 1);
				i += el - 1;
				break;
			}
		}
		if (k == GENT_ARRAY_LEN(ents))
			buf_append(&b, s + i, 1);
	}
	return b.data;
}

/* <header> <field>\nName: value</field>... </header>: the first
 * Content-Type value (mime4j keeps the first), or NULL. */
static char *
xml_header(struct xml *x)
{
	char *ct = NULL;

	xml_expect(x, "<header>");
	while (!x->bad && xml_at(x, "<field>")) {
		const char *start = x->p + strlen("<field>"), *end;
		if (*start == '\r')
			start++;
		if (*start == '\n')
			start++;
		end = strstr(start, "</field>");
		if (!end) {
			x->bad = true;
			break;
		}
		if (!ct && strncasecmp(start, "Content-Type:", 13) == 0) {
			char *v = xml_unescape(start + 13, (size_t)(end - start - 13));
			ct = mime_type_of(v);
			if (!ct)
				ct = xstrdup("");	/* present but invalid */
			free(v);
		}
		x->p = end + strlen("</field>");
	}
	xml_expect(x, "</header>");
	return ct;
}

static void xml_entity(struct xml *x, const char *close, bool in_digest,
    struct buf *out);

/* What follows a header: <body>, <multipart> or an embedded <message>. */
static void
xml_content(struct xml *x, const char *ct, bool in_digest, struct buf *out)
{
	if (xml_at(x, "<body>")) {
		/* mime4j: no or an invalid type is text/plain (message/rfc822
		 * inside multipart/digest, RFC 2046 5.1.5). */
		if (ct && *ct)
			buf_append_str(out, ct);
		else
			buf_append_str(out, in_digest ? "message/rfc822" :
			    "text/plain");
		xml_skip_to(x, "</body>");
	} else if (xml_at(x, "<multipart>")) {
		bool digest = ct && strcmp(ct, "multipart/digest") == 0;
		bool first = true;

		x->p += strlen("<multipart>");
		buf_printf(out, "%s[", ct && *ct ? ct : "multipart/?");
		if (xml_at(x, "<preamble>"))
			xml_skip_to(x, "</preamble>");
		while (!x->bad && xml_at(x, "<body-part>")) {
			x->p += strlen("<body-part>");
			if (!first)
				buf_append_str(out, ",");
			first = false;
			xml_entity(x, "</body-part>", digest, out);
		}
		if (xml_at(x, "<epilogue>"))
			xml_skip_to(x, "</epilogue>");
		xml_expect(x, "</multipart>");
		buf_append_str(out, "]");
	} else if (xml_at(x, "<message>")) {
		x->p += strlen("<message>");
		buf_append_str(out, "message/rfc822{");
		xml_entity(x, "</message>", false, out);
		buf_append_str(out, "}");
	} else {
		x->bad = true;
	}
}

static void
xml_entity(struct xml *x, const char *close, bool in_digest, struct buf *out)
{
	char *ct = xml_header(x);

	if (!x->bad)
		xml_content(x, ct, in_digest, out);
	free(ct);
	xml_expect(x, close);
}

/* The tree in a mime4j .xml, or NULL when the file is not understood. */
static char *
xml_tree(const char *xml_text)
{
	struct xml x = { .p = xml_text };
	struct buf out = { 0 };

	buf_append(&out, "", 0);
	xml_expect(&x, "<message>");
	if (!x.bad)
		xml_entity(&x, "</message>", false, &out);
	if (x.bad) {
		buf_free(&out);
		return NULL;
	}
	return out.data;
}

static void
gmime_entity(GMimeObject *obj, struct buf *out)
{
	GMimeContentType *ct;
	char *type;

	if (!obj) {
		buf_append_str(out, "(none)");
		return;
	}
	ct = g_mime_object_get_content_type(obj);
	type = ct ? g_mime_content_type_get_mime_type(ct) : g_strdup("text/plain");
	str_lower(type);
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));
		buf_printf(out, "%s[", type);
		for (int i = 0; i < n; i++) {
			if (i)
				buf_append_str(out, ",");
			gmime_entity(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
			    out);
		}
		buf_append_str(out, "]");
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *m = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));
		buf_append_str(out, "message/rfc822{");
		gmime_entity(m ? g_mime_message_get_mime_part(m) : NULL, out);
		buf_append_str(out, "}");
	} else {
		buf_append_str(out, type);
	}
	g_free(type);
}

/* The tree GMime builds, parsing the way src/mail/mime.c does. */
static char *
gmime_tree(const char *raw, size_t len)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	struct buf out = { 0 };

	buf_append(&out, "", 0);
	if (msg) {
		gmime_entity(g_mime_message_get_mime_part(msg), &out);
		g_object_unref(msg);
	} else {
		buf_append_str(&out, "(no message)");
	}
	g_object_unref(parser);
	g_object_unref(stream);
	return out.data;
}

/*
 * Files where mime4j and GMime 3.2 build different trees on purpose.
 * Everything else must match exactly. Five causes, each a documented
 * choice of one parser, none a crash or a lost byte (the raw message is
 * stored whatever the tree):
 *
 * - message/rfc822 in base64: RFC 2046 5.2.1 allows only 7bit, 8bit and
 *   binary for message/rfc822. mime4j decodes and parses the inner
 *   message anyway; GMime keeps the part as an opaque leaf (so it becomes
 *   an attachment, not a nested message).
 * - No header at all (the first line is not a field): mime4j reads an
 *   empty header and a text/plain body; g_mime_parser_construct_message()
 *   returns NULL, so mime_summarize() reports parsed = false.
 * - "--boundary junk" lines: RFC 2046 5.1.1 allows only whitespace after
 *   the delimiter; mime4j still takes the line as a delimiter, GMime
 *   does not, so GMime sees no part.
 * - A delimiter directly followed by the close delimiter: mime4j reports
 *   one empty body part, GMime none.
 * - A 28 KB boundary (RFC 2046 5.1.1 caps it at 70 characters): GMime
 *   does not match delimiter lines that long, so it sees no part (the
 *   3 KB boundary of very-long-boundary.msg still matches).
 */
static const struct {
	const char	*file;
	const char	*why;
} known_differences[] = {
	{ "base64encoded-rfc822message.msg", "base64 message/rfc822" },
	{ "bad-newlines-multiple-parts-base64.msg", "base64 message/rfc822" },
	{ "malformedHeader-noheader.msg", "no header: GMime builds no message" },
	{ "malformedHeaderStartsBody-noheader.msg",
	    "no header: GMime builds no message" },
	{ "ending-boundaries.msg", "text after the delimiter" },
	{ "multipartemptypart.msg", "empty body part" },
	{ "very-very-long-boundary.msg", "28 KB boundary" },
	{ NULL, NULL },
};

static const char *
known_difference(const char *file)
{
	for (size_t i = 0; known_differences[i].file; i++)
		if (strcmp(known_differences[i].file, file) == 0)
			return known_differences[i].why;
	return NULL;
}

START_TEST(mime4j_trees)
{
	struct buf report = { 0 }, known = { 0 };
	size_t compared = 0, matched = 0, n_known = 0;
	bool ok;

	list_corpus();
	for (size_t i = 0; i < n_corpus_files; i++) {
		const char *path = corpus_files[i], *name = rel(path), *why;
		size_t plen = strlen(path), len, crlf_len, xlen;
		char xml_path[4096], *raw, *crlf, *xml, *want, *got;
		struct stat st;

		if (strncmp(name, "mime4j-testmsgs/", 16) != 0 || plen < 4 ||
		    strcmp(path + plen - 4, ".msg") != 0)
			continue;
		snprintf(xml_path, sizeof(xml_path), "%.*s.xml", (int)(plen - 4),
		    path);
		if (stat(xml_path, &st) != 0)
			continue;
		compared++;
		xml = read_all(xml_path, &xlen);
		want = xml_tree(xml);
		free(xml);
		ck_assert_msg(want != NULL, "%s: unexpected .xml layout", xml_path);
		raw = read_all(path, &len);
		crlf = to_crlf(raw, len, &crlf_len);
		free(raw);
		got = gmime_tree(crlf, crlf_len);
		free(crlf);
		why = known_difference(name + 16);
		if (strcmp(want, got) == 0) {
			matched++;
			if (why)
				printf("note: %s matches now; drop it from "
				    "known_differences\n", name);
		} else if (why) {
			n_known++;
			buf_printf(&known, "  %s (%s)\n    mime4j: %s\n    gmime:  %s\n",
			    name, why, want, got);
		} else {
			buf_printf(&report, "  %s\n    mime4j: %s\n    gmime:  %s\n",
			    name, want, got);
		}
		free(want);
		free(got);
	}
	printf("mime4j trees: %zu compared, %zu match, %zu known differences, "
	    "%zu unexpected\n", compared, matched, n_known,
	    compared - matched - n_known);
	if (known.len)
		printf("known differences:\n%s", known.data);
	if (report.len)
		printf("unexpected differences:\n%s", report.data);
	fflush(stdout);
	ok = report.len == 0;
	buf_free(&known);	/* before the asserts: CK_FORK=no jumps out */
	buf_free(&report);
	ck_assert_msg(compared >= 30, "only %zu mime4j files with .xml", compared);
	ck_assert_msg(ok, "part trees differ from mime4j (listed on stdout)");
}
END_TEST

static Suite *
mime_corpus_suite(void)
{
	Suite *s = suite_create("mime_corpus");
	TCase *tc = tcase_create("corpus");

	/* ASan and valgrind runs are several times slower than plain ones. */
	tcase_set_timeout(tc, 600);
	tcase_add_test(tc, every_file_parses);
	tcase_add_test(tc, dos_files_bounded);
	tcase_add_test(tc, mime4j_trees);
	suite_add_tcase(s, tc);
	return s;
}

int
main(int argc, char **argv)
{
	SRunner *sr;
	struct stat st;
	int failed;

	if (argc != 2) {
		fprintf(stderr, "usage: %s MIME-CORPUS-DIR\n", argv[0]);
		return 2;
	}
	corpus_dir = argv[1];
	if (stat(corpus_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "test_mime_corpus: FAIL: the MIME corpus %s is "
		    "missing (it lives in shared/testdata/mime beside the "
		    "repository)\n", corpus_dir);
		return 1;
	}
	mime_init();
	sr = srunner_create(mime_corpus_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	for (size_t i = 0; i < n_corpus_files; i++)
		free(corpus_files[i]);
	free(corpus_files);
	return failed ? 1 : 0;
}
