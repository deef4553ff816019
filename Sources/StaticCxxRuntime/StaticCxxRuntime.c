// SPDX-License-Identifier: MIT
#include "StaticCxxRuntime.h"

// The Swift runtime refers to __cxa_pure_virtual weakly, and a weak reference does not
// pull a member out of an archive: this strong one takes it from libstdc++.a too, so
// that nothing in gsendmail binds to libstdc++.so.
extern void __cxa_pure_virtual(void);
void (*const gs_cxa_pure_virtual)(void) = __cxa_pure_virtual;
