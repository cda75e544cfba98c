// SPDX-License-Identifier: GPL-2.0
/*
 * The ring buffer (see ringbuf.h). In a real driver this file is also in the
 * driver module's SOURCES; here it is linked into the test module.
 */
#include <linux/errno.h>
#include <linux/log2.h>
#include <linux/minmax.h>
#include <linux/string.h>

#include "ringbuf.h"

int ringbuf_init(struct ringbuf *rb, void *storage, size_t size)
{
	if (!is_power_of_2(size))
		return -EINVAL;
	rb->data = storage;
	rb->size = size;
	rb->head = 0;
	rb->tail = 0;
	return 0;
}

size_t ringbuf_len(const struct ringbuf *rb)
{
	return rb->head - rb->tail; /* unsigned: right across the wrap */
}

size_t ringbuf_space(const struct ringbuf *rb)
{
	return rb->size - ringbuf_len(rb);
}

size_t ringbuf_put(struct ringbuf *rb, const void *src, size_t n)
{
	size_t at = rb->head & (rb->size - 1);
	size_t first;

	n = min(n, ringbuf_space(rb));
	first = min(n, rb->size - at); /* up to the end of the storage */
	memcpy(rb->data + at, src, first);
	memcpy(rb->data, (const u8 *)src + first, n - first);
	rb->head += n;
	return n;
}

size_t ringbuf_get(struct ringbuf *rb, void *dst, size_t n)
{
	size_t at = rb->tail & (rb->size - 1);
	size_t first;

	n = min(n, ringbuf_len(rb));
	first = min(n, rb->size - at);
	memcpy(dst, rb->data + at, first);
	memcpy((u8 *)dst + first, rb->data, n - first);
	rb->tail += n;
	return n;
}
