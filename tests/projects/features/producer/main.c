// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <shared.h>

#ifndef PRODUCER_GREETING
#error "COMPILE_DEFINITIONS did not reach the compiler"
#endif

/* Unused on purpose: COMPILE_OPTIONS -Wno-unused-function keeps it quiet. */
static void unused_helper(void)
{
}

static int __init producer_init(void)
{
	pr_info("producer: %s, first value %d\n", PRODUCER_GREETING, producer_next());
	return 0;
}

static void __exit producer_exit(void)
{
}

module_init(producer_init);
module_exit(producer_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Exports producer_next() for the consumer module");
