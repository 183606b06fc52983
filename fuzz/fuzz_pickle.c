/*
 * fuzz_pickle.c - the unpickler on its own, with an allow-list, a REDUCE
 * hook and a persistent-id hook that accept anything they are given, so
 * the fuzzer reaches every opcode rather than stopping at torch's checks
 * (fuzz_pth covers those).
 */
#include "fuzz.h"
#include "io/pickle.h"

static const char *const globals[] = {"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                      "torch.FloatStorage", NULL};

static cz_status reduce(void *ctx, pk_arena *a, const char *where, int global, pk_obj *args,
                        pk_obj **out)
{
    (void)ctx, (void)a, (void)where, (void)global;
    *out = args;
    return CZ_OK;
}

static cz_status persistent(void *ctx, pk_arena *a, const char *where, pk_obj *pid, pk_obj **out)
{
    (void)ctx, (void)a, (void)where;
    *out = pid;
    return CZ_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    pk_hooks hooks = {globals, NULL, reduce, persistent};
    pk_arena arena = {0};
    pk_obj *result = NULL;
    size_t consumed = 0;
    if (pk_load(&arena, "fuzz.pkl", data, size, &hooks, &result, &consumed) == CZ_OK) {
        if (consumed > size)
            __builtin_trap(); /* claims to have read past the end */
        if (result && result->kind == PK_DICT)
            pk_dict_get(result, "state_dict");
    }
    pk_arena_free(&arena);
    return 0;
}
