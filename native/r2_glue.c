/*
 * r2_glue.c - OpenR2 1.3.3 driven by confcall: its device calls, its clock, its events.
 *
 * Devices: OpenR2 1.3.3 has no I/O abstraction; it calls open/ioctl/read/write/close itself.
 * libopenr2.a is linked statically into the shim with -Wl,--wrap on those five, so its calls
 * land in the __wrap_* functions below and go through the shim's ops table: libc on
 * /dev/dahdi in production, the simulated span in tests. (The shim's own code calls the
 * __real_* functions.) Only OpenR2 uses these libc entry points inside the shim.
 *
 * Clock: OpenR2's timers read gettimeofday, wrapped for libpri already (pri_glue.c); the owner
 * passes its reactor's time to dshim_r2_service, so MF and line-signalling timers run on the
 * reactor clock (virtual in tests).
 *
 * Events: OpenR2 reports through callbacks from inside its own call stack. Each callback only
 * appends a record to the context's queue; the owner drains it after every entry.
 *
 * China and the calling number: in OpenR2's China (CN) table the backward "send the next ANI
 * digit" request is the same tone as "send the next DNIS digit", and its forward side
 * checks for the DNIS request first, so as a calling party it answers every ANI request with
 * a DNIS digit. China No. 1 does tell them apart by sequence: after A-6 ("send your category
 * and calling number") every A-1 asks for the next calling-number digit until the calling side
 * sends I-15 (end of number) or I-12 (number restricted). The owner gives OpenR2 a distinct
 * private code (DSHIM_R2_ANI_CODE) for the ANI request through OpenR2's protocol file, and the
 * MF layer below, which wraps OpenR2's own tone detector and generator, translates on the
 * wire: as the called side it sends that code as A-1; as the calling side it reports A-1 as
 * that code from A-6 until it has sent I-15 or I-12. Everything else passes through unchanged.
 */
#include <stddef.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "dahdi_shim.h"
#include "pri_glue.h"
#include "r2_glue.h"

/* OpenR2's MF engine (r2engine.c): global in libopenr2.a, not in its installed headers. */
void *openr2_mf_rx_init(void *state, int fwd);
int openr2_mf_rx(void *state, const int16_t amp[], int samples);
void *openr2_mf_tx_init(void *state, int fwd);
int openr2_mf_tx(void *state, int16_t amp[], int samples);
int openr2_mf_tx_put(void *state, char digit);

#define EVENT_RING 512
#define MAX_NUMBERS 64

typedef struct r2chan {
    dshim_r2 *owner;
    int index;
    int fd;
    openr2_chan_t *or2;
    void *mf_rx;            /* OpenR2's detector state (allocated by openr2_mf_rx_init) */
    void *mf_tx;
    int detects_forward;    /* 1: we are the called (backward) side of the current call */
    int ani_phase;          /* calling side, China: the far end is collecting our number */
} r2chan;

struct dshim_r2 {
    openr2_context_t *ctx;
    int cn_ani_fix;
    r2chan **chans;
    int nchans, capchans;
    dshim_r2_event ring[EVENT_RING];
    unsigned head, tail;
    int dropped;
    char numbers[MAX_NUMBERS][DSHIM_R2_DIGITS];
    int nnumbers;
    char error[160];
};

static void (*logger)(int level, const char *text);

/* libopenr2.a's default loggers reference libc's stdout/stderr position-dependently; the build
 * renames those references (objcopy, native/build_shim.py) to these, which point at libc's. */
__attribute__((visibility("hidden"))) FILE *dshim_or2_stdout;
__attribute__((visibility("hidden"))) FILE *dshim_or2_stderr;

__attribute__((constructor)) static void or2_stdio(void)
{
    dshim_or2_stdout = stdout;
    dshim_or2_stderr = stderr;
}

void dshim_r2_set_logger(void (*fn)(int level, const char *text)) { logger = fn; }

/* ---- OpenR2's device calls, through the ops table --------------------------------------- */

static long reads[DSHIM_MAX_FD];

static int from_rc(int rc)
{
    if (rc < 0) {
        errno = -rc;
        return -1;
    }
    return rc;
}

int __wrap_open(const char *path, int flags, ...) { return from_rc(dshim_open(path, flags)); }
int __wrap_close(int fd) { return from_rc(dshim_close(fd)); }

