/* optimizer.h compiled alone as C99. */
#include "plinth/optimizer.h"
