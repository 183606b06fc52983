/* models.h - the builders of every model family, one per src/models/ file. */
#ifndef CZ_MODELS_H
#define CZ_MODELS_H

#include "cnnzoo.h"

cz_net *cz_lenet5(int classes, int channels, int height, int width, uint64_t seed);

#endif
