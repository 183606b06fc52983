/*
 * fuzz_pth.c - PyTorch checkpoints: the zip container, the unpickler with
 * torch's rebuild hooks, the legacy format, every tensor checked against
 * its storage and converted both ways; inputs that open are also loaded
 * into LeNet-5 through cz_weights_load, as `cnnzoo ... --weights` does.
 */
#include <stdlib.h>

#include "fuzz.h"
#include "io/pth.h"

/* Tensors larger than this are checked but not converted: conversion is
 * plain arithmetic, and a big buffer only slows the fuzzer down. */
#define MAX_CONVERT ((uint64_t)1 << 16)

static cz_net *lenet(void)
{
    static cz_net *net;
    if (!net)
        net = cz_model_create("lenet5", 10, 32, 32, 1);
    return net;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cz_pth_file *f = NULL;
    if (cz_pth_open_memory(&f, "fuzz.pth", data, size) != CZ_OK)
        return 0;
    for (int i = 0; i < cz_pth_count(f); i++) {
        const cz_pth_tensor *t = cz_pth_at(f, i);
        if (t->numel > MAX_CONVERT || cz_pth_find(f, t->name) != t)
            continue;
        void *buf = malloc(t->numel ? t->numel * sizeof(int64_t) : 1);
        if (buf) {
            cz_pth_to_f32(f, t, buf);
            cz_pth_to_i64(f, t, buf);
        }
        free(buf);
    }
    cz_pth_close(f);
    const char *path = fz_path("w.pth");
    if (lenet() && fz_write(path, data, size))
        cz_weights_load(lenet(), path, false);
    return 0;
}
