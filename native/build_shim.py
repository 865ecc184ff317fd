"""cffi (API mode) build of confcall.dahdi._shim against the real <dahdi/user.h>.

Why API mode: ioctl numbers and struct layouts (including the packed dahdi_spaninfo) come from
the compiler reading the installed DAHDI headers, not from numbers copied into Python.
Build: done by `pip install -e .` (setup.py's cffi_modules), or `python native/build_shim.py`.
"""
from pathlib import Path

from cffi import FFI

HERE = Path(__file__).resolve().parent

IOCTLS = """
DAHDI_SPECIFY DAHDI_GET_PARAMS DAHDI_GET_BLOCKSIZE DAHDI_SET_BLOCKSIZE DAHDI_SETLAW
DAHDI_SETLINEAR DAHDI_GET_BUFINFO DAHDI_SET_BUFINFO DAHDI_FLUSH DAHDI_AUDIOMODE
DAHDI_ECHOCANCEL_PARAMS DAHDI_GETEVENT DAHDI_SPANSTAT DAHDI_GETRXBITS DAHDI_SETTXBITS DAHDI_HOOK
""".split()

CONSTANTS = """
ELAST DAHDI_MAX_BLOCKSIZE DAHDI_LAW_DEFAULT DAHDI_LAW_MULAW DAHDI_LAW_ALAW
DAHDI_FLUSH_READ DAHDI_FLUSH_WRITE DAHDI_FLUSH_BOTH DAHDI_FLUSH_EVENT DAHDI_FLUSH_ALL
DAHDI_POLICY_IMMEDIATE DAHDI_POLICY_WHEN_FULL
DAHDI_ALARM_NONE DAHDI_ALARM_RECOVER DAHDI_ALARM_LOOPBACK DAHDI_ALARM_YELLOW DAHDI_ALARM_RED
DAHDI_ALARM_BLUE DAHDI_ALARM_NOTOPEN DAHDI_ALARM_LOS DAHDI_ALARM_LFA DAHDI_ALARM_LMFA
DAHDI_EVENT_NONE DAHDI_EVENT_ONHOOK DAHDI_EVENT_RINGOFFHOOK DAHDI_EVENT_ALARM DAHDI_EVENT_NOALARM
DAHDI_EVENT_ABORT DAHDI_EVENT_OVERRUN DAHDI_EVENT_BADFCS DAHDI_EVENT_BITSCHANGED
DAHDI_EVENT_REMOVED DAHDI_EVENT_READ_OVERRUN DAHDI_EVENT_WRITE_UNDERRUN
DAHDI_SIG_NONE DAHDI_SIG_CLEAR DAHDI_SIG_HDLCRAW DAHDI_SIG_HDLCFCS DAHDI_SIG_HDLCNET
DAHDI_SIG_HARDHDLC DAHDI_SIG_CAS DAHDI_SIG_DACS DAHDI_SIG_SLAVE
DAHDI_CONFIG_B8ZS DAHDI_CONFIG_AMI DAHDI_CONFIG_HDB3 DAHDI_CONFIG_CCS DAHDI_CONFIG_D4
DAHDI_CONFIG_ESF DAHDI_CONFIG_CRC4
DAHDI_ABIT DAHDI_BBIT DAHDI_CBIT DAHDI_DBIT
DSHIM_MAX_FD
""".split()

CDEF = (
    "\n".join(f"#define {name} ..." for name in IOCTLS + CONSTANTS)
    + """
struct dahdi_params {
    int channo; int spanno; int chanpos; int sigtype; int sigcap; int rxisoffhook;
    int rxbits; int txbits; int txhooksig; int rxhooksig; int curlaw; int idlebits;
    char name[40];
    uint32_t chan_alarms;
    ...;
};
struct dahdi_spaninfo {
    int spanno; char name[20]; char desc[40]; int alarms; int txlevel; int rxlevel;
    int bpvcount; int crc4count; int ebitcount; int fascount;
    uint32_t fecount; uint32_t cvcount; uint32_t becount; uint32_t prbs; uint32_t errsec;
    int irqmisses; int syncsrc; int numchans; int totalchans; int totalspans; int lbo;
    int lineconfig; char lboname[40]; char location[40]; char manufacturer[40];
    char devicetype[40]; int irq; int linecompat; char spantype[6];
    ...;
};
struct dahdi_bufferinfo {
    int txbufpolicy; int rxbufpolicy; int numbufs; int bufsize; int readbufs; int writebufs;
    ...;
};
struct dahdi_echocanparams { uint32_t tap_length; uint32_t param_count; ...; };

struct pollfd { int fd; short events; short revents; };
#define POLLIN ...
#define POLLPRI ...
#define POLLOUT ...
#define POLLERR ...
#define POLLHUP ...

typedef int (*dshim_open_fn)(const char *path, int flags);
typedef int (*dshim_ioctl_fn)(int fd, unsigned long request, void *arg);
typedef int (*dshim_close_fn)(int fd);
extern "Python" int _userspace_open(const char *path, int flags);
extern "Python" int _userspace_ioctl(int fd, unsigned long request, void *arg);
extern "Python" int _userspace_close(int fd);

void dshim_use_libc(void);
void dshim_use_userspace(dshim_open_fn, dshim_ioctl_fn, dshim_close_fn);
int dshim_using_userspace(void);
void dshim_set_event_pending(int fd, int pending);
int dshim_open(const char *path, int flags);
int dshim_ioctl(int fd, unsigned long request, void *arg);
int dshim_ioctl_int(int fd, unsigned long request, int *value);
int dshim_read(int fd, void *buf, size_t count);
int dshim_write(int fd, const void *buf, size_t count);
int dshim_close(int fd);
int dshim_poll(struct pollfd *fds, unsigned long nfds, int timeout_ms);
int dshim_open_channel(int channo);
int dshim_read_blocks(int n, const int *fds, uint8_t *buf, int stride, int blocksize,
                      const uint8_t *idle, int *status);
int dshim_write_blocks(int n, const int *fds, const uint8_t *buf, int stride, int blocksize,
                       int *status);
"""
)

ffibuilder = FFI()
ffibuilder.cdef(CDEF)
ffibuilder.set_source(
    "confcall.dahdi._shim",
    '#include "dahdi_shim.h"',
    sources=[str((HERE / "dahdi_shim.c").relative_to(Path.cwd()))
             if (HERE / "dahdi_shim.c").is_relative_to(Path.cwd())
             else str(HERE / "dahdi_shim.c")],
    include_dirs=[str(HERE)],
    extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(HERE.parent), verbose=True)
