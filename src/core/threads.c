/* threads.c - the thread count used by OpenMP kernels. */
#include <omp.h>

#include "cnnzoo.h"

void cz_set_threads(int threads)
{
    omp_set_num_threads(threads > 0 ? threads : omp_get_num_procs());
}

int cz_get_threads(void) { return omp_get_max_threads(); }
