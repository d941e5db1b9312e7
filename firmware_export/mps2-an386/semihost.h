/* Minimal ARM semihosting (QEMU -semihosting): write strings, exit with a status. */
#ifndef EC_SEMIHOST_H
#define EC_SEMIHOST_H

#include <stdint.h>

void sh_puts(const char *s);                /* no newline added */
void sh_put_u32(uint32_t v);                /* decimal */
void sh_put_kv(const char *key, uint32_t v); /* "key=v\n" */
void sh_exit(int status) __attribute__((noreturn));

#endif /* EC_SEMIHOST_H */
