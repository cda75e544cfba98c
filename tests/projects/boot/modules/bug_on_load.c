// SPDX-License-Identifier: GPL-2.0
/* Hits BUG() while loading: the test must classify it as an oops/BUG. */
#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init bug_on_load_init(void)
{
	BUG();
	return 0;
}
module_init(bug_on_load_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Calls BUG() in its init function");
