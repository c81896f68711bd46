/* pc.c — the SDK headers through plinth.pc's Cflags, as plain C99. */
#include <plinth/backend.h>
#include <plinth/comm.h>
#include <plinth/data.h>
#include <plinth/optimizer.h>
#include <stdio.h>

int main(void) {
  printf("ABI %d.%d, backend table %u bytes\n", PLINTH_ABI_MAJOR, PLINTH_ABI_MINOR,
         (unsigned)PLINTH_BACKEND_V1_STRUCT_SIZE);
  return 0;
}
