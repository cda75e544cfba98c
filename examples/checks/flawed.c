// SPDX-License-Identifier: GPL-2.0
/*
 * flawed: a module with deliberate bugs, one per trigger, for the kernel checks
 * (uml_add_kernel CHECKS) to find. Each is started by writing its name to
 * /sys/module/flawed/parameters/trigger:
 *   uaf        use after free (KASAN)
 *   oob        out-of-bounds write into a heap buffer (KASAN)
 *   index      array index out of bounds (UBSAN)
 *   lock-order two mutexes taken in both orders (lockdep)
 *   sleep      sleeping while holding a spinlock (atomic sleep)
 *   refcount   a reference count dropped below zero (refcount)
 *   list       an entry deleted from a list twice (list debugging)
 *   timer      freeing an object whose timer is still pending (debug objects)
 *   overflow   a memcpy that spans two struct fields (fortify)
 *   leak       an object left in the module's slab cache at unload (slab)
 *   pin        a reference to the module itself, never dropped (the unload check)
 *   none       nothing: the module loads and unloads cleanly
 */
#include <linux/delay.h>
#include <linux/list.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timer.h>

static struct kmem_cache *flawed_cache;
static void *flawed_leaked;

/* Opaque to the compiler: the bugs must happen at run time, not be folded away. */
static noinline size_t flawed_runtime(size_t value)
{
	return READ_ONCE(value);
}

static noinline void flawed_use_after_free(void)
{
	char *buffer = kmalloc(32, GFP_KERNEL);

	if (!buffer)
		return;
	kfree(buffer);
	pr_info("flawed: read after free: %d\n", READ_ONCE(buffer[flawed_runtime(3)]));
}

static noinline void flawed_out_of_bounds(void)
{
	char *buffer = kmalloc(16, GFP_KERNEL);

	if (!buffer)
		return;
	WRITE_ONCE(buffer[flawed_runtime(16)], 'x');
	kfree(buffer);
}

static int flawed_table[4];

static noinline void flawed_index(void)
{
	flawed_table[flawed_runtime(4)] = 1;
}

static DEFINE_MUTEX(flawed_first);
static DEFINE_MUTEX(flawed_second);

static noinline void flawed_lock_order(void)
{
	mutex_lock(&flawed_first);
	mutex_lock(&flawed_second);
	mutex_unlock(&flawed_second);
	mutex_unlock(&flawed_first);
	/* The other order: a deadlock waiting for a second thread. */
	mutex_lock(&flawed_second);
	mutex_lock(&flawed_first);
	mutex_unlock(&flawed_first);
	mutex_unlock(&flawed_second);
}

static DEFINE_SPINLOCK(flawed_spinlock);

static noinline void flawed_sleep_in_atomic(void)
{
	spin_lock(&flawed_spinlock);
	msleep(1);
	spin_unlock(&flawed_spinlock);
}

static noinline void flawed_refcount(void)
{
	refcount_t count = REFCOUNT_INIT(1);

	refcount_dec(&count);
}

struct flawed_item {
	struct list_head node;
};

static noinline void flawed_list(void)
{
	LIST_HEAD(items);
	struct flawed_item *item = kmalloc(sizeof(*item), GFP_KERNEL);

	if (!item)
		return;
	list_add(&item->node, &items);
	list_del(&item->node);
	list_del(&item->node);
	kfree(item);
}

struct flawed_timed {
	struct timer_list timer;
};

static void flawed_timer_fn(struct timer_list *timer)
{
}

static noinline void flawed_timer(void)
{
	struct flawed_timed *timed = kmalloc(sizeof(*timed), GFP_KERNEL);

	if (!timed)
		return;
	timer_setup(&timed->timer, flawed_timer_fn, 0);
	mod_timer(&timed->timer, jiffies + 60 * HZ);
	kfree(timed); /* still pending */
}

struct flawed_record {
	char name[8];
	char rest[8];
};

static noinline void flawed_overflow(void)
{
	static const char text[16] = "0123456789abcde";
	struct flawed_record *record = kzalloc(sizeof(*record), GFP_KERNEL);

	if (!record)
		return;
	memcpy(record->name, text, flawed_runtime(sizeof(text)));
	kfree(record);
}

static noinline void flawed_leak(void)
{
	flawed_leaked = kmem_cache_alloc(flawed_cache, GFP_KERNEL);
	flawed_leaked = NULL; /* forgotten: kmem_cache_destroy() at unload finds it */
}

static noinline void flawed_pin(void)
{
	__module_get(THIS_MODULE);
}

struct flawed_bug {
	const char *name;
	void (*run)(void);
};

static const struct flawed_bug flawed_bugs[] = {
	{ "uaf", flawed_use_after_free },   { "oob", flawed_out_of_bounds },
	{ "index", flawed_index },          { "lock-order", flawed_lock_order },
	{ "sleep", flawed_sleep_in_atomic }, { "refcount", flawed_refcount },
	{ "list", flawed_list },            { "timer", flawed_timer },
	{ "overflow", flawed_overflow },    { "leak", flawed_leak },
	{ "pin", flawed_pin },              { "none", NULL },
};

static int flawed_trigger(const char *value, const struct kernel_param *kp)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(flawed_bugs); i++) {
		if (sysfs_streq(value, flawed_bugs[i].name)) {
			if (flawed_bugs[i].run)
				flawed_bugs[i].run();
			return 0;
		}
	}
	return -EINVAL;
}

static const struct kernel_param_ops flawed_trigger_ops = {
	.set = flawed_trigger,
};
module_param_cb(trigger, &flawed_trigger_ops, NULL, 0200);
MODULE_PARM_DESC(trigger, "write a bug's name to make it happen");

/*
 * A constructor keeps the cache its own: SLUB would otherwise merge it with a
 * kmalloc cache of the same size, and a destroyed alias reports nothing.
 */
static void flawed_cache_ctor(void *object)
{
	memset(object, 0, 64);
}

static int __init flawed_init(void)
{
	flawed_cache = kmem_cache_create("flawed_cache", 64, 0, 0, flawed_cache_ctor);
	if (!flawed_cache)
		return -ENOMEM;
	pr_info("flawed: loaded\n");
	return 0;
}

static void __exit flawed_exit(void)
{
	kmem_cache_destroy(flawed_cache);
	pr_info("flawed: unloaded\n");
}

module_init(flawed_init);
module_exit(flawed_exit);
MODULE_DESCRIPTION("Deliberate bugs for the kernel checks to find");
MODULE_LICENSE("GPL");
