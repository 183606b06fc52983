/* registry.c - every model by name, with its default input and classes. */
#include <stdio.h>
#include <string.h>

#include "models.h"

static const cz_model_info models[] = {
    {"lenet5", "LeNet-5 (1998): two 5x5 convs, two max pools, three linear layers; "
               "1x32x32 Fashion-MNIST/MNIST",
     1, 32, 32, 10, cz_lenet5},
};

int cz_model_count(void) { return (int)(sizeof models / sizeof models[0]); }

const cz_model_info *cz_model_at(int i)
{
    return i >= 0 && i < cz_model_count() ? &models[i] : NULL;
}

const cz_model_info *cz_model_find(const char *name)
{
    for (int i = 0; i < cz_model_count(); i++)
        if (strcmp(models[i].name, name) == 0)
            return &models[i];
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
    if (!net) {
        char why[512];
        snprintf(why, sizeof why, "%s", cz_last_error());
        cz_fail(CZ_ERR_ARG, "cannot build %s: %s", name, why);
    }
    return net;
}
