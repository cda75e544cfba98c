// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>

static int __init single_init(void)
{
	pr_info("single: version one\n");
	return 0;
}

static void __exit single_exit(void)
{
}

module_init(single_init);
module_exit(single_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Fast path test: one file, with a version");
MODULE_VERSION("1.0");
