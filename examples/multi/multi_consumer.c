// SPDX-License-Identifier: GPL-2.0
/*
 * multi_consumer: calls multi_provider's exported function when loaded, so it
 * depends on multi_provider: modinfo lists it in "depends", depmod records it
 * in modules.dep, and `modprobe multi_consumer` loads multi_provider first.
 * The result is in /sys/module/multi_consumer/parameters/checksum.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/string.h>

#include "multi_provider.h"

static char *text = "Wikipedia";
module_param(text, charp, 0444);
MODULE_PARM_DESC(text, "what to checksum at load time");

static unsigned int checksum;
module_param(checksum, uint, 0444);
MODULE_PARM_DESC(checksum, "Adler-32 of text, computed by multi_provider (read-only)");

static int __init multi_consumer_init(void)
{
	checksum = multi_provider_adler32(1, text, strlen(text));
	pr_info("multi_consumer: loaded, adler32(\"%s\") = 0x%08x\n", text, checksum);
	return 0;
}

static void __exit multi_consumer_exit(void)
{
	pr_info("multi_consumer: unloaded\n");
}

module_init(multi_consumer_init);
module_exit(multi_consumer_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Uses multi_provider's exported checksum function");
