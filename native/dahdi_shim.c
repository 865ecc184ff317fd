/*
 * dahdi_shim.c - the ops table behind every DAHDI system call (see dahdi_shim.h).
 *
 * Production: libc on /dev/dahdi/*.  Tests and the demo: a user-space device whose open/ioctl/
 * close are callbacks and whose fds are real sockets, so poll(), libpri and Twisted work
 * unchanged.  The hot path (dshim_read_blocks / dshim_write_blocks) never leaves C.
 */
#include "dahdi_shim.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The shim is linked with -Wl,--wrap on open/ioctl/read/write/close so that OpenR2's device
 * calls reach the ops table (r2_glue.c); the shim itself calls libc through __real_*. */
int __real_open(const char *path, int flags, ...);
int __real_ioctl(int fd, unsigned long request, ...);
ssize_t __real_read(int fd, void *buf, size_t count);
ssize_t __real_write(int fd, const void *buf, size_t count);
int __real_close(int fd);

typedef struct dshim_ops {
    int (*open)(const char *path, int flags);
    int (*ioctl)(int fd, unsigned long request, void *arg);
    ssize_t (*read)(int fd, void *buf, size_t count);
    ssize_t (*write)(int fd, const void *buf, size_t count);
    int (*close)(int fd);
    int (*poll)(struct pollfd *fds, nfds_t nfds, int timeout_ms);
} dshim_ops;

/* ---- libc ------------------------------------------------------------------------------ */

static int libc_open(const char *path, int flags) { return __real_open(path, flags); }
static int libc_ioctl(int fd, unsigned long request, void *arg) { return __real_ioctl(fd, request, arg); }
static ssize_t libc_read(int fd, void *buf, size_t count) { return __real_read(fd, buf, count); }
static ssize_t libc_write(int fd, const void *buf, size_t count) { return __real_write(fd, buf, count); }
static int libc_close(int fd) { return __real_close(fd); }

static const dshim_ops libc_ops = {
    libc_open, libc_ioctl, libc_read, libc_write, libc_close, poll,
};

/* ---- user-space device ------------------------------------------------------------------ */

static dshim_open_fn u_open_cb;
static dshim_ioctl_fn u_ioctl_cb;
static dshim_close_fn u_close_cb;
static volatile unsigned char u_event_pending[DSHIM_MAX_FD];

static int fd_ok(int fd) { return fd >= 0 && fd < DSHIM_MAX_FD; }

static int from_cb(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

static int u_open(const char *path, int flags) { return from_cb(u_open_cb(path, flags)); }

/* DAHDI_IOMUX as the driver answers it, in C (OpenR2 asks it of every channel every tick):
 * SIGEVENT while an event is queued, READ while a block waits, WRITE while fewer than
 * `numbufs` written blocks wait for the span to send them (the far end takes one per 20 ms
 * tick), WRITEEMPTY when none waits. Written blocks still queued are counted from the
 * socket's unsent bytes (SIOCOUTQ) in units of one block's kernel footprint. */
static volatile unsigned char u_txbufs[DSHIM_MAX_FD];
static int u_block_bytes;

static int u_tx_queued(int fd)
{
    int outq = 0;

    if (u_block_bytes <= 0 || __real_ioctl(fd, SIOCOUTQ, &outq) < 0)
        return 0;
    return outq / u_block_bytes;
}

static int u_iomux(int fd, int *flags)
{
    int want = *flags, got;
    struct pollfd p;

    for (;;) {
        got = 0;
        if ((want & DAHDI_IOMUX_SIGEVENT) && fd_ok(fd) && u_event_pending[fd])
            got |= DAHDI_IOMUX_SIGEVENT;
        p.fd = fd;
        p.events = POLLIN;
        p.revents = 0;
        if (poll(&p, 1, 0) < 0)
            return -1;
        if ((want & DAHDI_IOMUX_READ) && (p.revents & POLLIN))
            got |= DAHDI_IOMUX_READ;
        if (want & (DAHDI_IOMUX_WRITE | DAHDI_IOMUX_WRITEEMPTY)) {
            int queued = u_tx_queued(fd);
            int bufs = fd_ok(fd) && u_txbufs[fd] ? u_txbufs[fd] : 4;
            if ((want & DAHDI_IOMUX_WRITE) && queued < bufs)
                got |= DAHDI_IOMUX_WRITE;
            if ((want & DAHDI_IOMUX_WRITEEMPTY) && queued == 0)
                got |= DAHDI_IOMUX_WRITEEMPTY;
        }
        if (got || (want & DAHDI_IOMUX_NOWAIT))
            break;
        p.events = POLLIN;
        if (poll(&p, 1, 20) < 0)
            return -1;
    }
    *flags = got;
    return 0;
}

static int u_ioctl(int fd, unsigned long request, void *arg)
{
    int rc;

    if (request == DAHDI_IOMUX)
        return u_iomux(fd, (int *)arg);
    rc = from_cb(u_ioctl_cb(fd, request, arg));
    if (rc >= 0 && request == DAHDI_SET_BUFINFO && fd_ok(fd)) {
        int n = ((struct dahdi_bufferinfo *)arg)->numbufs;
        u_txbufs[fd] = (unsigned char)(n > 0 && n < 256 ? n : 4);
    }
    return rc;
}

/* One 160-byte block's footprint in a SOCK_SEQPACKET send queue (kernel bookkeeping). */
static void u_measure_block(void)
{
    int sv[2], outq = 0;
    unsigned char block[160];

    if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) < 0)
        return;
    memset(block, 0xD5, sizeof(block));
    if (__real_write(sv[0], block, sizeof(block)) == (ssize_t)sizeof(block) &&
        __real_ioctl(sv[0], SIOCOUTQ, &outq) == 0 && outq > 0)
        u_block_bytes = outq;
    __real_close(sv[0]);
    __real_close(sv[1]);
}

