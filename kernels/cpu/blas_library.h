// OpenBLAS, loaded at first use, with kernels this CPU can run at its full width.
//
// OpenBLAS (Debian 12's 0.3.21, built for every x86 core) picks its kernels once, in its
// load-time constructor, from the CPU's family and model numbers, and reads OPENBLAS_CORETYPE
// there to be told otherwise. A CPU newer than the release is unknown to it: an AVX-512 Xeon
// that names itself "Intel(R) Xeon(R) Processor" gets the Prescott (SSE3) kernels, 6x slower at
// SGEMM than the SkylakeX ones it can run (bench/RESULTS.md, section "adapter"). Linked at build
// time, the library would be initialised before any code of ours runs; so it is dlopen'ed, and
// when the user has not set OPENBLAS_CORETYPE it is set from cpuid first, during static
// initialisation (single-threaded): SkylakeX with AVX-512 F, CD, BW, DQ and VL; Haswell with
// AVX2 and FMA; otherwise OpenBLAS's own choice.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace cachewire::kernels {

// cblas_sgemm's arguments (cblas.h enums passed as their int values).
using SgemmFn = void (*)(int order, int trans_a, int trans_b, int m, int n, int k, float alpha,
                         const float* a, int lda, const float* b, int ldb, float beta, float* c,
                         int ldc);

struct BlasLibrary {
  SgemmFn sgemm = nullptr;
  std::string core;  // the kernels OpenBLAS took (openblas_get_corename)
};

// Loaded once, on the first call from any thread, then pinned to one BLAS thread (the engine
// runs its own). FailedPrecondition naming the file and the loader's message when it cannot be
// loaded or lacks a symbol.
absl::StatusOr<const BlasLibrary*> LoadBlas();

// The OPENBLAS_CORETYPE this file sets for a CPU with these features ("" for none).
std::string CoreTypeFor(bool avx512_f_cd_bw_dq_vl, bool avx2_fma);

}  // namespace cachewire::kernels
