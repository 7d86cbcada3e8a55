/* memtable.h: the sizes of the blocks allocated while memory is traced.
 *
 * A free passes only a pointer, and the allocators below ours (pymalloc, the debug hooks,
 * tracemalloc, numpy's cache) keep their sizes where we cannot read them, so every block
 * allocated while tracing is entered here with its size. A free looks its pointer up: a
 * block from before tracing began (or from an earlier session) is simply not found and
 * counts as 0 bytes, so live traced memory never goes below zero.
 *
 * Lock-free, for the raw domain is called without the GIL: open addressing in a chain of
 * tables, newest (and biggest) first. A block is placed within LW_MEMTABLE_PROBE slots of
 * its hash or not in that table; when the newest table has no room there, a table twice
 * its size is mapped (mmap: no allocator of ours or anyone's) and put in front. Tables are
 * never unmapped (a hook on another thread may still be probing, and ours may stay in
 * another tool's chain after stop);
 * each entry carries the session it was made in, so a new session starts empty without
 * touching the tables.
 */
#ifndef LINEWISE_MEMTABLE_H
#define LINEWISE_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

/* Starts a new session: entries of earlier ones no longer count. */
void lw_memtable_new_session(void);

/* Records block p of n bytes. Returns 0, or -1 when no table had room (not tracked). */
int lw_memtable_insert(void *p, size_t n);

/* Removes block p; returns its size, or 0 if it was not tracked. */
size_t lw_memtable_remove(void *p);

/* Bytes of table mapped, and blocks that found no room (for diagnostics). */
size_t lw_memtable_mapped(void);
uint64_t lw_memtable_untracked(void);

#endif /* LINEWISE_MEMTABLE_H */
