/*
 * models.h - the model families, one per src/models/ file. Each family
 * file defines a table of its models (name, default input, classes,
 * description, builder) as `const cz_family cz_family_<name>`; registry.c
 * lists the families. Adding a model = a row in its family's table.
 */
#ifndef CZ_MODELS_H
#define CZ_MODELS_H

#include "cnnzoo.h"

typedef struct cz_family {
    const cz_model_info *models;
    int count;
} cz_family;

#define CZ_FAMILY(table) {table, (int)(sizeof table / sizeof table[0])}

extern const cz_family cz_family_lenet, cz_family_alexnet, cz_family_zfnet, cz_family_nin,
    cz_family_vgg, cz_family_googlenet, cz_family_inception, cz_family_xception,
    cz_family_resnet, cz_family_senet, cz_family_resnest, cz_family_res2net,
    cz_family_densenet, cz_family_shufflenet, cz_family_mobilenet, cz_family_efficientnet;

#endif
