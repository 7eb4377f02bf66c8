// The C interfaces audisp-lkm builds on: libauparse (record parsing and event
// assembly), libaudit (message type names) and zlib (reading .gz logs).
#include <auparse.h>
#include <libaudit.h>
#include <zlib.h>
