/* plugin.h compiled alone as C99. */
#include "plinth/plugin.h"
