/*
 * fuzz_safetensors.c - safetensors: header length, JSON header, dtypes,
 * shapes and offsets, metadata, and every conversion; inputs that open are
 * also loaded into LeNet-5 through cz_weights_load.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "io/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cz_st_file *f = NULL;
    if (cz_st_open_memory(&f, "fuzz.safetensors", data, size) != CZ_OK)
        return 0;
    for (int i = 0; i < cz_st_count(f); i++) {
        const cz_st_tensor *t = cz_st_at(f, i);
        if (t->numel > FZ_MAX_CONVERT || cz_st_find(f, t->name) != t)
            continue;
        void *buf = malloc(t->numel ? t->numel * sizeof(int64_t) : 1);
        if (buf) {
            cz_st_to_f32(f, t, buf);
            cz_st_to_i64(f, t, buf);
        }
        free(buf);
    }
    for (int i = 0; i < cz_st_meta_count(f); i++) {
        const char *key, *value;
        cz_st_meta_at(f, i, &key, &value);
        if (cz_st_meta(f, key) == NULL)
            abort(); /* a listed key must be found */
    }
    cz_st_close(f);
    fz_load_weights("w.safetensors", data, size);
    return 0;
}