ssize_t __wrap_read(int fd, void *buf, size_t count)
{
    int rc = dshim_read(fd, buf, count);

    if (rc > 0 && fd >= 0 && fd < DSHIM_MAX_FD)
        reads[fd]++;
    return from_rc(rc);
}

ssize_t __wrap_write(int fd, const void *buf, size_t count) { return from_rc(dshim_write(fd, buf, count)); }

int __wrap_ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    void *arg;

    va_start(ap, request);
    arg = va_arg(ap, void *);
    va_end(ap);
    return from_rc(dshim_ioctl(fd, request, arg));
}

long dshim_r2_reads(int fd) { return fd >= 0 && fd < DSHIM_MAX_FD ? reads[fd] : 0; }

/* ---- events ------------------------------------------------------------------------------ */

static r2chan *of(openr2_chan_t *chan) { return (r2chan *)openr2_chan_get_client_data(chan); }

static dshim_r2_event *push(openr2_chan_t *chan, int kind, int arg)
{
    r2chan *c = of(chan);
    dshim_r2 *r2;
    dshim_r2_event *ev;

    if (!c)
        return NULL;
    r2 = c->owner;
    if (r2->tail - r2->head >= EVENT_RING) {
        r2->dropped++;
        return NULL;
    }
    ev = &r2->ring[r2->tail++ % EVENT_RING];
    memset(ev, 0, sizeof(*ev));
    ev->kind = kind;
    ev->chan = c->index;
    ev->arg = arg;
    return ev;
}

static void copy_digits(char *dst, const char *src)
{
    if (!src)
        src = "";
    strncpy(dst, src, DSHIM_R2_DIGITS - 1);
    dst[DSHIM_R2_DIGITS - 1] = '\0';
}

static void on_call_init(openr2_chan_t *chan) { push(chan, DSHIM_R2_CALL_INIT, 0); }

static void on_call_offered(openr2_chan_t *chan, const char *ani, const char *dnis,
                            openr2_calling_party_category_t category)
{
    dshim_r2_event *ev = push(chan, DSHIM_R2_CALL_OFFERED, (int)category);

    if (ev) {
        copy_digits(ev->ani, ani);
        copy_digits(ev->dnis, dnis);
        if (!ani)  /* OpenR2 passes NULL only for a number the caller restricted (I-12) */
            ev->flags |= DSHIM_R2_ANI_RESTRICTED;
    }
}

/* The compelled MF exchange is over: OpenR2 stops reading at once, so the next block of the
 * channel is left for the media engine (the owner hands the channel over at a tick). */
static void on_call_accepted(openr2_chan_t *chan, openr2_call_mode_t mode)
{
    openr2_chan_disable_read(chan);
    push(chan, DSHIM_R2_CALL_ACCEPTED, (int)mode);
}

static void on_call_answered(openr2_chan_t *chan)
{
    openr2_chan_disable_read(chan);
    push(chan, DSHIM_R2_CALL_ANSWERED, 0);
}

static void on_call_disconnect(openr2_chan_t *chan, openr2_call_disconnect_cause_t cause)
{
    push(chan, DSHIM_R2_CALL_DISCONNECT, (int)cause);
}

static void on_call_end(openr2_chan_t *chan) { push(chan, DSHIM_R2_CALL_END, 0); }

static void on_call_read(openr2_chan_t *chan, const unsigned char *buf, int len)
{
    (void)chan; (void)buf; (void)len;  /* read is off whenever a call has audio */
}

static void on_hardware_alarm(openr2_chan_t *chan, int alarm) { push(chan, DSHIM_R2_HW_ALARM, alarm ? 1 : 0); }
static void on_os_error(openr2_chan_t *chan, int err) { push(chan, DSHIM_R2_OS_ERROR, err); }

static void on_protocol_error(openr2_chan_t *chan, openr2_protocol_error_t error)
{
    push(chan, DSHIM_R2_PROTOCOL_ERROR, (int)error);
}

static void on_line_blocked(openr2_chan_t *chan) { push(chan, DSHIM_R2_LINE_BLOCKED, 0); }
static void on_line_idle(openr2_chan_t *chan) { push(chan, DSHIM_R2_LINE_IDLE, 0); }
static void on_billing_pulse(openr2_chan_t *chan) { push(chan, DSHIM_R2_BILLING_PULSE, 0); }

