// SPDX-License-Identifier: GPL-2.0
/* Built under a kernel module's name (ext4, crc-ccitt): the build must refuse it. */
#include <linux/init.h>
#include <linux/module.h>

static int __init named_like_kernel_init(void)
{
	return 0;
}
module_init(named_like_kernel_init);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A module named like one of the kernel's");
