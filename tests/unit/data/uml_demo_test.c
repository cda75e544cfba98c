// SPDX-License-Identifier: GPL-2.0
// KUnit suite with a passing, a failing and (optionally) a crashing case, for
// uml-helper's KTAP parser test data.
#include <kunit/test.h>
#include <linux/module.h>

static bool crash;
module_param(crash, bool, 0444);

static void demo_pass(struct kunit *test) { KUNIT_EXPECT_EQ(test, 1 + 1, 2); }
static void demo_fail(struct kunit *test) { KUNIT_EXPECT_EQ(test, 1 + 1, 3); }
static void demo_crash(struct kunit *test)
{
	if (crash) {
		volatile int *p = NULL;
		*p = 1;
	}
}

static struct kunit_case demo_cases[] = {
	KUNIT_CASE(demo_pass),
	KUNIT_CASE(demo_fail),
	KUNIT_CASE(demo_crash),
	KUNIT_CASE(demo_pass),
	{}
};

static struct kunit_suite demo_suite = {
	.name = "uml_demo",
	.test_cases = demo_cases,
};
kunit_test_suite(demo_suite);

MODULE_DESCRIPTION("uml-helper KTAP demo");
MODULE_LICENSE("GPL");