/* Keep asking for digits (1) or stop (0): stop once the DNIS is one of our numbers (and no
 * longer number of ours starts with it) or cannot become one (none starts with it). With no
 * numbers configured, ask up to max_dnis. China has no end-of-digits signal: when the caller
 * dialled a number that a longer one of ours extends, OpenR2's cycle timer ends collection. */
static int on_dnis_digit(openr2_chan_t *chan, char digit)
{
    r2chan *c = of(chan);
    const char *dnis = openr2_chan_get_dnis(chan);
    size_t n;
    int i, longer = 0;

    (void)digit;
    if (!c || !dnis || c->owner->nnumbers == 0)
        return 1;
    n = strlen(dnis);
    for (i = 0; i < c->owner->nnumbers; i++) {
        if (strlen(c->owner->numbers[i]) > n && strncmp(c->owner->numbers[i], dnis, n) == 0)
            longer = 1;
    }
    return longer;
}

static void on_ani_digit(openr2_chan_t *chan, char digit) { (void)chan; (void)digit; }

static void log_text(int level, const char *fmt, va_list ap)
{
    char buf[512];

    if (!logger)
        return;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    logger(level, buf);
}

static void on_context_log(openr2_context_t *ctx, openr2_log_level_t level, const char *fmt, va_list ap)
{
    (void)ctx;
    log_text((int)level, fmt, ap);
}

static void on_channel_log(openr2_chan_t *chan, openr2_log_level_t level, const char *fmt, va_list ap)
{
    char buf[480];
    r2chan *c = of(chan);

    if (!logger)
        return;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    if (c) {
        char line[512];
        snprintf(line, sizeof(line), "fd %d: %s", c->fd, buf);
        logger((int)level, line);
    } else {
        logger((int)level, buf);
    }
}

/* ---- the MF layer: OpenR2's own detector and generator, plus China's ANI translation ------ */

static void *mf_read_init(void *handle, int forward_signals)
{
    r2chan *c = handle;

    c->mf_rx = openr2_mf_rx_init(c->mf_rx, forward_signals);
    c->detects_forward = forward_signals;
    c->ani_phase = 0;
    return c->mf_rx ? handle : NULL;
}

static void *mf_write_init(void *handle, int forward_signals)
{
    r2chan *c = handle;

    c->mf_tx = openr2_mf_tx_init(c->mf_tx, forward_signals);
    return c->mf_tx ? handle : NULL;
}

static int mf_detect(void *handle, const int16_t buf[], int samples)
{
    r2chan *c = handle;
    int tone = openr2_mf_rx(c->mf_rx, buf, samples);

    if (c->owner->cn_ani_fix && !c->detects_forward) {
        if (tone == '6')
            c->ani_phase = 1;             /* category, then the calling number */
        else if (tone == '1' && c->ani_phase)
            tone = DSHIM_R2_ANI_CODE;     /* A-1 now asks for the next calling digit */
    }
    return tone;
}

static int mf_generate(void *handle, int16_t buf[], int samples)
{
    return openr2_mf_tx(((r2chan *)handle)->mf_tx, buf, samples);
}

static int mf_select(void *handle, char signal)
{
    r2chan *c = handle;

    if (!c->mf_tx)
        return 0;
    if (c->owner->cn_ani_fix) {
        if (signal == DSHIM_R2_ANI_CODE)
            signal = '1';                 /* called side asking for the next calling digit */
        else if (!c->detects_forward && (signal == 'F' || signal == 'C'))
            c->ani_phase = 0;             /* calling side: end of number / restricted */
    }
    return openr2_mf_tx_put(c->mf_tx, signal);
}

static int mf_want_generate(void *handle, int signal) { (void)handle; return signal ? 1 : 0; }

static void mf_dispose_rx(void *handle)
{
    r2chan *c = handle;
    free(c->mf_rx);
    c->mf_rx = NULL;
}

static void mf_dispose_tx(void *handle)
{
    r2chan *c = handle;
    free(c->mf_tx);
    c->mf_tx = NULL;
}

