/*
 * classify.c - `cnnzoo classify MODEL --weights FILE IMAGE...`: decodes
 * JPEG/PNG files, preprocesses them as the model's torchvision weights
 * expect (src/data/preprocess.h), runs them through the net in batches
 * and prints each image's top-k classes with their probabilities, as text
 * or JSON.
 *
 * --tencrop follows torchvision's reference evaluation: the logits of the
 * 10 crops are averaged, then softmaxed. GoogLeNet and Inception-v3 apply
 * torchvision's transform_input by default, since torchvision's builders
 * switch it on silently whenever pretrained weights are loaded.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "data/preprocess.h"
#include "io/image.h"

/* A labels file longer than this is not a list of class names. */
#define LABELS_MAX_BYTES (64u << 20)
#define ERROR_LEN 512

typedef struct classify_run {
    const char *model;
    cz_preprocess pp;
    cz_net *net;
    int classes;       /* the net's output features */
    int topk;
    int batch;         /* images per forward */
    int crops;         /* samples per image: 1, or 10 with --tencrop */
    bool transform;    /* torchvision's transform_input */
    bool json;
    char **names;      /* classes entries, or NULL: "class N" */
    char *names_text;  /* the labels file, which names point into */
    int printed;       /* images reported so far (JSON separators) */
} classify_run;

/* data/ of the source tree unless CNNZOO_DATA points elsewhere (an
 * installed copy, or a test's own files). */
static const char *data_dir(void)
{
    const char *env = getenv("CNNZOO_DATA");
    return env && *env ? env : CZ_DATA_DIR;
}

/* Reads a whole text file of at most LABELS_MAX_BYTES, NUL-terminated. */
static cz_status read_text(const char *path, char **text, size_t *size)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return cz_fail(CZ_ERR_IO, "%s: cannot open the labels file (%s)", path, strerror(errno));
    char *buf = malloc(LABELS_MAX_BYTES + 1);
    size_t n = buf ? fread(buf, 1, LABELS_MAX_BYTES + 1, f) : 0;
    bool bad = ferror(f);
    fclose(f);
    if (!buf)
        return cz_fail(CZ_ERR_NOMEM, "%s: cannot allocate memory for the labels", path);
    if (bad || n > LABELS_MAX_BYTES) {
        free(buf);
        return cz_fail(bad ? CZ_ERR_IO : CZ_ERR_FORMAT, "%s: %s", path,
                       bad ? "read error" : "over 64 MiB, not a list of class names");
    }
    buf[n] = '\0';
    *text = buf;
    *size = n;
    return CZ_OK;
}

/* Splits text into lines in place (a last line without '\n' counts, a
 * '\r' before '\n' is dropped); *lines is NULL when the count is not
 * `expected`, and the count is returned either way. */
static int split_lines(char *text, size_t size, int expected, char ***lines)
{
    int count = 0;
    for (size_t i = 0; i < size; i++)
        count += text[i] == '\n' || (i + 1 == size);
    *lines = NULL;
    if (count != expected)
        return count;
    char **out = malloc((size_t)(count ? count : 1) * sizeof *out);
    if (!out)
        return count;
    char *p = text;
    for (int i = 0; i < count; i++) {
        char *nl = strchr(p, '\n');
        if (nl)
            *nl = '\0';
        size_t len = strlen(p);
        if (len && p[len - 1] == '\r')
            p[len - 1] = '\0';
        out[i] = p;
        p = nl ? nl + 1 : p + len;
    }
    *lines = out;
    return count;
}

/* Loads the class names: --labels, else the shipped list for 1000-class
 * models and for lenet5's Fashion-MNIST, else none ("class N"). Returns
 * -1, or an exit code after printing the error. */
