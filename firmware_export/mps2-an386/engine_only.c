/* The smallest program that keeps the whole engine: its flash size is the
 * model's footprint (code + weights), without test images or reporting. */
#include <stdint.h>

#include "model_glue.h"

static int8_t input[EC_INPUT_SIZE];
static int8_t output[EC_OUTPUT_SIZE];

int main(void)
{
    return EC_INVOKE(input, output) == 0 ? EC_TOP1(output) : -1;
}

#ifdef EC_PROFILE_LAYERS
void ec_layer_done(int index);
void ec_layer_done(int index)
{
    (void)index; /* profiled builds time layers in main.c; here only the link matters */
}
#endif
