/*
 * treemount SOURCE TARGET: mounts a copy of SOURCE over TARGET with the new mount API,
 * open_tree(SOURCE, OPEN_TREE_CLONE) then move_mount(fd, "", AT_FDCWD, TARGET,
 * MOVE_MOUNT_F_EMPTY_PATH), as an intruder would who knows that mount(2) is watched.
 * System calls by number: glibc 2.36 has no wrappers in every header.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_open_tree
#define SYS_open_tree 428
#endif
#ifndef SYS_move_mount
#define SYS_move_mount 429
#endif
#define OPEN_TREE_CLONE 1
#define MOVE_MOUNT_F_EMPTY_PATH 0x4

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: treemount SOURCE TARGET\n");
		return 2;
	}
	int fd = syscall(SYS_open_tree, AT_FDCWD, argv[1], OPEN_TREE_CLONE | O_CLOEXEC);
	if (fd < 0) {
		perror("open_tree");
		return 1;
	}
	if (syscall(SYS_move_mount, fd, "", AT_FDCWD, argv[2], MOVE_MOUNT_F_EMPTY_PATH) != 0) {
		perror("move_mount");
		return 1;
	}
	return 0;
}
