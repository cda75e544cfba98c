/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A byte ring buffer: the logic under test. Storage is the caller's, its size
 * a power of two; head and tail run free (they wrap at SIZE_MAX, not at the
 * size), so full and empty are told apart without a wasted byte.
 */
#ifndef RINGBUF_H
#define RINGBUF_H

#include <linux/types.h>

struct ringbuf {
	u8 *data;
	size_t size; /* a power of two */
	size_t head; /* bytes ever put */
	size_t tail; /* bytes ever taken */
};

/* 0, or -EINVAL when size is not a power of two. The buffer starts empty. */
int ringbuf_init(struct ringbuf *rb, void *storage, size_t size);
size_t ringbuf_len(const struct ringbuf *rb);
size_t ringbuf_space(const struct ringbuf *rb);
/* Copies up to n bytes in (as many as fit); returns how many. */
size_t ringbuf_put(struct ringbuf *rb, const void *src, size_t n);
/* Copies up to n bytes out, oldest first; returns how many. */
size_t ringbuf_get(struct ringbuf *rb, void *dst, size_t n);

#endif /* RINGBUF_H */
