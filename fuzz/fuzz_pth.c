/*
 * fuzz_pth.c - PyTorch checkpoints: the zip container, the unpickler with
 * torch's rebuild hooks, the legacy format, every tensor checked against
 * its storage and converted both ways; inputs that open are also loaded
 * into LeNet-5 through cz_weights_load, as `cnnzoo ... --weights` does.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "io/pth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cz_pth_file *f = NULL;
    if (cz_pth_open_memory(&f, "fuzz.pth", data, size) != CZ_OK)
        return 0;
    for (int i = 0; i < cz_pth_count(f); i++) {
        const cz_pth_tensor *t = cz_pth_at(f, i);
        if (t->numel > FZ_MAX_CONVERT || cz_pth_find(f, t->name) != t)
            continue;
        void *buf = malloc(t->numel ? t->numel * sizeof(int64_t) : 1);
        if (buf) {
            cz_pth_to_f32(f, t, buf);
            cz_pth_to_i64(f, t, buf);
        }
        free(buf);
    }
    cz_pth_close(f);
    fz_load_weights("w.pth", data, size);
    return 0;
}
