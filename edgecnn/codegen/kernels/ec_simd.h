/* The DSP-extension instructions the SIMD kernels use, and a C
 * emulation of them for host tests.
 *
 * On cores with the DSP extension (Cortex-M4, M7, M33, M55; __ARM_FEATURE_DSP)
 * they are the instructions, unless built with -DEC_NO_SIMD. Built with
 * -DEC_SIMD_EMULATE on any other compiler, the same kernels run on exact C
 * models of them, so the host tests exercise every SIMD code path against the
 * reference kernels. EC_SIMD is defined when either is in use.
 *
 * The SIMD kernels load words (LDR) from rows that need not start on a word
 * (a 3-byte kernel row of a 1-channel image, weight rows of 27 taps), which
 * the M3/M4/M7/M33/M55 allow unless CCR.UNALIGN_TRP is set: firmware that
 * sets it, or keeps the arena in memory that cannot take unaligned accesses,
 * builds with -DEC_NO_SIMD. (Not keyed on __ARM_FEATURE_UNALIGNED: clang
 * leaves it undefined for arm-none-eabi by default.)
 */
#ifndef EC_SIMD_H
#define EC_SIMD_H

#include <stdint.h>
#include <string.h>

#if !defined(EC_REFERENCE_KERNELS) && !defined(EC_NO_SIMD) && defined(__ARM_FEATURE_DSP)
#define EC_SIMD 1

/* (sign-extended byte 2, sign-extended byte 0) as two int16 halves. */
static inline uint32_t ec_sxtb16(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1" : "=r"(r) : "r"(v));
    return r;
}

/* (byte 3, byte 1), sign-extended to two int16 halves. */
static inline uint32_t ec_sxtb16_ror8(uint32_t v)
{
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(v));
    return r;
}

/* acc + lo(a) * lo(b) + hi(a) * hi(b), int16 halves, int32 wrap-around. */
static inline int32_t ec_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlad %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

/* (a * b + 2^31) >> 32: the high word of the product, rounded. */
static inline int32_t ec_smmulr(int32_t a, int32_t b)
{
    int32_t r;
    __asm__("smmulr %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* v saturated to [-128, 127]. */
static inline int32_t ec_ssat8(int32_t v)
{
    int32_t r;
    __asm__("ssat %0, #8, %1" : "=r"(r) : "r"(v) : "cc");
    return r;
}

/* Halfwise a + b (int16 wrap-around). */
static inline uint32_t ec_sadd16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sadd16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b) : "cc");
    return r;
}

/* Halfwise a + (sign-extended bytes 2, 0 of b); the same with bytes 3, 1 (ror 8). */
static inline uint32_t ec_sxtab16(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

static inline uint32_t ec_sxtab16_ror8(uint32_t a, uint32_t b)
{
    uint32_t r;
    __asm__("sxtab16 %0, %1, %2, ror #8" : "=r"(r) : "r"(a), "r"(b));
    return r;
}

/* acc + lo(a) * lo(b); acc + hi(a) * hi(b). */
static inline int32_t ec_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlabb %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

static inline int32_t ec_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    int32_t r;
    __asm__("smlatt %0, %1, %2, %3" : "=r"(r) : "r"(a), "r"(b), "r"(acc));
    return r;
}

#elif !defined(EC_REFERENCE_KERNELS) && defined(EC_SIMD_EMULATE)
#define EC_SIMD 1

static inline uint32_t ec_half16(int32_t v)
{
    return (uint32_t)(uint16_t)(int16_t)v;
}

static inline uint32_t ec_sxtb16(uint32_t v)
{
    return ec_half16((int8_t)(uint8_t)v) | (ec_half16((int8_t)(uint8_t)(v >> 16)) << 16);
}

static inline uint32_t ec_sxtb16_ror8(uint32_t v)
{
    return ec_sxtb16((v >> 8) | (v << 24));
}

static inline int32_t ec_smlad(uint32_t a, uint32_t b, int32_t acc)
{
    const int32_t lo = (int32_t)(int16_t)(uint16_t)a * (int16_t)(uint16_t)b;
    const int32_t hi = (int32_t)(int16_t)(uint16_t)(a >> 16) * (int16_t)(uint16_t)(b >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi);
}

static inline int32_t ec_smmulr(int32_t a, int32_t b)
{
    return (int32_t)(((int64_t)a * b + ((int64_t)1 << 31)) >> 32);
}

static inline int32_t ec_ssat8(int32_t v)
{
    return v < -128 ? -128 : (v > 127 ? 127 : v);
}

static inline uint32_t ec_sadd16(uint32_t a, uint32_t b)
{
    return ec_half16((int16_t)(uint16_t)a + (int16_t)(uint16_t)b)
           | (ec_half16((int16_t)(uint16_t)(a >> 16) + (int16_t)(uint16_t)(b >> 16)) << 16);
}

static inline int32_t ec_smlabb(uint32_t a, uint32_t b, int32_t acc)
{
    return (int32_t)((uint32_t)acc + (uint32_t)((int32_t)(int16_t)(uint16_t)a * (int16_t)(uint16_t)b));
}

static inline int32_t ec_smlatt(uint32_t a, uint32_t b, int32_t acc)
{
    return ec_smlabb(a >> 16, b >> 16, acc);
}

static inline uint32_t ec_sxtab16(uint32_t a, uint32_t b)
{
    return ec_sadd16(a, ec_sxtb16(b));
}

static inline uint32_t ec_sxtab16_ror8(uint32_t a, uint32_t b)
{
    return ec_sadd16(a, ec_sxtb16_ror8(b));
}
#endif

#ifdef EC_SIMD
#if defined(__GNUC__)
#define EC_ALWAYS_INLINE static inline __attribute__((always_inline))
#else
#define EC_ALWAYS_INLINE static inline
#endif

/* Four int8 values as one word (an unaligned LDR on Cortex-M4). */
static inline uint32_t ec_load4(const int8_t *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
#endif

#endif /* EC_SIMD_H */
