/*
 * bare-walk: the baseline for the replay benchmark. Feeds a file to libauparse in
 * feed mode, 1 MiB at a time, and in the callback only visits every record of every
 * event (auparse_first_record / auparse_next_record). Prints the event and record
 * counts, so the benchmark can check that both programs saw the same events.
 */
#include <auparse.h>
#include <stdio.h>
#include <stdlib.h>

static unsigned long events, records;

static void visit(auparse_state_t *au, auparse_cb_event_t type, void *data)
{
	(void)data;
	if (type != AUPARSE_CB_EVENT_READY || auparse_first_record(au) <= 0)
		return;
	events++;
	do {
		records++;
	} while (auparse_next_record(au) > 0);
}

int main(int argc, char **argv)
{
	static char buffer[1 << 20];
	FILE *in = argc > 1 ? fopen(argv[1], "r") : stdin;
	if (in == NULL) {
		perror(argv[1]);
		return 2;
	}
	auparse_state_t *au = auparse_init(AUSOURCE_FEED, NULL);
	auparse_add_callback(au, visit, NULL, NULL);
	size_t n;
	while ((n = fread(buffer, 1, sizeof buffer, in)) > 0)
		auparse_feed(au, buffer, n);
	auparse_flush_feed(au);
	auparse_destroy(au);
	printf("%lu events %lu records\n", events, records);
	return 0;
}
