/*
 * fexec PROGRAM ARG...: runs PROGRAM through a descriptor (open, then fexecve, which
 * glibc makes execveat(fd, "", ..., AT_EMPTY_PATH)), so that the kernel's name for what
 * it ran is /dev/fd/N: what an intruder does to take the rule's `/dev/fd/*` exclusion.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: fexec PROGRAM [ARG...]\n");
		return 2;
	}
	int fd = open(argv[1], O_RDONLY);
	if (fd < 0) {
		perror(argv[1]);
		return 1;
	}
	fexecve(fd, argv + 1, environ);
	perror("fexecve");
	return 1;
}
