// The runtime layer compiled by the host compiler for the emulation target.
#include "runtime.cu"
