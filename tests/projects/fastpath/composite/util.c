// SPDX-License-Identifier: GPL-2.0
#include <linux/module.h>
#include "composite.h"

int composite_value(int x)
{
	return x * COMPOSITE_FACTOR;
}
EXPORT_SYMBOL_GPL(composite_value);
