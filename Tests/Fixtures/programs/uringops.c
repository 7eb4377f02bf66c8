/*
 * uringops: performs exactly one file-system operation per run through
 * io_uring (one ring, one submission, one completion), so that the kernel
 * audit records of io_uring creation and rename routes can be recorded (see
 * ../record-fixtures.sh --evasion). io_uring makes names without a system call
 * of their own: only watches on the io_uring filter list see them.
 *
 * Raw system calls (io_uring_setup, io_uring_enter, mmap) and
 * <linux/io_uring.h> only: no liburing, so CI needs no extra package.
 *
 * usage: uringops [--async] [--sqpoll] OPERATION ARG...
 *   openat    DIR NAME                          create (O_CREAT|O_WRONLY)
 *   renameat  OLDDIR OLDNAME NEWDIR NEWNAME
 *   linkat    OLDDIR OLDNAME NEWDIR NEWNAME
 *   symlinkat TARGET NEWDIR NEWNAME
 *   mkdirat   DIR NAME
 * A DIR of "-" is AT_FDCWD (NAME is then absolute or relative to the working
 * directory); any other DIR is opened O_PATH|O_DIRECTORY (not audited by
 * write watches) and passed as the operation's directory descriptor.
 * --async sets IOSQE_ASYNC on the submission; --sqpoll makes the ring with
 * IORING_SETUP_SQPOLL (a kernel thread submits it).
 *
 * Exit status: 0 when the operation succeeded, 1 when it failed, 2 on bad
 * usage.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/io_uring.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

static int usage(void)
{
	fprintf(stderr, "usage: uringops [--async] [--sqpoll] openat DIR NAME | renameat OLDDIR OLDNAME NEWDIR NEWNAME |\n"
			"       linkat OLDDIR OLDNAME NEWDIR NEWNAME | symlinkat TARGET NEWDIR NEWNAME | mkdirat DIR NAME\n");
	return 2;
}

static int dir_fd(const char *dir)
{
	if (!strcmp(dir, "-"))
		return AT_FDCWD;
	int fd = open(dir, O_PATH | O_DIRECTORY);
	if (fd < 0) {
		perror(dir);
		exit(1);
	}
	return fd;
}

static void *map(int ring, size_t size, off_t offset)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, ring, offset);
	if (p == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	return p;
}

#define AT(base, off) ((unsigned *)((char *)(base) + (off)))

int main(int argc, char **argv)
{
	int async = 0, sqpoll = 0, i = 1;
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--async"))
			async = 1;
		else if (!strcmp(argv[i], "--sqpoll"))
			sqpoll = 1;
		else
			return usage();
	}
	if (i >= argc)
		return usage();
	const char *op = argv[i];
	char **arg = argv + i + 1;
	int nargs = argc - i - 1;

	struct io_uring_sqe sqe;
	memset(&sqe, 0, sizeof sqe);
	if (!strcmp(op, "openat") && nargs == 2) {
		sqe.opcode = IORING_OP_OPENAT;
		sqe.fd = dir_fd(arg[0]);
		sqe.addr = (unsigned long)arg[1];
		sqe.len = 0644;
		sqe.open_flags = O_CREAT | O_WRONLY;
	} else if ((!strcmp(op, "renameat") || !strcmp(op, "linkat")) && nargs == 4) {
		sqe.opcode = op[0] == 'r' ? IORING_OP_RENAMEAT : IORING_OP_LINKAT;
		sqe.fd = dir_fd(arg[0]);
		sqe.addr = (unsigned long)arg[1];
		sqe.len = dir_fd(arg[2]);
		sqe.addr2 = (unsigned long)arg[3];
	} else if (!strcmp(op, "symlinkat") && nargs == 3) {
		sqe.opcode = IORING_OP_SYMLINKAT;
		sqe.addr = (unsigned long)arg[0];
		sqe.fd = dir_fd(arg[1]);
		sqe.addr2 = (unsigned long)arg[2];
	} else if (!strcmp(op, "mkdirat") && nargs == 2) {
		sqe.opcode = IORING_OP_MKDIRAT;
		sqe.fd = dir_fd(arg[0]);
		sqe.addr = (unsigned long)arg[1];
		sqe.len = 0755;
	} else {
		fprintf(stderr, "uringops: unknown operation or wrong arguments: %s\n", op);
		return usage();
	}
	if (async)
		sqe.flags |= IOSQE_ASYNC;
	sqe.user_data = 1;

	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	if (sqpoll) {
		p.flags = IORING_SETUP_SQPOLL;
		p.sq_thread_idle = 1000; /* ms */
	}
	int ring = syscall(__NR_io_uring_setup, 4, &p);
	if (ring < 0) {
		perror("io_uring_setup");
		return 1;
	}
	size_t sq_size = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	size_t cq_size = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	if (p.features & IORING_FEAT_SINGLE_MMAP)
		sq_size = cq_size = sq_size > cq_size ? sq_size : cq_size;
	void *sq = map(ring, sq_size, IORING_OFF_SQ_RING);
	void *cq = p.features & IORING_FEAT_SINGLE_MMAP ? sq : map(ring, cq_size, IORING_OFF_CQ_RING);
	struct io_uring_sqe *sqes = map(ring, p.sq_entries * sizeof(struct io_uring_sqe), IORING_OFF_SQES);

	/* Queue the entry: slot, index in the array, then publish the tail. */
	unsigned tail = *AT(sq, p.sq_off.tail);
	unsigned index = tail & *AT(sq, p.sq_off.ring_mask);
	sqes[index] = sqe;
	AT(sq, p.sq_off.array)[index] = index;
	__atomic_store_n(AT(sq, p.sq_off.tail), tail + 1, __ATOMIC_RELEASE);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	unsigned enter_flags = IORING_ENTER_GETEVENTS, to_submit = 1;
	if (sqpoll) {
		to_submit = 0; /* the kernel thread submits */
		if (__atomic_load_n(AT(sq, p.sq_off.flags), __ATOMIC_ACQUIRE) & IORING_SQ_NEED_WAKEUP)
			enter_flags |= IORING_ENTER_SQ_WAKEUP;
	}
	unsigned head = *AT(cq, p.cq_off.head);
	while (__atomic_load_n(AT(cq, p.cq_off.tail), __ATOMIC_ACQUIRE) == head) {
		if (syscall(__NR_io_uring_enter, ring, to_submit, 1, enter_flags, NULL, 0) < 0) {
			perror("io_uring_enter");
			return 1;
		}
		to_submit = 0;
		enter_flags = IORING_ENTER_GETEVENTS;
	}
	struct io_uring_cqe *cqes = (struct io_uring_cqe *)((char *)cq + p.cq_off.cqes);
	struct io_uring_cqe cqe = cqes[head & *AT(cq, p.cq_off.ring_mask)];
	__atomic_store_n(AT(cq, p.cq_off.head), head + 1, __ATOMIC_RELEASE);
	if (cqe.res < 0) {
		fprintf(stderr, "%s: %s\n", op, strerror(-cqe.res));
		return 1;
	}
	return 0;
}
