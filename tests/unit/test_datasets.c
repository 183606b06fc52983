/*
 * test_datasets.c - the CIFAR binary reader and the image-folder lister on
 * small trees written here: CIFAR-10 and CIFAR-100 batches with known
 * pixels and labels (planes to interleaved pixels, class names with and
 * without the names file, malformed files named in their errors), and an
 * image folder whose order must be torchvision's ImageFolder's.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cnnzoo.h"
#include "data/dataset.h"
#include "testutil.h"

#define PLANE 1024
#define RECORD10 (1 + 3 * PLANE)
#define RECORD100 (2 + 3 * PLANE)

static const float cifar_mean[3] = {0.4914f, 0.4822f, 0.4465f};
static const float cifar_std[3] = {0.2470f, 0.2435f, 0.2616f};

static int make_tmp_dir(void **state)
{
    (void)state;
    return tu_make_tmp_dir("datasets");
}

/* A made-up pixel of image i (numbered across all files of a split). */
static uint8_t pixel(int i, int c, int y, int x)
{
    return (uint8_t)(i * 7 + c * 50 + y * 3 + x * 5 + (x * y) % 11);
}

static void make_dir(const char *path)
{
    if (mkdir(path, 0777) != 0)
        fail_msg("mkdir %s failed", path);
}

/* A fresh folder named `name` in the test folder; returns its path (a
 * static copy). */
static const char *fresh_dir(const char *name, char *buf, size_t size)
{
    snprintf(buf, size, "%s", tu_tmp_path(name));
    make_dir(buf);
    return buf;
}

/* "dir/rel"; the result lives until the 4th call after. */
static const char *in(const char *dir, const char *rel)
{
    static char buf[4][4200];
    static int next;
    char *p = buf[next++ % 4];
    if (snprintf(p, sizeof buf[0], "%s/%s", dir, rel) >= (int)sizeof buf[0])
        fail_msg("path too long: %s/%s", dir, rel);
    return p;
}

static void write_in(const char *dir, const char *name, const void *data, size_t size)
{
    tu_write_bytes(in(dir, name), data, size);
}

/* `n` records of images first.. with labels label(i) into dir/name:
 * label_bytes 1 (CIFAR-10) or 2 (CIFAR-100: coarse, fine). */
static void write_batch(const char *dir, const char *name, int first, int n, int label_bytes,
                        int (*label)(int))
{
    size_t record = (size_t)label_bytes + 3 * PLANE;
    uint8_t *buf = malloc(record * (size_t)(n ? n : 1));
    assert_non_null(buf);
    for (int r = 0; r < n; r++) {
        int i = first + r;
        uint8_t *p = buf + record * (size_t)r;
        if (label_bytes == 2)
            *p++ = (uint8_t)(label(i) / 5); /* coarse: a different number */
        *p++ = (uint8_t)label(i);
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    p[c * PLANE + y * 32 + x] = pixel(i, c, y, x);
    }
    write_in(dir, name, buf, record * (size_t)n);
    free(buf);
}

static int label10(int i) { return (i * 3) % 10; }
static int label100(int i) { return (i * 37 + 5) % 100; }

/* CIFAR-10 training batches of 2, 1, 3, 1 and 2 images, and a test batch
 * of 3 (numbered from 100). */
static void write_cifar10(const char *dir)
{
    const int sizes[5] = {2, 1, 3, 1, 2};
    int first = 0;
    for (int b = 0; b < 5; b++) {
        char name[32];
        snprintf(name, sizeof name, "data_batch_%d.bin", b + 1);
        write_batch(dir, name, first, sizes[b], 1, label10);
        first += sizes[b];
    }
    write_batch(dir, "test_batch.bin", 100, 3, 1, label10);
}

