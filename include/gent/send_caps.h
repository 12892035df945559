/*
 * send_caps.h - the periods of send caps (UTC calendar: a day starts at
 * 00:00Z, a week on Monday, a month on the 1st) and what a cap says
 * about one more message. Pure.
 */
#ifndef GENT_SEND_CAPS_H
#define GENT_SEND_CAPS_H

#include <stdbool.h>
#include <stdint.h>

/** Start (ms) of the period ("daily", "weekly", "monthly") holding now. */
int64_t send_caps_period_start(const char *period, int64_t now);
/** Start of the next period: when the count resets. */
int64_t send_caps_period_end(const char *period, int64_t now);

enum send_cap_verdict {
	SEND_CAP_OK,		/* under the limit */
	SEND_CAP_REFUSE,	/* enforce: 429 until the period ends */
	SEND_CAP_HOLD,		/* hold: queue until the period ends */
	SEND_CAP_OVERAGE,	/* allow_and_bill: send and count it as overage */
};

/** The verdict for one more message when sent_in_period were sent. */
enum send_cap_verdict send_caps_check(const char *mode, int64_t limit,
    int64_t sent_in_period);

/** Percent of limit that used is, rounded down (100 when limit <= 0). */
int64_t caps_percent(int64_t used, int64_t limit);
/**
 * The highest of the cap's alert thresholds (a JSON array of percents)
 * that going from before to after crosses (before < t <= after, in
 * percent of limit), or 0 when none is crossed.
 */
int64_t caps_threshold_crossed(const char *thresholds_json, int64_t before,
    int64_t after, int64_t limit);

#endif
