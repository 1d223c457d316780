// Device decoders of the GGUF weight blocks the CUDA kernels read (F32, F16, BF16, Q8_0, Q4_0,
// Q4_K, Q6_K): the one place on the device that knows the block layouts (kernels/quant_blocks.h
// documents them). Dequantize, embedding and matmul all decode through here.
//
// Every value equals gguf::DequantizeRow's bit for bit: each is computed with the same f32
// operations in the same order, written as __fmul_rn / __fsub_rn so nvcc cannot contract a
// multiply and a subtract into one FMA (which rounds once where the CPU rounds twice).
//
// A block is decoded a "run" at a time: kRun consecutive elements (8 for the quantised types, 1
// for the float types, whose rows may have any length). Within a block every run address is
// even, so rows need only be 2-byte aligned, as GGUF guarantees; F32 rows are read as floats and
// must be 4-byte aligned (GGUF aligns tensor data to 32).
#pragma once

#include <cuda_fp16.h>

#include <cstdint>

#include "kernels/cuda/launch_status.cuh"

namespace cachewire::kernels::cuda::quant {

// ggml type ids (gguf::TensorType).
constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_0 = 2, kQ8_0 = 8, kQ4_K = 12, kQ6_K = 14, kBF16 = 30;

// ---- loads --------------------------------------------------------------------------------

__device__ __forceinline__ uint16_t LoadU16(const uint8_t* p) {
  return __ldg(reinterpret_cast<const unsigned short*>(p));
}

__device__ __forceinline__ uint8_t LoadU8(const uint8_t* p) { return __ldg(p); }

// Eight bytes from an even address, as four 16-bit loads (blocks are only 2-byte aligned).
struct Bytes8 {
  uint16_t h[4];
  __device__ __forceinline__ uint32_t operator[](int k) const {
    return (h[k >> 1] >> (8 * (k & 1))) & 0xFFu;
  }
};

__device__ __forceinline__ Bytes8 Load8(const uint8_t* p) {
  Bytes8 b;
#pragma unroll
  for (int k = 0; k < 4; ++k) b.h[k] = LoadU16(p + 2 * k);
  return b;
}

// IEEE binary16 -> f32 as gguf::F16ToF32: exact for finite values; inf / NaN keep their payload
// (the hardware conversion may not).
__device__ __forceinline__ float F16ToF32(uint16_t h) {
  if ((h & 0x7C00u) == 0x7C00u) {
    return __uint_as_float((static_cast<uint32_t>(h & 0x8000u) << 16) | 0x7F800000u |
                           (static_cast<uint32_t>(h & 0x3FFu) << 13));
  }
  return __half2float(__ushort_as_half(h));
}

// ---- one type per struct ------------------------------------------------------------------
// Block<T>: kElems elements in kBytes bytes; Run(block, r, v) writes elements
// [r * kRun, (r + 1) * kRun) of the block at `block` into v[0, kRun).

template <uint32_t kType>
struct Block;

template <>
struct Block<kF32> {
  static constexpr int kElems = 1, kBytes = 4, kRun = 1;
  __device__ static void Run(const uint8_t* block, int, float* v) {
    v[0] = __ldg(reinterpret_cast<const float*>(block));
  }
};

template <>
struct Block<kF16> {
  static constexpr int kElems = 1, kBytes = 2, kRun = 1;
  __device__ static void Run(const uint8_t* block, int, float* v) {
    v[0] = F16ToF32(LoadU16(block));
  }
};

template <>
struct Block<kBF16> {
  static constexpr int kElems = 1, kBytes = 2, kRun = 1;
  __device__ static void Run(const uint8_t* block, int, float* v) {
    v[0] = __uint_as_float(static_cast<uint32_t>(LoadU16(block)) << 16);
  }
};

// f16 d | int8 qs[32]; value = q * d.
template <>
struct Block<kQ8_0> {
  static constexpr int kElems = 32, kBytes = 34, kRun = 8;
  __device__ static void Run(const uint8_t* block, int r, float* v) {
    const float d = F16ToF32(LoadU16(block));
    const Bytes8 q = Load8(block + 2 + 8 * r);
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      v[k] = __fmul_rn(static_cast<float>(static_cast<int8_t>(q[k])), d);
    }
  }
};

// f16 d | qs[16]; element j < 16 is the low nibble of qs[j], j >= 16 the high nibble of
// qs[j - 16]; value = (nibble - 8) * d. Runs 0, 1 are low nibbles, runs 2, 3 high ones.
template <>
struct Block<kQ4_0> {
  static constexpr int kElems = 32, kBytes = 18, kRun = 8;
  __device__ static void Run(const uint8_t* block, int r, float* v) {
    const float d = F16ToF32(LoadU16(block));
    const Bytes8 q = Load8(block + 2 + 8 * (r & 1));
    const int shift = r >= 2 ? 4 : 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      v[k] = __fmul_rn(static_cast<float>(static_cast<int>((q[k] >> shift) & 0x0Fu) - 8), d);
    }
  }
};

