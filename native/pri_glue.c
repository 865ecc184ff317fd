/*
 * pri_glue.c - libpri on a D-channel fd whose I/O goes through the shim's ops table.
 *
 * libpri's default I/O calls read()/write() itself; with pri_new_cb the frames pass through
 * dshim_read/dshim_write instead, so the same code runs on /dev/dahdi and on the simulated
 * span.  libpri's convention for a failed read or write is "return 0": a DAHDI event pending
 * (ELAST) is then noticed by the owner through poll()'s POLLPRI and fetched with GETEVENT.
 */
#include <libpri.h>
#include <stddef.h>
#include <sys/time.h>
#include <time.h>

#include "dahdi_shim.h"
#include "pri_glue.h"

/* The shortest frame libpri can parse: address (2) + control (1) + FCS (2). libpri reads the
 * address and control octets of whatever it is given before checking the length (valgrind:
 * uninitialised reads on 1-4 byte frames), so shorter frames end here, counted. */
#define PRI_MIN_FRAME 5
static volatile long short_frames;

static int glue_read(struct pri *pri, void *buf, int buflen)
{
    int r = dshim_read(pri_fd(pri), buf, (size_t)buflen);

    if (r > 0 && r < PRI_MIN_FRAME) {
        short_frames++;
        return 0;
    }
    return r < 0 ? 0 : r;
}

long dshim_pri_short_frames(void) { return short_frames; }

static int glue_write(struct pri *pri, void *buf, int buflen)
{
    int r = dshim_write(pri_fd(pri), buf, (size_t)buflen);
    return r < 0 ? 0 : r;
}

struct pri *dshim_pri_new(int fd, int nodetype, int switchtype)
{
    return pri_new_cb(fd, nodetype, switchtype, glue_read, glue_write, NULL);
}

/* libpri is linked statically with -Wl,--wrap=gettimeofday, so its clock is ours: the owner
 * sets "now" from its reactor before each entry into libpri. On a real reactor that is the
 * wall clock; in tests it is virtual time, so T303/T310/T200 expire in virtual seconds. */
int __real_gettimeofday(struct timeval *tv, void *tz);
static volatile long long pri_now_us = -1;

int __wrap_gettimeofday(struct timeval *tv, void *tz)
{
    long long now = pri_now_us;

    if (now < 0)
        return __real_gettimeofday(tv, tz);
    tv->tv_sec = (time_t)(now / 1000000);
    tv->tv_usec = (suseconds_t)(now % 1000000);
    return 0;
}

void dshim_pri_set_now(long long usec) { pri_now_us = usec; }

int dshim_pri_next_timer(struct pri *pri, long *sec, long *usec)
{
    struct timeval *tv = pri_schedule_next(pri);

    if (!tv)
        return 0;
    *sec = (long)tv->tv_sec;
    *usec = (long)tv->tv_usec;
    return 1;
}
