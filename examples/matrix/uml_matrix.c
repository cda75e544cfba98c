// SPDX-License-Identifier: GPL-2.0
/*
 * One source built for two kernels. class_create() lost its owner argument in
 * Linux 6.4: the kind of API change a version matrix catches before users do.
 */
#include <generated/utsrelease.h>
#include <linux/device.h>
#include <linux/err.h>
#include <linux/module.h>
#include <linux/version.h>

static struct class *matrix_class;

static int __init uml_matrix_init(void)
{
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
	matrix_class = class_create("uml_matrix");
#else
	matrix_class = class_create(THIS_MODULE, "uml_matrix");
#endif
	if (IS_ERR(matrix_class))
		return PTR_ERR(matrix_class);
	/* The release this module was compiled against; the test compares it with uname -r. */
	pr_info("uml_matrix: built for %s\n", UTS_RELEASE);
	return 0;
}

static void __exit uml_matrix_exit(void)
{
	class_destroy(matrix_class);
}

module_init(uml_matrix_init);
module_exit(uml_matrix_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A module built and tested against several kernel versions");
