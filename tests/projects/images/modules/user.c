// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>

int base_answer(void);

static int __init user_init(void)
{
	pr_info("user: base says %d\n", base_answer());
	return 0;
}
module_init(user_init);

static void __exit user_exit(void)
{
}
module_exit(user_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Uses base_answer() from the base module");
