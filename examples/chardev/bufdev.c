// SPDX-License-Identifier: GPL-2.0
/*
 * bufdev: a misc character device, /dev/bufdev, holding one byte buffer that
 * every opener shares.
 *
 * - write() appends, all or nothing: a write that does not fit in the space
 *   left fails with -ENOSPC and stores nothing.
 * - read() returns the stored bytes from the file position on; lseek() moves
 *   within the stored bytes.
 * - Opening for writing with O_TRUNC empties the buffer, so the shell's
 *   `echo text > /dev/bufdev` replaces the contents and `>>` appends.
 * - ioctl BUFDEV_IOC_INFO reports capacity, use and open counts;
 *   BUFDEV_IOC_RESET empties the buffer; any other command is -ENOTTY.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "bufdev.h"

#define BUFDEV_MAX_CAPACITY (1U << 20)

static unsigned int capacity = 4096;
module_param(capacity, uint, 0444);
MODULE_PARM_DESC(capacity, "buffer size in bytes (1 to 1048576, default 4096)");

static struct {
	struct mutex lock; /* guards every field below */
	char *data; /* capacity bytes */
	size_t used;
	unsigned int open_count;
	unsigned int total_opens;
} bufdev;

static int bufdev_open(struct inode *inode, struct file *file)
{
	mutex_lock(&bufdev.lock);
	if ((file->f_mode & FMODE_WRITE) && (file->f_flags & O_TRUNC))
		bufdev.used = 0;
	bufdev.open_count++;
	bufdev.total_opens++;
	mutex_unlock(&bufdev.lock);
	return 0;
}

static int bufdev_release(struct inode *inode, struct file *file)
{
	mutex_lock(&bufdev.lock);
	bufdev.open_count--;
	mutex_unlock(&bufdev.lock);
	return 0;
}

static ssize_t bufdev_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	ssize_t ret;

	if (mutex_lock_interruptible(&bufdev.lock))
		return -ERESTARTSYS;
	if (*ppos < 0 || *ppos >= (loff_t)bufdev.used) {
		ret = 0; /* end of the stored bytes */
		goto out;
	}
	count = min_t(size_t, count, bufdev.used - (size_t)*ppos);
	if (copy_to_user(buf, bufdev.data + *ppos, count)) {
		ret = -EFAULT;
		goto out;
	}
	*ppos += count;
	ret = count;
out:
	mutex_unlock(&bufdev.lock);
	return ret;
}

static ssize_t bufdev_write(struct file *file, const char __user *buf, size_t count,
			    loff_t *ppos)
{
	ssize_t ret;

	if (count == 0)
		return 0;
	if (mutex_lock_interruptible(&bufdev.lock))
		return -ERESTARTSYS;
	if (count > capacity - bufdev.used) {
		ret = -ENOSPC;
		goto out;
	}
	/*
	 * Bytes copied before a fault lie beyond `used`: invisible, so the
	 * write stores nothing.
	 */
	if (copy_from_user(bufdev.data + bufdev.used, buf, count)) {
		ret = -EFAULT;
		goto out;
	}
	bufdev.used += count;
	*ppos = bufdev.used; /* like O_APPEND: the position follows the end */
	ret = count;
out:
	mutex_unlock(&bufdev.lock);
	return ret;
}

static loff_t bufdev_llseek(struct file *file, loff_t offset, int whence)
{
	loff_t ret;

	mutex_lock(&bufdev.lock);
	ret = fixed_size_llseek(file, offset, whence, bufdev.used);
	mutex_unlock(&bufdev.lock);
	return ret;
}

static long bufdev_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct bufdev_info info = { .capacity = capacity };

	switch (cmd) {
	case BUFDEV_IOC_INFO:
		mutex_lock(&bufdev.lock);
		info.used = bufdev.used;
		info.open_count = bufdev.open_count;
		info.total_opens = bufdev.total_opens;
		mutex_unlock(&bufdev.lock);
		if (copy_to_user((void __user *)arg, &info, sizeof(info)))
			return -EFAULT;
		return 0;
	case BUFDEV_IOC_RESET:
		mutex_lock(&bufdev.lock);
		bufdev.used = 0;
		mutex_unlock(&bufdev.lock);
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations bufdev_fops = {
	.owner = THIS_MODULE, /* an open file keeps the module loaded */
	.open = bufdev_open,
	.release = bufdev_release,
	.read = bufdev_read,
	.write = bufdev_write,
	.llseek = bufdev_llseek,
	.unlocked_ioctl = bufdev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
};

static struct miscdevice bufdev_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "bufdev",
	.fops = &bufdev_fops,
	.mode = 0666,
};

static int __init bufdev_init(void)
{
	int ret;

	if (capacity == 0 || capacity > BUFDEV_MAX_CAPACITY) {
		pr_err("bufdev: capacity=%u is out of range (1 to %u)\n", capacity,
		       BUFDEV_MAX_CAPACITY);
		return -EINVAL;
	}
	mutex_init(&bufdev.lock);
	bufdev.data = kvzalloc(capacity, GFP_KERNEL);
	if (!bufdev.data)
		return -ENOMEM;
	ret = misc_register(&bufdev_misc);
	if (ret) {
		kvfree(bufdev.data);
		return ret;
	}
	pr_info("bufdev: /dev/%s ready, %u bytes\n", bufdev_misc.name, capacity);
	return 0;
}

static void __exit bufdev_exit(void)
{
	misc_deregister(&bufdev_misc);
	kvfree(bufdev.data);
	mutex_destroy(&bufdev.lock);
	pr_info("bufdev: unloaded\n");
}

module_init(bufdev_init);
module_exit(bufdev_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("A shared byte buffer as a misc character device, with ioctls");
