// SPDX-License-Identifier: GPL-2.0
/* Logs a version string the test edits, to see which build the guest loads. */
#include <linux/init.h>
#include <linux/module.h>

#define VERSIONED_STRING "versioned-v1"

static int __init versioned_init(void)
{
	pr_info("versioned: %s\n", VERSIONED_STRING);
	return 0;
}
module_init(versioned_init);

static void __exit versioned_exit(void)
{
}
module_exit(versioned_exit);
MODULE_LICENSE("GPL");
MODULE_VERSION(VERSIONED_STRING);
MODULE_DESCRIPTION("Carries a version string");
