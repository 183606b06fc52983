/* error.c - the per-thread last-error message behind cz_last_error(). */
#include <stdio.h>
#include <string.h>

#include "cnnzoo.h"

static _Thread_local char last_error[1024];

const char *cz_last_error(void) { return last_error; }

void cz_clear_error(void) { last_error[0] = '\0'; }

/* Formats into a copy first, so that a message may wrap the previous one
 * (cz_fail(s, "%s: %s", path, cz_last_error())). */
cz_status cz_fail(cz_status status, const char *fmt, ...)
{
    char message[sizeof last_error];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(message, sizeof message, fmt, ap);
    va_end(ap);
    memcpy(last_error, message, sizeof message);
    return status;
}
