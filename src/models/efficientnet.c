/* efficientnet.c - placeholder until this family is written: no models yet. */
#include "models.h"

const cz_family cz_family_efficientnet = {NULL, 0};
