/* bad_plugin.c — plugin libraries that are broken in their descriptor, for
 * the bad-input corpus: BAD_NULL_GET makes plinth_plugin_get() return NULL,
 * BAD_SHORT_PLUGIN returns a descriptor whose struct_size is too small to
 * hold even the ABI version. Nothing else: they provide no working component. */
#include <stddef.h>

#include "plinth/plugin.h"

#if defined(BAD_SHORT_PLUGIN)
static const plinth_plugin g_plugin = {sizeof(size_t),
                                       PLINTH_ABI_MAJOR,
                                       PLINTH_ABI_MINOR,
                                       "bad-short-plugin",
                                       "0.0.1",
                                       NULL,
                                       0,
                                       NULL,
                                       NULL,
                                       NULL};
#endif

PLINTH_EXPORT const plinth_plugin* plinth_plugin_get(void) {
#if defined(BAD_NULL_GET)
  return NULL;
#else
  return &g_plugin;
#endif
}
