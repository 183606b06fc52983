/*
 * fuzz_npy.c - .npy arrays: magic, version, the header dict, dtypes,
 * shapes against the data's size, and both conversions.
 */
#include "fuzz.h"
#include "io/npy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cz_npy_dtype as[2] = {CZ_NPY_F32, CZ_NPY_I64};
    for (int i = 0; i < 2; i++) {
        cz_npy_array a;
        if (cz_npy_read_memory("fuzz.npy", data, size, as[i], &a) == CZ_OK)
            cz_npy_free(&a);
    }
    return 0;
}
