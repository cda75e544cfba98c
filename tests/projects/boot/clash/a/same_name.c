// SPDX-License-Identifier: GPL-2.0
/* Kbuild directory a: makes same_name.ko, as the other one does. */
#include <linux/init.h>
#include <linux/module.h>

static int __init same_name_init(void)
{
	return 0;
}
module_init(same_name_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("same_name.ko from Kbuild directory a");
