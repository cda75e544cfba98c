// SPDX-License-Identifier: GPL-2.0
/* Warns while loading and carries on: fails a test only with FAIL_ON_WARN. */
#include <linux/bug.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init warn_on_load_init(void)
{
	WARN(1, "warn_on_load: warning on purpose\n");
	return 0;
}
module_init(warn_on_load_init);

/* Without an exit function the kernel would refuse to unload it (the unload check). */
static void __exit warn_on_load_exit(void)
{
}
module_exit(warn_on_load_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Calls WARN() in its init function");
