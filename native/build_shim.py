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

PRI_CONSTANTS = """
PRI_NETWORK PRI_CPE PRI_SWITCH_NI2 PRI_SWITCH_DMS100 PRI_SWITCH_LUCENT5E PRI_SWITCH_ATT4ESS
PRI_SWITCH_EUROISDN_E1 PRI_SWITCH_EUROISDN_T1 PRI_SWITCH_NI1 PRI_SWITCH_QSIG
PRI_EVENT_DCHAN_UP PRI_EVENT_DCHAN_DOWN PRI_EVENT_RESTART PRI_EVENT_CONFIG_ERR PRI_EVENT_RING
PRI_EVENT_HANGUP PRI_EVENT_RINGING PRI_EVENT_ANSWER PRI_EVENT_HANGUP_ACK PRI_EVENT_RESTART_ACK
PRI_EVENT_FACILITY PRI_EVENT_INFO_RECEIVED PRI_EVENT_PROCEEDING PRI_EVENT_SETUP_ACK
PRI_EVENT_HANGUP_REQ PRI_EVENT_NOTIFY PRI_EVENT_PROGRESS PRI_EVENT_KEYPAD_DIGIT
PRI_EVENT_SERVICE PRI_EVENT_SERVICE_ACK PRI_EVENT_CONNECT_ACK
PRI_PROG_INBAND_AVAILABLE PRI_TRANS_CAP_SPEECH PRI_LAYER_1_ULAW PRI_LAYER_1_ALAW
PRI_UNKNOWN PRI_NATIONAL_ISDN PRI_LOCAL_ISDN PRI_INTERNATIONAL_ISDN
PRES_ALLOWED_USER_NUMBER_NOT_SCREENED PRES_PROHIB_USER_NUMBER_NOT_SCREENED
PRES_NUMBER_NOT_AVAILABLE PRI_PRES_RESTRICTION PRI_PRES_ALLOWED PRI_PRES_RESTRICTED
PRI_PRES_UNAVAILABLE PRI_DEBUG_Q921_STATE PRI_DEBUG_Q931_STATE PRI_DEBUG_Q931_DUMP
PRI_DEBUG_Q921_DUMP PRI_DEBUG_Q921_RAW
""".split()

PRI_CDEF = "\n".join(f"#define {n} ..." for n in PRI_CONSTANTS) + """
struct pri;
typedef struct q931_call q931_call;
typedef struct { int e; int channel; int callingpres; int callingplan; char callingnum[256];
                 char callednum[256]; int calledplan; int cref; int ctype; int layer1;
                 int complete; int flexible; q931_call *call; int progressmask; ...; }
        pri_event_ring;
typedef struct { int e; int channel; int cause; int cref; q931_call *call; ...; } pri_event_hangup;
typedef struct { int e; int channel; int cref; int progress; int progressmask; q931_call *call;
                 ...; } pri_event_ringing;
typedef struct { int e; int channel; int cref; int progress; int progressmask; q931_call *call;
                 ...; } pri_event_answer;
typedef struct { int e; int channel; int cref; int progress; int progressmask; int cause;
                 q931_call *call; ...; } pri_event_proceeding;
typedef struct { int e; int channel; ...; } pri_event_restart;
typedef struct { int e; char err[256]; ...; } pri_event_error;
typedef struct { int e; int channel; q931_call *call; char digits[64]; ...; }
        pri_event_keypad_digit;
typedef union { int e; pri_event_ring ring; pri_event_hangup hangup; pri_event_ringing ringing;
                pri_event_answer answer; pri_event_proceeding proceeding;
                pri_event_restart restart; pri_event_error err;
                pri_event_keypad_digit digit; ...; } pri_event;
struct pri_sr;

struct pri *dshim_pri_new(int fd, int nodetype, int switchtype);
void dshim_pri_set_now(long long usec);
int dshim_pri_next_timer(struct pri *pri, long *sec, long *usec);
long dshim_pri_short_frames(void);
pri_event *pri_schedule_run(struct pri *pri);
pri_event *pri_check_event(struct pri *pri);
int pri_fd(struct pri *pri);
void pri_set_debug(struct pri *pri, int debug);
void pri_set_message(void (*)(struct pri *pri, char *));
void pri_set_error(void (*)(struct pri *pri, char *));
extern "Python" void _pri_message(struct pri *, char *);
extern "Python" void _pri_error(struct pri *, char *);
char *pri_event2str(int id);
char *pri_cause2str(int cause);
char *pri_switch2str(int id);
q931_call *pri_new_call(struct pri *pri);
struct pri_sr *pri_sr_new(void);
void pri_sr_free(struct pri_sr *sr);
int pri_sr_set_channel(struct pri_sr *sr, int channel, int exclusive, int nonisdn);
int pri_sr_set_bearer(struct pri_sr *sr, int transmode, int userl1);
int pri_sr_set_called(struct pri_sr *sr, char *called, int calledplan, int complete);
int pri_sr_set_caller(struct pri_sr *sr, char *caller, char *callername, int callerplan,
                      int callerpres);
int pri_setup(struct pri *pri, q931_call *call, struct pri_sr *req);
int pri_proceeding(struct pri *pri, q931_call *c, int channel, int info);
int pri_progress(struct pri *pri, q931_call *c, int channel, int info);
int pri_acknowledge(struct pri *pri, q931_call *call, int channel, int info);
int pri_answer(struct pri *pri, q931_call *call, int channel, int nonisdn);
int pri_hangup(struct pri *pri, q931_call *call, int cause);
void pri_destroycall(struct pri *pri, q931_call *call);
void pri_set_inbanddisconnect(struct pri *pri, unsigned int enable);
int pri_restart(struct pri *pri);
int pri_reset(struct pri *pri, int channel);
int pri_set_timer(struct pri *pri, int timer, int value);
int pri_get_timer(struct pri *pri, int timer);
int pri_timer2idx(const char *timer_name);
"""


