// SPDX-License-Identifier: GPL-2.0
/* The smallest useful out-of-tree module: it says hello when loaded. */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

static char *whom = "UML";
module_param(whom, charp, 0444);
MODULE_PARM_DESC(whom, "who to greet");

static int __init hello_init(void)
{
	pr_info("hello: loaded, hello %s\n", whom);
	return 0;
}

static void __exit hello_exit(void)
{
	pr_info("hello: unloaded\n");
}

module_init(hello_init);
module_exit(hello_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Hello world module for the UserModeLinux CMake package");
