/*
 * test_state_dict.c - loading rules shared by every weight format: old
 * DenseNet keys ("denselayer1.norm.1.weight") load into today's names as
 * torchvision renames them, an unrelated key stays unexpected, and an
 * integer tensor where a weight belongs is a dtype error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/io.h"
#include "testutil.h"

static const char *tmp_path(const char *name)
{
    static char buf[512];
    const char *dir = getenv("CZ_TEST_TMP");
    snprintf(buf, sizeof buf, "%s/%s", dir ? dir : "/tmp", name);
    return buf;
}

/* features.denseblock1.denselayer1.{norm1, conv1} as DenseNet names them. */
static cz_net *dense_layer(void)
{
    cz_net *net = cz_net_create(2, 3, 3, 1);
    cz_scope_push(net, "features.denseblock1.denselayer1");
    int x = cz_batchnorm(net, CZ_INPUT, "norm1", 1e-5f, 0.1f);
    cz_conv2d(net, x, "conv1", (cz_conv_args){.out_channels = 2, .kernel = 1});
    cz_scope_pop(net);
    tu_check(cz_net_status(net));
    return net;
}

/* Writes the net's table with each key passed through rename (or as is)
 * and the conv weight stored as `weight_dtype`. */
static void save_as(cz_net *net, const char *path, const char *(*rename)(const char *),
                    cz_st_dtype weight_dtype, const char *extra_key)
{
    cz_st_tensor t[8];
    int64_t ints[4] = {0, 0, 0, 0};
    int n = 0;
    for (int i = 0; i < cz_net_param_count(net); i++, n++) {
        cz_param *p = cz_net_param(net, i);
        t[n] = (cz_st_tensor){.name = rename(p->name), .dtype = CZ_ST_F32, .ndim = p->value.ndim};
        for (int d = 0; d < p->value.ndim; d++)
            t[n].shape[d] = p->value.shape[d];
        t[n].data = p->value.data;
        if (p->dtype == CZ_I64) {
            t[n].dtype = CZ_ST_I64;
            t[n].data = &p->count;
        } else if (strstr(p->name, "conv1.weight") && weight_dtype == CZ_ST_I64) {
            t[n].dtype = CZ_ST_I64;
            t[n].data = ints;
        }
    }
    if (extra_key)
        t[n++] = (cz_st_tensor){.name = extra_key, .dtype = CZ_ST_F32, .ndim = 1,
                                .shape = {1}, .data = ints};
    tu_check(cz_st_write(path, t, n, NULL, 0));
}

static const char *same(const char *key) { return key; }

/* "…denselayer1.norm1.weight" -> "…denselayer1.norm.1.weight"; the
 * counter keeps its name (torchvision's rename leaves it alone too). */
static const char *dotted(const char *key)
{
    if (strstr(key, "num_batches_tracked"))
        return key;
    static char buf[8][256];
    static int k;
    char *out = buf[k++ % 8];
    const char *at = strstr(key, "norm1.");
    if (!at)
        at = strstr(key, "conv1.");
    snprintf(out, 256, "%.*s.%s", (int)(at + 4 - key), key, at + 4);
    return out;
}

static void test_old_densenet_keys(void **state)
{
    (void)state;
    cz_net *src = dense_layer(), *dst = dense_layer();
    cz_param *w = cz_net_find_param(src, "features.denseblock1.denselayer1.norm1.weight");
    assert_non_null(w);
    w->value.data[0] = 42.0f;
    save_as(src, tmp_path("old_densenet.safetensors"), dotted, CZ_ST_F32, NULL);
    tu_check(cz_safetensors_load(dst, tmp_path("old_densenet.safetensors"), true));
    assert_true(cz_net_find_param(dst, "features.denseblock1.denselayer1.norm1.weight")
                    ->value.data[0] == 42.0f);

    save_as(src, tmp_path("old_extra.safetensors"), dotted, CZ_ST_F32,
            "features.denseblock1.denselayer1.norm.3.weight");
    assert_int_equal(cz_safetensors_load(dst, tmp_path("old_extra.safetensors"), true),
                     CZ_ERR_FORMAT);
    assert_non_null(strstr(cz_last_error(), "Unexpected key(s): features.denseblock1."
                                            "denselayer1.norm.3.weight"));
    cz_net_free(src);
    cz_net_free(dst);
}

static void test_integer_weight_refused(void **state)
{
    (void)state;
    cz_net *net = dense_layer();
    save_as(net, tmp_path("int_weight.safetensors"), same, CZ_ST_I64, NULL);
    assert_int_equal(cz_safetensors_load(net, tmp_path("int_weight.safetensors"), true),
                     CZ_ERR_FORMAT);
    assert_non_null(strstr(cz_last_error(), "dtype mismatch for features.denseblock1."
                                            "denselayer1.conv1.weight: file has I64"));
    cz_net_free(net);
}

int main(void)
{
    const char *dir = getenv("CZ_TEST_TMP");
    if (dir) {
        char cmd[600];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
        if (system(cmd) != 0)
            return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_old_densenet_keys),
        cmocka_unit_test(test_integer_weight_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
