/* Cortex-M4 startup for QEMU mps2-an386: vector table, .data copy, .bss
 * zeroing, stack painting, SysTick overflow counting, exit via semihosting. */
#include <stdint.h>

#include "board.h"
#include "semihost.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _sstack, _estack;
extern int main(void);

void Reset_Handler(void);
void Fault_Handler(void);
void SysTick_Handler(void);

static volatile uint32_t systick_wraps;

typedef union {
    void (*handler)(void);
    void *stack_top;
} vector_t;

__attribute__((section(".isr_vector"), used)) static const vector_t vectors[16] = {
    {.stack_top = &_estack},
    {.handler = Reset_Handler},
    {.handler = Fault_Handler}, /* NMI */
    {.handler = Fault_Handler}, /* HardFault */
    {.handler = Fault_Handler}, /* MemManage */
    {.handler = Fault_Handler}, /* BusFault */
    {.handler = Fault_Handler}, /* UsageFault */
    {.handler = 0},
    {.handler = 0},
    {.handler = 0},
    {.handler = 0},
    {.handler = Fault_Handler}, /* SVCall */
    {.handler = Fault_Handler}, /* DebugMonitor */
    {.handler = 0},
    {.handler = Fault_Handler}, /* PendSV */
    {.handler = SysTick_Handler},
};

void Fault_Handler(void)
{
    sh_puts("fault\n");
    sh_exit(1);
}

void SysTick_Handler(void)
{
    systick_wraps++;
}

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

void systick_start(void)
{
    volatile uint32_t settle;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* enable, interrupt on wrap, processor clock */
    /* Starting from 0, the counter reloads at once and QEMU raises a wrap
     * interrupt for it; let it arrive, then start counting wraps from zero. */
    for (settle = 0; settle < 1000u; ++settle) {
    }
    systick_wraps = 0;
}

uint64_t systick_ticks(void)
{
    uint32_t wraps, value;
    do {
        wraps = systick_wraps;
        value = SYST_CVR;
    } while (wraps != systick_wraps);
    return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - value);
}

uint32_t stack_high_water_bytes(void)
{
    const uint32_t *p = &_sstack;
    while (p < &_estack && *p == STACK_PAINT) {
        ++p;
    }
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)p);
}

uint32_t stack_size_bytes(void)
{
    return (uint32_t)((uintptr_t)&_estack - (uintptr_t)&_sstack);
}

void Reset_Handler(void)
{
    uint32_t *src = &_sidata, *dst = &_sdata;
    volatile uint32_t here = 0;
    const uintptr_t paint_end = (uintptr_t)&here - 64u; /* leave this frame alone */
#if defined(__ARM_FP)
    /* Built with the FPU on (-mfloat-abi=softfp or hard): grant CP10/CP11 full
     * access before any code runs, or the first VFP instruction (gcc may use
     * VFP registers for integer values too) faults. */
    *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20; /* CPACR */
    __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
    while (dst < &_edata) {
        *dst++ = *src++;
    }
    for (dst = &_sbss; dst < &_ebss; ++dst) {
        *dst = 0;
    }
    /* Paint the stack below this frame; main.c reads back how deep it got. */
    for (dst = &_sstack; (uintptr_t)dst < paint_end; ++dst) {
        *dst = STACK_PAINT;
    }
    sh_exit(main());
}
