/* inception.c - placeholder until this family is written: no models yet. */
#include "models.h"

const cz_family cz_family_inception = {NULL, 0};