// f16 d | f16 dmin | scales[12] | qs[128]. Sub-block j (32 elements) has 6-bit scale sc and
// min m packed in `scales`; chunk c of 64 elements reads qs[32c, 32c + 32), low nibbles for
// sub-block 2c, high for 2c + 1; value = (d * sc) * q - (dmin * m). Run r lies in sub-block
// r / 4, so one (sc, m) pair serves the whole run.
template <>
struct Block<kQ4_K> {
  static constexpr int kElems = 256, kBytes = 144, kRun = 8;
  __device__ static void Run(const uint8_t* block, int r, float* v) {
    const float d = F16ToF32(LoadU16(block));
    const float dmin = F16ToF32(LoadU16(block + 2));
    const uint8_t* scales = block + 4;
    const int j = r / 4;
    uint32_t sc, m;
    if (j < 4) {
      sc = LoadU8(scales + j) & 63u;
      m = LoadU8(scales + j + 4) & 63u;
    } else {
      const uint32_t packed = LoadU8(scales + j + 4);
      sc = (packed & 0x0Fu) | ((LoadU8(scales + j - 4) >> 6) << 4);
      m = (packed >> 4) | ((LoadU8(scales + j) >> 6) << 4);
    }
    const float d1 = __fmul_rn(d, static_cast<float>(sc));
    const float m1 = __fmul_rn(dmin, static_cast<float>(m));
    const Bytes8 q = Load8(block + 16 + 32 * (j / 2) + 8 * (r % 4));
    const int shift = (j & 1) ? 4 : 0;
#pragma unroll
    for (int k = 0; k < 8; ++k) {
      v[k] = __fsub_rn(__fmul_rn(d1, static_cast<float>((q[k] >> shift) & 0x0Fu)), m1);
    }
  }
};

// ql[128] | qh[64] | int8 scales[16] | f16 d. Two halves of 128 elements; in a half, element
// l + 32k (l < 32, k < 4) takes nibble (k >= 2 ? high : low) of ql[l + 32 (k & 1)] as its low
// 4 bits and bits 2k, 2k + 1 of qh[l] as its top 2; value = (d * scales[l / 16 + 2k]) * (q - 32).
// A run (8 elements from l0 = 8 * (r % 4)) shares half, k and scale.
template <>
struct Block<kQ6_K> {
  static constexpr int kElems = 256, kBytes = 210, kRun = 8;
  __device__ static void Run(const uint8_t* block, int r, float* v) {
    const float d = F16ToF32(LoadU16(block + 208));
    const int half = r / 16, k = (r / 4) % 4, l0 = 8 * (r % 4);
    const Bytes8 ql = Load8(block + 64 * half + l0 + 32 * (k & 1));
    const Bytes8 qh = Load8(block + 128 + 32 * half + l0);
    const int8_t sc = static_cast<int8_t>(LoadU8(block + 192 + 8 * half + l0 / 16 + 2 * k));
    const float ds = __fmul_rn(d, static_cast<float>(sc));
    const int lo_shift = k >= 2 ? 4 : 0, hi_shift = 2 * k;
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      const int q =
          static_cast<int>(((ql[e] >> lo_shift) & 0x0Fu) | (((qh[e] >> hi_shift) & 3u) << 4)) - 32;
      v[e] = __fmul_rn(ds, static_cast<float>(q));
    }
  }
};

// Run `run` of a row (or of any back-to-back run of whole blocks) starting at `row`.
template <uint32_t kType>
__device__ __forceinline__ void DecodeRun(const uint8_t* row, int64_t run, float* v) {
  using B = Block<kType>;
  constexpr int kRunsPerBlock = B::kElems / B::kRun;
  Block<kType>::Run(row + (run / kRunsPerBlock) * B::kBytes, static_cast<int>(run % kRunsPerBlock),
                    v);
}

// ---- host side ----------------------------------------------------------------------------

// Elements per block and per run, bytes per block.
struct Layout {
  int64_t elems = 0;
  int64_t bytes = 0;
  int64_t run = 0;
};

template <uint32_t kType>
struct TypeTag {
  static constexpr uint32_t kValue = kType;
  static constexpr Layout layout() {
    return {Block<kType>::kElems, Block<kType>::kBytes, Block<kType>::kRun};
  }
};

// Calls f(TypeTag<type>{}) and returns its result; for an unsupported type returns
// InvalidArg(unsupported) without calling f. Launchers instantiate their kernels through it.
template <typename F>
LaunchStatus WithType(uint32_t type, const char* unsupported, F&& f) {
  switch (type) {
    case kF32:
      return f(TypeTag<kF32>{});
    case kF16:
      return f(TypeTag<kF16>{});
    case kBF16:
      return f(TypeTag<kBF16>{});
    case kQ8_0:
      return f(TypeTag<kQ8_0>{});
    case kQ4_0:
      return f(TypeTag<kQ4_0>{});
    case kQ4_K:
      return f(TypeTag<kQ4_K>{});
    case kQ6_K:
      return f(TypeTag<kQ6_K>{});
    default:
      return InvalidArg(unsupported);
  }
}

inline bool Supported(uint32_t type) {
  return WithType(type, "", [](auto) { return Ok(); }).ok();
}

// The layout of a supported type; an empty Layout (elems 0) otherwise.
inline Layout LayoutOf(uint32_t type) {
  Layout out;
  WithType(type, "", [&](auto tag) {
    out = decltype(tag)::layout();
    return Ok();
  });
  return out;
}

}  // namespace cachewire::kernels::cuda::quant
