// SPDX-License-Identifier: GPL-2.0
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "textbook.h"
#include "textbook_extra.h"

static int __init textbook_init(void)
{
	pr_info("textbook: level %d, %s, %d\n", TEXTBOOK_LEVEL, TEXTBOOK_NAME, textbook_twice(TEXTBOOK_EXTRA_VALUE));
	return 0;
}

static void __exit textbook_exit(void)
{
}

module_init(textbook_init);
module_exit(textbook_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A module whose Makefile needs variables and a sibling include directory");
