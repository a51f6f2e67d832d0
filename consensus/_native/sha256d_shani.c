/*
 * sha256d nonce search with the x86 SHA extensions (SHA-NI), several nonces interleaved.
 *
 * sha256rnds2 has a latency of several cycles but can issue more often, so hashing
 * SD_SHANI_LANES (see sha256d.h) independent nonces side by side keeps the SHA unit busy.
 * Every function is compiled with __attribute__((target("sha,sse4.1,ssse3"))): the file needs
 * no -msha flag and is only called after sd_cpu_has_shani() said yes.
 *
 * Per call: the midstate is loaded and shuffled once, and rounds 0-1 of the second block
 * (which only see header bytes 64..71) are done once for every nonce.  Per nonce: the rest of
 * the first hash, then the second hash without its last two rounds, which is enough to know
 * the top 32 bits of the result (H7 = IV7 + h64, and h64 = f62 = e61); only a nonce whose top
 * 32 bits pass the target is rehashed in full by the portable code for the exact 256-bit
 * comparison.
 */
#include "sha256d.h"

#if SD_HAVE_X86

#include <cpuid.h>
#include <immintrin.h>

#define SHANI_INLINE static inline __attribute__((always_inline, target("sha,sse4.1,ssse3")))
#define SHANI_FN __attribute__((target("sha,sse4.1,ssse3")))

int sd_cpu_has_shani(void)
{
    unsigned int a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return 0;
    }
    if (!(c & bit_SSSE3) || !(c & bit_SSE4_1)) {
        return 0;
    }
    if (__get_cpuid_max(0, 0) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 29) & 1; /* CPUID.(EAX=7,ECX=0):EBX.SHA[bit 29] */
}

/* Standard order [A B C D] [E F G H] -> the instruction's order ABEF / CDGH. */
SHANI_INLINE void shuffle_state(__m128i *s0, __m128i *s1)
{
    const __m128i t1 = _mm_shuffle_epi32(*s0, 0xB1);
    const __m128i t2 = _mm_shuffle_epi32(*s1, 0x1B);
    *s0 = _mm_alignr_epi8(t1, t2, 8);
    *s1 = _mm_blend_epi16(t2, t1, 0xF0);
}

/* ABEF / CDGH -> standard order [A B C D] [E F G H]. */
SHANI_INLINE void unshuffle_state(__m128i *s0, __m128i *s1)
{
    const __m128i t1 = _mm_shuffle_epi32(*s0, 0x1B);
    const __m128i t2 = _mm_shuffle_epi32(*s1, 0xB1);
    *s0 = _mm_blend_epi16(t1, t2, 0xF0);
    *s1 = _mm_alignr_epi8(t2, t1, 8);
}

SHANI_INLINE __m128i kvec(int quad)
{
    return _mm_loadu_si128((const __m128i *)(sd_K + 4 * quad));
}

/* Next four message words: W[4q..4q+3] from the four previous groups (ring of 4). */
SHANI_INLINE __m128i next_message(__m128i w4, __m128i w3, __m128i w2, __m128i w1)
{
    __m128i t = _mm_sha256msg1_epu32(w4, w3);
    t = _mm_add_epi32(t, _mm_alignr_epi8(w1, w2, 4));
    return _mm_sha256msg2_epu32(t, w1);
}

/*
 * Quad rounds `first`..15 of one compression for all lanes.  s0/s1 hold ABEF/CDGH;
 * m[lane][0..3] holds the message groups 0..3.  If `stop_early`, the last two rounds are
 * skipped and s1 holds ABEF after rounds 0..61, whose F (lane 0) is e61 = h64.
 */
SHANI_INLINE void compress_lanes(__m128i s0[SD_SHANI_LANES], __m128i s1[SD_SHANI_LANES],
                                 __m128i m[SD_SHANI_LANES][4], int first, int stop_early)
{
    int q, l;
#pragma GCC unroll 16
    for (q = first; q < 16; q++) {
        const __m128i k = kvec(q);
#pragma GCC unroll 8
        for (l = 0; l < SD_SHANI_LANES; l++) {
            __m128i x;
            if (q >= 4) {
                m[l][q & 3] = next_message(m[l][q & 3], m[l][(q + 1) & 3], m[l][(q + 2) & 3],
                                           m[l][(q + 3) & 3]);
            }
            x = _mm_add_epi32(m[l][q & 3], k);
            s1[l] = _mm_sha256rnds2_epu32(s1[l], s0[l], x);
            if (!(stop_early && q == 15)) {
                s0[l] = _mm_sha256rnds2_epu32(s0[l], s1[l], _mm_shuffle_epi32(x, 0x0e));
            }
        }
    }
}

