/*
 * Portable sha256d nonce search: plain C99, any CPU.  Also the reference the SIMD variants
 * use to confirm a candidate (sd_hash_nonce + sd_meets_target).
 */
#include <string.h>

#include "sha256d.h"

const uint32_t sd_K[64] = {
    0x428a2f98u, 0x71374491u, 0xb5c0fbcfu, 0xe9b5dba5u, 0x3956c25bu, 0x59f111f1u, 0x923f82a4u,
    0xab1c5ed5u, 0xd807aa98u, 0x12835b01u, 0x243185beu, 0x550c7dc3u, 0x72be5d74u, 0x80deb1feu,
    0x9bdc06a7u, 0xc19bf174u, 0xe49b69c1u, 0xefbe4786u, 0x0fc19dc6u, 0x240ca1ccu, 0x2de92c6fu,
    0x4a7484aau, 0x5cb0a9dcu, 0x76f988dau, 0x983e5152u, 0xa831c66du, 0xb00327c8u, 0xbf597fc7u,
    0xc6e00bf3u, 0xd5a79147u, 0x06ca6351u, 0x14292967u, 0x27b70a85u, 0x2e1b2138u, 0x4d2c6dfcu,
    0x53380d13u, 0x650a7354u, 0x766a0abbu, 0x81c2c92eu, 0x92722c85u, 0xa2bfe8a1u, 0xa81a664bu,
    0xc24b8b70u, 0xc76c51a3u, 0xd192e819u, 0xd6990624u, 0xf40e3585u, 0x106aa070u, 0x19a4c116u,
    0x1e376c08u, 0x2748774cu, 0x34b0bcb5u, 0x391c0cb3u, 0x4ed8aa4au, 0x5b9cca4fu, 0x682e6ff3u,
    0x748f82eeu, 0x78a5636fu, 0x84c87814u, 0x8cc70208u, 0x90befffau, 0xa4506cebu, 0xbef9a3f7u,
    0xc67178f2u,
};

const uint32_t sd_IV[8] = {
    0x6a09e667u, 0xbb67ae85u, 0x3c6ef372u, 0xa54ff53au,
    0x510e527fu, 0x9b05688cu, 0x1f83d9abu, 0x5be0cd19u,
};

#define ROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))
#define BSIG0(x) (ROTR(x, 2) ^ ROTR(x, 13) ^ ROTR(x, 22))
#define BSIG1(x) (ROTR(x, 6) ^ ROTR(x, 11) ^ ROTR(x, 25))
#define SSIG0(x) (ROTR(x, 7) ^ ROTR(x, 18) ^ ((x) >> 3))
#define SSIG1(x) (ROTR(x, 17) ^ ROTR(x, 19) ^ ((x) >> 10))
#define CH(x, y, z) ((z) ^ ((x) & ((y) ^ (z))))
#define MAJ(x, y, z) (((x) & (y)) | ((z) & ((x) | (y))))

static uint32_t load_be32(const unsigned char *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static uint32_t load_le32(const unsigned char *p)
{
    return ((uint32_t)p[3] << 24) | ((uint32_t)p[2] << 16) | ((uint32_t)p[1] << 8) | p[0];
}

void sd_compress(uint32_t state[8], const uint32_t block[16])
{
    uint32_t w[64];
    uint32_t a = state[0], b = state[1], c = state[2], d = state[3];
    uint32_t e = state[4], f = state[5], g = state[6], h = state[7];
    int i;

    memcpy(w, block, 16 * sizeof(uint32_t));
    for (i = 16; i < 64; i++) {
        w[i] = SSIG1(w[i - 2]) + w[i - 7] + SSIG0(w[i - 15]) + w[i - 16];
    }
    for (i = 0; i < 64; i++) {
        uint32_t t1 = h + BSIG1(e) + CH(e, f, g) + sd_K[i] + w[i];
        uint32_t t2 = BSIG0(a) + MAJ(a, b, c);
        h = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = b;
        b = a;
        a = t1 + t2;
    }
    state[0] += a;
    state[1] += b;
    state[2] += c;
    state[3] += d;
    state[4] += e;
    state[5] += f;
    state[6] += g;
    state[7] += h;
}

void sd_prepare_job(sd_job *job, const unsigned char header76[76], const unsigned char target[32])
{
    uint32_t block[16];
    int i;

    for (i = 0; i < 16; i++) {
        block[i] = load_be32(header76 + 4 * i);
    }
    memcpy(job->midstate, sd_IV, sizeof(sd_IV));
    sd_compress(job->midstate, block);
    for (i = 0; i < 3; i++) {
        job->tail[i] = load_be32(header76 + 64 + 4 * i);
    }
    for (i = 0; i < 8; i++) {
        job->target[i] = load_le32(target + 4 * i);
    }
}

void sd_hash_nonce(const sd_job *job, uint32_t nonce, uint32_t out[8])
{
    uint32_t block[16] = {0};
    uint32_t state[8];
    int i;

    block[0] = job->tail[0];
    block[1] = job->tail[1];
    block[2] = job->tail[2];
    block[3] = SD_BSWAP32(nonce); /* the nonce is stored little-endian; SHA-256 reads big-endian */
    block[4] = 0x80000000u;
    block[15] = 80 * 8;
    memcpy(state, job->midstate, sizeof(state));
    sd_compress(state, block);

    for (i = 0; i < 8; i++) {
        block[i] = state[i];
    }
    block[8] = 0x80000000u;
    for (i = 9; i < 15; i++) {
        block[i] = 0;
    }
    block[15] = 32 * 8;
    memcpy(out, sd_IV, sizeof(sd_IV));
    sd_compress(out, block);
}

/* The digest's bytes are the state words big-endian; as a little-endian integer its word k
 * (bits 32k..32k+31) is therefore bswap(state[k]). */
int sd_meets_target(const uint32_t hash_state[8], const uint32_t target[8])
{
    int k;
    for (k = 7; k >= 0; k--) {
        uint32_t v = SD_BSWAP32(hash_state[k]);
        if (v != target[k]) {
            return v < target[k];
        }
    }
    return 1;
}

int sd_search_portable(const sd_job *job, uint32_t start, uint64_t count, uint32_t *found)
{
    uint64_t i;
    uint32_t out[8];

    for (i = 0; i < count; i++) {
        uint32_t nonce = start + (uint32_t)i;
        sd_hash_nonce(job, nonce, out);
        /* early reject on the top 32 bits before the full 256-bit compare */
        if (SD_BSWAP32(out[7]) > job->target[7]) {
            continue;
        }
        if (sd_meets_target(out, job->target)) {
            *found = nonce;
            return 1;
        }
    }
    return 0;
}
