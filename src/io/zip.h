/*
 * zip.h - a read-only zip reader over bytes in memory, enough for the
 * archives torch.save writes (and the same re-zipped by another tool).
 *
 * Entries are found through the end-of-central-directory record (searched
 * over the last 64 KiB + 22 bytes) and the central directory, with ZIP64
 * records and extra fields. Entry data may be stored (method 0, returned
 * in place) or deflated (method 8, inflated into a new buffer, at most
 * cz_max_alloc() bytes); its CRC-32 is checked. Single-disk, unencrypted archives only. Every failure is a
 * one-line CZ_ERR_FORMAT message naming the file and the entry.
 */
#ifndef CZ_ZIP_H
#define CZ_ZIP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cnnzoo.h"

typedef struct cz_zip_entry {
    char *name; /* no NUL or control characters (checked) */
    uint64_t local_offset, comp_size, size;
    uint32_t crc;
    uint16_t method, flags;
} cz_zip_entry;

typedef struct cz_zip {
    const char *name;       /* for messages; borrowed */
    const uint8_t *bytes;   /* the whole archive; borrowed */
    size_t size;
    cz_zip_entry *entries;  /* sorted by name, no duplicates */
    size_t n_entries;
    char *first;            /* the first entry's name in directory order */
} cz_zip;

/* Reads and checks the central directory of bytes[0..size). On failure
 * *z still needs cz_zip_close. */
cz_status cz_zip_open(cz_zip *z, const char *name, const uint8_t *bytes, size_t size);
void cz_zip_close(cz_zip *z);

/* The entry called name, or NULL. */
const cz_zip_entry *cz_zip_find(const cz_zip *z, const char *name);
/* An entry's e->size bytes: in place when stored; inflated into *owned
 * (which the caller frees) when deflated. */
cz_status cz_zip_entry_data(const cz_zip *z, const cz_zip_entry *e, const uint8_t **data,
                            uint8_t **owned);

#endif
