// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static int __init legacy_init(void)
{
#ifdef LEGACY_TAG
	/* Only with uml_add_module(COMPILE_DEFINITIONS), which a KBUILD_DIR takes too. */
	pr_info("legacy: tag %d\n", LEGACY_TAG);
#endif
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
