// SPDX-License-Identifier: GPL-2.0
/*
 * umlpci: the driver of the teaching PCI device umlpci (umlpci_regs.h), simulated by
 * umlpci_model.cpp. It maps BAR 0, takes one interrupt (MSI when the platform gives it,
 * else INTx), and exposes /dev/umlpci: register access, a compute command that completes
 * with an interrupt, and a DMA round trip through a coherent buffer.
 */
#include <linux/completion.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/uaccess.h>

#include "umlpci.h"
#include "umlpci_regs.h"

struct umlpci {
	struct pci_dev *pdev;
	void __iomem *regs;
	struct miscdevice misc;
	struct mutex lock; /* one command at a time */
	struct completion done;
	u32 irq_bits; /* what the interrupt handler acknowledged */
	int irq;
};

static irqreturn_t umlpci_interrupt(int irq, void *data)
{
	struct umlpci *u = data;
	u32 status = ioread32(u->regs + UMLPCI_REG_IRQ_STATUS);

	if (!status)
		return IRQ_NONE; /* a shared INTx line: not ours */
	iowrite32(status, u->regs + UMLPCI_REG_IRQ_ACK);
	WRITE_ONCE(u->irq_bits, READ_ONCE(u->irq_bits) | status);
	complete(&u->done);
	return IRQ_HANDLED;
}

/* Writes a command and waits for its interrupt. */
static int umlpci_command(struct umlpci *u, u32 command, u32 done_bit)
{
	u32 bits;

	reinit_completion(&u->done);
	WRITE_ONCE(u->irq_bits, 0);
	iowrite32(command, u->regs + UMLPCI_REG_COMMAND);
	if (!wait_for_completion_timeout(&u->done, msecs_to_jiffies(5000)))
		return -ETIMEDOUT;
	bits = READ_ONCE(u->irq_bits);
	if (bits & UMLPCI_IRQ_DMA_ERROR)
		return -EIO;
	return (bits & done_bit) ? 0 : -EIO;
}

static int umlpci_dma(struct umlpci *u, struct umlpci_dma *req)
{
	dma_addr_t bus;
	void *buffer;
	int ret;

	if (req->len == 0 || req->len > UMLPCI_BUFFER_SIZE)
		return -EINVAL;
	buffer = dma_alloc_coherent(&u->pdev->dev, req->len, &bus, GFP_KERNEL);
	if (!buffer)
		return -ENOMEM;
	if (copy_from_user(buffer, u64_to_user_ptr(req->data), req->len)) {
		ret = -EFAULT;
		goto out;
	}
	iowrite32(lower_32_bits(bus), u->regs + UMLPCI_REG_DMA_ADDR_LO);
	iowrite32(upper_32_bits(bus), u->regs + UMLPCI_REG_DMA_ADDR_HI);
	iowrite32(req->len, u->regs + UMLPCI_REG_DMA_LEN);
	ret = umlpci_command(u, UMLPCI_CMD_DMA_TO_DEVICE, UMLPCI_IRQ_DMA);
	if (ret)
		goto out;
	req->device_sum = ioread32(u->regs + UMLPCI_REG_DMA_SUM);
	memset(buffer, 0, req->len); /* what comes back is the device's */
	ret = umlpci_command(u, UMLPCI_CMD_DMA_FROM_DEVICE, UMLPCI_IRQ_DMA);
	if (ret)
		goto out;
	if (copy_to_user(u64_to_user_ptr(req->data), buffer, req->len))
		ret = -EFAULT;
out:
	dma_free_coherent(&u->pdev->dev, req->len, buffer, bus);
	return ret;
}

