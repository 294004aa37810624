/*
 * core/arena: bump allocation for per-batch and per-file work.
 *
 * Memory handed out by floe_arena_alloc belongs to the arena and is released
 * all at once by floe_arena_reset (kept for reuse) or floe_arena_free.
 * Allocations are 16-byte aligned.
 */
#ifndef FLOE_CORE_ARENA_H
#define FLOE_CORE_ARENA_H

#include <stddef.h>

#include "floe/common.h"

typedef struct floe_arena_block floe_arena_block;

typedef struct floe_arena {
  floe_arena_block *head;    /* block being filled */
  floe_arena_block *spare;   /* blocks kept by reset for reuse */
  size_t block_size;         /* default size of new blocks */
  size_t allocated;          /* bytes handed out since the last reset */
} floe_arena;

/* block_size 0 means 64 KiB. */
void floe_arena_init(floe_arena *arena, size_t block_size);
/* Returns NULL on allocation failure. size 0 returns a valid pointer. */
void *floe_arena_alloc(floe_arena *arena, size_t size);
void *floe_arena_calloc(floe_arena *arena, size_t count, size_t size);
char *floe_arena_strdup(floe_arena *arena, const char *s);
char *floe_arena_strndup(floe_arena *arena, const char *s, size_t n);
void *floe_arena_memdup(floe_arena *arena, const void *p, size_t n);
/* Releases everything handed out; keeps the blocks for reuse. */
void floe_arena_reset(floe_arena *arena);
/* Releases the blocks. Accepts NULL. */
void floe_arena_free(floe_arena *arena);

#endif
