/* SPDX-License-Identifier: GPL-2.0 */
/* What multi_provider exports to other modules (EXPORT_SYMBOL_GPL). */
#ifndef MULTI_PROVIDER_H
#define MULTI_PROVIDER_H

#include <linux/types.h>

/*
 * Adler-32 (RFC 1950) of len bytes at buf, continuing from adler (start with
 * 1); e.g. multi_provider_adler32(1, "Wikipedia", 9) is 0x11e60398.
 */
u32 multi_provider_adler32(u32 adler, const void *buf, size_t len);

#endif /* MULTI_PROVIDER_H */
