// SPDX-License-Identifier: GPL-2.0
/* Exports a symbol; "user" needs it, so modprobe user must load base first. */
#include <linux/export.h>
#include <linux/init.h>
#include <linux/module.h>

int base_answer(void)
{
	return 42;
}
EXPORT_SYMBOL_GPL(base_answer);

static int __init base_init(void)
{
	pr_info("base: loaded\n");
	return 0;
}
module_init(base_init);

static void __exit base_exit(void)
{
}
module_exit(base_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Exports base_answer()");
