// SPDX-License-Identifier: GPL-2.0
/* Loads cleanly but has no exit function, so the kernel never unloads it: the unload check fails. */
#include <linux/init.h>
#include <linux/module.h>

static int __init no_exit_init(void)
{
	return 0;
}
module_init(no_exit_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A module without module_exit()");
