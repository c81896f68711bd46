/* backend.h compiled alone as C99. */
#include "plinth/backend.h"
