// SPDX-License-Identifier: GPL-2.0
#include "textbook.h"

int textbook_twice(int value)
{
	return 2 * value;
}
