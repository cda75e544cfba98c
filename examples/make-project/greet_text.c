// SPDX-License-Identifier: GPL-2.0
/* The second object of the composite module greet.ko. */
#include <linux/kernel.h>

#include "greet.h"

int greet_format(char *buf, size_t size, const char *who)
{
	return scnprintf(buf, size, "hello, %s", who);
}
