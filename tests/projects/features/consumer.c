// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <shared.h>

static int __init consumer_init(void)
{
	pr_info("consumer: got %d from producer\n", producer_next());
	return 0;
}

static void __exit consumer_exit(void)
{
}

module_init(consumer_init);
module_exit(consumer_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Uses a symbol exported by the producer module");
