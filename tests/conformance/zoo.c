/*
 * zoo.c - test_zoo MODEL FIXTURE_DIR: one model of the zoo against PyTorch.
 *
 * tools/zoo_reference.py wrote MODEL.pth (torch.save of the state_dict,
 * BN statistics randomised), MODEL.json (parameter count, classes, cases)
 * and, per case, an input batch and PyTorch's eval-mode output as .npy.
 * Here: build the model at each case's input size, load the .pth
 * strictly, check the parameter count, run, and compare the logits:
 * max |diff| / max |ref| <= 1e-4.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "io/io.h"
#include "io/npy.h"
#include "io/pth.h"

static const char *model, *dir;

static char *path_in(const char *name)
{
    static char buf[2][1024];
    static int which;
    which ^= 1;
    snprintf(buf[which], sizeof buf[which], "%s/%s", dir, name);
    return buf[which];
}

static cJSON *read_meta(void)
{
    char file[300], *text;
    size_t size;
    snprintf(file, sizeof file, "%s.json", model);
    if (cz_read_file(path_in(file), 1 << 20, &text, &size) != CZ_OK)
        fail_msg("%s", cz_last_error());
    cJSON *meta = cJSON_Parse(text);
    free(text);
    assert_non_null(meta);
    return meta;
}

static int json_int(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsNumber(v))
        fail_msg("%s.json: no number '%s'", model, key);
    return (int)v->valuedouble;
}

static void check_case(const cJSON *c, int classes, double params)
{
    int height = json_int(c, "height"), width = json_int(c, "width");
    cz_net *net = cz_model_create(model, classes, height, width, 0);
    if (!net)
        fail_msg("%s at %dx%d: %s", model, height, width, cz_last_error());
    assert_true((double)cz_net_weight_numel(net) == params);
    char weights[300];
    snprintf(weights, sizeof weights, "%s.pth", model);
    if (cz_weights_load(net, path_in(weights), true) != CZ_OK)
        fail_msg("%s", cz_last_error());

    cz_tensor x = {0}, want = {0};
    const char *in = cJSON_GetObjectItemCaseSensitive(c, "input")->valuestring;
    const char *out = cJSON_GetObjectItemCaseSensitive(c, "output")->valuestring;
    if (cz_npy_read_tensor(path_in(in), &x) != CZ_OK ||
        cz_npy_read_tensor(path_in(out), &want) != CZ_OK)
        fail_msg("%s", cz_last_error());
    /* The inference plan that classify and eval run (test_conv_kernels
     * checks it gives the same bits as the unfused ops). */
    cz_net_set_fusion(net, true);
    const cz_tensor *got;
    if (cz_net_forward(net, &x, &got) != CZ_OK)
        fail_msg("%s forward at %dx%d: %s", model, height, width, cz_last_error());
    size_t n = cz_tensor_numel(&want);
    assert_int_equal(cz_tensor_numel(got), n);
    double max_err = 0, max_ref = 0;
    size_t worst = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)got->data[i] - want.data[i]);
        if (e > max_err) {
            max_err = e;
            worst = i;
        }
        max_ref = fmax(max_ref, fabs(want.data[i]));
    }
    double rel = max_err / fmax(max_ref, 1e-30);
    print_message("%s %dx%d batch %d: %lld parameters, relative error %.2e\n", model, height,
                  width, x.shape[0], (long long)cz_net_weight_numel(net), rel);
    if (!(rel <= 1e-4))
        fail_msg("%s at %dx%d: relative error %.3g (max abs %.3g at %zu: got %.8g, torch %.8g)",
                 model, height, width, rel, max_err, worst, got->data[worst], want.data[worst]);
    cz_tensor_free(&x);
    cz_tensor_free(&want);
    cz_net_free(net);
}

static void matches_torch(void **state)
{
    (void)state;
    cJSON *meta = read_meta();
    int classes = json_int(meta, "classes");
    double params = cJSON_GetObjectItemCaseSensitive(meta, "params")->valuedouble;
    const cJSON *c;
    cJSON_ArrayForEach(c, cJSON_GetObjectItemCaseSensitive(meta, "cases"))
        check_case(c, classes, params);
    cJSON_Delete(meta);
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s MODEL FIXTURE_DIR\n", argv[0]);
        return 2;
    }
    model = argv[1];
    dir = argv[2];
    const struct CMUnitTest tests[] = {cmocka_unit_test(matches_torch)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