R2_CONSTANTS = """
OR2_VAR_ARGENTINA OR2_VAR_BRAZIL OR2_VAR_CHINA OR2_VAR_CZECH OR2_VAR_COLOMBIA OR2_VAR_ECUADOR
OR2_VAR_INDONESIA OR2_VAR_ITU OR2_VAR_MEXICO OR2_VAR_PHILIPPINES OR2_VAR_VENEZUELA
OR2_CALL_WITH_CHARGE OR2_CALL_NO_CHARGE OR2_CALL_SPECIAL OR2_CALL_UNKNOWN
OR2_CAUSE_BUSY_NUMBER OR2_CAUSE_NETWORK_CONGESTION OR2_CAUSE_UNALLOCATED_NUMBER
OR2_CAUSE_OUT_OF_ORDER OR2_CAUSE_UNSPECIFIED OR2_CAUSE_NO_ANSWER OR2_CAUSE_NORMAL_CLEARING
OR2_CAUSE_COLLECT_CALL_REJECTED OR2_CAUSE_FORCED_RELEASE OR2_CAUSE_NUMBER_CHANGED
OR2_INVALID_CAS_BITS OR2_INVALID_MF_TONE OR2_BACK_MF_TIMEOUT OR2_SEIZE_TIMEOUT
OR2_FWD_SAFETY_TIMEOUT OR2_BROKEN_MF_SEQUENCE OR2_ANSWER_TIMEOUT OR2_INVALID_R2_STATE
OR2_INVALID_MF_STATE OR2_INVALID_MF_GROUP OR2_LIBRARY_BUG OR2_INTERNAL_ERROR
OR2_CALLING_PARTY_CATEGORY_NATIONAL_SUBSCRIBER
OR2_CALLING_PARTY_CATEGORY_NATIONAL_PRIORITY_SUBSCRIBER
OR2_CALLING_PARTY_CATEGORY_INTERNATIONAL_SUBSCRIBER
OR2_CALLING_PARTY_CATEGORY_INTERNATIONAL_PRIORITY_SUBSCRIBER
OR2_CALLING_PARTY_CATEGORY_COLLECT_CALL OR2_CALLING_PARTY_CATEGORY_UNKNOWN
OR2_CALLING_PARTY_CATEGORY_TEST_EQUIPMENT
OR2_LOG_ERROR OR2_LOG_WARNING OR2_LOG_NOTICE OR2_LOG_DEBUG OR2_LOG_MF_TRACE OR2_LOG_CAS_TRACE
DSHIM_R2_CALL_INIT DSHIM_R2_CALL_OFFERED DSHIM_R2_CALL_ACCEPTED DSHIM_R2_CALL_ANSWERED
DSHIM_R2_CALL_DISCONNECT DSHIM_R2_CALL_END DSHIM_R2_PROTOCOL_ERROR DSHIM_R2_HW_ALARM
DSHIM_R2_OS_ERROR DSHIM_R2_LINE_BLOCKED DSHIM_R2_LINE_IDLE DSHIM_R2_BILLING_PULSE
DSHIM_R2_DIGITS DSHIM_R2_ANI_CODE DSHIM_R2_ANI_RESTRICTED DAHDI_CHANNO DAHDI_SETGAINS DAHDI_ECHOCANCEL DAHDI_IOMUX
DAHDI_IOMUX_READ DAHDI_IOMUX_WRITE DAHDI_IOMUX_WRITEEMPTY DAHDI_IOMUX_SIGEVENT
DAHDI_IOMUX_NOWAIT
""".split()

