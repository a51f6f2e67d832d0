/*
 * sha256d nonce search on AVX-512F: sixteen nonces, one per 32-bit lane of a zmm register.
 *
 * Compiled per function with __attribute__((target("avx512f"))) and only called after
 * sd_cpu_has_avx512() said yes (CPU flag and OS support for the zmm state).
 *
 * What is shared by the sixteen lanes is done once per call: rounds 0-2 of the second block
 * (they see only header bytes 64..75).  Lanes cover 16 consecutive nonces from a base that is
 * a multiple of 16, so the byte-swapped nonce word is bswap(base) + (lane << 24) and needs no
 * shuffle.  The second hash stops after round 61 (H7 = IV7 + e61); lanes whose top 32 bits
 * pass the target are rehashed in full by the portable code, lowest nonce first.
 */
#include "sha256d.h"

#if SD_HAVE_X86

#include <cpuid.h>
#include <immintrin.h>

#define AVX512_FN __attribute__((target("avx512f")))

int sd_cpu_has_avx512(void)
{
    unsigned int a, b, c, d, xcr0_lo, xcr0_hi;
    if (!__get_cpuid(1, &a, &b, &c, &d)) {
        return 0;
    }
    if (!(c & bit_OSXSAVE)) {
        return 0;
    }
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    /* the OS saves SSE, AVX, opmask, ZMM_Hi256 and Hi16_ZMM state */
    if ((xcr0_lo & 0xE6u) != 0xE6u) {
        return 0;
    }
    if (__get_cpuid_max(0, 0) < 7) {
        return 0;
    }
    __cpuid_count(7, 0, a, b, c, d);
    return (b >> 16) & 1; /* AVX512F */
}

typedef __m512i V;

#define ADD(x, y) _mm512_add_epi32((x), (y))
#define SET1(x) _mm512_set1_epi32((int)(x))
#define ROR(x, n) _mm512_ror_epi32((x), (n))
#define XOR3(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0x96)
#define VCH(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0xCA)
#define VMAJ(x, y, z) _mm512_ternarylogic_epi32((x), (y), (z), 0xE8)
#define VBSIG0(x) XOR3(ROR((x), 2), ROR((x), 13), ROR((x), 22))
#define VBSIG1(x) XOR3(ROR((x), 6), ROR((x), 11), ROR((x), 25))
#define VSSIG0(x) XOR3(ROR((x), 7), ROR((x), 18), _mm512_srli_epi32((x), 3))
#define VSSIG1(x) XOR3(ROR((x), 17), ROR((x), 19), _mm512_srli_epi32((x), 10))

/* State slots rotate instead of moving: in round i, a is s[(0 - i) & 7], b s[(1 - i) & 7]... */
#define SA(i) s[(0 - (i)) & 7]
#define SB(i) s[(1 - (i)) & 7]
#define SC(i) s[(2 - (i)) & 7]
#define SD(i) s[(3 - (i)) & 7]
#define SE(i) s[(4 - (i)) & 7]
#define SF(i) s[(5 - (i)) & 7]
#define SG(i) s[(6 - (i)) & 7]
#define SH(i) s[(7 - (i)) & 7]

#define VROUND(i, kw)                                                                  \
    do {                                                                               \
        const V t1_ = ADD(ADD(SH(i), VBSIG1(SE(i))), ADD(VCH(SE(i), SF(i), SG(i)), (kw))); \
        SD(i) = ADD(SD(i), t1_);                                                       \
        SH(i) = ADD(t1_, ADD(VBSIG0(SA(i)), VMAJ(SA(i), SB(i), SC(i))));               \
    } while (0)

/* W[i] for i >= 16 in a ring of 16. */
#define VSCHEDULE(w, i)                                                                  \
    ((w)[(i) & 15] = ADD(ADD(VSSIG1((w)[((i) - 2) & 15]), (w)[((i) - 7) & 15]),           \
                         ADD(VSSIG0((w)[((i) - 15) & 15]), (w)[(i) & 15])))

#define SROTR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

