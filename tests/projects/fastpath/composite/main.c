// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include "composite.h"

static int __init composite_init(void)
{
	pr_info("composite: %d\n", composite_value(COMPOSITE_FACTOR));
	return 0;
}

static void __exit composite_exit(void)
{
}

module_init(composite_init);
module_exit(composite_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Fast path test: two objects, an exported symbol");
