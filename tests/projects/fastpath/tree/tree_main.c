// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include <linux/mod_devicetable.h>
#include <linux/platform_device.h>

int tree_scale(int x);

static const struct platform_device_id tree_ids[] = {
	{ .name = "tree-alpha" },
	{}
};
MODULE_DEVICE_TABLE(platform, tree_ids);

static int tree_probe(struct platform_device *pdev)
{
	return tree_scale(0) > 0 ? 0 : -ENODEV;
}

static struct platform_driver tree_driver = {
	.driver = { .name = "tree" },
	.probe = tree_probe,
	.id_table = tree_ids,
};
module_platform_driver(tree_driver);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Fast path test: a Kbuild directory with a device table");
