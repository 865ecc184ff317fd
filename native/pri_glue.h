#ifndef CONFCALL_PRI_GLUE_H
#define CONFCALL_PRI_GLUE_H
#include <libpri.h>

/* libpri over the shim's ops table (see pri_glue.c). */
struct pri *dshim_pri_new(int fd, int nodetype, int switchtype);

/* libpri's clock (see pri_glue.c): set before each call into libpri; -1 = the real clock. */
void dshim_pri_set_now(long long usec);

/* The next libpri timer deadline on that clock; 0 when no timer is set. */
int dshim_pri_next_timer(struct pri *pri, long *sec, long *usec);

/* D-channel frames shorter than 5 octets dropped before libpri saw them (ever, all links). */
long dshim_pri_short_frames(void);
#endif