/* Every pixel of every image, interleaved, and every label. */
static void check_images(const cz_dataset *ds, int first, int (*label)(int))
{
    assert_non_null(ds->pixels);
    assert_null(ds->paths);
    assert_int_equal(ds->channels, 3);
    assert_int_equal(ds->height, 32);
    assert_int_equal(ds->width, 32);
    for (int n = 0; n < ds->count; n++) {
        assert_int_equal(ds->labels[n], label(first + n));
        const uint8_t *img = ds->pixels + (size_t)n * 3 * PLANE;
        for (int y = 0; y < 32; y++)
            for (int x = 0; x < 32; x++)
                for (int c = 0; c < 3; c++)
                    if (img[(y * 32 + x) * 3 + c] != pixel(first + n, c, y, x))
                        fail_msg("image %d (y %d, x %d, c %d): %d, want %d", n, y, x, c,
                                 img[(y * 32 + x) * 3 + c], pixel(first + n, c, y, x));
    }
}

static void check_pipe(const cz_dataset *ds)
{
    assert_int_equal(ds->pipe.channels, 3);
    assert_int_equal(ds->pipe.resize, 32);
    assert_int_equal(ds->pipe.crop, 32);
    assert_int_equal(ds->pipe.resample, CZ_RESAMPLE_BILINEAR);
    for (int c = 0; c < 3; c++) {
        assert_true(ds->pipe.mean[c] == cifar_mean[c]);
        assert_true(ds->pipe.std[c] == cifar_std[c]);
    }
    assert_int_equal(ds->aug.crop, CZ_CROP_CENTER);
}

/* An error whose message names `part1` and `part2`, leaving ds empty. */
static void expect_failure(cz_status got, const cz_dataset *ds, cz_status want,
                           const char *part1, const char *part2)
{
    tu_expect_error(got, want, part1, part2);
    assert_int_equal(ds->count, 0);
    assert_int_equal(ds->classes, 0);
    assert_null(ds->labels);
    assert_null(ds->class_names);
    assert_null(ds->pixels);
    assert_null(ds->paths);
}

/* ------------------------------------------------------------ CIFAR-10 */

static void test_cifar10_train_and_test(void **state)
{
    (void)state;
    char dir[4096];
    fresh_dir("cifar-10-batches-bin", dir, sizeof dir);
    write_cifar10(dir);

    cz_dataset ds;
    tu_check(cz_dataset_load_cifar(dir, 10, true, &ds));
    assert_int_equal(ds.count, 9);
    assert_int_equal(ds.classes, 10);
    check_images(&ds, 0, label10);
    check_pipe(&ds);
    assert_non_null(strstr(ds.source, dir));
    const char *names[10] = {"airplane", "automobile", "bird",  "cat",  "deer",
                             "dog",      "frog",       "horse", "ship", "truck"};
    for (int c = 0; c < 10; c++)
        assert_string_equal(ds.class_names[c], names[c]);
    /* Spot checks by hand: image 4 (data_batch_3's second), R at (0, 0),
     * G at (31, 0), B at (5, 17), (y, x) in the file's planes. */
    const uint8_t *img4 = ds.pixels + 4 * 3 * PLANE;
    assert_int_equal(img4[0], (uint8_t)(28));
    assert_int_equal(img4[(31 * 32 + 0) * 3 + 1], (uint8_t)(28 + 50 + 93));
    assert_int_equal(img4[(5 * 32 + 17) * 3 + 2], (uint8_t)(28 + 100 + 15 + 85 + 85 % 11));
    cz_dataset_free(&ds);
    assert_null(ds.pixels);

    tu_check(cz_dataset_load_cifar(dir, 10, false, &ds));
    assert_int_equal(ds.count, 3);
    check_images(&ds, 100, label10);
    cz_dataset_free(&ds);
}

