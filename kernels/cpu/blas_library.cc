#include "kernels/cpu/blas_library.h"

#include <dlfcn.h>

#include <cstdlib>

#include "engine/gguf/str_cat.h"

#ifndef CACHEWIRE_OPENBLAS_SONAME
#error "CACHEWIRE_OPENBLAS_SONAME: OpenBLAS's single-threaded library (kernels/CMakeLists.txt)"
#endif

namespace cachewire::kernels {
namespace {

bool SetCoreTypeFromCpu() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  const bool avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
                      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
                      __builtin_cpu_supports("avx512vl");
  const bool avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  const std::string core = CoreTypeFor(avx512, avx2);
  // overwrite = 0: a user's OPENBLAS_CORETYPE stands.
  if (!core.empty()) setenv("OPENBLAS_CORETYPE", core.c_str(), 0);
#endif
  return true;
}

// Before main, while the process has one thread: setenv is not safe beside other threads.
[[maybe_unused]] const bool kCoreTypeSet = SetCoreTypeFromCpu();

absl::StatusOr<BlasLibrary> Open() {
  const char* path = CACHEWIRE_OPENBLAS_SONAME;
  void* handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
  if (handle == nullptr) {
    const char* why = dlerror();
    return absl::FailedPreconditionError(
        gguf::Cat("OpenBLAS: ", path, ": ", why ? why : "cannot be loaded",
                  " (apt-get install libopenblas0-serial)"));
  }
  BlasLibrary blas;
  blas.sgemm = reinterpret_cast<SgemmFn>(dlsym(handle, "cblas_sgemm"));
  auto set_threads = reinterpret_cast<void (*)(int)>(dlsym(handle, "openblas_set_num_threads"));
  auto core_name = reinterpret_cast<char* (*)()>(dlsym(handle, "openblas_get_corename"));
  if (blas.sgemm == nullptr || set_threads == nullptr) {
    return absl::FailedPreconditionError(
        gguf::Cat("OpenBLAS: ", path, ": no symbol ",
                  blas.sgemm ? "openblas_set_num_threads" : "cblas_sgemm"));
  }
  set_threads(1);
  blas.core = core_name != nullptr ? core_name() : "unknown";
  return blas;  // the handle stays open for the process's lifetime
}

}  // namespace

std::string CoreTypeFor(bool avx512_f_cd_bw_dq_vl, bool avx2_fma) {
  if (avx512_f_cd_bw_dq_vl) return "SkylakeX";
  if (avx2_fma) return "Haswell";
  return "";
}

absl::StatusOr<const BlasLibrary*> LoadBlas() {
  static const absl::StatusOr<BlasLibrary>* const blas = new absl::StatusOr<BlasLibrary>(Open());
  if (!blas->ok()) return blas->status();
  return &**blas;
}

}  // namespace cachewire::kernels
