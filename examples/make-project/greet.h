/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GREET_H
#define GREET_H

#include <linux/types.h>

/* Writes the greeting for <who> into buf; returns its length. */
int greet_format(char *buf, size_t size, const char *who);

#endif
