/*
 * core/arena: bump allocator. Blocks are chained; an allocation larger than
 * the block size gets a block of its own. Reset moves the blocks to a spare
 * list so steady-state per-batch work allocates nothing from the system.
 */
#include "core/arena.h"

#include <string.h>

struct floe_arena_block {
  floe_arena_block *next;
  size_t size; /* usable bytes after the header */
  size_t used;
  _Alignas(16) unsigned char data[];
};

void floe_arena_init(floe_arena *arena, size_t block_size) {
  arena->head = NULL;
  arena->spare = NULL;
  arena->block_size = block_size ? block_size : 64 * 1024;
  arena->allocated = 0;
}

static floe_arena_block *take_block(floe_arena *arena, size_t need) {
  floe_arena_block **link = &arena->spare;
  while (*link != NULL) {
    if ((*link)->size >= need) {
      floe_arena_block *block = *link;
      *link = block->next;
      block->used = 0;
      return block;
    }
    link = &(*link)->next;
  }
  size_t size = need > arena->block_size ? need : arena->block_size;
  floe_arena_block *block = floe_malloc(sizeof *block + size);
  if (block == NULL) return NULL;
  block->size = size;
  block->used = 0;
  return block;
}

void *floe_arena_alloc(floe_arena *arena, size_t size) {
  size_t rounded = (size + 15) & ~(size_t)15;
  if (rounded < size) return NULL;
  floe_arena_block *head = arena->head;
  if (head == NULL || head->size - head->used < rounded) {
    floe_arena_block *block = take_block(arena, rounded);
    if (block == NULL) return NULL;
    block->next = head;
    arena->head = block;
    head = block;
  }
  void *p = head->data + head->used;
  head->used += rounded;
  arena->allocated += rounded;
  return p;
}

void *floe_arena_calloc(floe_arena *arena, size_t count, size_t size) {
  if (size != 0 && count > SIZE_MAX / size) return NULL;
  void *p = floe_arena_alloc(arena, count * size);
  if (p != NULL) memset(p, 0, count * size);
  return p;
}

void *floe_arena_memdup(floe_arena *arena, const void *src, size_t n) {
  void *p = floe_arena_alloc(arena, n);
  if (p != NULL && n) memcpy(p, src, n);
  return p;
}

char *floe_arena_strndup(floe_arena *arena, const char *s, size_t n) {
  char *p = floe_arena_alloc(arena, n + 1);
  if (p == NULL) return NULL;
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *floe_arena_strdup(floe_arena *arena, const char *s) {
  return floe_arena_strndup(arena, s, strlen(s));
}

void floe_arena_reset(floe_arena *arena) {
  while (arena->head != NULL) {
    floe_arena_block *block = arena->head;
    arena->head = block->next;
    block->next = arena->spare;
    arena->spare = block;
  }
  arena->allocated = 0;
}

void floe_arena_free(floe_arena *arena) {
  if (arena == NULL) return;
  floe_arena_reset(arena);
  while (arena->spare != NULL) {
    floe_arena_block *block = arena->spare;
    arena->spare = block->next;
    floe_free(block);
  }
}
