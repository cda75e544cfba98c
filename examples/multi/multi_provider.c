// SPDX-License-Identifier: GPL-2.0
/*
 * multi_provider: a library module. It does nothing on its own; it exports a
 * checksum function that other modules (multi_consumer) call. While a module
 * that uses it is loaded, the kernel refuses to unload it.
 */
#include <linux/export.h>
#include <linux/init.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/printk.h>

#include "multi_provider.h"

#define ADLER_MOD 65521U
/* The most bytes summed before s2 could overflow 32 bits (zlib's NMAX). */
#define ADLER_NMAX 5552U

u32 multi_provider_adler32(u32 adler, const void *buf, size_t len)
{
	const u8 *p = buf;
	u32 s1 = adler & 0xffff;
	u32 s2 = adler >> 16;

	while (len > 0) {
		size_t n = min_t(size_t, len, ADLER_NMAX);

		len -= n;
		while (n--) {
			s1 += *p++;
			s2 += s1;
		}
		s1 %= ADLER_MOD;
		s2 %= ADLER_MOD;
	}
	return (s2 << 16) | s1;
}
EXPORT_SYMBOL_GPL(multi_provider_adler32);

static int __init multi_provider_init(void)
{
	pr_info("multi_provider: loaded\n");
	return 0;
}

static void __exit multi_provider_exit(void)
{
	pr_info("multi_provider: unloaded\n");
}

module_init(multi_provider_init);
module_exit(multi_provider_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Exports a checksum function to other modules");