static void test_cifar10_names_file(void **state)
{
    (void)state;
    char dir[4096];
    fresh_dir("cifar10-names", dir, sizeof dir);
    write_cifar10(dir);
    /* As in the archive: one a line, blank lines at the end; \r\n too. */
    const char *meta = "a0\nb1\r\n\nc2\nd 3\ne4\nf5\ng6\nh7\ni8\nj9\n\n\n";
    write_in(dir, "batches.meta.txt", meta, strlen(meta));
    cz_dataset ds;
    tu_check(cz_dataset_load_cifar(dir, 10, false, &ds));
    const char *names[10] = {"a0", "b1", "c2", "d 3", "e4", "f5", "g6", "h7", "i8", "j9"};
    for (int c = 0; c < 10; c++)
        assert_string_equal(ds.class_names[c], names[c]);
    cz_dataset_free(&ds);

    /* Nine names or eleven: not this set's names file, the standard ones. */
    const char *nine = "a\nb\nc\nd\ne\nf\ng\nh\ni\n";
    const char *eleven = "a\nb\nc\nd\ne\nf\ng\nh\ni\nj\nk\n";
    const char *files[2] = {nine, eleven};
    for (int k = 0; k < 2; k++) {
        write_in(dir, "batches.meta.txt", files[k], strlen(files[k]));
        tu_check(cz_dataset_load_cifar(dir, 10, false, &ds));
        assert_string_equal(ds.class_names[0], "airplane");
        assert_string_equal(ds.class_names[9], "truck");
        cz_dataset_free(&ds);
    }
}

/* ------------------------------------------------------------ CIFAR-100 */

static void test_cifar100(void **state)
{
    (void)state;
    char dir[4096];
    fresh_dir("cifar-100-binary", dir, sizeof dir);
    write_batch(dir, "train.bin", 0, 7, 2, label100);
    write_batch(dir, "test.bin", 50, 4, 2, label100);

    cz_dataset ds;
    tu_check(cz_dataset_load_cifar(dir, 100, true, &ds));
    assert_int_equal(ds.count, 7);
    assert_int_equal(ds.classes, 100);
    check_images(&ds, 0, label100); /* the fine labels, not the coarse */
    check_pipe(&ds);
    assert_string_equal(ds.class_names[0], "0");
    assert_string_equal(ds.class_names[42], "42");
    assert_string_equal(ds.class_names[99], "99");
    cz_dataset_free(&ds);

    char names[100 * 16] = "";
    for (int c = 0; c < 100; c++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "fine_%d\n", c);
    write_in(dir, "fine_label_names.txt", names, strlen(names));
    tu_check(cz_dataset_load_cifar(dir, 100, false, &ds));
    assert_int_equal(ds.count, 4);
    check_images(&ds, 50, label100);
    assert_string_equal(ds.class_names[0], "fine_0");
    assert_string_equal(ds.class_names[99], "fine_99");
    cz_dataset_free(&ds);
}

/* ------------------------------------------------------------ CIFAR errors */

