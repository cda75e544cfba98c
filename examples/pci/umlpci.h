/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/* /dev/umlpci's ioctls, shared by the driver and the test tool. */
#ifndef UMLPCI_H
#define UMLPCI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* A BAR 0 register, read or written from userspace (an MMIO round trip each). */
struct umlpci_reg {
	__u32 offset;
	__u32 value;
};

/* A DMA round trip: len bytes from data go to the device (which sums them), then come
 * back inverted into data. */
struct umlpci_dma {
	__u64 data; /* user pointer */
	__u32 len;
	__u32 device_sum; /* out: the sum the device computed over what it received */
};

#define UMLPCI_IOC_READ _IOWR('U', 1, struct umlpci_reg)
#define UMLPCI_IOC_WRITE _IOW('U', 2, struct umlpci_reg)
/* in: operand, out: the device's result; waits for the interrupt */
#define UMLPCI_IOC_COMPUTE _IOWR('U', 3, __u32)
#define UMLPCI_IOC_DMA _IOWR('U', 4, struct umlpci_dma)

#endif