static long umlpci_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct umlpci *u = container_of(file->private_data, struct umlpci, misc);
	void __user *user = (void __user *)arg;
	struct umlpci_reg reg;
	struct umlpci_dma dma;
	u32 value;
	long ret;

	switch (cmd) {
	case UMLPCI_IOC_READ:
	case UMLPCI_IOC_WRITE:
		if (copy_from_user(&reg, user, sizeof(reg)))
			return -EFAULT;
		if (reg.offset % 4 || reg.offset >= UMLPCI_BAR0_SIZE)
			return -EINVAL;
		if (cmd == UMLPCI_IOC_WRITE) {
			iowrite32(reg.value, u->regs + reg.offset);
			return 0;
		}
		reg.value = ioread32(u->regs + reg.offset);
		return copy_to_user(user, &reg, sizeof(reg)) ? -EFAULT : 0;
	case UMLPCI_IOC_COMPUTE:
		if (get_user(value, (u32 __user *)user))
			return -EFAULT;
		mutex_lock(&u->lock);
		iowrite32(value, u->regs + UMLPCI_REG_OPERAND);
		ret = umlpci_command(u, UMLPCI_CMD_COMPUTE, UMLPCI_IRQ_COMPUTE);
		if (!ret)
			value = ioread32(u->regs + UMLPCI_REG_RESULT);
		mutex_unlock(&u->lock);
		if (ret)
			return ret;
		return put_user(value, (u32 __user *)user);
	case UMLPCI_IOC_DMA:
		if (copy_from_user(&dma, user, sizeof(dma)))
			return -EFAULT;
		mutex_lock(&u->lock);
		ret = umlpci_dma(u, &dma);
		mutex_unlock(&u->lock);
		if (ret)
			return ret;
		return copy_to_user(user, &dma, sizeof(dma)) ? -EFAULT : 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations umlpci_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = umlpci_ioctl,
};

static int umlpci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct umlpci *u;
	int ret;

	u = devm_kzalloc(&pdev->dev, sizeof(*u), GFP_KERNEL);
	if (!u)
		return -ENOMEM;
	u->pdev = pdev;
	mutex_init(&u->lock);
	init_completion(&u->done);

	ret = pci_enable_device(pdev);
	if (ret)
		return ret;
	pci_set_master(pdev); /* the device DMAs: bus mastering */
	ret = pci_request_regions(pdev, "umlpci");
	if (ret)
		goto disable;
	u->regs = pci_iomap(pdev, 0, UMLPCI_BAR0_SIZE);
	if (!u->regs) {
		ret = -ENOMEM;
		goto release;
	}
	if (ioread32(u->regs + UMLPCI_REG_ID) != UMLPCI_ID_VALUE) {
		dev_err(&pdev->dev, "unexpected id 0x%08x\n", ioread32(u->regs + UMLPCI_REG_ID));
		ret = -ENODEV;
		goto unmap;
	}
	ret = dma_set_mask_and_coherent(&pdev->dev, DMA_BIT_MASK(64));
	if (ret)
		goto unmap;

	ret = pci_alloc_irq_vectors(pdev, 1, 1, PCI_IRQ_ALL_TYPES);
	if (ret < 0)
		goto unmap;
	u->irq = pci_irq_vector(pdev, 0);
	ret = request_irq(u->irq, umlpci_interrupt, IRQF_SHARED, "umlpci", u);
	if (ret)
		goto free_vectors;

	u->misc.minor = MISC_DYNAMIC_MINOR;
	u->misc.name = "umlpci";
	u->misc.fops = &umlpci_fops;
	u->misc.parent = &pdev->dev;
	ret = misc_register(&u->misc);
	if (ret)
		goto free_irq;
	pci_set_drvdata(pdev, u);
	dev_info(&pdev->dev, "umlpci: irq %d (%s), /dev/umlpci\n", u->irq,
		 pdev->msi_enabled ? "MSI" : "INTx");
	return 0;

free_irq:
	free_irq(u->irq, u);
free_vectors:
	pci_free_irq_vectors(pdev);
unmap:
	pci_iounmap(pdev, u->regs);
release:
	pci_release_regions(pdev);
disable:
	pci_disable_device(pdev);
	return ret;
}

static void umlpci_remove(struct pci_dev *pdev)
{
	struct umlpci *u = pci_get_drvdata(pdev);

	misc_deregister(&u->misc);
	free_irq(u->irq, u);
	pci_free_irq_vectors(pdev);
	pci_iounmap(pdev, u->regs);
	pci_release_regions(pdev);
	pci_disable_device(pdev);
}

static const struct pci_device_id umlpci_ids[] = {
	{ PCI_DEVICE(UMLPCI_VENDOR_ID, UMLPCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, umlpci_ids);

static struct pci_driver umlpci_driver = {
	.name = "umlpci",
	.id_table = umlpci_ids,
	.probe = umlpci_probe,
	.remove = umlpci_remove,
};
module_pci_driver(umlpci_driver);

MODULE_DESCRIPTION("Driver of the umlpci teaching device (simulated)");
MODULE_LICENSE("GPL");
