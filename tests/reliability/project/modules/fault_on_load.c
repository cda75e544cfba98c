// SPDX-License-Identifier: GPL-2.0
/* Writes through a NULL pointer while loading: what is an oops elsewhere is a
 * "Kernel mode fault" panic on UML. */
#include <linux/compiler.h>
#include <linux/init.h>
#include <linux/module.h>

static int __init fault_on_load_init(void)
{
	int *volatile nowhere = NULL;

	WRITE_ONCE(*nowhere, 1);
	return 0;
}
module_init(fault_on_load_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Dereferences NULL in its init function");
