// simd.cpp — builds the kernels of simd_kernels.inc three times (AVX-512,
// AVX2, baseline x86-64) and picks one once, at load, with
// __builtin_cpu_supports, so the plugin runs on any x86-64. Compiled with
// -ffp-contract=off (see CMakeLists.txt) so the variants agree bit for bit.
#include <cstdlib>

#include "../cpu_backend.hpp"

namespace plinth::cpu {

#if defined(__x86_64__) && defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx2,fma,f16c")
namespace k_avx512 {
#define PLINTH_ATT_VB 64  // attention_kernels.inc: vector bytes
#include "exp_poly.inc"   // first: the kernels below call it

#include "attention_kernels.inc"
#include "simd_kernels.inc"
}  // namespace k_avx512
#pragma GCC pop_options

#pragma GCC push_options
#pragma GCC target("avx2,fma,f16c")
namespace k_avx2 {
#define PLINTH_ATT_VB 32  // attention_kernels.inc: vector bytes
#include "exp_poly.inc"   // first: the kernels below call it

#include "attention_kernels.inc"
#include "simd_kernels.inc"
}  // namespace k_avx2
#pragma GCC pop_options
#define PLINTH_CPU_HAVE_VARIANTS 1
#endif

namespace k_base {
#define PLINTH_ATT_VB 16  // attention_kernels.inc: vector bytes
#include "exp_poly.inc"   // first: the kernels below call it

#include "attention_kernels.inc"
#include "simd_kernels.inc"
}  // namespace k_base

namespace {

#define PLINTH_KERNEL_SET(ns, name)                                                                       \
  simd_kernels {                                                                                          \
    name, ns::binary, ns::axpby, ns::affine, ns::gelu_tanh, ns::gelu_tanh_backward, ns::relu_backward,    \
        ns::sum_squares, ns::all_finite, ns::adamw, ns::to_bf16, ns::from_bf16, ns::to_f16, ns::from_f16, \
        ns::attention_forward, ns::attention_backward, ns::silu, ns::silu_backward, ns::sign, ns::select, \
        ns::lion                                                                                          \
  }

// PLINTH_CPU_ISA=x86-64|avx2 forces a narrower variant (tests compare them).
simd_kernels pick() {
#ifdef PLINTH_CPU_HAVE_VARIANTS
  __builtin_cpu_init();
  const char* force = std::getenv("PLINTH_CPU_ISA");
  const std::string want = force ? force : "";
  if (want == "x86-64") return PLINTH_KERNEL_SET(k_base, "x86-64");
  if (want != "avx2" && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("f16c"))
    return PLINTH_KERNEL_SET(k_avx512, "AVX-512");
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
    return PLINTH_KERNEL_SET(k_avx2, "AVX2");
#endif
  return PLINTH_KERNEL_SET(k_base, "x86-64");
}

}  // namespace

const simd_kernels& kernels() {
  static const simd_kernels k = pick();
  return k;
}

}  // namespace plinth::cpu
