/* Runs the generated engine on the embedded test images, checks every
 * output against the host engine's, and reports instruction counts and the
 * stack high-water mark over semihosting. Exit status 0 only if all match.
 *
 * model_glue.h and test_data.h are written by edgecnn (edgecnn.codegen.qemu). */
#include <stdint.h>
#include <string.h>

#include "board.h"
#include "model_glue.h"
#include "semihost.h"
#include "test_data.h"

#ifdef EC_PROFILE_LAYERS
/* Built with -DEC_PROFILE_LAYERS (engine and firmware), invoke() calls this
 * after each kernel call: the ticks since the previous call are that layer's. */
#define EC_MAX_LAYERS 64
static uint64_t layer_ticks[EC_MAX_LAYERS];
static uint64_t layer_t0;

void ec_layer_done(int index);
void ec_layer_done(int index)
{
    const uint64_t t = systick_ticks();
    if (index >= 0 && index < EC_MAX_LAYERS) {
        layer_ticks[index] += t - layer_t0;
    }
    layer_t0 = systick_ticks(); /* the hook's own instructions are left out */
}

static void report_layers(uint64_t num, uint64_t den)
{
    int i;
    for (i = 0; i < EC_MAX_LAYERS; ++i) {
        if (layer_ticks[i] != 0u) {
            sh_puts("layer ");
            sh_put_u32((uint32_t)i);
            sh_puts(" instructions=");
            sh_put_u32((uint32_t)(layer_ticks[i] * num / den / TEST_COUNT));
            sh_puts("\n");
        }
    }
}
#endif

#ifdef EC_CYCLE_TRACE
/* Built with -DEC_CYCLE_TRACE (edgecnn.codegen.cycles): QEMU's executed-block
 * log is counted between the blocks of these two functions. */
void ec_trace_begin(void) __attribute__((noinline));
void ec_trace_end(void) __attribute__((noinline));
void ec_trace_begin(void) { __asm__ volatile(""); }
void ec_trace_end(void) { __asm__ volatile(""); }
#define EC_TRACE_BEGIN() ec_trace_begin()
#define EC_TRACE_END() ec_trace_end()
#else
#define EC_TRACE_BEGIN() ((void)0)
#define EC_TRACE_END() ((void)0)
#endif

#ifndef EC_CYCLE_TRACE
/* 2 * n instructions (subs + bne per iteration). */
static void spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n\tbne 1b" : "+r"(n) : : "cc");
}

/* Instructions per SysTick clock, measured, as a fraction num / den. */
static void calibrate(uint64_t *num, uint64_t *den)
{
    uint64_t t0, t1, t2;
    t0 = systick_ticks();
    spin(5000000u);
    t1 = systick_ticks();
    spin(10000000u);
    t2 = systick_ticks();
    /* The second loop runs 10,000,000 more instructions than the first; the
     * difference cancels the call overhead, and the count keeps the +-1 tick
     * quantization below 1e-5. */
    *num = 10000000u;
    *den = (t2 - t1) - (t1 - t0);
}
#endif

int main(void)
{
    static int8_t output[EC_OUTPUT_SIZE];
    uint64_t num, den, total = 0, lo = UINT64_MAX, hi = 0;
    uint32_t i, mismatches = 0;
    systick_start();
#ifdef EC_CYCLE_TRACE
    num = den = 1u; /* the trace counts; no calibration loop to log */
#else
    calibrate(&num, &den);
#endif
    sh_puts("edgecnn C engine on Cortex-M4 (QEMU mps2-an386)\n");
    sh_put_kv("calibration_instructions", (uint32_t)num);
    sh_put_kv("calibration_ticks", (uint32_t)den);
    for (i = 0; i < TEST_COUNT; ++i) {
        const uint64_t t0 = systick_ticks();
        uint64_t n;
        int pred, same;
#ifdef EC_PROFILE_LAYERS
        layer_t0 = t0;
#endif
        EC_TRACE_BEGIN();
        EC_INVOKE(&test_images[i * EC_INPUT_SIZE], output);
        EC_TRACE_END();
        n = (systick_ticks() - t0) * num / den;
        total += n;
        lo = n < lo ? n : lo;
        hi = n > hi ? n : hi;
        pred = EC_TOP1(output);
        same = memcmp(output, &test_outputs[i * EC_OUTPUT_SIZE], EC_OUTPUT_SIZE) == 0;
        sh_puts("image ");
        sh_put_u32(i);
        sh_puts(": predicted ");
        sh_put_u32((uint32_t)pred);
        sh_puts(" host ");
        sh_put_u32(test_labels[i]);
        sh_puts(same && pred == test_labels[i] ? " ok\n" : " MISMATCH\n");
        mismatches += (same && pred == test_labels[i]) ? 0u : 1u;
    }
    sh_put_kv("images", TEST_COUNT);
    sh_put_kv("mismatches", mismatches);
    sh_put_kv("instructions_per_inference", (uint32_t)(total / TEST_COUNT));
    sh_put_kv("instructions_min", (uint32_t)lo);
    sh_put_kv("instructions_max", (uint32_t)hi);
    sh_put_kv("macs", EC_MACS);
#if EC_MACS > 0 /* a model of pools and elementwise ops only has no MACs */
    sh_put_kv("instructions_per_mac_x1000", (uint32_t)(total * 1000u / TEST_COUNT / EC_MACS));
#endif
#ifdef EC_PROFILE_LAYERS
    report_layers(num, den);
#endif
    sh_put_kv("stack_bytes_used", stack_high_water_bytes());
    sh_put_kv("stack_bytes_reserved", stack_size_bytes());
    sh_puts(mismatches == 0 ? "result=PASS\n" : "result=FAIL\n");
    return mismatches == 0 ? 0 : 1;
}
