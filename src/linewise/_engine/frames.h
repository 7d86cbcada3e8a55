/* frames.h: where each thread is in the profiled code.
 *
 * A per-thread stack parallels the call stack, holding one record per running profiled
 * frame: which line it is on and since when. A line's time runs from its LINE event to
 * the frame's next event (the next line, a return, a yield), so it includes the calls it
 * makes. Each record is keyed by the frame's identity; an event whose frame is not on top
 * resynchronises the stack (frames that left without an exit event are dropped, a frame
 * first seen mid-way is pushed), so a missed event never mis-charges time for long.
 *
 * Generator frames leave the stack at a yield and come back at a resume, possibly after
 * other frames ran; the SuspendTable parks what they need meanwhile: the line they
 * yielded on and, for an await, when the wait began (that wait is charged to the line).
 */
#ifndef LINEWISE_FRAMES_H
#define LINEWISE_FRAMES_H

#include "compat.h"
#include "memory.h"
#include <stdint.h>

struct CodeEntry;
struct EngineObject;

typedef struct {
    void *key;                 /* frame identity (see compat.h / legacy_trace.c) */
    struct CodeEntry *entry;   /* borrowed: kept alive by the engines' code references */
    int last_line;             /* line running since last_time; 0 before the first line */
    int flags;                 /* LW_REC_* */
    struct EngineObject *counted;  /* owned, with LW_REC_COUNTED: the engine its start
                                      counted up, counted down when the record goes */
    int64_t last_time;         /* timer ticks */
    MemRec mem;                /* memory.h: set and read only while memory is traced */
    int64_t start;             /* ticks when it was pushed (started or resumed) */
    int64_t child;             /* ticks of profiled frames above it since last_time */
    uint64_t last_events;      /* ThreadStack.events at last_time */
    uint64_t start_events;     /* ThreadStack.events when it was pushed */
    uint64_t child_events;     /* events inside profiled frames above it since last_time */
} FrameRec;

/* The legacy backend's chained tracer switched line events off in this frame (which
 * linewise switched back on): its LINE events are not passed on. */
#define LW_REC_CHAIN_QUIET 1
/* No other record of its code was below it when pushed: its lines' time is the function's
 * counted-once total (LineStat.outer). */
#define LW_REC_OUTER 2
/* Its start counted up the engine of a decorated function (lw_entry_count_up, into
 * `counted`): removing the record counts that engine down. */
#define LW_REC_COUNTED 4

typedef struct {
    FrameRec *recs;    /* owned (raw allocator), cap long */
    int size;
    int cap;
    uint64_t epoch;    /* lw_state.epoch when last used; older means stale */
    uint64_t events;   /* profiled events seen on this thread: a clock overhead
                          compensation reads like the timer (events.h) */
    int counted;       /* records with LW_REC_COUNTED: while 0, removing records needs no
                          look at what they were */
} ThreadStack;

/* This thread's stack. Plain C thread-local: found without the interpreter's help. */
extern _Thread_local ThreadStack lw_tstack;

/* Grows the stack by doubling. Returns 0, or -1 on allocation failure (no exception:
 * callers drop the event rather than raise inside someone else's program). */
int lw_stack_grow(ThreadStack *ts);

typedef struct {
    void *key;                /* NULL marks an empty bucket */
    struct CodeEntry *entry;  /* borrowed */
    int line;                 /* the line it yielded or awaited on */
    int flags;                /* its FrameRec's flags */
    int64_t wait_start;       /* ticks when an await began, or -1 for a plain yield */
} Suspended;

/* Open addressing with linear probing; frames abandoned at a yield and never closed are
 * forgotten in bulk when it grows past its cap (they would only leak a few bytes). */
typedef struct {
    Suspended *items;  /* owned, cap long, or NULL */
    size_t cap;        /* a power of two, or 0 */
    size_t used;
} SuspendTable;

/* Parks a record under key (replacing any). Drops it silently when out of memory. */
void lw_suspend_put(SuspendTable *t, void *key, struct CodeEntry *entry, int line,
                    int flags, int64_t wait_start);

/* Takes the record under key out of the table into *out. Returns 1 if found, else 0. */
int lw_suspend_take(SuspendTable *t, void *key, Suspended *out);

/* The most records the table holds before it forgets them all. */
size_t lw_suspend_cap(void);

/* Frees the table's storage. */
void lw_suspend_clear(SuspendTable *t);

#endif /* LINEWISE_FRAMES_H */