static openr2_mflib_interface_t mf_interface = {
    .mf_read_init = mf_read_init,
    .mf_write_init = mf_write_init,
    .mf_detect_tone = mf_detect,
    .mf_generate_tone = mf_generate,
    .mf_select_tone = mf_select,
    .mf_want_generate = mf_want_generate,
    .mf_read_dispose = mf_dispose_rx,
    .mf_write_dispose = mf_dispose_tx,
};

static openr2_event_interface_t event_interface = {
    .on_call_init = on_call_init,
    .on_call_offered = on_call_offered,
    .on_call_accepted = on_call_accepted,
    .on_call_answered = on_call_answered,
    .on_call_disconnect = on_call_disconnect,
    .on_call_end = on_call_end,
    .on_call_read = on_call_read,
    .on_hardware_alarm = on_hardware_alarm,
    .on_os_error = on_os_error,
    .on_protocol_error = on_protocol_error,
    .on_line_blocked = on_line_blocked,
    .on_line_idle = on_line_idle,
    .on_context_log = on_context_log,
    .on_dnis_digit_received = on_dnis_digit,
    .on_ani_digit_received = on_ani_digit,
    .on_billing_pulse_received = on_billing_pulse,
};

/* ---- the context ---------------------------------------------------------------------------- */

dshim_r2 *dshim_r2_new(int variant, int max_ani, int max_dnis, const char *advanced_file)
{
    dshim_r2 *r2 = calloc(1, sizeof(*r2));

    if (!r2)
        return NULL;
    r2->ctx = openr2_context_new(&mf_interface, &event_interface, NULL,
                                 (openr2_variant_t)variant, max_ani, max_dnis);
    if (!r2->ctx) {
        free(r2);
        return NULL;
    }
    openr2_context_set_log_level(r2->ctx, OR2_LOG_ERROR | OR2_LOG_WARNING | OR2_LOG_NOTICE);
    if (advanced_file && *advanced_file &&
        openr2_context_configure_from_advanced_file(r2->ctx, advanced_file) != 0) {
        openr2_context_delete(r2->ctx);
        free(r2);
        return NULL;
    }
    r2->cn_ani_fix = variant == OR2_VAR_CHINA;
    return r2;
}

void dshim_r2_free(dshim_r2 *r2)
{
    int i;

    if (!r2)
        return;
    /* openr2_context_delete frees its channels (and disposes of their MF states) itself. */
    openr2_context_delete(r2->ctx);
    for (i = 0; i < r2->nchans; i++)
        free(r2->chans[i]);
    free(r2->chans);
    free(r2);
}

const char *dshim_r2_last_error(dshim_r2 *r2) { return r2->error; }

int dshim_r2_add_channel(dshim_r2 *r2, int fd)
{
    r2chan *c;

    if (r2->nchans == r2->capchans) {
        int cap = r2->capchans ? 2 * r2->capchans : 32;
        r2chan **grown = realloc(r2->chans, (size_t)cap * sizeof(*grown));
        if (!grown)
            return -1;
        r2->chans = grown;
        r2->capchans = cap;
    }
    c = calloc(1, sizeof(*c));
    if (!c)
        return -1;
    c->owner = r2;
    c->index = r2->nchans;
    c->fd = fd;
    /* MF states exist from the start: OpenR2 mutes the generator on any protocol error */
    c->mf_rx = openr2_mf_rx_init(NULL, 1);
    c->mf_tx = openr2_mf_tx_init(NULL, 1);
    c->detects_forward = 1;
    if (!c->mf_rx || !c->mf_tx) {
        free(c->mf_rx);
        free(c->mf_tx);
        free(c);
        return -1;
    }
    /* the same handle for both directions: its MF states and ANI phase belong together */
    c->or2 = openr2_chan_new_from_fd(r2->ctx, fd, c, c);
    if (!c->or2) {
        snprintf(r2->error, sizeof(r2->error), "%s",
                 openr2_context_error_string(openr2_context_get_last_error(r2->ctx)));
        free(c->mf_rx);
        free(c->mf_tx);
        free(c);
        return -1;
    }
    openr2_chan_set_client_data(c->or2, c);
    openr2_chan_set_logging_func(c->or2, on_channel_log);
    r2->chans[r2->nchans++] = c;
    openr2_chan_set_idle(c->or2);
    openr2_chan_handle_cas(c->or2);   /* learn the far end's current bits (idle or blocked) */
    return c->index;
}

