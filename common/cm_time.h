/* cm_time.h — the wall clock in milliseconds since 1970, for what other nodes and
 * applications read (records in Redis, events, logs); durations use the engine's monotonic
 * eng_now_ms(). Any thread. */
#ifndef CM_TIME_H
#define CM_TIME_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

/* <ms> (wall clock) as "YYYY-MM-DDThh:mm:ss.mmmZ" into <buf> (at least 25 bytes). */
static inline void cm_rfc3339_ms(uint64_t ms, char *buf, size_t len)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&s, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, len - n, ".%03uZ", (unsigned)(ms % 1000));
}

static inline uint64_t cm_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
