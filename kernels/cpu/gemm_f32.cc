// GemmF32 (see kernels/gemm_f32.h) over OpenBLAS's cblas_sgemm (blas_library.h loads it).
#include "kernels/gemm_f32.h"

#include <cblas.h>

#include <climits>

#include "engine/common/status_macros.h"
#include "engine/gguf/str_cat.h"
#include "kernels/cpu/blas_library.h"

namespace cachewire::kernels {
namespace {

absl::Status Invalid(std::string_view field, std::string_view why) {
  return absl::InvalidArgumentError(gguf::Cat("gemm_f32: ", field, ": ", why));
}

absl::Status CheckArgs(const GemmF32Args& g) {
  for (auto [name, v] : {std::pair{"m", g.m}, {"n", g.n}, {"k", g.k}}) {
    if (v < 0) return Invalid(name, gguf::Cat(v, " is negative"));
    if (v > INT_MAX) return Invalid(name, gguf::Cat(v, " exceeds the BLAS interface's int"));
  }
  const int64_t a_cols = g.trans_a ? g.m : g.k, b_cols = g.trans_b ? g.k : g.n;
  if (g.lda < a_cols || g.lda > INT_MAX) {
    return Invalid("lda", gguf::Cat(g.lda, " is not a row stride of A (", a_cols, " columns)"));
  }
  if (g.ldb < b_cols || g.ldb > INT_MAX) {
    return Invalid("ldb", gguf::Cat(g.ldb, " is not a row stride of B (", b_cols, " columns)"));
  }
  if (g.ldc < g.n || g.ldc > INT_MAX) {
    return Invalid("ldc", gguf::Cat(g.ldc, " is not a row stride of C (", g.n, " columns)"));
  }
  if (g.m > 0 && g.n > 0) {
    if (g.c == nullptr) return Invalid("c", "null");
    if (g.k > 0 && (g.a == nullptr || g.b == nullptr)) return Invalid(g.a ? "b" : "a", "null");
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status GemmF32(const GemmF32Args& g) {
  if (absl::Status s = CheckArgs(g); !s.ok()) return s;
  if (g.m == 0 || g.n == 0) return absl::OkStatus();
  if (g.k == 0) {  // C = beta C; not BLAS's: it refuses lda = k = 0 (leading dimensions >= 1)
    for (int64_t i = 0; i < g.m; ++i) {
      float* row = g.c + i * g.ldc;
      for (int64_t j = 0; j < g.n; ++j) row[j] = g.beta == 0.0f ? 0.0f : g.beta * row[j];
    }
    return absl::OkStatus();
  }
  CW_ASSIGN_OR_RETURN(const BlasLibrary* blas, LoadBlas());
  blas->sgemm(CblasRowMajor, g.trans_a ? CblasTrans : CblasNoTrans,
              g.trans_b ? CblasTrans : CblasNoTrans, static_cast<int>(g.m),
              static_cast<int>(g.n), static_cast<int>(g.k), g.alpha, g.a, static_cast<int>(g.lda),
              g.b, static_cast<int>(g.ldb), g.beta, g.c, static_cast<int>(g.ldc));
  return absl::OkStatus();
}

absl::Status LinearF32(const float* w, int64_t n_out, int64_t n_in, const float* x, int64_t n_rows,
                       float* y) {
  return GemmF32({.m = n_rows, .n = n_out, .k = n_in, .a = x, .lda = n_in, .b = w, .ldb = n_in,
                  .trans_b = true, .c = y, .ldc = n_out});
}

}  // namespace cachewire::kernels