R2_CDEF = "\n".join(f"#define {n} ..." for n in R2_CONSTANTS) + """
typedef struct { int kind; int chan; int arg; int flags; char ani[...]; char dnis[...]; ...; }
        dshim_r2_event;
typedef struct dshim_r2 dshim_r2;
dshim_r2 *dshim_r2_new(int variant, int max_ani, int max_dnis, const char *advanced_file);
void dshim_r2_free(dshim_r2 *r2);
int dshim_r2_add_channel(dshim_r2 *r2, int fd);
const char *dshim_r2_last_error(dshim_r2 *r2);
int dshim_r2_set_numbers(dshim_r2 *r2, const char *csv);
int dshim_r2_service(dshim_r2 *r2, long long now_us);
int dshim_r2_next_event(dshim_r2 *r2, dshim_r2_event *out);
int dshim_r2_next_timer_ms(dshim_r2 *r2);
int dshim_r2_make_call(dshim_r2 *r2, int chan, const char *ani, const char *dnis, int category);
int dshim_r2_accept(dshim_r2 *r2, int chan, int mode);
int dshim_r2_answer(dshim_r2 *r2, int chan);
int dshim_r2_disconnect(dshim_r2 *r2, int chan, int cause);
int dshim_r2_set_idle(dshim_r2 *r2, int chan);
int dshim_r2_set_blocked(dshim_r2 *r2, int chan);
int dshim_r2_handle_cas(dshim_r2 *r2, int chan);
void dshim_r2_set_reading(dshim_r2 *r2, int chan, int on);
int dshim_r2_reading(dshim_r2 *r2, int chan);
const char *dshim_r2_state(dshim_r2 *r2, int chan, int which);
long dshim_r2_reads(int fd);
void dshim_r2_set_logger(void (*)(int level, const char *text));
extern "Python" void _r2_log(int level, const char *text);
const char *openr2_proto_get_error(int reason);
const char *openr2_proto_get_disconnect_string(int cause);
const char *openr2_proto_get_variant_string(int variant);
int openr2_proto_get_variant(const char *variant);
int openr2_proto_get_category(const char *category);
const char *openr2_get_version(void);
"""


def _static_lib(name: str) -> str:
    """Where the compiler finds a static library (Debian puts OpenR2's under the multiarch
    directory, libpri's directly in /usr/lib)."""
    import subprocess
    for cc in ("cc", "gcc"):
        try:
            out = subprocess.run([cc, f"-print-file-name={name}"], capture_output=True,
                                 text=True, check=True).stdout.strip()
        except (OSError, subprocess.CalledProcessError):
            continue
        if out and out != name and Path(out).exists():
            return out
    raise RuntimeError(f"{name} not found: install libopenr2-dev (see scripts/setup.sh)")


def _openr2_archive() -> str:
    """Debian's libopenr2.a, with its two position-dependent references (to libc's ``stdout``
    and ``stderr``, in its default loggers) renamed to the shim's own pointers (r2_glue.c):
    the archive's objects are otherwise fit for a shared object."""
    import subprocess
    out = HERE.parent / "build" / "native" / "libopenr2.a"
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["objcopy", "--redefine-sym", "stdout=dshim_or2_stdout",
                    "--redefine-sym", "stderr=dshim_or2_stderr",
                    _static_lib("libopenr2.a"), str(out)], check=True)
    return str(out)


def _src(name: str) -> str:
    """setuptools wants source paths relative to setup.py when building from the tree."""
    path = HERE / name
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


ffibuilder = FFI()
ffibuilder.cdef(CDEF + PRI_CDEF + R2_CDEF)
ffibuilder.set_source(
    "confcall.dahdi._shim",
    '#include "dahdi_shim.h"\n#include "pri_glue.h"\n#include "r2_glue.h"',
    sources=[_src("dahdi_shim.c"), _src("pri_glue.c"), _src("r2_glue.c")],
    include_dirs=[str(HERE)],
    # libpri statically, so that --wrap gives its timers our reactor's clock (see pri_glue.c)
    extra_objects=["/usr/lib/libpri.a", _openr2_archive()],
    # OpenR2 statically too: --wrap sends its device calls through the ops table (r2_glue.c)
    extra_link_args=["-Wl,--wrap=gettimeofday", "-Wl,--exclude-libs,libpri.a",
                     "-Wl,--wrap=open,--wrap=ioctl,--wrap=read,--wrap=write,--wrap=close",
                     "-Wl,--exclude-libs,libopenr2.a"],
    libraries=["m"],
    extra_compile_args=["-O2", "-Wall", "-Wextra", "-Wno-unused-parameter"],
)

if __name__ == "__main__":
    ffibuilder.compile(tmpdir=str(HERE.parent), verbose=True)
