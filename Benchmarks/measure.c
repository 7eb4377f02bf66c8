/*
 * measure: runs a command and prints its wall time and peak resident set size.
 *
 *   measure STDOUT-FILE STDERR-FILE COMMAND [ARG...]
 *   -> "<seconds> <peak RSS KiB> <exit status>" on standard output
 *
 * The benchmark's figures come from here rather than from Python, because a child's
 * ru_maxrss includes the memory of the process that forked it: this program is small.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: measure STDOUT-FILE STDERR-FILE COMMAND [ARG...]\n");
		return 2;
	}
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	pid_t pid = fork();
	if (pid == 0) {
		int out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		int err = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (out < 0 || err < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
			_exit(127);
		execvp(argv[3], argv + 3);
		_exit(127);
	}
	int status;
	struct rusage usage;
	if (pid < 0 || wait4(pid, &status, 0, &usage) < 0) {
		perror("measure");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &end);
	printf("%.4f %ld %d\n", (end.tv_sec - start.tv_sec) + (end.tv_nsec - start.tv_nsec) / 1e9,
	       usage.ru_maxrss, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return 0;
}
