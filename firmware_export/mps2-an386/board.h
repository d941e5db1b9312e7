/* Services startup.c gives main.c. */
#ifndef EC_BOARD_H
#define EC_BOARD_H

#include <stdint.h>

#define STACK_PAINT 0xA5A5A5A5u

void systick_start(void);
uint64_t systick_ticks(void);          /* SysTick clocks since systick_start() */
uint32_t stack_high_water_bytes(void); /* deepest stack use since reset */
uint32_t stack_size_bytes(void);

#endif /* EC_BOARD_H */