static void test_cifar_errors(void **state)
{
    (void)state;
    char dir[4096];
    const char *path;
    fresh_dir("cifar-bad", dir, sizeof dir);
    cz_dataset ds;

    expect_failure(cz_dataset_load_cifar(dir, 20, true, &ds), &ds, CZ_ERR_ARG, "20 classes",
                   "expected 10 or 100");

    path = in(dir, "absent");
    expect_failure(cz_dataset_load_cifar(path, 10, true, &ds), &ds, CZ_ERR_IO, path,
                   "cifar-10-batches-bin");
    write_in(dir, "file", "x", 1);
    path = in(dir, "file");
    expect_failure(cz_dataset_load_cifar(path, 100, true, &ds), &ds, CZ_ERR_IO, path,
                   "not a folder (expected the folder of the CIFAR-100 binary files");

    /* Nothing there yet: the first file expected is named. */
    path = in(dir, "data_batch_1.bin");
    expect_failure(cz_dataset_load_cifar(dir, 10, true, &ds), &ds, CZ_ERR_IO, path,
                   "cifar-10-batches-bin");
    path = in(dir, "train.bin");
    expect_failure(cz_dataset_load_cifar(dir, 100, true, &ds), &ds, CZ_ERR_IO, path,
                   "cifar-100-binary");

    /* One batch missing in the middle. */
    write_cifar10(dir);
    path = in(dir, "data_batch_3.bin");
    assert_int_equal(unlink(path), 0);
    expect_failure(cz_dataset_load_cifar(dir, 10, true, &ds), &ds, CZ_ERR_IO, path,
                   "not found");

    /* A record cut short. */
    write_batch(dir, "data_batch_3.bin", 3, 3, 1, label10);
    static uint8_t cut[2 * RECORD10 - 5];
    write_in(dir, "data_batch_5.bin", cut, sizeof cut);
    path = in(dir, "data_batch_5.bin");
    expect_failure(cz_dataset_load_cifar(dir, 10, true, &ds), &ds, CZ_ERR_FORMAT, path,
                   "6141 bytes, not a whole number of 3073-byte CIFAR-10 records");

    /* A CIFAR-100 file read as CIFAR-10's test batch: sizes disagree. */
    write_batch(dir, "test_batch.bin", 0, 3, 2, label100);
    path = in(dir, "test_batch.bin");
    expect_failure(cz_dataset_load_cifar(dir, 10, false, &ds), &ds, CZ_ERR_FORMAT, path,
                   "9222 bytes");

    /* A label out of range in the second record. */
    static uint8_t bad[3 * RECORD10];
    bad[RECORD10] = 10;
    write_in(dir, "test_batch.bin", bad, sizeof bad);
    expect_failure(cz_dataset_load_cifar(dir, 10, false, &ds), &ds, CZ_ERR_FORMAT, path,
                   "record 1 has label 10, expected 0..9");

    /* CIFAR-100: the fine label (second byte) is checked, not the coarse. */
    static uint8_t bad100[2 * RECORD100];
    bad100[RECORD100 + 1] = 100;
    write_in(dir, "test.bin", bad100, sizeof bad100);
    path = in(dir, "test.bin");
    expect_failure(cz_dataset_load_cifar(dir, 100, false, &ds), &ds, CZ_ERR_FORMAT, path,
                   "record 1 has label 100, expected 0..99");

    /* Empty files: no images at all. */
    write_in(dir, "test.bin", "", 0);
    expect_failure(cz_dataset_load_cifar(dir, 100, false, &ds), &ds, CZ_ERR_FORMAT, path,
                   "empty, expected 3074-byte CIFAR-100 records");

    /* The allocation ceiling: two records' pixels are 6144 bytes. */
    static uint8_t two[2 * RECORD100];
    write_in(dir, "test.bin", two, sizeof two);
    cz_set_max_alloc(6143);
    expect_failure(cz_dataset_load_cifar(dir, 100, false, &ds), &ds, CZ_ERR_NOMEM, dir,
                   "2 CIFAR-100 test images needs 6144 bytes (6 KiB), over the 6143-byte (6.0 KiB) "
                   "limit on one allocation");
    cz_set_max_alloc(6144);
    assert_int_equal(cz_dataset_load_cifar(dir, 100, false, &ds), CZ_OK);
    assert_int_equal(ds.count, 2);
    cz_dataset_free(&ds);
    cz_set_max_alloc(0);
}

/* A CIFAR sample through the evaluation transform: ToTensor + Normalize,
 * channels first. */
static void test_cifar_sample(void **state)
{
    (void)state;
    char dir[4096];
    fresh_dir("cifar10-sample", dir, sizeof dir);
    write_cifar10(dir);
    cz_dataset ds;
    tu_check(cz_dataset_load_cifar(dir, 10, true, &ds));
    assert_int_equal(cz_dataset_sample_size(&ds), 3 * PLANE);
    float got[3 * PLANE];
    double want[3 * PLANE];
    for (int i = 0; i < ds.count; i += 4) {
        tu_check(cz_dataset_sample(&ds, i, NULL, false, got));
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 32; y++)
                for (int x = 0; x < 32; x++)
                    want[c * PLANE + y * 32 + x] =
                        ((double)pixel(i, c, y, x) / 255.0 - cifar_mean[c]) / cifar_std[c];
        tu_expect_close(got, want, 3 * PLANE, 1e-5, 1e-5, "cifar sample");
    }
    cz_dataset_free(&ds);
}

