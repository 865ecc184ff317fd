#ifndef CONFCALL_R2_GLUE_H
#define CONFCALL_R2_GLUE_H
/*
 * r2_glue.h - OpenR2 1.3.3 (MFC/R2, linked statically) over the shim's ops table.
 *
 * One dshim_r2 is one OpenR2 context: the channels of one span. Everything OpenR2 reports
 * (a call offered, accepted, answered, cleared, a protocol error, an alarm, a blocked line) is
 * queued as a dshim_r2_event and drained by the owner after each call into the glue, so the
 * owner never runs inside OpenR2's call stack. See r2_glue.c for how OpenR2's device calls and
 * clock are routed and how the China variant's calling number is made to work.
 */
#include <stddef.h>
#include <openr2/r2proto.h>
#include <openr2/r2context.h>
#include <openr2/r2chan.h>
#include <openr2/r2utils.h>  /* needs <stddef.h> first */

/* What the owner is told (dshim_r2_event.kind). */
enum {
    DSHIM_R2_CALL_INIT = 1,    /* incoming seizure acknowledged: digits follow */
    DSHIM_R2_CALL_OFFERED,     /* ani, dnis, arg = calling party category */
    DSHIM_R2_CALL_ACCEPTED,    /* arg = openr2_call_mode_t (forward side: always UNKNOWN) */
    DSHIM_R2_CALL_ANSWERED,
    DSHIM_R2_CALL_DISCONNECT,  /* arg = openr2_call_disconnect_cause_t */
    DSHIM_R2_CALL_END,         /* the channel is idle again */
    DSHIM_R2_PROTOCOL_ERROR,   /* arg = openr2_protocol_error_t; OpenR2 has idled the channel */
    DSHIM_R2_HW_ALARM,         /* arg = 1 raised, 0 cleared */
    DSHIM_R2_OS_ERROR,         /* arg = errno */
    DSHIM_R2_LINE_BLOCKED,
    DSHIM_R2_LINE_IDLE,
    DSHIM_R2_BILLING_PULSE
};

#define DSHIM_R2_DIGITS 32

#define DSHIM_R2_ANI_RESTRICTED 1  /* dshim_r2_event.flags: the caller withheld the number */

typedef struct {
    int kind;
    int chan;                     /* the index dshim_r2_add_channel returned */
    int arg;
    int flags;
    char ani[DSHIM_R2_DIGITS];    /* empty when restricted or not sent */
    char dnis[DSHIM_R2_DIGITS];
} dshim_r2_event;

typedef struct dshim_r2 dshim_r2;

/* A context for `variant` (openr2_variant_t). `advanced_file`: OpenR2's protocol file (tones and
 * timers), may be NULL. China (OR2_VAR_CHINA) requires the file to move the "next ANI digit"
 * request to DSHIM_R2_ANI_CODE: see r2_glue.c. NULL on failure. */
dshim_r2 *dshim_r2_new(int variant, int max_ani, int max_dnis, const char *advanced_file);
void dshim_r2_free(dshim_r2 *r2);

/* The private MF code OpenR2 uses internally for "send the next ANI digit" on China spans. */
#define DSHIM_R2_ANI_CODE 'D'

/* Put an open CAS channel fd under OpenR2 (idle, reading): its index, or -1. */
int dshim_r2_add_channel(dshim_r2 *r2, int fd);
const char *dshim_r2_last_error(dshim_r2 *r2);

/* Dialled numbers whose DNIS is complete (comma separated). An incoming DNIS that equals one
 * of them, or that no number starts with, ends digit collection at once. */
int dshim_r2_set_numbers(dshim_r2 *r2, const char *csv);

/* Run every channel's timers and I/O at time `now_us` (microseconds, the shim's clock). */
int dshim_r2_service(dshim_r2 *r2, long long now_us);
int dshim_r2_next_event(dshim_r2 *r2, dshim_r2_event *out);
/* ms until the next OpenR2 timer, -1 when none. */
int dshim_r2_next_timer_ms(dshim_r2 *r2);

int dshim_r2_make_call(dshim_r2 *r2, int chan, const char *ani, const char *dnis, int category);
int dshim_r2_accept(dshim_r2 *r2, int chan, int mode);
int dshim_r2_answer(dshim_r2 *r2, int chan);
int dshim_r2_disconnect(dshim_r2 *r2, int chan, int cause);
int dshim_r2_set_idle(dshim_r2 *r2, int chan);
int dshim_r2_set_blocked(dshim_r2 *r2, int chan);
int dshim_r2_handle_cas(dshim_r2 *r2, int chan);
/* OpenR2 reads the channel's audio (1) or leaves it to the media engine (0). */
void dshim_r2_set_reading(dshim_r2 *r2, int chan, int on);
int dshim_r2_reading(dshim_r2 *r2, int chan);
/* 0 rx CAS, 1 tx CAS, 2 call state, 3 R2 state, 4 MF state, 5 MF group */
const char *dshim_r2_state(dshim_r2 *r2, int chan, int which);

/* Where OpenR2's log lines go (level: openr2_log_level_t). */
void dshim_r2_set_logger(void (*fn)(int level, const char *text));

/* Blocks OpenR2 has read from `fd` since start (the audio hand-over is checked with it). */
long dshim_r2_reads(int fd);
#endif
