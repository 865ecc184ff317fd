/*
 * dahdi_shim.h - the only code in confcall that performs system calls on DAHDI devices.
 *
 * Why: every open/ioctl/read/write/close/poll on /dev/dahdi goes through ONE ops table, so the
 * same compiled code path (real ioctl numbers, real structs from <dahdi/user.h>) runs against
 * the kernel in production and against a user-space device (the simulated span) in tests.
 *
 * Error convention: every dshim_* call returns >= 0 on success and -errno on failure, so the
 * caller never has to race for the thread's errno.
 */
#ifndef CONFCALL_DAHDI_SHIM_H
#define CONFCALL_DAHDI_SHIM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <poll.h>
#include <dahdi/user.h>

#define DSHIM_MAX_FD 65536

/* Which device paths the shim opens. */
#define DSHIM_PATH_CHANNEL "/dev/dahdi/channel"
#define DSHIM_PATH_CTL "/dev/dahdi/ctl"

/* A user-space device: open/ioctl/close are emulated by callbacks (returning >= 0 or -errno);
 * read/write/poll run on the real file descriptors those callbacks hand out, with DAHDI's event
 * semantics added by the shim (read fails with ELAST and poll reports POLLPRI while the device
 * flags an event pending on that fd). */
typedef int (*dshim_open_fn)(const char *path, int flags);
typedef int (*dshim_ioctl_fn)(int fd, unsigned long request, void *arg);
typedef int (*dshim_close_fn)(int fd);

void dshim_use_libc(void);
void dshim_use_userspace(dshim_open_fn open_cb, dshim_ioctl_fn ioctl_cb, dshim_close_fn close_cb);
int dshim_using_userspace(void);
void dshim_set_event_pending(int fd, int pending);

int dshim_open(const char *path, int flags);
int dshim_ioctl(int fd, unsigned long request, void *arg);
int dshim_ioctl_int(int fd, unsigned long request, int *value);
int dshim_read(int fd, void *buf, size_t count);
int dshim_write(int fd, const void *buf, size_t count);
int dshim_close(int fd);
int dshim_poll(struct pollfd *fds, unsigned long nfds, int timeout_ms);

/* Open /dev/dahdi/channel non-blocking and DAHDI_SPECIFY it to channo: fd or -errno. */
int dshim_open_channel(int channo);

/* One call per tick for a whole span (or several): read one block from each of n fds into
 * row i of buf (row stride `stride` bytes, `blocksize` bytes per row). status[i] receives the
 * byte count or -errno (-EAGAIN: no block ready, -ELAST: a DAHDI event is pending). Rows that
 * did not get a full block are padded with idle[i] (the law's silence code) so stale audio is
 * never replayed. Returns the number of rows that got a full block. */
int dshim_read_blocks(int n, const int *fds, uint8_t *buf, int stride, int blocksize,
                      const uint8_t *idle, int *status);

/* Write row i of buf to fds[i]; status[i] = bytes written or -errno. Returns rows fully
 * written. */
int dshim_write_blocks(int n, const int *fds, const uint8_t *buf, int stride, int blocksize,
                       int *status);

#endif
