# Sourced by the training scripts: one BLAS thread, and OpenBLAS's kernels named for the CPU.
# torch's matrix products run on Debian's OpenBLAS 0.3.21, which picks its kernels from the CPU's
# model number and takes its SSE3 (Prescott) ones on CPUs it does not know: a 512x512 product ran
# 5.8x slower that way on an AVX-512 Xeon (kernels/cpu/blas_library.h does the same for cachewire).
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
if [ -z "${OPENBLAS_CORETYPE:-}" ] && [ -r /proc/cpuinfo ]; then
  _cw_flags=" $(grep -m1 '^flags' /proc/cpuinfo | cut -d: -f2) "
  _cw_has() { for f in "$@"; do [[ "$_cw_flags" == *" $f "* ]] || return 1; done; }
  if _cw_has avx512f avx512cd avx512bw avx512dq avx512vl; then
    export OPENBLAS_CORETYPE=SkylakeX
  elif _cw_has avx2 fma; then
    export OPENBLAS_CORETYPE=Haswell
  fi
  unset -f _cw_has
  unset _cw_flags
fi