SHANI_FN int sd_search_shani(const sd_job *job, uint32_t start, uint64_t count, uint32_t *found)
{
    __m128i mid0 = _mm_loadu_si128((const __m128i *)job->midstate);
    __m128i mid1 = _mm_loadu_si128((const __m128i *)(job->midstate + 4));
    __m128i iv0 = _mm_loadu_si128((const __m128i *)sd_IV);
    __m128i iv1 = _mm_loadu_si128((const __m128i *)(sd_IV + 4));
    __m128i pre1, first_k, first_hi;
    const __m128i pad1 = _mm_set_epi32(0, 0, 0, (int)0x80000000u);
    const __m128i len1 = _mm_set_epi32(80 * 8, 0, 0, 0);
    const __m128i len2 = _mm_set_epi32(32 * 8, 0, 0, 0);
    const uint32_t target_top = job->target[7];
    const uint32_t iv7 = sd_IV[7];
    uint64_t i;

    shuffle_state(&mid0, &mid1);
    shuffle_state(&iv0, &iv1);

    /* Rounds 0-1 of block 2 see only W0, W1 (header bytes 64..71): the same for every nonce. */
    first_k = _mm_add_epi32(
        _mm_set_epi32(0, (int)job->tail[2], (int)job->tail[1], (int)job->tail[0]), kvec(0));
    pre1 = _mm_sha256rnds2_epu32(mid1, mid0, first_k);
    /* W2 + K2 in lane 0 for rounds 2-3; lane 1 (W3 + K3) is filled per nonce. */
    first_hi = _mm_shuffle_epi32(first_k, 0x0e);

    for (i = 0; i < count; i += SD_SHANI_LANES) {
        __m128i s0[SD_SHANI_LANES], s1[SD_SHANI_LANES], m[SD_SHANI_LANES][4];
        uint32_t top[SD_SHANI_LANES];
        int l;

        /* First hash, block 2: finish quad round 0 here, then quads 1-15. */
#pragma GCC unroll 8
        for (l = 0; l < SD_SHANI_LANES; l++) {
            const uint32_t w3 = SD_BSWAP32(start + (uint32_t)(i + (uint64_t)l));
            __m128i x = _mm_insert_epi32(first_hi, (int)(w3 + sd_K[3]), 1);
            s1[l] = pre1;
            s0[l] = _mm_sha256rnds2_epu32(mid0, pre1, x);
            m[l][0] = _mm_set_epi32((int)w3, (int)job->tail[2], (int)job->tail[1],
                                    (int)job->tail[0]);
            m[l][1] = pad1;
            m[l][2] = _mm_setzero_si128();
            m[l][3] = len1;
        }
        compress_lanes(s0, s1, m, 1, 0);
        /* Second hash: its message is the first hash's state in standard order. */
#pragma GCC unroll 8
        for (l = 0; l < SD_SHANI_LANES; l++) {
            __m128i h0 = _mm_add_epi32(s0[l], mid0);
            __m128i h1 = _mm_add_epi32(s1[l], mid1);
            unshuffle_state(&h0, &h1);
            m[l][0] = h0;
            m[l][1] = h1;
            m[l][2] = pad1;
            m[l][3] = len2;
            s0[l] = iv0;
            s1[l] = iv1;
        }
        compress_lanes(s0, s1, m, 0, 1);
#pragma GCC unroll 8
        for (l = 0; l < SD_SHANI_LANES; l++) {
            top[l] = SD_BSWAP32((uint32_t)_mm_cvtsi128_si32(s1[l]) + iv7);
        }
        for (l = 0; l < SD_SHANI_LANES; l++) {
            if (top[l] <= target_top && i + (uint64_t)l < count) {
                const uint32_t nonce = start + (uint32_t)(i + (uint64_t)l);
                uint32_t out[8];
                sd_hash_nonce(job, nonce, out);
                if (sd_meets_target(out, job->target)) {
                    *found = nonce;
                    return 1;
                }
            }
        }
    }
    return 0;
}

#endif /* SD_HAVE_X86 */
