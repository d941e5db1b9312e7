/* ARM semihosting through BKPT 0xAB: r0 = operation, r1 = argument. */
#include "semihost.h"

#define SYS_WRITE0 0x04
#define SYS_EXIT 0x18
#define ADP_STOPPED_APPLICATION_EXIT 0x20026
#define ADP_STOPPED_RUN_TIME_ERROR 0x20023

static uint32_t sh_call(uint32_t op, uint32_t arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register uint32_t r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return r0;
}

void sh_puts(const char *s)
{
    sh_call(SYS_WRITE0, (uint32_t)(uintptr_t)s);
}

void sh_put_u32(uint32_t v)
{
    char buf[11];
    int i = 10;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10u);
        v /= 10u;
    } while (v != 0u);
    sh_puts(&buf[i]);
}

void sh_put_kv(const char *key, uint32_t v)
{
    sh_puts(key);
    sh_puts("=");
    sh_put_u32(v);
    sh_puts("\n");
}

void sh_exit(int status)
{
    /* On 32-bit ARM, QEMU maps ApplicationExit to status 0 and any other reason to 1. */
    sh_call(SYS_EXIT, status == 0 ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR);
    for (;;) {
    }
}
