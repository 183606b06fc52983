/*
 * fuzz_zip.c - the zip reader: end-of-central-directory search, ZIP64
 * records, the central directory, local headers, stored and deflated
 * entries with their CRC-32.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "io/zip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cz_zip z;
    if (cz_zip_open(&z, "fuzz.zip", data, size) == CZ_OK) {
        for (size_t i = 0; i < z.n_entries; i++) {
            const uint8_t *bytes;
            uint8_t *owned = NULL;
            if (cz_zip_find(&z, z.entries[i].name) != &z.entries[i])
                abort(); /* every listed entry must be found */
            cz_zip_entry_data(&z, &z.entries[i], &bytes, &owned);
            free(owned);
        }
    }
    cz_zip_close(&z);
    return 0;
}