static int load_labels(classify_run *run, const char *labels)
{
    char path[4096];
    if (!labels) {
        const char *file = run->classes == 1000 ? "imagenet_classes.txt"
                           : strcmp(run->model, "lenet5") == 0 && run->classes == 10
                               ? "fashion_mnist_classes.txt"
                               : NULL;
        if (!file)
            return -1;
        snprintf(path, sizeof path, "%s/%s", data_dir(), file);
        labels = path;
    }
    size_t size = 0;
    if (read_text(labels, &run->names_text, &size) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    int count = split_lines(run->names_text, size, run->classes, &run->names);
    if (count != run->classes) {
        cz_cli_error("%s: %d class names (one per line), expected %d for %s's output", labels,
                     count, run->classes, run->model);
        return labels == path ? CZ_EXIT_FAIL : CZ_EXIT_USAGE;
    }
    if (!run->names) {
        cz_cli_error("%s: cannot allocate memory for the labels", labels);
        return CZ_EXIT_FAIL;
    }
    return -1;
}

/* Decodes and preprocesses one image into dst (crops samples). */
static cz_status prepare_image(const classify_run *run, const char *path, float *dst)
{
    cz_image img = {0};
    cz_status s = cz_image_load(path, run->pp.channels, &img);
    if (s == CZ_OK)
        s = run->crops == 10 ? cz_preprocess_ten_crops(&run->pp, &img, dst)
                             : cz_preprocess_image(&run->pp, &img, dst);
    cz_image_free(&img);
    return s;
}

/* Fills x with n images, decoded in parallel; on failure prints the first
 * failing image's error (naming it) and returns CZ_EXIT_FAIL, else -1. */
static int prepare_batch(const classify_run *run, const char *const *paths, int n, cz_tensor *x)
{
    size_t sample = (size_t)run->crops * cz_tensor_numel(x) / (size_t)x->shape[0];
    char(*errors)[ERROR_LEN] = calloc((size_t)n, sizeof *errors);
    if (!errors) {
        cz_cli_error("classify: cannot allocate memory for a batch of %d images", n);
        return CZ_EXIT_FAIL;
    }
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < n; i++)
        if (prepare_image(run, paths[i], x->data + (size_t)i * sample) != CZ_OK)
            snprintf(errors[i], ERROR_LEN, "%s", *cz_last_error() ? cz_last_error() : "failed");
    int rc = -1;
    for (int i = 0; i < n && rc < 0; i++) {
        if (!errors[i][0])
            continue;
        /* The message should name the file; make sure it does. */
        if (strstr(errors[i], paths[i]))
            cz_cli_error("%s", errors[i]);
        else
            cz_cli_error("%s: %s", paths[i], errors[i]);
        rc = CZ_EXIT_FAIL;
    }
    free(errors);
    return rc;
}

/* Writes s as a JSON string literal. */
static void json_string(const char *s)
{
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            printf("\\%c", *p);
        else if (*p < 0x20)
            printf("\\u%04x", *p);
        else
            putchar(*p);
    }
    putchar('"');
}

/* Softmax of the mean logits of one image's crops (rows of y), in
 * double; prob has classes entries. */
static void crop_softmax(const classify_run *run, const float *y, double *prob)
{
    double max = -INFINITY, sum = 0;
    for (int k = 0; k < run->classes; k++) {
        double mean = 0;
        for (int c = 0; c < run->crops; c++)
            mean += y[(size_t)c * (size_t)run->classes + (size_t)k];
        prob[k] = mean / run->crops;
        max = prob[k] > max ? prob[k] : max;
    }
    for (int k = 0; k < run->classes; k++)
        sum += prob[k] = exp(prob[k] - max);
    for (int k = 0; k < run->classes; k++)
        prob[k] /= sum;
}

/* The indices of the topk largest probabilities, largest first (the lower
 * index first on ties). */
static void top_indices(const double *prob, int classes, int topk, int *top)
{
    for (int r = 0; r < topk; r++) {
        int best = -1;
        for (int k = 0; k < classes; k++) {
            bool taken = false;
            for (int q = 0; q < r && !taken; q++)
                taken = top[q] == k;
            if (!taken && (best < 0 || prob[k] > prob[best]))
                best = k;
        }
        top[r] = best;
    }
}

