// umlpci_test: checks /dev/umlpci from inside the guest; exit 0 when the device and its
// driver behaved.
//   umlpci_test id | scratch | compute | dma | mmio-loop N
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "umlpci.h"
#include "umlpci_regs.h"

static int fd;

static uint32_t rd(uint32_t offset)
{
	struct umlpci_reg reg = { .offset = offset };

	if (ioctl(fd, UMLPCI_IOC_READ, &reg) != 0) {
		perror("UMLPCI_IOC_READ");
		exit(1);
	}
	return reg.value;
}

static void wr(uint32_t offset, uint32_t value)
{
	struct umlpci_reg reg = { .offset = offset, .value = value };

	if (ioctl(fd, UMLPCI_IOC_WRITE, &reg) != 0) {
		perror("UMLPCI_IOC_WRITE");
		exit(1);
	}
}

#define CHECK(cond, ...)                                   \
	do {                                               \
		if (!(cond)) {                             \
			printf("FAIL: " __VA_ARGS__);      \
			printf("\n");                      \
			return 1;                          \
		}                                          \
	} while (0)

static int check_id(void)
{
	uint32_t id = rd(UMLPCI_REG_ID);

	printf("id 0x%08x\n", id);
	CHECK(id == UMLPCI_ID_VALUE, "id 0x%08x, expected 0x%08x", id, UMLPCI_ID_VALUE);
	return 0;
}

static int check_scratch(void)
{
	const uint32_t values[] = { 0, 0xdeadbeef, 0x12345678, 0xffffffff };

	for (unsigned i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		wr(UMLPCI_REG_SCRATCH, values[i]);
		uint32_t got = rd(UMLPCI_REG_SCRATCH);
		CHECK(got == values[i], "scratch 0x%08x read back as 0x%08x", values[i], got);
	}
	printf("scratch: 4 values read back\n");
	return 0;
}

static int check_compute(void)
{
	const uint32_t operands[] = { 0, 7, 65536, 123456789 };

	for (unsigned i = 0; i < sizeof(operands) / sizeof(operands[0]); i++) {
		uint32_t value = operands[i];
		uint32_t expected = operands[i] * operands[i] + 1;

		if (ioctl(fd, UMLPCI_IOC_COMPUTE, &value) != 0) {
			perror("UMLPCI_IOC_COMPUTE");
			return 1;
		}
		CHECK(value == expected, "compute(%u) = %u, expected %u", operands[i], value, expected);
	}
	printf("compute: 4 results, computes register %u\n", rd(UMLPCI_REG_COMPUTES));
	return 0;
}

static int check_dma(void)
{
	static uint8_t data[3000];
	uint32_t sum = 0;

	for (unsigned i = 0; i < sizeof(data); i++) {
		data[i] = (uint8_t)(i * 7 + 3);
		sum += data[i];
	}
	struct umlpci_dma req = { .data = (uintptr_t)data, .len = sizeof(data) };

	if (ioctl(fd, UMLPCI_IOC_DMA, &req) != 0) {
		perror("UMLPCI_IOC_DMA");
		return 1;
	}
	/* The device side: it summed what it received. This side: it sent it back inverted. */
	CHECK(req.device_sum == sum, "device summed %u, sent %u", req.device_sum, sum);
	for (unsigned i = 0; i < sizeof(data); i++)
		CHECK(data[i] == (uint8_t)~(uint8_t)(i * 7 + 3), "byte %u came back as 0x%02x", i,
		      data[i]);
	printf("dma: %zu bytes, device sum %u matches, data came back inverted\n", sizeof(data),
	       req.device_sum);
	return 0;
}

static int mmio_loop(long count)
{
	struct timespec start, end;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (long i = 0; i < count; i++) {
		wr(UMLPCI_REG_SCRATCH, (uint32_t)i);
		CHECK(rd(UMLPCI_REG_SCRATCH) == (uint32_t)i, "scratch lost write %ld", i);
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	double s = (double)(end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9;
	/* A read waits for the device's answer (a round trip); a write is posted. */
	printf("mmio-loop: %ld writes and %ld reads in %.3f s: %.0f read round trips/s\n", count,
	       count, s, count / s);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s id|scratch|compute|dma|mmio-loop N\n", argv[0]);
		return 2;
	}
	fd = open("/dev/umlpci", O_RDWR);
	if (fd < 0) {
		perror("/dev/umlpci");
		return 1;
	}
	if (!strcmp(argv[1], "id"))
		return check_id();
	if (!strcmp(argv[1], "scratch"))
		return check_scratch();
	if (!strcmp(argv[1], "compute"))
		return check_compute();
	if (!strcmp(argv[1], "dma"))
		return check_dma();
	if (!strcmp(argv[1], "mmio-loop") && argc == 3)
		return mmio_loop(atol(argv[2]));
	fprintf(stderr, "unknown check %s\n", argv[1]);
	return 2;
}
