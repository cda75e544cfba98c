/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * The ioctl interface of /dev/bufdev, shared by the module (bufdev.c) and its
 * userspace test program (bufdev_test.c): only <linux/...> uapi headers, so it
 * compiles on both sides.
 */
#ifndef BUFDEV_H
#define BUFDEV_H

#include <linux/ioctl.h>
#include <linux/types.h>

struct bufdev_info {
	__u32 capacity; /* bytes the buffer can hold (module parameter) */
	__u32 used; /* bytes stored now */
	__u32 open_count; /* open file descriptions now */
	__u32 total_opens; /* successful opens since the module was loaded */
};

#define BUFDEV_IOC_MAGIC 0xb5
/* Fills a struct bufdev_info. */
#define BUFDEV_IOC_INFO _IOR(BUFDEV_IOC_MAGIC, 1, struct bufdev_info)
/* Empties the buffer. */
#define BUFDEV_IOC_RESET _IO(BUFDEV_IOC_MAGIC, 2)

#endif /* BUFDEV_H */