AVX512_FN int sd_search_avx512(const sd_job *job, uint32_t start, uint64_t count, uint32_t *found)
{
    const uint64_t end = (uint64_t)start + count;
    const V lane_hi = _mm512_set_epi32(15 << 24, 14 << 24, 13 << 24, 12 << 24, 11 << 24,
                                       10 << 24, 9 << 24, 8 << 24, 7 << 24, 6 << 24, 5 << 24,
                                       4 << 24, 3 << 24, 2 << 24, 1 << 24, 0);
    const V lane_index = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
    const V byte_mask = SET1(0xFF00FF00u);
    const V target_top = SET1(job->target[7]);
    uint32_t pre[8];
    uint64_t base;
    int i;

    if (count == 0) {
        return 0;
    }
    /* Rounds 0-2 of block 2 (W0..W2 = header bytes 64..75), scalar, once per call. */
    for (i = 0; i < 8; i++) {
        pre[i] = job->midstate[i];
    }
    for (i = 0; i < 3; i++) {
        const uint32_t a = pre[0], b = pre[1], c = pre[2], e = pre[4], f = pre[5], g = pre[6];
        const uint32_t t1 = pre[7] + (SROTR(e, 6) ^ SROTR(e, 11) ^ SROTR(e, 25)) +
                            (g ^ (e & (f ^ g))) + sd_K[i] + job->tail[i];
        const uint32_t t2 = (SROTR(a, 2) ^ SROTR(a, 13) ^ SROTR(a, 22)) +
                            ((a & b) | (c & (a | b)));
        pre[7] = g;
        pre[6] = f;
        pre[5] = e;
        pre[4] = pre[3] + t1;
        pre[3] = c;
        pre[2] = b;
        pre[1] = a;
        pre[0] = t1 + t2;
    }

    for (base = start & ~(uint64_t)15; base < end; base += 16) {
        V s[8], w[16], h1[8], top;
        __mmask16 candidates;

        /* ---- first hash, block 2, from round 3 ---- */
        /* The state after round 2 sits in the slots round 3 expects: a = s[(0-3)&7] = s[5]. */
        for (i = 0; i < 8; i++) {
            s[(i - 3) & 7] = SET1(pre[i]);
        }
        w[0] = SET1(job->tail[0]);
        w[1] = SET1(job->tail[1]);
        w[2] = SET1(job->tail[2]);
        w[3] = ADD(SET1(SD_BSWAP32((uint32_t)base)), lane_hi);
        w[4] = SET1(0x80000000u);
        for (i = 5; i < 15; i++) {
            w[i] = _mm512_setzero_si512();
        }
        w[15] = SET1(80 * 8);
        VROUND(3, ADD(w[3], SET1(sd_K[3])));
#pragma GCC unroll 16
        for (i = 4; i < 16; i++) {
            VROUND(i, ADD(w[i], SET1(sd_K[i])));
        }
#pragma GCC unroll 48
        for (i = 16; i < 64; i++) {
            VSCHEDULE(w, i);
            VROUND(i, ADD(w[i & 15], SET1(sd_K[i])));
        }
        /* after 64 rounds the slots are back in place: a = s[0] ... h = s[7] */
        for (i = 0; i < 8; i++) {
            h1[i] = ADD(s[i], SET1(job->midstate[i]));
        }

        /* ---- second hash of the 32-byte digest, up to round 61 ---- */
        for (i = 0; i < 8; i++) {
            w[i] = h1[i];
            s[i] = SET1(sd_IV[i]);
        }
        w[8] = SET1(0x80000000u);
        for (i = 9; i < 15; i++) {
            w[i] = _mm512_setzero_si512();
        }
        w[15] = SET1(32 * 8);
#pragma GCC unroll 16
        for (i = 0; i < 16; i++) {
            VROUND(i, ADD(w[i], SET1(sd_K[i])));
        }
#pragma GCC unroll 45
        for (i = 16; i < 61; i++) {
            VSCHEDULE(w, i);
            VROUND(i, ADD(w[i & 15], SET1(sd_K[i])));
        }
        /* H7 = IV7 + h64 and h64 = e61, which round 60 just wrote into SE(61). */
        top = ADD(SE(61), SET1(sd_IV[7]));
        /* byte swap each lane: bytes 3,1 from rotr 8, bytes 2,0 from rotl 8 */
        top = VCH(byte_mask, _mm512_ror_epi32(top, 8), _mm512_rol_epi32(top, 8));
        candidates = _mm512_cmple_epu32_mask(top, target_top);
        if (candidates) {
            /* keep only lanes inside [start, end) */
            const V nonces = ADD(SET1((uint32_t)base), lane_index);
            __mmask16 valid = 0xFFFF;
            if (base < start) {
                valid &= _mm512_cmpge_epu32_mask(nonces, SET1(start));
            }
            if (end - base < 16) {
                valid &= (__mmask16)((1u << (unsigned)(end - base)) - 1u);
            }
            candidates &= valid;
            while (candidates) {
                const unsigned lane = (unsigned)__builtin_ctz(candidates);
                const uint32_t nonce = (uint32_t)base + lane;
                uint32_t out[8];
                sd_hash_nonce(job, nonce, out);
                if (sd_meets_target(out, job->target)) {
                    *found = nonce;
                    return 1;
                }
                candidates &= (__mmask16)(candidates - 1);
            }
        }
    }
    return 0;
}

#endif /* SD_HAVE_X86 */
