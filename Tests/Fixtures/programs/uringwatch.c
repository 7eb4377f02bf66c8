/*
 * uringwatch: loads or removes path watches on the kernel's io_uring exit
 * filter list (AUDIT_FILTER_URING_EXIT, 7) through libaudit, because
 * auditctl 3.0.9 cannot write `-a always,io_uring` rules (see
 * ../record-fixtures.sh --evasion).
 *
 * usage: uringwatch add|remove [--ops N,N...] KEY PATH...
 *        uringwatch list [KEY]     prints the io_uring list's watch rules
 *
 * Each rule is one AUDIT_WATCH field (the path; it may not exist yet, its
 * parent must), one AUDIT_FILTERKEY field, and a mask: every bit set, or only
 * the bits of the io_uring opcodes given with --ops (on this list the mask is
 * indexed by io_uring opcode). The list refuses a perm field (EINVAL), which is
 * why the rule is built here rather than with audit_add_watch_dir.
 * `auditctl -D` removes these rules too. A removal must give the same --ops
 * as the addition (the kernel compares the whole rule).
 *
 * Kernel fact (6.18): watch rules of every list share the inode hash, which
 * the system-call exit also walks with the system call's number as the mask
 * index; a rule with every bit set therefore also records every system call
 * that names the watched directory (stat, open for reading, ...).
 *
 * Build: gcc -Wall -o uringwatch uringwatch.c -laudit
 * Exit status: 0 on success, 1 when the kernel refused a rule, 2 on bad usage.
 */
#include <errno.h>
#include <libaudit.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef AUDIT_FILTER_URING_EXIT
#define AUDIT_FILTER_URING_EXIT 0x07
#endif

static struct audit_rule_data *watch_rule(const char *key, const char *path, const char *ops)
{
	size_t plen = strlen(path), klen = strlen(key);
	struct audit_rule_data *rule = calloc(1, sizeof *rule + plen + klen);
	if (!rule) {
		perror("calloc");
		exit(1);
	}
	if (!ops) {
		for (int i = 0; i < AUDIT_BITMASK_SIZE; i++)
			rule->mask[i] = ~0U;
	} else {
		for (const char *p = ops; *p;) {
			char *end;
			unsigned long op = strtoul(p, &end, 10);
			if (end == p || op >= AUDIT_BITMASK_SIZE * 32 || (*end && *end != ',')) {
				fprintf(stderr, "uringwatch: bad --ops list: %s\n", ops);
				exit(2);
			}
			rule->mask[AUDIT_WORD(op)] |= AUDIT_BIT(op);
			p = *end ? end + 1 : end;
		}
	}
	rule->field_count = 2;
	rule->fields[0] = AUDIT_WATCH;
	rule->fieldflags[0] = AUDIT_EQUAL;
	rule->values[0] = plen;
	rule->fields[1] = AUDIT_FILTERKEY;
	rule->fieldflags[1] = AUDIT_EQUAL;
	rule->values[1] = klen;
	memcpy(rule->buf, path, plen);
	memcpy(rule->buf + plen, key, klen);
	rule->buflen = plen + klen;
	return rule;
}

/* Prints "KEY PATH" for each watch rule on the io_uring list (whose key is KEY). */
static int list(int fd, const char *key)
{
	if (audit_request_rules_list_data(fd) < 0) {
		fprintf(stderr, "uringwatch: listing rules: %s\n", strerror(errno));
		return 1;
	}
	for (;;) {
		struct audit_reply rep;
		int rc = audit_get_reply(fd, &rep, GET_REPLY_BLOCKING, 0);
		if (rc <= 0 || rep.type == NLMSG_DONE)
			return 0;
		if (rep.type == NLMSG_ERROR) {
			fprintf(stderr, "uringwatch: listing rules: %s\n", strerror(-rep.error->error));
			return 1;
		}
		if (rep.type != AUDIT_LIST_RULES)
			continue;
		struct audit_rule_data *r = rep.ruledata;
		if ((r->flags & ~AUDIT_FILTER_PREPEND) != AUDIT_FILTER_URING_EXIT)
			continue;
		const char *watch = NULL, *rkey = NULL;
		int wlen = 0, klen = 0;
		size_t off = 0;
		for (unsigned i = 0; i < r->field_count; i++) {
			switch (r->fields[i]) {
			case AUDIT_WATCH: case AUDIT_DIR:
				watch = r->buf + off, wlen = r->values[i];
				break;
			case AUDIT_FILTERKEY:
				rkey = r->buf + off, klen = r->values[i];
				break;
			}
			switch (r->fields[i]) {
			case AUDIT_WATCH: case AUDIT_DIR: case AUDIT_FILTERKEY: case AUDIT_EXE:
			case AUDIT_SUBJ_USER: case AUDIT_SUBJ_ROLE: case AUDIT_SUBJ_TYPE: case AUDIT_SUBJ_SEN:
			case AUDIT_SUBJ_CLR: case AUDIT_OBJ_USER: case AUDIT_OBJ_ROLE: case AUDIT_OBJ_TYPE:
			case AUDIT_OBJ_LEV_LOW: case AUDIT_OBJ_LEV_HIGH:
				off += r->values[i];
				break;
			}
		}
		if (key && (!rkey || klen != (int)strlen(key) || memcmp(rkey, key, klen)))
			continue;
		printf("%.*s %.*s\n", klen, rkey ? rkey : "", wlen, watch ? watch : "(no watch)");
	}
}

int main(int argc, char **argv)
{
	const char *ops = NULL;
	int first = 2; /* KEY */
	if (argc >= 4 && !strcmp(argv[2], "--ops")) {
		ops = argv[3];
		first = 4;
	}
	int add = argc >= first + 2 && !strcmp(argv[1], "add");
	int remove = argc >= first + 2 && !strcmp(argv[1], "remove");
	int listing = (argc == 2 || argc == 3) && !strcmp(argv[1], "list");
	if (!add && !remove && !listing) {
		fprintf(stderr, "usage: uringwatch add|remove [--ops N,N...] KEY PATH...\n       uringwatch list [KEY]\n");
		return 2;
	}
	int fd = audit_open();
	if (fd < 0) {
		fprintf(stderr, "uringwatch: audit_open: %s\n", strerror(errno));
		return 1;
	}
	if (listing) {
		int rc = list(fd, argc == 3 ? argv[2] : NULL);
		audit_close(fd);
		return rc;
	}
	int status = 0;
	for (int i = first + 1; i < argc; i++) {
		struct audit_rule_data *rule = watch_rule(argv[first], argv[i], ops);
		int rc = add ? audit_add_rule_data(fd, rule, AUDIT_FILTER_URING_EXIT, AUDIT_ALWAYS)
			     : audit_delete_rule_data(fd, rule, AUDIT_FILTER_URING_EXIT, AUDIT_ALWAYS);
		if (rc < 0) {
			fprintf(stderr, "uringwatch: %s %s: %s\n", argv[1], argv[i], strerror(-rc));
			status = 1;
		}
		free(rule);
	}
	audit_close(fd);
	return status;
}
