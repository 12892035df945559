/*
 * tz.c - TZif (RFC 8536) zones and POSIX TZ rules, evaluated without TZ.
 *
 * tz_parse() copies everything it needs out of the file into a struct tz
 * that is never written again, so lookups from many threads need no lock.
 * Every count in the file is checked against the bytes actually present
 * before anything is read, and the file must be under TZ_FILE_MAX. Only
 * the tz_get() cache is shared mutable state; one mutex guards it.
 *
 * An instant is looked up in the transition table; after the last
 * transition the footer's POSIX TZ rule ("CET-1CEST,M3.5.0,M10.5.0/3")
 * takes over, evaluated for the years around the instant. Instants are
 * clamped to +-2^56 seconds so no date arithmetic can overflow.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gent/tz.h"
#include "gent/util.h"

#define TZ_DIR		"/usr/share/zoneinfo"
#define TZ_ABBR_MAX	16		/* longest abbreviation we keep */
#define TZ_FOOTER_MAX	256		/* longest POSIX TZ footer */
#define TZ_T_LIMIT	(INT64_C(1) << 56)	/* lookups clamp here */
#define TZ_TRANS_LIMIT	(INT64_C(1) << 60)	/* transitions must be inside */
#define UTOFF_MIN	(-89999)	/* -24:59:59, RFC 8536 3.2 */
#define UTOFF_MAX	93599		/* +25:59:59 */
#define HDR_LEN		44		/* magic, version, unused, 6 counts */

/* One local time type (ttinfo). */
struct tz_type {
	int32_t		 utoff;	/* seconds east of UTC */
	bool		 isdst;
	uint8_t		 abbr;	/* index into tz->chars */
};

/* One end of a DST period in a POSIX TZ rule. */
struct tz_date {
	char		 kind;	/* 'J' Julian 1..365, 'n' 0..365, 'M' m.w.d */
	int		 n;	/* day for 'J' and 'n' */
	int		 month, week, wday;	/* 'M': 1..12, 1..5, 0..6 */
	int32_t		 time;	/* local seconds after midnight, -167h..167h */
};

/* The footer: "std offset [dst [offset] ,start[/time],end[/time]]". */
struct tz_rule {
	int32_t		 std_off;	/* seconds east, standard time */
	int32_t		 dst_off;	/* seconds east, DST (if has_dst) */
	bool		 has_dst;
	struct tz_date	 start, end;	/* DST begins (std) / ends (dst) */
	char		 std_abbr[TZ_ABBR_MAX + 1];
	char		 dst_abbr[TZ_ABBR_MAX + 1];
};

struct tz {
	char		*name;		/* as loaded, for tz_name() */
	int64_t		*trans;		/* transition instants, ascending */
	uint8_t		*trans_type;	/* types[] index in effect from each */
	size_t		 n_trans;
	struct tz_type	*types;		/* n_types >= 1; [0] before trans[0] */
	size_t		 n_types;
	char		*chars;		/* abbreviations, NUL-terminated */
	size_t		 n_chars;
	bool		 has_rule;	/* footer present and non-empty */
	struct tz_rule	 rule;
	bool		 utc;		/* offset 0 at every instant */
};

