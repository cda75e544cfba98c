/* SPDX-License-Identifier: GPL-2.0 OR MIT */
/*
 * The teaching PCI device "umlpci": its identity and BAR 0 registers, shared by the
 * device model (umlpci_model.cpp), the driver (umlpci.c) and the test tool.
 */
#ifndef UMLPCI_REGS_H
#define UMLPCI_REGS_H

#define UMLPCI_VENDOR_ID 0x1234
#define UMLPCI_DEVICE_ID 0x5ca1
#define UMLPCI_CLASS 0xff0000 /* unassigned class: no in-tree driver claims it */
#define UMLPCI_BAR0_SIZE 4096
#define UMLPCI_BUFFER_SIZE 4096 /* the device's own memory, for DMA */

/* BAR 0, 32-bit registers */
#define UMLPCI_REG_ID 0x00         /* ro: UMLPCI_ID_VALUE */
#define UMLPCI_REG_SCRATCH 0x04    /* rw: reads back what was written */
#define UMLPCI_REG_OPERAND 0x08    /* rw: input of the compute command */
#define UMLPCI_REG_RESULT 0x0c     /* ro: output of the compute command */
#define UMLPCI_REG_COMMAND 0x10    /* wo: UMLPCI_CMD_* */
#define UMLPCI_REG_IRQ_STATUS 0x14 /* ro: UMLPCI_IRQ_* raised and not yet acknowledged */
#define UMLPCI_REG_IRQ_ACK 0x18    /* wo: clears these UMLPCI_IRQ_* bits */
#define UMLPCI_REG_DMA_ADDR_LO 0x20 /* rw: bus address of the host buffer */
#define UMLPCI_REG_DMA_ADDR_HI 0x24
#define UMLPCI_REG_DMA_LEN 0x28     /* rw: bytes, at most UMLPCI_BUFFER_SIZE */
#define UMLPCI_REG_DMA_SUM 0x2c     /* ro: sum of the bytes the last DMA_TO_DEVICE moved */
#define UMLPCI_REG_COMPUTES 0x30    /* ro: compute commands done since reset */

#define UMLPCI_ID_VALUE 0x5ca10001

/* Commands; each raises its interrupt when done. */
#define UMLPCI_CMD_COMPUTE 1        /* RESULT = OPERAND * OPERAND + 1 (mod 2^32) */
#define UMLPCI_CMD_DMA_TO_DEVICE 2  /* host buffer -> device memory (and DMA_SUM) */
#define UMLPCI_CMD_DMA_FROM_DEVICE 3 /* device memory, each byte inverted -> host buffer */

#define UMLPCI_IRQ_COMPUTE 0x1
#define UMLPCI_IRQ_DMA 0x2
#define UMLPCI_IRQ_DMA_ERROR 0x4

#endif
