/* cm_time.h — the wall clock in milliseconds since 1970, for what other nodes and
 * applications read (records in Redis, events); durations use the engine's monotonic
 * eng_now_ms(). Any thread. */
#ifndef CM_TIME_H
#define CM_TIME_H

#include <stdint.h>
#include <time.h>

static inline uint64_t cm_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

#endif
