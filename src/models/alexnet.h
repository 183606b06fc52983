/*
 * alexnet.h - what AlexNet's relatives (ZFNet) share with it: torchvision's
 * AlexNet layout of features.N / classifier.N. Private to src/models/;
 * defined in alexnet.c.
 */
#ifndef CZ_ALEXNET_H
#define CZ_ALEXNET_H

#include "models.h"

/* Names the next child of an nn.Sequential: "0", "1", ... */
const char *cz_sequential_next(char name[12], int *index);

/* flatten, then classifier.0..6: dropout 0.5, linear 4096, ReLU, dropout
 * 0.5, linear 4096, ReLU, linear `classes`. */
int cz_alexnet_classifier(cz_net *net, int x, int classes);

#endif
