// The kernels compiled by the host compiler for the emulation target (gpu_port.hpp).
#include "kernels.cu"
