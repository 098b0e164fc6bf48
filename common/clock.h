/*
 * clock.h - the only place that reads the clocks.
 *
 * Logic takes "now" as a parameter; loops and main call these.
 */
#ifndef LZ_CLOCK_H
#define LZ_CLOCK_H

#include <stdint.h>

/* Wall-clock time in unix milliseconds / seconds. */
int64_t clock_now_ms(void);
int64_t clock_now_s(void);
/* Monotonic milliseconds, for timeouts and durations. */
int64_t clock_mono_ms(void);
/* Monotonic microseconds, for latency measurements. */
int64_t clock_mono_us(void);
/* Sleep for ms milliseconds (restarted after signals). */
void clock_sleep_ms(int64_t ms);

#endif
