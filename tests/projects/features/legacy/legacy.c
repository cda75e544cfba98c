// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init legacy_init(void)
{
	pr_info("legacy: loaded\n");
	return 0;
}

static void __exit legacy_exit(void)
{
}

module_init(legacy_init);
module_exit(legacy_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A module built from its own Kbuild Makefile");
