/* monoclock: the one reading of CLOCK_MONOTONIC every component uses
 * (deadlines, session times, progress). Never fails on Linux. */
#pragma once
#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds, microseconds, milliseconds, seconds. */
int64_t mono_ns(void);
int64_t mono_us(void);
int64_t mono_ms(void);
double mono_sec(void);