/* The counts of one TZif header. */
struct tzif_hdr {
	uint8_t		 version;	/* 0 for v1, else '2', '3', ... */
	uint32_t	 isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

/* Bounded reading of the file; pos never passes len. */
struct rd {
	const uint8_t	*p;
	size_t		 len;
	size_t		 pos;
};

static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int64_t
clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static bool
is_alpha(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int
days_in_month(int64_t y, int m)
{
	static const int d[] = {
		31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	return d[m - 1] + (m == 2 && is_leap(y));
}

/* Days from 1970-01-01 to y-m-d, proleptic Gregorian (H. Hinnant). */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = floor_div(y, 400);
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil(). */
static void
civil_from_days(int64_t z, int64_t *y_r, int *m_r, int *d_r)
{
	z += 719468;
	int64_t era = floor_div(z, 146097);
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;

	*d_r = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m_r = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y_r = yoe + era * 400 + (*m_r <= 2);
}

static int64_t
year_of(int64_t t)
{
	int64_t y;
	int m, d;

	civil_from_days(floor_div(t, 86400), &y, &m, &d);
	return y;
}

/* ---- POSIX TZ strings (RFC 8536 3.3, POSIX.1-2017 8.3) ---- */

/* std/dst name: 3+ letters, or <...> of letters, digits, '+' and '-'. */
static int
ps_name(const char **pp, char out[TZ_ABBR_MAX + 1])
{
	const char *p = *pp;
	size_t n = 0;
	bool quoted = *p == '<';

	for (p += quoted; *p; p++, n++) {
		bool alpha = is_alpha(*p);
		bool other = is_digit(*p) || *p == '+' || *p == '-';
		if (!alpha && !(quoted && other))
			break;
		if (n == TZ_ABBR_MAX)
			return -1;
		out[n] = *p;
	}
	out[n] = '\0';
	if (n < 3 || (quoted && *p++ != '>'))
		return -1;
	*pp = p;
	return 0;
}

/* 1 to max_digits decimal digits, value <= max; -1 when none or too big. */
static int
ps_num(const char **pp, int max_digits, int max)
{
	const char *p = *pp;
	int v = 0, n = 0;

	for (; is_digit(*p) && n < max_digits; p++, n++)
		v = v * 10 + (*p - '0');
	if (n == 0 || v > max)
		return -1;
	*pp = p;
	return v;
}

/* [+-]hh[:mm[:ss]] with hh <= max_h; POSIX offsets are west-positive. */
static int
ps_time(const char **pp, int max_h, int32_t *secs_r)
{
	const char *p = *pp;
	int sign = 1, h, m = 0, s = 0;

	if (*p == '+' || *p == '-')
		sign = *p++ == '-' ? -1 : 1;
	if ((h = ps_num(&p, 3, max_h)) < 0)
		return -1;
	if (*p == ':') {
		p++;
		if ((m = ps_num(&p, 2, 59)) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if ((s = ps_num(&p, 2, 59)) < 0)
				return -1;
		}
	}
	*secs_r = sign * (h * 3600 + m * 60 + s);
	*pp = p;
	return 0;
}

/* Jn | n | Mm.w.d, then [/time] (default 02:00; v3 allows -167..167 h). */
static int
ps_date(const char **pp, struct tz_date *d)
{
	const char *p = *pp;

	memset(d, 0, sizeof(*d));
	d->kind = *p == 'J' || *p == 'M' ? *p++ : 'n';
	if (d->kind == 'J') {
		if ((d->n = ps_num(&p, 3, 365)) < 1)
			return -1;
	} else if (d->kind == 'n') {
		if ((d->n = ps_num(&p, 3, 365)) < 0)
			return -1;
	} else {
		if ((d->month = ps_num(&p, 2, 12)) < 1 || *p++ != '.' ||
		    (d->week = ps_num(&p, 1, 5)) < 1 || *p++ != '.' ||
		    (d->wday = ps_num(&p, 1, 6)) < 0)
			return -1;
	}
	d->time = 7200;
	if (*p == '/') {
		p++;
		if (ps_time(&p, 167, &d->time) != 0)
			return -1;
	}
	*pp = p;
	return 0;
}

/* The whole footer. DST without a rule is refused: tzdata never writes
 * one, and POSIX leaves its meaning to the implementation. */
static int
rule_parse(const char *s, struct tz_rule *r)
{
	int32_t off;

	memset(r, 0, sizeof(*r));
	if (ps_name(&s, r->std_abbr) != 0 || ps_time(&s, 24, &off) != 0)
		return -1;
	r->std_off = -off;
	if (*s == '\0')
		return 0;
	if (ps_name(&s, r->dst_abbr) != 0)
		return -1;
	r->has_dst = true;
	r->dst_off = r->std_off + 3600;
	if (*s != ',') {
		if (ps_time(&s, 24, &off) != 0)
			return -1;
		r->dst_off = -off;
	}
	if (*s++ != ',' || ps_date(&s, &r->start) != 0 || *s++ != ',' ||
	    ps_date(&s, &r->end) != 0 || *s != '\0')
		return -1;
	return 0;
}

/* Days since the epoch of a rule date in year y. */
static int64_t
rule_day(int64_t y, const struct tz_date *d)
{
	int64_t jan1 = days_from_civil(y, 1, 1);

	if (d->kind == 'J')	/* 1..365, February 29 never counted */
		return jan1 + d->n - 1 + (is_leap(y) && d->n >= 60);
	if (d->kind == 'n')	/* 0..365, February 29 counted */
		return jan1 + d->n;
	/* Day wday of week "week" of the month; week 5 means the last. */
	int64_t first = days_from_civil(y, d->month, 1);
	/* 0 = Sunday; 1970-01-01 was a Thursday. */
	int wd_first = (int)(((first + 4) % 7 + 7) % 7);
	int mday = 1 + (d->wday - wd_first + 7) % 7 + (d->week - 1) * 7;
	while (mday > days_in_month(y, d->month))
		mday -= 7;
	return first + mday - 1;
}

/* The UTC instants at which DST starts and ends in year y. */
static void
rule_events(const struct tz_rule *r, int64_t y, int64_t *start_r,
    int64_t *end_r)
{
	*start_r = rule_day(y, &r->start) * 86400 + r->start.time - r->std_off;
	*end_r = rule_day(y, &r->end) * 86400 + r->end.time - r->dst_off;
}

/*
 * Whether DST is in effect at t: the state set by the latest event at or
 * before t. Rule times reach a week past the year's end, so the events
 * of two years back are the earliest that are surely before t. On a tie
 * the later year's event wins, which keeps "0/0,J365/25" DST all year.
 */
static bool
rule_isdst(const struct tz_rule *r, int64_t t)
{
	int64_t y = year_of(t + r->std_off), best = INT64_MIN, s, e;
	bool dst = false;

	if (!r->has_dst)
		return false;
	for (int64_t yy = y - 2; yy <= y + 1; yy++) {
		rule_events(r, yy, &s, &e);
		if (s <= t && s >= best) {
			best = s;
			dst = true;
		}
		if (e <= t && e >= best) {
			best = e;
			dst = false;
		}
	}
	return dst;
}

/* The first rule event after t, if the rule has any. */
static bool
rule_next(const struct tz_rule *r, int64_t t, int64_t *next_r)
{
	int64_t y = year_of(t + r->std_off), best = INT64_MAX, s, e;

	if (!r->has_dst)
		return false;
	for (int64_t yy = y - 1; yy <= y + 2; yy++) {
		rule_events(r, yy, &s, &e);
		if (s > t && s < best)
			best = s;
		if (e > t && e < best)
			best = e;
	}
	*next_r = best;
	return best != INT64_MAX;	/* always found; never overflow callers */
}

/* ---- TZif parsing ---- */

static uint32_t
rd_be32(struct rd *r)
{
	const uint8_t *p = r->p + r->pos;

	r->pos += 4;
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

static int64_t
rd_be64(struct rd *r)
{
	uint64_t hi = rd_be32(r);

	return (int64_t)(hi << 32 | rd_be32(r));
}

/* A header at r->pos, counts checked against each other and the bytes
 * left. timesize is 4 (v1 data) or 8 (v2+ data). */
static int
hdr_read(struct rd *r, int timesize, struct tzif_hdr *h, const char **error_r)
{
	if (r->len - r->pos < HDR_LEN) {
		*error_r = "truncated TZif header";
		return -1;
	}
	if (memcmp(r->p + r->pos, "TZif", 4) != 0) {
		*error_r = "not a TZif file";
		return -1;
	}
	h->version = r->p[r->pos + 4];
	if (h->version != 0 && h->version < '2') {
		*error_r = "unknown TZif version";
		return -1;
	}
	r->pos += 20;
	h->isutcnt = rd_be32(r);
	h->isstdcnt = rd_be32(r);
	h->leapcnt = rd_be32(r);
	h->timecnt = rd_be32(r);
	h->typecnt = rd_be32(r);
	h->charcnt = rd_be32(r);
	if (h->typecnt == 0 || h->typecnt > 256 || h->charcnt == 0 ||
	    (h->isutcnt != 0 && h->isutcnt != h->typecnt) ||
	    (h->isstdcnt != 0 && h->isstdcnt != h->typecnt)) {
		*error_r = "inconsistent TZif counts";
		return -1;
	}
	if (h->leapcnt != 0) {
		*error_r = "TZif files with leap seconds are not supported";
		return -1;
	}
	uint64_t need = (uint64_t)h->timecnt * (uint64_t)(timesize + 1) +
	    (uint64_t)h->typecnt * 6 + h->charcnt + h->isstdcnt + h->isutcnt;
	if (need > r->len - r->pos) {
		*error_r = "truncated TZif data";
		return -1;
	}
	return 0;
}

/* Transition times and their type indices. */
static int
read_transitions(struct rd *r, int timesize, struct tz *tz,
    const char **error_r)
{
	tz->trans = xcalloc(tz->n_trans ? tz->n_trans : 1, sizeof(int64_t));
	tz->trans_type = xcalloc(tz->n_trans ? tz->n_trans : 1, 1);
	for (size_t i = 0; i < tz->n_trans; i++) {
		int64_t t = timesize == 8 ? rd_be64(r) : (int32_t)rd_be32(r);
		if (t < -TZ_TRANS_LIMIT || t > TZ_TRANS_LIMIT ||
		    (i > 0 && t <= tz->trans[i - 1])) {
			*error_r = "TZif transitions out of order or range";
			return -1;
		}
		tz->trans[i] = t;
	}
	for (size_t i = 0; i < tz->n_trans; i++) {
		tz->trans_type[i] = r->p[r->pos++];
		if (tz->trans_type[i] >= tz->n_types) {
			*error_r = "TZif transition has no such type";
			return -1;
		}
	}
	return 0;
}

/* ttinfo records: int32 utoff, uint8 isdst, uint8 abbreviation index. */
static int
read_types(struct rd *r, struct tz *tz, const char **error_r)
{
	tz->types = xcalloc(tz->n_types, sizeof(*tz->types));
	for (size_t i = 0; i < tz->n_types; i++) {
		struct tz_type *ty = &tz->types[i];
		int32_t utoff = (int32_t)rd_be32(r);
		uint8_t isdst = r->p[r->pos++];
		ty->abbr = r->p[r->pos++];
		if (utoff < UTOFF_MIN || utoff > UTOFF_MAX || isdst > 1 ||
		    ty->abbr >= tz->n_chars) {
			*error_r = "bad TZif local time type";
			return -1;
		}
		ty->utoff = utoff;
		ty->isdst = isdst;
	}
	return 0;
}

/* One data block as described by h, leaving r after it. */
static int
read_block(struct rd *r, const struct tzif_hdr *h, int timesize,
    struct tz *tz, const char **error_r)
{
	tz->n_trans = h->timecnt;
	tz->n_types = h->typecnt;
	tz->n_chars = h->charcnt;
	if (read_transitions(r, timesize, tz, error_r) != 0 ||
	    read_types(r, tz, error_r) != 0)
		return -1;
	if (r->p[r->pos + h->charcnt - 1] != '\0') {
		*error_r = "TZif abbreviations not terminated";
		return -1;
	}
	tz->chars = xmalloc(h->charcnt);
	memcpy(tz->chars, r->p + r->pos, h->charcnt);
	/* isstd/isut only matter for rules without a footer; skip them. */
	r->pos += h->charcnt + h->isstdcnt + h->isutcnt;
	return 0;
}

/* "\n" TZ-string "\n" ending the file (v2+). */
static int
read_footer(struct rd *r, struct tz *tz, const char **error_r)
{
	const uint8_t *s = r->p + r->pos, *nl;
	size_t left = r->len - r->pos;

	*error_r = "bad TZif footer";
	if (left < 2 || s[0] != '\n')
		return -1;
	nl = memchr(s + 1, '\n', left - 1);
	if (nl == NULL || (size_t)(nl - s) != left - 1 ||
	    left - 2 > TZ_FOOTER_MAX || memchr(s + 1, '\0', left - 2) != NULL)
		return -1;
	if (left == 2)
		return 0;
	char buf[TZ_FOOTER_MAX + 1];
	memcpy(buf, s + 1, left - 2);
	buf[left - 2] = '\0';
	if (rule_parse(buf, &tz->rule) != 0)
		return -1;
	tz->has_rule = true;
	return 0;
}

/* True when no type and no rule can give anything but UTC. */
static bool
always_utc(const struct tz *tz)
{
	for (size_t i = 0; i < tz->n_types; i++)
		if (tz->types[i].utoff != 0 || tz->types[i].isdst)
			return false;
	return !tz->has_rule || (tz->rule.std_off == 0 && !tz->rule.has_dst);
}

static int
parse_body(struct rd *r, struct tz *tz, const char **error_r)
{
	struct tzif_hdr h;

	if (hdr_read(r, 4, &h, error_r) != 0)
		return -1;
	if (h.version == 0) {
		if (read_block(r, &h, 4, tz, error_r) != 0)
			return -1;
		return 0;	/* v1 data may be followed by anything */
	}
	/* Skip the v1 block: the v2 header and 64-bit data follow it. */
	r->pos += (size_t)h.timecnt * 5 + (size_t)h.typecnt * 6 + h.charcnt +
	    h.isstdcnt + h.isutcnt;
	if (hdr_read(r, 8, &h, error_r) != 0)
		return -1;
	if (h.version == 0) {
		*error_r = "inconsistent TZif version";
		return -1;
	}
	if (read_block(r, &h, 8, tz, error_r) != 0)
		return -1;
	return read_footer(r, tz, error_r);
}

int
tz_parse(const char *name, const void *data, size_t len, struct tz **tz_r,
    const char **error_r)
{
	struct rd r = { .p = data, .len = len, .pos = 0 };
	struct tz *tz;

	if (len >= TZ_FILE_MAX) {
		*error_r = "TZif file too large";
		return -1;
	}
	tz = xcalloc(1, sizeof(*tz));
	tz->name = xstrdup(name != NULL ? name : "");
	if (parse_body(&r, tz, error_r) != 0) {
		tz_free(&tz);
		return -1;
	}
	tz->utc = always_utc(tz);
	*tz_r = tz;
	return 0;
}

/* ---- Loading ---- */

/* An IANA-style relative name that cannot leave the zoneinfo directory. */
static bool
name_ok(const char *name)
{
	size_t len;

	if (name == NULL || (len = strnlen(name, TZ_NAME_MAX + 1)) == 0 ||
	    len > TZ_NAME_MAX || strstr(name, "..") != NULL)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = name[i];
		bool start = i == 0 || name[i - 1] == '/';
		if (!is_alpha(c) && !is_digit(c) && strchr("_-+./", c) == NULL)
			return false;
		if (start && (c == '/' || c == '.'))
			return false;
	}
	return name[len - 1] != '/';
}

/* The whole regular file at path, if it is under TZ_FILE_MAX. */
static int
read_file(const char *path, uint8_t **data_r, size_t *len_r,
    const char **error_r)
{
	struct stat st;
	size_t got = 0;
	int fd;

	/* O_NONBLOCK so a FIFO planted in the directory cannot hang us. */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0) {
		*error_r = errno == ENOENT || errno == ENOTDIR ?
		    "unknown time zone" : "cannot open time zone file";
		return -1;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size >= TZ_FILE_MAX) {
		*error_r = "not a time zone file";
		close(fd);
		return -1;
	}
	*data_r = xmalloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, *data_r + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	close(fd);
	*len_r = got;
	return 0;
}

static struct tz *
utc_new(const char *name)
{
	struct tz *tz = xcalloc(1, sizeof(*tz));

	tz->name = xstrdup(name);
	tz->n_types = 1;
	tz->types = xcalloc(1, sizeof(*tz->types));
	tz->n_chars = 4;
	tz->chars = xstrdup("UTC");
	tz->utc = true;
	return tz;
}

int
tz_load(const char *name, struct tz **tz_r, const char **error_r)
{
	char path[sizeof(TZ_DIR) + 1 + TZ_NAME_MAX + 1];
	uint8_t *data = NULL;
	size_t len = 0;
	int rc;

	if (!name_ok(name)) {
		*error_r = "invalid time zone name";
		return -1;
	}
	if (strcmp(name, "UTC") == 0) {
		*tz_r = utc_new(name);
		return 0;
	}
	snprintf(path, sizeof(path), "%s/%s", TZ_DIR, name);
	if (read_file(path, &data, &len, error_r) != 0)
		return -1;
	rc = tz_parse(name, data, len, tz_r, error_r);
	free(data);
	return rc;
}

void
tz_free(struct tz **tzp)
{
	struct tz *tz = *tzp;

	if (tz == NULL)
		return;
	free(tz->name);
	free(tz->trans);
	free(tz->trans_type);
	free(tz->types);
	free(tz->chars);
	free(tz);
	*tzp = NULL;
}

/* ---- Lookups ---- */

const char *
tz_name(const struct tz *tz)
{
	return tz->name;
}

bool
tz_is_utc(const struct tz *tz)
{
	return tz->utc;
}

/* Index of the last transition at or before t; t >= trans[0]. */
static size_t
trans_index(const struct tz *tz, int64_t t)
{
	size_t lo = 0, hi = tz->n_trans;	/* answer in [lo, hi) */

	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (tz->trans[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

static void
info_from_type(const struct tz *tz, const struct tz_type *ty,
    struct tz_info *info_r)
{
	info_r->utoff = ty->utoff;
	info_r->isdst = ty->isdst;
	info_r->abbr = tz->chars + ty->abbr;
}

void
tz_info_at(const struct tz *tz, int64_t t, struct tz_info *info_r)
{
	size_t n = tz->n_trans;

	t = clamp64(t, -TZ_T_LIMIT, TZ_T_LIMIT);
	if (tz->has_rule && (n == 0 || t >= tz->trans[n - 1])) {
		bool dst = rule_isdst(&tz->rule, t);
		info_r->utoff = dst ? tz->rule.dst_off : tz->rule.std_off;
		info_r->isdst = dst;
		info_r->abbr = dst ? tz->rule.dst_abbr : tz->rule.std_abbr;
	} else if (n == 0 || t < tz->trans[0]) {
		info_from_type(tz, &tz->types[0], info_r);
	} else {
		size_t i = trans_index(tz, t);
		info_from_type(tz, &tz->types[tz->trans_type[i]], info_r);
	}
}

int32_t
tz_offset_at(const struct tz *tz, int64_t t)
{
	struct tz_info info;

	tz_info_at(tz, t, &info);
	return info.utoff;
}

/* The first transition after t (table, then rule), if there is one. */
static bool
next_transition(const struct tz *tz, int64_t t, int64_t *next_r)
{
	size_t n = tz->n_trans;

	if (n > 0 && t < tz->trans[n - 1]) {
		*next_r = t < tz->trans[0] ? tz->trans[0] :
		    tz->trans[trans_index(tz, t) + 1];
		return true;
	}
	/* t is at or after the last transition: only the rule is left. */
	return tz->has_rule && rule_next(&tz->rule, t, next_r);
}

/* Whether wall time L also occurs with the offset in effect from t on. */
static bool
occurs_again(const struct tz *tz, int64_t local, int64_t t)
{
	int32_t o = tz_offset_at(tz, t);

	return local >= t + o && tz_offset_at(tz, local - o) == o;
}

/*
 * Walk the stretches of constant offset that could show wall time L
 * (UTC from L - UTOFF_MAX - 1 on) until one reaches past L in local
 * time. Either L lies inside it (the earliest occurrence) or the
 * stretch starts after L, so L fell into the gap before it.
 */
int
tz_local_to_utc(const struct tz *tz, int64_t local, int64_t *utc_r)
{
	int64_t s, next;
	int32_t o, prev;
	bool more;

	if (local < -TZ_T_LIMIT || local > TZ_T_LIMIT)
		return -1;
	s = local - UTOFF_MAX - 1;
	o = prev = tz_offset_at(tz, s);
	while ((more = next_transition(tz, s, &next)) && local >= next + o) {
		prev = o;
		s = next;
		o = tz_offset_at(tz, s);
	}
	if (local < s + o) {
		*utc_r = local - prev;
		return TZ_LOCAL_GAP;
	}
	*utc_r = local - o;
	return more && occurs_again(tz, local, next) ? TZ_LOCAL_OVERLAP :
	    TZ_LOCAL_UNIQUE;
}

void
tz_format_iso(const struct tz *tz, int64_t ms, char out[TZ_ISO_LEN])
{
	/* 0000-01-02 and 9999-12-30: local dates stay four digits. */
	int64_t t = clamp64(floor_div(ms, 1000), -62167132800LL,
	    253402214399LL);
	int32_t off = tz_offset_at(tz, t);
	int32_t off_min = (off + (off >= 0 ? 30 : -30)) / 60;
	int64_t local = t + (int64_t)off_min * 60, y;
	int64_t sod = local - floor_div(local, 86400) * 86400;
	int m, d;

	civil_from_days(floor_div(local, 86400), &y, &m, &d);
	char zone[16] = "Z";

	if (!tz->utc)
		snprintf(zone, sizeof(zone), "%c%02d:%02d",
		    off_min < 0 ? '-' : '+', abs(off_min) / 60,
		    abs(off_min) % 60);
	snprintf(out, TZ_ISO_LEN, "%04d-%02d-%02dT%02d:%02d:%02d%s", (int)y, m,
	    d, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60), zone);
}

/* ---- The process-wide cache ---- */

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct tz *cache[TZ_CACHE_MAX];	/* guarded by cache_lock */
static size_t cache_len;		/* guarded by cache_lock */

int
tz_get(const char *name, const struct tz **tz_r, const char **error_r)
{
	struct tz *tz = NULL;
	int rc = 0;

	if (!name_ok(name)) {	/* before the lock: no file, no cache entry */
		*error_r = "invalid time zone name";
		return -1;
	}
	/* Loading under the lock reads each file once; it happens once per
	 * zone for the life of the process. */
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < cache_len && tz == NULL; i++)
		if (strcmp(cache[i]->name, name) == 0)
			tz = cache[i];
	if (tz == NULL && cache_len == TZ_CACHE_MAX) {
		*error_r = "too many time zones in use";
		rc = -1;
	} else if (tz == NULL && (rc = tz_load(name, &tz, error_r)) == 0) {
		cache[cache_len++] = tz;
	}
	pthread_mutex_unlock(&cache_lock);
	if (rc == 0)
		*tz_r = tz;
	return rc;
}

void
tz_cache_free(void)
{
	pthread_mutex_lock(&cache_lock);
	for (size_t i = 0; i < cache_len; i++)
		tz_free(&cache[i]);
	cache_len = 0;
	pthread_mutex_unlock(&cache_lock);
}
