// libcap-ng: how auditd's own plugins drop their capabilities after start-up.
#include <cap-ng.h>