/* ------------------------------------------------------------ image folder */

static void make_file(const char *root, const char *rel, size_t size)
{
    static const uint8_t garbage[8] = "notimg!";
    tu_write_bytes(in(root, rel), garbage, size);
}

static void make_subdir(const char *root, const char *rel)
{
    make_dir(in(root, rel));
}

static void make_link(const char *target, const char *root, const char *rel)
{
    const char *path = in(root, rel);
    if (symlink(target, path) != 0)
        fail_msg("symlink %s -> %s failed", path, target);
}

static const cz_preprocess imagenet_pipe = {
    3, 256, 224, CZ_RESAMPLE_BILINEAR, {0.485f, 0.456f, 0.406f}, {0.229f, 0.224f, 0.225f}};

/* Classes whose strcmp order is not a case-blind one (".h" < "B" < "L" <
 * "Z_" < "a" < "b"), a linked class, nested folders ("sub-x" sorts
 * between "sub" and "sub/deeper", as sorted(os.walk()) has it), links
 * followed, upper-case extensions, names that are not images, a zero-byte
 * file. */
static void test_folder_order(void **state)
{
    (void)state;
    char root[4096], outside[4096];
    fresh_dir("outside", outside, sizeof outside);
    make_file(outside, "o.jpg", 7);
    fresh_dir("folder", root, sizeof root);
    const char *dirs[] = {".h", "B", "B/sub", "B/sub/deeper", "B/sub-x", "Z_", "Z_/.hid",
                          "a", "a/z", "a/z/deep", "b", "b/dir.jpg"};
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        make_subdir(root, dirs[i]);
    const char *files[] = {
        ".h/i.jpg", "B/x.JPG", "B/a.Png", "B/Y.bmp", "B/sub/a.png", "B/sub-x/c.jpeg",
        "B/sub/deeper/d.jpg", "Z_/0.bmp", "Z_/.hid/h.ppm", "a/img.webp", "a/.hidden.jpg",
        "a/notes.txt", "a/z/r.tif", "a/z/deep/q.TIFF", "b/k.pgm", "b/k.tif", "b/k.jpg.txt",
        "b/JPG", "b/dir.jpg/in.jpg", "b/.jpg", "readme.txt",
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        make_file(root, files[i], 7);
    make_file(root, "Z_/empty.jpg", 0);
    make_link(outside, root, "L");
    make_link(outside, root, "a/ln");
    make_link("nowhere.jpg", root, "b/broken.txt"); /* not an image name: ignored */
    make_link(outside, root, "b/not-a-class.jpg");  /* a folder: walked */

    static const struct {
        const char *path;
        int label;
    } want[] = {
        {".h/i.jpg", 0},
        {"B/Y.bmp", 1},
        {"B/a.Png", 1},
        {"B/x.JPG", 1},
        {"B/sub/a.png", 1},
        {"B/sub-x/c.jpeg", 1},
        {"B/sub/deeper/d.jpg", 1},
        {"L/o.jpg", 2},
        {"Z_/0.bmp", 3},
        {"Z_/.hid/h.ppm", 3},
        {"a/.hidden.jpg", 4},
        {"a/img.webp", 4},
        {"a/ln/o.jpg", 4},
        {"a/z/r.tif", 4},
        {"a/z/deep/q.TIFF", 4},
        {"b/.jpg", 5},
        {"b/k.pgm", 5},
        {"b/k.tif", 5},
        {"b/dir.jpg/in.jpg", 5},
        {"b/not-a-class.jpg/o.jpg", 5},
    };
    const char *classes[] = {".h", "B", "L", "Z_", "a", "b"};
    int n = (int)(sizeof want / sizeof want[0]);

    cz_dataset ds;
    int skipped = -1;
    tu_check(cz_dataset_open_folder(root, &imagenet_pipe, &ds, &skipped));
    assert_int_equal(skipped, 1);
    assert_int_equal(ds.classes, 6);
    for (int c = 0; c < 6; c++)
        assert_string_equal(ds.class_names[c], classes[c]);
    for (int i = 0; i < n && i < ds.count; i++) {
        const char *path = in(root, want[i].path);
        if (strcmp(ds.paths[i], path) != 0 || ds.labels[i] != want[i].label)
            fail_msg("sample %d: %s (label %d), want %s (label %d)", i, ds.paths[i],
                     ds.labels[i], path, want[i].label);
    }
    assert_int_equal(ds.count, n);
    assert_null(ds.pixels);
    assert_memory_equal(&ds.pipe, &imagenet_pipe, sizeof imagenet_pipe);
    assert_int_equal(ds.aug.crop, CZ_CROP_CENTER);
    assert_string_equal(ds.source, root);
    cz_dataset_free(&ds);

    /* A root given with a trailing slash joins as os.path.join does. */
    char slashed[4200];
    snprintf(slashed, sizeof slashed, "%s/", root);
    tu_check(cz_dataset_open_folder(slashed, &imagenet_pipe, &ds, NULL));
    assert_string_equal(ds.paths[0], in(root, ".h/i.jpg"));
    cz_dataset_free(&ds);
}

static void test_folder_errors(void **state)
{
    (void)state;
    char root[4096];
    const char *path;
    cz_dataset ds;

    path = tu_tmp_path("no-such-folder");
    expect_failure(cz_dataset_open_folder(path, &imagenet_pipe, &ds, NULL), &ds, CZ_ERR_IO,
                   path, "cannot open folder");

    /* Only files at the top: no classes. */
    fresh_dir("flat", root, sizeof root);
    make_file(root, "a.jpg", 7);
    path = in(root, "CLASS/IMAGE.jpg");
    expect_failure(cz_dataset_open_folder(root, &imagenet_pipe, &ds, NULL), &ds,
                   CZ_ERR_FORMAT, "no class folders", path);

    /* Classes without images, named as torchvision names them. */
    fresh_dir("empty-classes", root, sizeof root);
    make_subdir(root, "cat");
    make_subdir(root, "dog");
    make_subdir(root, "eel");
    make_subdir(root, "eel/sub");
    make_file(root, "dog/d.png", 7);
    make_file(root, "eel/sub/notes.txt", 7);
    expect_failure(cz_dataset_open_folder(root, &imagenet_pipe, &ds, NULL), &ds,
                   CZ_ERR_FORMAT, "found no valid file for the classes cat, eel", root);

    /* Images with no bytes: the class is there, but no sample is. */
    fresh_dir("zero-bytes", root, sizeof root);
    make_subdir(root, "cat");
    make_file(root, "cat/a.jpg", 0);
    make_file(root, "cat/b.jpg", 0);
    int skipped = -1;
    expect_failure(cz_dataset_open_folder(root, &imagenet_pipe, &ds, &skipped), &ds,
                   CZ_ERR_FORMAT, "no image files with data, 2 empty", root);

    /* A link back up: an error, not an endless walk. */
    fresh_dir("loop", root, sizeof root);
    make_subdir(root, "cat");
    make_subdir(root, "cat/sub");
    make_file(root, "cat/sub/a.jpg", 7);
    make_link("..", root, "cat/sub/up");
    path = in(root, "cat/sub/up");
    expect_failure(cz_dataset_open_folder(root, &imagenet_pipe, &ds, NULL), &ds,
                   CZ_ERR_FORMAT, path, "symbolic link loop");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cifar10_train_and_test),
        cmocka_unit_test(test_cifar10_names_file),
        cmocka_unit_test(test_cifar100),
        cmocka_unit_test(test_cifar_errors),
        cmocka_unit_test(test_cifar_sample),
        cmocka_unit_test(test_folder_order),
        cmocka_unit_test(test_folder_errors),
    };
    return cmocka_run_group_tests(tests, make_tmp_dir, NULL);
}
