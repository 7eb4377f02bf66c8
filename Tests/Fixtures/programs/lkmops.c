/*
 * lkmops: performs exactly one file-system operation per run, through the
 * system call named on the command line, so that the kernel audit records of
 * every creation and rename route can be recorded (see ../record-fixtures.sh).
 *
 * Built twice: natively (x86_64 table) and with `gcc -m32` (i386 table).
 * Calls go through syscall(2) where glibc would silently pick another system
 * call (open -> openat, rename -> renameat, creat -> openat on some ABIs).
 *
 * Exit status: 0 when the operation succeeded, 1 when it failed (the failure
 * is expected for the "should fail" routes), 2 on bad usage.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fail(const char *what)
{
	perror(what);
	return 1;
}

static int dir_fd(const char *dir)
{
	/* O_PATH opens are not audited by write watches, as with `mv`'s dirfds. */
	return open(dir, O_PATH | O_DIRECTORY);
}

/* A directory descriptor opened for reading, then a change of working
 * directory: the descriptor, not the working directory, is the base. */
static int dir_fd_then_chdir(const char *dir, const char *to)
{
	int fd = open(dir, O_DIRECTORY | O_RDONLY);
	if (fd < 0 || chdir(to) < 0)
		return -1;
	return fd;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: lkmops OPERATION ARG...\n");
		return 2;
	}
	const char *op = argv[1];
	long rc;

	if (!strcmp(op, "open-create")) {
		rc = syscall(SYS_open, argv[2], O_CREAT | O_WRONLY | O_TRUNC, 0644);
	} else if (!strcmp(op, "openat-create")) {
		rc = syscall(SYS_openat, AT_FDCWD, argv[2], O_CREAT | O_WRONLY | O_TRUNC, 0644);
	} else if (!strcmp(op, "creat")) {
		rc = syscall(SYS_creat, argv[2], 0644);
	} else if (!strcmp(op, "openat2-create")) {
		struct open_how how = { .flags = O_CREAT | O_WRONLY, .mode = 0644 };
		rc = syscall(SYS_openat2, AT_FDCWD, argv[2], &how, sizeof how);
	} else if (!strcmp(op, "dirfd-create") && argc == 4) {
		rc = syscall(SYS_openat, dir_fd(argv[2]), argv[3], O_CREAT | O_WRONLY, 0644);
	} else if (!strcmp(op, "dirfd-create-chdir") && argc == 5) {
		int fd = dir_fd_then_chdir(argv[2], argv[4]);
		if (fd < 0)
			return fail(argv[2]);
		rc = syscall(SYS_openat, fd, argv[3], O_CREAT | O_WRONLY, 0644);
	} else if (!strcmp(op, "dirfd-create-after-rename") && argc == 5) {
		/* The descriptor's directory is renamed before the creation through it. */
		int fd = dir_fd_then_chdir(argv[2], "/");
		if (fd < 0 || syscall(SYS_rename, argv[2], argv[4]) < 0)
			return fail(argv[2]);
		rc = syscall(SYS_openat, fd, argv[3], O_CREAT | O_WRONLY, 0644);
	} else if (!strcmp(op, "create-excl")) {
		rc = syscall(SYS_openat, AT_FDCWD, argv[2], O_CREAT | O_EXCL | O_WRONLY, 0644);
	} else if (!strcmp(op, "open-existing")) {
		rc = syscall(SYS_openat, AT_FDCWD, argv[2], O_WRONLY | O_TRUNC);
	} else if (!strcmp(op, "tmpfile-link") && argc == 4) {
		/* An unnamed file, then linkat(AT_EMPTY_PATH) gives it its name. */
		int fd = syscall(SYS_openat, AT_FDCWD, argv[2], O_TMPFILE | O_WRONLY, 0644);
		if (fd < 0)
			return fail("O_TMPFILE");
		rc = syscall(SYS_linkat, fd, "", AT_FDCWD, argv[3], AT_EMPTY_PATH);
	} else if (!strcmp(op, "link") && argc == 4) {
		rc = syscall(SYS_link, argv[2], argv[3]);
	} else if (!strcmp(op, "linkat-dirfd") && argc == 5) {
		rc = syscall(SYS_linkat, AT_FDCWD, argv[2], dir_fd(argv[3]), argv[4], 0);
	} else if (!strcmp(op, "symlink") && argc == 4) {
		rc = syscall(SYS_symlink, argv[2], argv[3]);
	} else if (!strcmp(op, "mknod")) {
		rc = syscall(SYS_mknod, argv[2], S_IFIFO | 0644, 0);
	} else if (!strcmp(op, "mkdir")) {
		rc = syscall(SYS_mkdir, argv[2], 0755);
	} else if (!strcmp(op, "rename") && argc == 4) {
		rc = syscall(SYS_rename, argv[2], argv[3]);
	} else if (!strcmp(op, "renameat-dirfd") && argc == 6) {
		rc = syscall(SYS_renameat, dir_fd(argv[2]), argv[3], dir_fd(argv[4]), argv[5]);
	} else if (!strcmp(op, "renameat-dirfd-chdir") && argc == 7) {
		int from = dir_fd_then_chdir(argv[2], argv[6]);
		int to = dir_fd_then_chdir(argv[4], argv[6]);
		if (from < 0 || to < 0)
			return fail("directory");
		rc = syscall(SYS_renameat, from, argv[3], to, argv[5]);
	} else if (!strcmp(op, "renameat2-exchange-dirfd-chdir") && argc == 7) {
		int from = dir_fd_then_chdir(argv[2], argv[6]);
		int to = dir_fd_then_chdir(argv[4], argv[6]);
		if (from < 0 || to < 0)
			return fail("directory");
		rc = syscall(SYS_renameat2, from, argv[3], to, argv[5], RENAME_EXCHANGE);
	} else if (!strcmp(op, "renameat2-noreplace") && argc == 4) {
		rc = syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_NOREPLACE);
	} else if (!strcmp(op, "renameat2-exchange") && argc == 4) {
		rc = syscall(SYS_renameat2, AT_FDCWD, argv[2], AT_FDCWD, argv[3], RENAME_EXCHANGE);
	} else if (!strcmp(op, "unlink")) {
		rc = syscall(SYS_unlink, argv[2]);
	} else {
		fprintf(stderr, "lkmops: unknown operation or wrong arguments: %s\n", op);
		return 2;
	}
	return rc < 0 ? fail(op) : 0;
}
