/*
 * Shared declarations of the native sha256d nonce search (see consensus/nonce_search.py).
 *
 * A search job is one 76-byte header prefix reduced to what every nonce shares: the SHA-256
 * midstate after the first 64 bytes and the three message words that follow (header bytes
 * 64..75).  Each variant scans nonces in increasing order and reports the first whose
 * sha256d, read as a little-endian 256-bit integer, is <= the target.
 *
 * Pure C99 apart from the x86-64 variants, which are compiled per function with
 * __attribute__((target(...))) so the file set builds without global -m flags.
 */
#ifndef SEEDCHAIN_SHA256D_H
#define SEEDCHAIN_SHA256D_H

#include <stdint.h>

#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
#define SD_HAVE_X86 1
#else
#define SD_HAVE_X86 0
#endif

/* Nonces hashed side by side by the SHA-NI variant: 2 is the minimum that keeps the SHA unit
 * busy; 4 measured ~20% faster than 2 on AMD Zen 5 (more lanes spill xmm registers). */
#ifndef SD_SHANI_LANES
#define SD_SHANI_LANES 4
#endif
#define SD_STR_(x) #x
#define SD_STR(x) SD_STR_(x)
#define SD_SHANI_NAME "sha-ni-" SD_STR(SD_SHANI_LANES) "way"

#if defined(__GNUC__) || defined(__clang__)
#define SD_BSWAP32(x) __builtin_bswap32(x)
#else
#define SD_BSWAP32(x) ((((x) & 0xffu) << 24) | (((x) & 0xff00u) << 8) | \
                       (((x) >> 8) & 0xff00u) | ((x) >> 24))
#endif

typedef struct {
    uint32_t midstate[8]; /* SHA-256 state after compressing header bytes 0..63 */
    uint32_t tail[3];     /* header bytes 64..75 as big-endian words (W0..W2 of block 2) */
    uint32_t target[8];   /* target as little-endian words; target[7] is the most significant */
} sd_job;

/* Scan nonces [start, start + count) (start + count <= 2**32).  Return 1 and store the first
 * nonce meeting the target in *found, or return 0. */
typedef int (*sd_search_fn)(const sd_job *job, uint32_t start, uint64_t count, uint32_t *found);

extern const uint32_t sd_K[64];
extern const uint32_t sd_IV[8];

/* Portable building blocks, also used by the SIMD variants to confirm a candidate. */
void sd_compress(uint32_t state[8], const uint32_t block[16]);
void sd_prepare_job(sd_job *job, const unsigned char header76[76], const unsigned char target[32]);
void sd_hash_nonce(const sd_job *job, uint32_t nonce, uint32_t out[8]);
int sd_meets_target(const uint32_t hash_state[8], const uint32_t target[8]);

int sd_search_portable(const sd_job *job, uint32_t start, uint64_t count, uint32_t *found);
#if SD_HAVE_X86
int sd_cpu_has_shani(void);
int sd_cpu_has_avx512(void);
int sd_search_shani(const sd_job *job, uint32_t start, uint64_t count, uint32_t *found);
int sd_search_avx512(const sd_job *job, uint32_t start, uint64_t count, uint32_t *found);
#endif

#endif
