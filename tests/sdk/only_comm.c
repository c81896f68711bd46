/* comm.h compiled alone as C99. */
#include "plinth/comm.h"
