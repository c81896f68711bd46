/*
 * headers_c.c — every SDK header compiled as C99 (-std=c99 -pedantic
 * -Wall -Wextra -Werror), each on its own first so it includes what it
 * needs, then all together. Running it checks two layout facts a C
 * compiler must agree on with the C++ core.
 */
#include "plinth/backend.h"
#include "plinth/comm.h"
#include "plinth/data.h"
#include "plinth/optimizer.h"
#include "plinth/plugin.h"
#include "plinth/plugin.h" /* include guards: a second include is harmless */

int plinth_abi_baseline_checked(void);

int main(void) {
  plinth_plugin p;
  p.struct_size = PLINTH_PLUGIN_STRUCT_SIZE;
  if (p.struct_size != sizeof(plinth_plugin)) return 1;
  if (PLINTH_OP_COUNT_V1 != 25 || PLINTH_OP_COUNT_V1_1 != 29 || PLINTH_OP_COUNT_V1_2 != 33 ||
      PLINTH_DTYPE_COUNT_V1 != 8)
    return 1;
  return plinth_abi_baseline_checked() ? 0 : 1;
}
