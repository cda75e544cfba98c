// SPDX-License-Identifier: GPL-2.0
/*
 * bufdev_test: checks /dev/bufdev from userspace, inside the UML guest.
 * Linked statically (see CMakeLists.txt), so it runs on the busybox image.
 *
 *   bufdev_test roundtrip|ioctl|nospace|fault|opens
 *
 * Each check prints what it found and exits 0 when the driver behaved, 1 when
 * it did not (the CTest test then fails), 2 on a usage error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "bufdev.h"

#define DEVICE "/dev/bufdev"

static int failures;

#define CHECK(cond)                                                                   \
	do {                                                                          \
		if (!(cond)) {                                                        \
			fprintf(stderr, "bufdev_test: %s:%d: check failed: %s (errno %d: %s)\n", \
				__FILE__, __LINE__, #cond, errno, strerror(errno));   \
			failures++;                                                   \
		}                                                                     \
	} while (0)

static int open_device(int flags)
{
	int fd = open(DEVICE, flags);

	if (fd < 0) {
		fprintf(stderr, "bufdev_test: cannot open %s: %s\n", DEVICE, strerror(errno));
		exit(1);
	}
	return fd;
}

static struct bufdev_info info_of(int fd)
{
	struct bufdev_info info;

	memset(&info, 0xff, sizeof(info));
	CHECK(ioctl(fd, BUFDEV_IOC_INFO, &info) == 0);
	return info;
}

/* What is written comes back, in order, and the end reads as end of file. */
static void check_roundtrip(void)
{
	char buf[64];
	int fd = open_device(O_WRONLY | O_TRUNC);

	CHECK(write(fd, "hello", 5) == 5);
	CHECK(write(fd, ", world", 7) == 7); /* appended */
	close(fd);

	fd = open_device(O_RDONLY);
	memset(buf, 0, sizeof(buf));
	CHECK(read(fd, buf, sizeof(buf)) == 12);
	CHECK(memcmp(buf, "hello, world", 12) == 0);
	CHECK(read(fd, buf, sizeof(buf)) == 0);
	/* lseek within the stored bytes, then a short read from there. */
	CHECK(lseek(fd, 7, SEEK_SET) == 7);
	CHECK(read(fd, buf, 3) == 3 && memcmp(buf, "wor", 3) == 0);
	CHECK(lseek(fd, 0, SEEK_END) == 12);
	close(fd);

	/* O_TRUNC empties it. */
	fd = open_device(O_WRONLY | O_TRUNC);
	CHECK(info_of(fd).used == 0);
	close(fd);
}

/* INFO reports the stored size; RESET empties; unknown commands are ENOTTY. */
static void check_ioctl(void)
{
	int fd = open_device(O_RDWR);
	struct bufdev_info info;

	CHECK(ioctl(fd, BUFDEV_IOC_RESET) == 0);
	info = info_of(fd);
	CHECK(info.used == 0);
	CHECK(info.capacity > 10);
	CHECK(write(fd, "0123456789", 10) == 10);
	CHECK(info_of(fd).used == 10);
	CHECK(ioctl(fd, BUFDEV_IOC_RESET) == 0);
	CHECK(info_of(fd).used == 0);
	errno = 0;
	CHECK(ioctl(fd, _IO(BUFDEV_IOC_MAGIC, 99)) == -1 && errno == ENOTTY);
	close(fd);
}

/* A write that does not fit fails with ENOSPC and stores nothing. */
static void check_nospace(void)
{
	int fd = open_device(O_RDWR | O_TRUNC);
	unsigned int capacity = info_of(fd).capacity;
	char *big = malloc(capacity + 1);

	if (!big) {
		fprintf(stderr, "bufdev_test: out of memory\n");
		exit(1);
	}
	memset(big, 'x', capacity + 1);
	errno = 0;
	CHECK(write(fd, big, capacity + 1) == -1 && errno == ENOSPC);
	CHECK(info_of(fd).used == 0);
	CHECK(write(fd, big, capacity) == (ssize_t)capacity); /* exactly full is fine */
	errno = 0;
	CHECK(write(fd, "y", 1) == -1 && errno == ENOSPC);
	CHECK(info_of(fd).used == capacity);
	printf("bufdev_test: capacity %u bytes\n", capacity);
	free(big);
	close(fd);
}

/* A page the process may not touch: the driver's copies from and to it fail. */
static void *inaccessible_page(void)
{
	void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page == MAP_FAILED) {
		fprintf(stderr, "bufdev_test: mmap: %s\n", strerror(errno));
		exit(1);
	}
	return page;
}

/*
 * A bad user pointer is EFAULT for read, write and ioctl, and a failed write
 * stores nothing.
 */
static void check_fault(void)
{
	int fd = open_device(O_RDWR | O_TRUNC);
	void *bad = inaccessible_page();

	errno = 0;
	CHECK(write(fd, bad, 4) == -1 && errno == EFAULT);
	CHECK(info_of(fd).used == 0);
	CHECK(write(fd, "data", 4) == 4);
	CHECK(lseek(fd, 0, SEEK_SET) == 0);
	errno = 0;
	CHECK(read(fd, bad, 4) == -1 && errno == EFAULT);
	errno = 0;
	CHECK(ioctl(fd, BUFDEV_IOC_INFO, bad) == -1 && errno == EFAULT);
	munmap(bad, 4096);
	close(fd);
}

/* The driver counts open file descriptions and drops them on close. */
static void check_opens(void)
{
	int a = open_device(O_RDONLY);
	struct bufdev_info before = info_of(a);
	int b = open_device(O_RDONLY);
	struct bufdev_info both = info_of(a);

	CHECK(before.open_count == 1);
	CHECK(both.open_count == 2);
	CHECK(both.total_opens == before.total_opens + 1);
	close(b);
	CHECK(info_of(a).open_count == 1);
	close(a);
	a = open_device(O_RDONLY);
	CHECK(info_of(a).open_count == 1);
	CHECK(info_of(a).total_opens == before.total_opens + 2);
	close(a);
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void (*run)(void);
	} checks[] = {
		{ "roundtrip", check_roundtrip }, { "ioctl", check_ioctl },
		{ "nospace", check_nospace },	  { "fault", check_fault },
		{ "opens", check_opens },
	};
	size_t i;

	if (argc != 2) {
		fprintf(stderr, "usage: bufdev_test roundtrip|ioctl|nospace|fault|opens\n");
		return 2;
	}
	for (i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (strcmp(argv[1], checks[i].name) == 0) {
			checks[i].run();
			printf("bufdev_test %s: %s\n", argv[1], failures ? "FAILED" : "ok");
			return failures ? 1 : 0;
		}
	}
	fprintf(stderr, "bufdev_test: unknown check '%s'\n", argv[1]);
	return 2;
}
