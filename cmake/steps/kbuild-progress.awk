# Progress for a kernel build: Kbuild's output on stdin, each of its step lines
# ("  CC      kernel/fork.o", "  LD      vmlinux", ...) prefixed by how far the
# build is: "[ 42%]" of `total` steps, or the running count when total is 0.
# Other lines pass unchanged. At the end the count goes to `count_file`.
#   awk -v total=N -v count_file=FILE -f kbuild-progress.awk
BEGIN {
	done = 0
}
/^  [A-Z][A-Z0-9_-]* +[^ ]/ {
	done++
	if (total > 0) {
		percent = int(done * 100 / total)
		# An estimate from another build: never claim to be done before make is.
		if (percent > 99)
			percent = 99
		printf "[%3d%%] %s\n", percent, $0
	} else {
		printf "[%5d] %s\n", done, $0
	}
	fflush()
	next
}
{
	print
	fflush()
}
END {
	if (count_file != "")
		print done > count_file
}