static int u_close(int fd)
{
    if (fd_ok(fd)) {
        u_event_pending[fd] = 0;
        u_txbufs[fd] = 0;
    }
    return from_cb(u_close_cb(fd));
}

/* DAHDI's read refuses to deliver audio while an event is queued: the reader must GETEVENT. */
static ssize_t u_read(int fd, void *buf, size_t count)
{
    if (fd_ok(fd) && u_event_pending[fd]) {
        errno = ELAST;
        return -1;
    }
    return __real_read(fd, buf, count);
}

/* DAHDI signals a pending event with POLLPRI. */
static int u_poll(struct pollfd *fds, nfds_t nfds, int timeout_ms)
{
    nfds_t i;
    int pending = 0, rc;

    for (i = 0; i < nfds; i++)
        if (fd_ok(fds[i].fd) && u_event_pending[fds[i].fd])
            pending = 1;
    rc = poll(fds, nfds, pending ? 0 : timeout_ms);
    if (rc < 0)
        return rc;
    if (!pending)
        return rc;
    rc = 0;
    for (i = 0; i < nfds; i++) {
        if (fd_ok(fds[i].fd) && u_event_pending[fds[i].fd])
            fds[i].revents |= POLLPRI;
        if (fds[i].revents)
            rc++;
    }
    return rc;
}

static const dshim_ops user_ops = {
    u_open, u_ioctl, u_read, libc_write, u_close, u_poll,
};

static const dshim_ops *ops = &libc_ops;

void dshim_use_libc(void) { ops = &libc_ops; }

void dshim_use_userspace(dshim_open_fn open_cb, dshim_ioctl_fn ioctl_cb, dshim_close_fn close_cb)
{
    u_open_cb = open_cb;
    u_ioctl_cb = ioctl_cb;
    u_close_cb = close_cb;
    memset((void *)u_event_pending, 0, sizeof(u_event_pending));
    memset((void *)u_txbufs, 0, sizeof(u_txbufs));
    if (u_block_bytes <= 0)
        u_measure_block();
    ops = &user_ops;
}

int dshim_using_userspace(void) { return ops == &user_ops; }

void dshim_set_event_pending(int fd, int pending)
{
    if (fd_ok(fd))
        u_event_pending[fd] = pending ? 1 : 0;
}

/* ---- -errno wrappers --------------------------------------------------------------------- */

#define RET(expr) do { long _r = (long)(expr); return _r < 0 ? -errno : (int)_r; } while (0)

int dshim_open(const char *path, int flags) { RET(ops->open(path, flags)); }
int dshim_ioctl(int fd, unsigned long request, void *arg) { RET(ops->ioctl(fd, request, arg)); }
int dshim_ioctl_int(int fd, unsigned long request, int *value) { RET(ops->ioctl(fd, request, value)); }
int dshim_read(int fd, void *buf, size_t count) { RET(ops->read(fd, buf, count)); }
int dshim_write(int fd, const void *buf, size_t count) { RET(ops->write(fd, buf, count)); }
int dshim_close(int fd) { RET(ops->close(fd)); }
int dshim_poll(struct pollfd *fds, unsigned long nfds, int timeout_ms) { RET(ops->poll(fds, (nfds_t)nfds, timeout_ms)); }

int dshim_open_channel(int channo)
{
    int fd, err;

    fd = ops->open(DSHIM_PATH_CHANNEL, O_RDWR | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    if (ops->ioctl(fd, DAHDI_SPECIFY, &channo) < 0) {
        err = errno;
        ops->close(fd);
        return -err;
    }
    return fd;
}

/* ---- the per-tick batch ------------------------------------------------------------------ */

int dshim_read_blocks(int n, const int *fds, uint8_t *buf, int stride, int blocksize,
                      const uint8_t *idle, int *status)
{
    int i, full = 0;

    for (i = 0; i < n; i++) {
        uint8_t *row = buf + (size_t)i * (size_t)stride;
        ssize_t r = fds[i] < 0 ? -1 : ops->read(fds[i], row, (size_t)blocksize);

        if (fds[i] < 0)
            errno = EBADF;
        status[i] = r < 0 ? -errno : (int)r;
        if (r == blocksize) {
            full++;
        } else {
            size_t got = r > 0 ? (size_t)r : 0;
            memset(row + got, idle[i], (size_t)blocksize - got);
        }
    }
    return full;
}

int dshim_write_blocks(int n, const int *fds, const uint8_t *buf, int stride, int blocksize,
                       int *status)
{
    int i, full = 0;

    for (i = 0; i < n; i++) {
        ssize_t w = fds[i] < 0 ? -1 : ops->write(fds[i], buf + (size_t)i * (size_t)stride,
                                                  (size_t)blocksize);
        if (fds[i] < 0)
            errno = EBADF;
        status[i] = w < 0 ? -errno : (int)w;
        if (w == blocksize)
            full++;
    }
    return full;
}
