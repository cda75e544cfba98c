// SPDX-License-Identifier: GPL-2.0
/* greet.ko: prints a greeting for the module parameter `who` when loaded. */
#include <linux/module.h>
#include <linux/printk.h>

#include "greet.h"

static char *who = "world";
module_param(who, charp, 0444);
MODULE_PARM_DESC(who, "whom to greet");

static int __init greet_init(void)
{
	char text[64];

	greet_format(text, sizeof(text), who);
	pr_info("greet: %s\n", text);
	return 0;
}

static void __exit greet_exit(void)
{
	pr_info("greet: goodbye, %s\n", who);
}

module_init(greet_init);
module_exit(greet_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A composite module built by a plain Kbuild Makefile");
