#include "CShim.h"
int cshim_placeholder(void) { return 0; }
