/* Requantization of a conv accumulator, shared by the reference and the fast conv kernels. */
#ifndef EC_CONV_COMMON_H
#define EC_CONV_COMMON_H

#include "ec_fixedpoint.h"
#include "ec_kernels.h"

/* acc already includes the bias. */
static inline int8_t ec_output(const ec_conv_params *p, int32_t acc, int oc)
{
    acc = ec_mbqm(acc, p->mult[oc], p->shift[oc]) + p->out_offset;
    return (int8_t)ec_clamp(acc, p->act_min, p->act_max);
}

static inline int8_t ec_requant(const ec_conv_params *p, int32_t acc, int oc)
{
    return ec_output(p, p->bias != NULL ? acc + p->bias[oc] : acc, oc);
}

#endif /* EC_CONV_COMMON_H */
