/* A userspace test program for the guest: an ordinary CMake executable,
 * linked statically so it runs without the host's libraries. */
#include <stdio.h>

int main(int argc, char **argv)
{
	printf("guest_tool ran with %d argument(s)\n", argc - 1);
	for (int i = 1; i < argc; ++i)
		printf("  %s\n", argv[i]);
	return 0;
}
