// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include "composite.h"

static int __init user_init(void)
{
	pr_info("user: %d\n", composite_value(2));
	return 0;
}

static void __exit user_exit(void)
{
}

module_init(user_init);
module_exit(user_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Fast path test: uses the composite module's symbol");
