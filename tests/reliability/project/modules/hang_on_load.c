// SPDX-License-Identifier: GPL-2.0
/* Never returns from its init function: UML's kernel is not preemptible, so the
 * whole guest hangs and only the host side (the helper's timeout) can end it. */
#include <linux/init.h>
#include <linux/module.h>
#include <asm/processor.h>

static int __init hang_on_load_init(void)
{
	pr_err("hang_on_load: spinning for ever\n");
	for (;;)
		cpu_relax();
	return 0;
}
module_init(hang_on_load_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Spins for ever in its init function");
