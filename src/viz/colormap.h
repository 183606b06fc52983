/*
 * colormap.h - perceptually uniform colour maps for heat maps: viridis
 * (dark blue -> green -> yellow) and inferno (black -> red -> pale
 * yellow), as 256-entry tables, plus the grey ramp. Both read in order of
 * lightness, so a heat map stays legible in grey print.
 */
#ifndef CZ_VIZ_COLORMAP_H
#define CZ_VIZ_COLORMAP_H

#include "viz/canvas.h"

typedef enum cz_colormap {
    CZ_CMAP_VIRIDIS,
    CZ_CMAP_INFERNO,
    CZ_CMAP_GREY,
} cz_colormap;

/* The colour of t in [0, 1] (clamped; NaN maps to 0). */
cz_rgb cz_colormap_at(cz_colormap map, float t);
/* "viridis", "inferno", "grey" -> *map; false for any other name. */
bool cz_colormap_parse(const char *name, cz_colormap *map);

#endif
