/* registry.c - every model by name, with its default input and classes. */
#include <stdio.h>
#include <string.h>

#include "graph/net.h"
#include "models.h"

/* The families in the survey's order. */
static const cz_family *const families[] = {
    &cz_family_lenet,
    &cz_family_alexnet,
    &cz_family_zfnet,
    &cz_family_nin,
    &cz_family_vgg,
    &cz_family_googlenet,
    &cz_family_inception,
    &cz_family_xception,
    &cz_family_resnet,
    &cz_family_senet,
    &cz_family_resnest,
    &cz_family_res2net,
    &cz_family_densenet,
    &cz_family_shufflenet,
    &cz_family_mobilenet,
    &cz_family_efficientnet,
};

int cz_model_count(void)
{
    int n = 0;
    for (size_t f = 0; f < sizeof families / sizeof families[0]; f++)
        n += families[f]->count;
    return n;
}

const cz_model_info *cz_model_at(int i)
{
    for (size_t f = 0; i >= 0 && f < sizeof families / sizeof families[0]; f++) {
        if (i < families[f]->count)
            return &families[f]->models[i];
        i -= families[f]->count;
    }
    return NULL;
}

const cz_model_info *cz_model_find(const char *name)
{
    for (int i = 0; i < cz_model_count(); i++)
        if (strcmp(cz_model_at(i)->name, name) == 0)
            return cz_model_at(i);
    return NULL;
}

cz_net *cz_model_create(const char *name, int classes, int height, int width, uint64_t seed)
{
    const cz_model_info *info = cz_model_find(name);
    if (!info) {
        cz_fail(CZ_ERR_ARG, "unknown model '%s' (`cnnzoo list` shows them all)", name);
        return NULL;
    }
    if (classes < 0 || height < 0 || width < 0) {
        cz_fail(CZ_ERR_ARG, "%s: classes %d, height %d, width %d must not be negative", name,
                classes, height, width);
        return NULL;
    }
    cz_net *net = info->build(classes ? classes : info->classes, info->channels,
                              height ? height : info->height, width ? width : info->width, seed);
    if (!net)
        cz_fail(CZ_ERR_ARG, "cannot build %s: %s", name, cz_last_error());
    return net;
}

cz_net *cz_model_describe(const char *name, int classes, int height, int width)
{
    cz_net_set_shapes_only(true);
    cz_net *net = cz_model_create(name, classes, height, width, 0);
    cz_net_set_shapes_only(false);
    return net;
}
