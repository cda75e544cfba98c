// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>

static int __init greeting_init(void)
{
	pr_info("greeting: built on some machine\n");
	return 0;
}

static void __exit greeting_exit(void)
{
}

module_init(greeting_init);
module_exit(greeting_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Scale-out test module");
