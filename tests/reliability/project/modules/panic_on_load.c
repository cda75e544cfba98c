// SPDX-License-Identifier: GPL-2.0
/* Panics while loading: UML then kill(0, SIGTERM)s its process group and aborts. */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/panic.h>

static int __init panic_on_load_init(void)
{
	panic("panic_on_load: panic on purpose");
	return 0;
}
module_init(panic_on_load_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Calls panic() in its init function");
