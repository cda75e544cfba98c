// SPDX-License-Identifier: GPL-2.0
/* A KUnit suite in an out-of-tree module: one case passes, one fails, one is
 * skipped, so every kind of result is reported. */
#include <kunit/test.h>
#include <linux/module.h>

static void uml_passing_case(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 2 + 2, 4);
}

static void uml_failing_case(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, 2 + 2, 5);
}

static void uml_skipped_case(struct kunit *test)
{
	kunit_skip(test, "skipped on purpose");
}

static struct kunit_case uml_example_cases[] = {
	KUNIT_CASE(uml_passing_case),
	KUNIT_CASE(uml_failing_case),
	KUNIT_CASE(uml_skipped_case),
	{}
};

static struct kunit_suite uml_example_suite = {
	.name = "uml_example",
	.test_cases = uml_example_cases,
};
kunit_test_suite(uml_example_suite);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("KUnit results of every kind");
