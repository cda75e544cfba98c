// SPDX-License-Identifier: GPL-2.0
#include <linux/export.h>
#include <linux/module.h>
#include "counter.h"
#include <shared.h>

static int counter = COUNTER_START;

int producer_next(void)
{
	if (counter >= COUNTER_START + PRODUCER_LIMIT)
		counter = COUNTER_START;
	return ++counter;
}
EXPORT_SYMBOL_GPL(producer_next);
