// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite "ringbuf": each case is one CTest test, ringbuf.<case>
 * (uml_discover_kunit_tests in CMakeLists.txt finds them when the module is
 * built; a new KUNIT_CASE needs a rebuild, not a re-configure).
 */
#include <kunit/test.h>
#include <linux/errno.h>
#include <linux/module.h>
#include <linux/string.h>

#include "ringbuf.h"

static void init_sizes(struct kunit *test)
{
	u8 storage[8];
	struct ringbuf rb;

	KUNIT_EXPECT_EQ(test, ringbuf_init(&rb, storage, 0), -EINVAL);
	KUNIT_EXPECT_EQ(test, ringbuf_init(&rb, storage, 3), -EINVAL);
	KUNIT_EXPECT_EQ(test, ringbuf_init(&rb, storage, 6), -EINVAL);
	KUNIT_EXPECT_EQ(test, ringbuf_init(&rb, storage, 1), 0);
	KUNIT_ASSERT_EQ(test, ringbuf_init(&rb, storage, sizeof(storage)), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_len(&rb), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_space(&rb), sizeof(storage));
}

static void put_get(struct kunit *test)
{
	u8 storage[8], out[8] = {};
	struct ringbuf rb;

	KUNIT_ASSERT_EQ(test, ringbuf_init(&rb, storage, sizeof(storage)), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_put(&rb, "abc", 3), 3);
	KUNIT_EXPECT_EQ(test, ringbuf_len(&rb), 3);
	KUNIT_EXPECT_EQ(test, ringbuf_get(&rb, out, sizeof(out)), 3);
	KUNIT_EXPECT_MEMEQ(test, out, "abc", 3);
	KUNIT_EXPECT_EQ(test, ringbuf_len(&rb), 0);
}

static void get_empty(struct kunit *test)
{
	u8 storage[4], out[4];
	struct ringbuf rb;

	KUNIT_ASSERT_EQ(test, ringbuf_init(&rb, storage, sizeof(storage)), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_get(&rb, out, sizeof(out)), 0);
}

static void put_full(struct kunit *test)
{
	u8 storage[8], out[8];
	struct ringbuf rb;

	KUNIT_ASSERT_EQ(test, ringbuf_init(&rb, storage, sizeof(storage)), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_put(&rb, "0123456789", 10), 8);
	KUNIT_EXPECT_EQ(test, ringbuf_space(&rb), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_put(&rb, "x", 1), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_get(&rb, out, sizeof(out)), 8);
	KUNIT_EXPECT_MEMEQ(test, out, "01234567", 8);
}

static void wrap_around(struct kunit *test)
{
	u8 storage[8], out[8];
	struct ringbuf rb;

	KUNIT_ASSERT_EQ(test, ringbuf_init(&rb, storage, sizeof(storage)), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_put(&rb, "abcdef", 6), 6);
	KUNIT_EXPECT_EQ(test, ringbuf_get(&rb, out, 4), 4);
	/* 2 bytes left at the end of the storage, 4 more at its start. */
	KUNIT_EXPECT_EQ(test, ringbuf_put(&rb, "ghijkl", 6), 6);
	KUNIT_EXPECT_EQ(test, ringbuf_get(&rb, out, sizeof(out)), 8);
	KUNIT_EXPECT_MEMEQ(test, out, "efghijkl", 8);
}

/* The free-running indices wrap at SIZE_MAX: length and order stay right. */
static void index_overflow(struct kunit *test)
{
	u8 storage[8], out[8];
	struct ringbuf rb;

	KUNIT_ASSERT_EQ(test, ringbuf_init(&rb, storage, sizeof(storage)), 0);
	rb.head = SIZE_MAX - 2;
	rb.tail = SIZE_MAX - 2;
	KUNIT_EXPECT_EQ(test, ringbuf_put(&rb, "uvwxyz", 6), 6);
	KUNIT_EXPECT_EQ(test, ringbuf_len(&rb), 6);
	KUNIT_EXPECT_LT(test, rb.head, rb.tail); /* head has wrapped */
	KUNIT_EXPECT_EQ(test, ringbuf_get(&rb, out, sizeof(out)), 6);
	KUNIT_EXPECT_MEMEQ(test, out, "uvwxyz", 6);
}

/*
 * Parameterized: a stream through the buffer in chunks of each size, many
 * wraps; all parameters together are one CTest test.
 */
static const size_t chunk_sizes[] = { 1, 3, 8, 13 };

static void chunk_desc(const size_t *chunk, char *desc)
{
	snprintf(desc, KUNIT_PARAM_DESC_SIZE, "chunk %zu", *chunk);
}

KUNIT_ARRAY_PARAM(chunk, chunk_sizes, chunk_desc);

static void stream_chunks(struct kunit *test)
{
	const size_t chunk = *(const size_t *)test->param_value;
	u8 storage[8], in[16], out[16];
	struct ringbuf rb;
	unsigned int next_in = 0, next_out = 0;
	size_t i, n;

	KUNIT_ASSERT_EQ(test, ringbuf_init(&rb, storage, sizeof(storage)), 0);
	while (next_out < 1000) {
		for (i = 0; i < chunk; i++)
			in[i] = (u8)(next_in + i);
		n = ringbuf_put(&rb, in, chunk);
		next_in += n;
		n = ringbuf_get(&rb, out, chunk);
		for (i = 0; i < n; i++)
			KUNIT_ASSERT_EQ(test, out[i], (u8)(next_out + i));
		next_out += n;
		KUNIT_ASSERT_GT(test, n, 0);
	}
}

#ifdef RINGBUF_DEMO_CASES
/*
 * Compiled in only by the package's tests (-DRINGBUF_DEMO_CASES=ON): a case
 * that fails and one that skips, each of which must show as such in CTest.
 */
static void demo_failure(struct kunit *test)
{
	u8 storage[4];
	struct ringbuf rb;

	KUNIT_ASSERT_EQ(test, ringbuf_init(&rb, storage, sizeof(storage)), 0);
	KUNIT_EXPECT_EQ(test, ringbuf_len(&rb), 1); /* wrong on purpose */
}

static void demo_skip(struct kunit *test)
{
	kunit_skip(test, "skipped on purpose");
}
#endif

static struct kunit_case ringbuf_cases[] = {
	KUNIT_CASE(init_sizes),
	KUNIT_CASE(put_get),
	KUNIT_CASE(get_empty),
	KUNIT_CASE(put_full),
	KUNIT_CASE(wrap_around),
	KUNIT_CASE(index_overflow),
	KUNIT_CASE_PARAM(stream_chunks, chunk_gen_params),
#ifdef RINGBUF_DEMO_CASES
	KUNIT_CASE(demo_failure),
	KUNIT_CASE(demo_skip),
#endif
	{}
};

static struct kunit_suite ringbuf_suite = {
	.name = "ringbuf",
	.test_cases = ringbuf_cases,
};
kunit_test_suite(ringbuf_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit tests of a byte ring buffer");