static void report_image(classify_run *run, const char *path, const double *prob, const int *top)
{
    char fallback[32];
    if (run->json) {
        printf("%s\n  {\"image\": ", run->printed ? "," : "[");
        json_string(path);
        printf(", \"top\": [");
    } else {
        printf("%s\n", path);
    }
    for (int r = 0; r < run->topk; r++) {
        snprintf(fallback, sizeof fallback, "class %d", top[r]);
        const char *name = run->names ? run->names[top[r]] : fallback;
        if (run->json) {
            printf("%s{\"index\": %d, \"name\": ", r ? ", " : "", top[r]);
            json_string(name);
            printf(", \"probability\": %.9g}", prob[top[r]]);
        } else {
            printf("  %d. %d %s %.4f\n", r + 1, top[r], name, prob[top[r]]);
        }
    }
    if (run->json)
        printf("]}");
    run->printed++;
}

/* Classifies n images (n <= run->batch) and prints their results. */
static int classify_batch(classify_run *run, const char *const *paths, int n, cz_tensor *x)
{
    int p = run->pp.crop;
    int shape[4] = {n * run->crops, run->pp.channels, p, p};
    if (x->shape[0] != shape[0] && cz_tensor_alloc(x, 4, shape) != CZ_OK) {
        cz_cli_error("classify: %s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    int rc = prepare_batch(run, paths, n, x);
    if (rc >= 0)
        return rc;
    if (run->transform)
        cz_transform_input(&run->pp, x);
    const cz_tensor *y = NULL;
    if (cz_net_forward(run->net, x, &y) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        return CZ_EXIT_FAIL;
    }
    double *prob = malloc((size_t)run->classes * sizeof *prob);
    int *top = malloc((size_t)run->topk * sizeof *top);
    for (int i = 0; i < n && prob && top; i++) {
        crop_softmax(run, y->data + (size_t)i * (size_t)run->crops * (size_t)run->classes, prob);
        top_indices(prob, run->classes, run->topk, top);
        report_image(run, paths[i], prob, top);
    }
    rc = prob && top ? -1 : CZ_EXIT_FAIL;
    if (rc >= 0)
        cz_cli_error("classify: out of memory for %d classes", run->classes);
    free(prob);
    free(top);
    fflush(stdout);
    return rc;
}

/* Builds the net at the pipeline's crop size and checks that it ends in
 * one logit per class. */
static int setup_net(classify_run *run, int classes)
{
    run->net = cz_cli_model_sized(run->model, classes, run->pp.crop, run->pp.crop);
    if (!run->net)
        return CZ_EXIT_FAIL;
    cz_net_set_training(run->net, false);
    cz_net_set_fusion(run->net, true);
    int shape[3];
    if (cz_net_node_shape(run->net, cz_net_output(run->net), shape) != 1) {
        cz_cli_error("classify: %s does not end in class logits", run->model);
        return CZ_EXIT_FAIL;
    }
    run->classes = shape[0];
    if (run->topk > run->classes) {
        cz_cli_error("classify: --topk %d exceeds %s's %d classes", run->topk, run->model,
                     run->classes);
        return CZ_EXIT_USAGE;
    }
    return -1;
}

static int run_all(classify_run *run, const char *const *images, int n_images)
{
    cz_tensor x = {0};
    int rc = -1;
    for (int i = 0; i < n_images && rc < 0; i += run->batch) {
        int n = n_images - i < run->batch ? n_images - i : run->batch;
        rc = classify_batch(run, images + i, n, &x);
    }
    /* After a failure the array is closed only if it was opened. */
    if (run->json && run->printed)
        printf("\n]\n");
    else if (run->json && rc < 0)
        printf("[]\n");
    cz_tensor_free(&x);
    return rc < 0 ? CZ_EXIT_OK : rc;
}

int cz_cmd_classify(int argc, char **argv)
{
    const char *weights = NULL, *labels = NULL, *transform = NULL;
    int topk = 5, batch = 16, threads = 0, classes = 0;
    bool tencrop = false, json = false, non_strict = false;
    const cz_opt opts[] = {
        {"weights", CZ_OPT_STRING, &weights, "FILE", ".pth or .safetensors weights", 0, 0},
        {"topk", CZ_OPT_INT, &topk, "K", "classes shown per image", 1, 1e6},
        {"tencrop", CZ_OPT_FLAG, &tencrop, NULL,
         "average the logits of the 10 crops (corners, centre, mirrored)", 0, 0},
        {"json", CZ_OPT_FLAG, &json, NULL, "print JSON instead of text", 0, 0},
        {"labels", CZ_OPT_STRING, &labels, "FILE",
         "class names, one per line (default: ImageNet's, Fashion-MNIST's for lenet5)", 0, 0},
        {"classes", CZ_OPT_INT, &classes, "N", "output classes (0: the model's default)", 0, 1e6},
        {"batch", CZ_OPT_INT, &batch, "N", "images per forward pass (x10 samples with --tencrop)",
         1, 4096},
        {"threads", CZ_OPT_INT, &threads, "T", "threads (0: all cores)", 0, 1024},
        {"transform-input", CZ_OPT_STRING, &transform, "on|off",
         "torchvision's transform_input (default on for googlenet, inception_v3)", 0, 0},
        {"non-strict", CZ_OPT_FLAG, &non_strict, NULL, "ignore missing and unexpected keys", 0, 0},
    };
    const cz_cmd cmd = {"classify", "MODEL IMAGE...", 2, argc > 2 ? argc - 1 : 2,
                        "Prints the top-k classes of JPEG/PNG images with MODEL and its weights.",
                        opts, (int)(sizeof opts / sizeof opts[0])};
    const char **pos = malloc((size_t)cmd.max_pos * sizeof *pos);
    if (!pos) {
        cz_cli_error("classify: out of memory");
        return CZ_EXIT_FAIL;
    }
    int n_pos, rc = cz_args_parse(&cmd, argc, argv, pos, &n_pos);
    classify_run run = {.model = n_pos ? pos[0] : NULL, .topk = topk, .batch = batch,
                        .crops = tencrop ? 10 : 1, .json = json};
    /* The model first: a mistyped name is the first thing to mend. */
    if (rc < 0 && !cz_model_find(run.model)) {
        cz_cli_error("unknown model '%s' (`cnnzoo list` shows them all)", run.model);
        rc = CZ_EXIT_USAGE;
    }
    if (rc < 0 && !weights) {
        cz_cli_error("classify: --weights is required");
        rc = CZ_EXIT_USAGE;
    }
    if (rc < 0)
        rc = cz_cli_transform_input("classify", run.model, transform, &run.transform);
    if (rc < 0 && cz_preprocess_for_model(run.model, &run.pp) != CZ_OK) {
        cz_cli_error("%s", cz_last_error());
        rc = CZ_EXIT_USAGE;
    }
    /* lenet5 pads its 28x28 input to 32: there are no corners to crop. */
    if (rc < 0 && tencrop && run.pp.crop > run.pp.resize) {
        cz_cli_error("classify: --tencrop: %s's %d-pixel crop is larger than its %d-pixel "
                     "resized image", run.model, run.pp.crop, run.pp.resize);
        rc = CZ_EXIT_USAGE;
    }
    cz_set_threads(threads);
    if (rc < 0)
        rc = setup_net(&run, classes);
    /* The labels before the weights: a wrong list fails fast. */
    if (rc < 0)
        rc = load_labels(&run, labels);
    if (rc < 0 && cz_cli_load_weights(run.net, weights, !non_strict) != CZ_EXIT_OK)
        rc = CZ_EXIT_FAIL;
    if (rc < 0)
        rc = run_all(&run, pos + 1, n_pos - 1);
    cz_net_free(run.net);
    free(run.names);
    free(run.names_text);
    free(pos);
    return rc;
}
