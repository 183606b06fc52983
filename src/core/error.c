/* error.c - the per-thread last-error message behind cz_last_error(). */
#include <stdio.h>

#include "cnnzoo.h"

static _Thread_local char last_error[1024];

const char *cz_last_error(void) { return last_error; }

void cz_clear_error(void) { last_error[0] = '\0'; }

cz_status cz_fail(cz_status status, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(last_error, sizeof last_error, fmt, ap);
    va_end(ap);
    return status;
}