int dshim_r2_set_numbers(dshim_r2 *r2, const char *csv)
{
    const char *p = csv;

    r2->nnumbers = 0;
    while (p && *p && r2->nnumbers < MAX_NUMBERS) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        if (n > 0 && n < DSHIM_R2_DIGITS) {
            memcpy(r2->numbers[r2->nnumbers], p, n);
            r2->numbers[r2->nnumbers][n] = '\0';
            r2->nnumbers++;
        }
        p = end ? end + 1 : NULL;
    }
    return r2->nnumbers;
}

static r2chan *chan_at(dshim_r2 *r2, int chan)
{
    return chan >= 0 && chan < r2->nchans ? r2->chans[chan] : NULL;
}

int dshim_r2_service(dshim_r2 *r2, long long now_us)
{
    int i;

    dshim_pri_set_now(now_us);
    for (i = 0; i < r2->nchans; i++)
        openr2_chan_process_event(r2->chans[i]->or2);
    return (int)(r2->tail - r2->head);
}

int dshim_r2_next_event(dshim_r2 *r2, dshim_r2_event *out)
{
    if (r2->head == r2->tail)
        return 0;
    *out = r2->ring[r2->head++ % EVENT_RING];
    return 1;
}

int dshim_r2_next_timer_ms(dshim_r2 *r2) { return openr2_context_get_time_to_next_event(r2->ctx); }

#define CHAN_OR(r2, chan, fail) r2chan *c = chan_at((r2), (chan)); if (!c) return (fail)

int dshim_r2_make_call(dshim_r2 *r2, int chan, const char *ani, const char *dnis, int category)
{
    CHAN_OR(r2, chan, -1);
    return openr2_chan_make_call(c->or2, (ani && *ani) ? ani : NULL, dnis,
                                 (openr2_calling_party_category_t)category);
}

int dshim_r2_accept(dshim_r2 *r2, int chan, int mode)
{
    CHAN_OR(r2, chan, -1);
    return openr2_chan_accept_call(c->or2, (openr2_call_mode_t)mode);
}

int dshim_r2_answer(dshim_r2 *r2, int chan)
{
    CHAN_OR(r2, chan, -1);
    return openr2_chan_answer_call(c->or2);
}

int dshim_r2_disconnect(dshim_r2 *r2, int chan, int cause)
{
    CHAN_OR(r2, chan, -1);
    return openr2_chan_disconnect_call(c->or2, (openr2_call_disconnect_cause_t)cause);
}

int dshim_r2_set_idle(dshim_r2 *r2, int chan)
{
    CHAN_OR(r2, chan, -1);
    return openr2_chan_set_idle(c->or2);
}

int dshim_r2_set_blocked(dshim_r2 *r2, int chan)
{
    CHAN_OR(r2, chan, -1);
    return openr2_chan_set_blocked(c->or2);
}

int dshim_r2_handle_cas(dshim_r2 *r2, int chan)
{
    CHAN_OR(r2, chan, -1);
    return openr2_chan_handle_cas(c->or2);
}

void dshim_r2_set_reading(dshim_r2 *r2, int chan, int on)
{
    r2chan *c = chan_at(r2, chan);

    if (!c)
        return;
    if (on)
        openr2_chan_enable_read(c->or2);
    else
        openr2_chan_disable_read(c->or2);
}

int dshim_r2_reading(dshim_r2 *r2, int chan)
{
    CHAN_OR(r2, chan, 0);
    return openr2_chan_get_read_enabled(c->or2);
}

const char *dshim_r2_state(dshim_r2 *r2, int chan, int which)
{
    CHAN_OR(r2, chan, "?");
    switch (which) {
    case 0: return openr2_chan_get_rx_cas_string(c->or2);
    case 1: return openr2_chan_get_tx_cas_string(c->or2);
    case 2: return openr2_chan_get_call_state_string(c->or2);
    case 3: return openr2_chan_get_r2_state_string(c->or2);
    case 4: return openr2_chan_get_mf_state_string(c->or2);
    default: return openr2_chan_get_mf_group_string(c->or2);
    }
}
