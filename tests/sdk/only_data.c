/* data.h compiled alone as C99. */
#include "plinth/data.h"
