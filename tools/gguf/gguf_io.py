"""Independent GGUF (v3) reader and writer for cachewire's reference tools.

Written from the published GGUF layout, separately from the C++ reader in engine/gguf, so that
files produced here check the C++ side and vice versa. Numpy only.

Layout: magic "GGUF", u32 version, u64 tensor count, u64 metadata count, metadata entries
(string key, u32 value type, value), tensor infos (string name, u32 n_dims, u64 dims[n_dims],
u32 ggml type, u64 offset into the data section), padding to `general.alignment` (default 32),
then the data section with each tensor at its aligned offset. Strings are u64 length + bytes.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

import numpy as np

GGUF_MAGIC = b"GGUF"
DEFAULT_ALIGNMENT = 32

# Metadata value types.
UINT8, INT8, UINT16, INT16, UINT32, INT32, FLOAT32, BOOL, STRING, ARRAY, UINT64, INT64, FLOAT64 = range(13)
_SCALAR_FMT = {
    UINT8: "<B", INT8: "<b", UINT16: "<H", INT16: "<h", UINT32: "<I", INT32: "<i",
    FLOAT32: "<f", BOOL: "<?", UINT64: "<Q", INT64: "<q", FLOAT64: "<d",
}

# Tensor types: id -> (name, elements per block, bytes per block).
TENSOR_TYPES = {
    0: ("F32", 1, 4), 1: ("F16", 1, 2), 2: ("Q4_0", 32, 18), 8: ("Q8_0", 32, 34),
    12: ("Q4_K", 256, 144), 13: ("Q5_K", 256, 176), 14: ("Q6_K", 256, 210), 30: ("BF16", 1, 2),
}
TYPE_ID = {name: tid for tid, (name, _, _) in TENSOR_TYPES.items()}


@dataclass
class Typed:
    """A metadata value with an explicit GGUF type (plain Python values get a default type)."""
    type: int
    value: Any
    elem_type: int | None = None  # for ARRAY


def _default_type(value: Any) -> Typed:
    if isinstance(value, Typed):
        return value
    if isinstance(value, bool):
        return Typed(BOOL, value)
    if isinstance(value, int):
        return Typed(UINT32 if 0 <= value < 2**32 else INT64, value)
    if isinstance(value, float):
        return Typed(FLOAT32, value)
    if isinstance(value, str):
        return Typed(STRING, value)
    if isinstance(value, (list, tuple)):
        items = [_default_type(v) for v in value]
        elem = items[0].type if items else UINT32
        if any(isinstance(v, int) and not isinstance(v, bool) and v < 0 for v in value) and elem == UINT32:
            elem = INT32
        return Typed(ARRAY, list(value), elem)
    raise TypeError(f"no GGUF type for {type(value).__name__}")


def _pack_string(s: str | bytes) -> bytes:
    b = s.encode("utf-8") if isinstance(s, str) else s
    return struct.pack("<Q", len(b)) + b


def _pack_value(t: int, v: Any, elem_type: int | None = None) -> bytes:
    if t == STRING:
        return _pack_string(v)
    if t == ARRAY:
        assert elem_type is not None
        out = [struct.pack("<IQ", elem_type, len(v))]
        if elem_type in _SCALAR_FMT and not isinstance(v, Typed):
            out.append(np.asarray(v, dtype=np.dtype(_SCALAR_FMT[elem_type])).tobytes())
        else:
            for item in v:
                it = item if isinstance(item, Typed) else _default_type(item)
                if it.type != elem_type:
                    it = Typed(elem_type, it.value, it.elem_type)
                out.append(_pack_value(it.type, it.value, it.elem_type))
        return b"".join(out)
    return struct.pack(_SCALAR_FMT[t], v)


@dataclass
class TensorEntry:
    name: str
    shape: tuple[int, ...]  # ggml order: shape[0] is the contiguous dimension
    type_id: int
    data: bytes


@dataclass
class GGUFWriter:
    """Collects metadata and tensors, then writes one GGUF file."""
    version: int = 3
    alignment: int = DEFAULT_ALIGNMENT
    metadata: dict[str, Typed] = field(default_factory=dict)
    tensors: list[TensorEntry] = field(default_factory=list)

    def add(self, key: str, value: Any) -> None:
        self.metadata[key] = _default_type(value)

    def add_tensor(self, name: str, array: np.ndarray | bytes, type_name: str | None = None,
                   shape: tuple[int, ...] | None = None) -> None:
        """Adds a tensor. A numpy array of float32/float16 is stored as F32/F16 with its shape
        reversed into ggml order; raw bytes need `type_name` and a ggml-order `shape`."""
        if isinstance(array, np.ndarray):
            if type_name is None:
                type_name = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16"}[array.dtype]
            shape = shape or tuple(reversed(array.shape))
            data = np.ascontiguousarray(array).tobytes()
        else:
            assert type_name is not None and shape is not None
            data = bytes(array)
        self.tensors.append(TensorEntry(name, tuple(int(d) for d in shape), TYPE_ID[type_name], data))

    def to_bytes(self) -> bytes:
        meta = dict(self.metadata)
        if self.alignment != DEFAULT_ALIGNMENT:
            meta["general.alignment"] = Typed(UINT32, self.alignment)
        head = [GGUF_MAGIC, struct.pack("<IQQ", self.version, len(self.tensors), len(meta))]
        for key, tv in meta.items():
            head.append(_pack_string(key) + struct.pack("<I", tv.type) + _pack_value(tv.type, tv.value, tv.elem_type))
        offset = 0
        offsets = []
        for t in self.tensors:
            offsets.append(offset)
            offset += len(t.data)
            offset = (offset + self.alignment - 1) // self.alignment * self.alignment
        for t, off in zip(self.tensors, offsets):
            head.append(_pack_string(t.name) + struct.pack("<I", len(t.shape)))
            head.append(struct.pack(f"<{len(t.shape)}Q", *t.shape))
            head.append(struct.pack("<IQ", t.type_id, off))
        out = bytearray(b"".join(head))
        out += b"\0" * ((-len(out)) % self.alignment)
        base = len(out)
        for t, off in zip(self.tensors, offsets):
            out += b"\0" * (base + off - len(out))
            out += t.data
        if self.tensors:
            out += b"\0" * ((-len(out)) % self.alignment)
        return bytes(out)

    def write(self, path: str) -> None:
        with open(path, "wb") as f:
            f.write(self.to_bytes())


@dataclass
class ReadTensor:
    name: str
    shape: tuple[int, ...]
    type_name: str
    offset: int
    data: memoryview


class GGUFReader:
    """Parses a whole GGUF file held in memory (reference side: clarity over speed)."""

    def __init__(self, path_or_bytes: str | bytes):
        buf = open(path_or_bytes, "rb").read() if isinstance(path_or_bytes, str) else path_or_bytes
        self.buf = memoryview(buf)
        self.pos = 0
        if bytes(self._take(4)) != GGUF_MAGIC:
            raise ValueError("bad magic")
        self.version = self._scalar(UINT32)
        if self.version not in (2, 3):
            raise ValueError(f"unsupported version {self.version}")
        n_tensors, n_kv = self._scalar(UINT64), self._scalar(UINT64)
        self.metadata: dict[str, Any] = {}
        # Each key's GGUF type and, for arrays, the element type: what a writer needs to copy
        # the value as it was (typed(key)).
        self.metadata_types: dict[str, tuple[int, int | None]] = {}
        for _ in range(n_kv):
            key = self._string()
            t = self._scalar(UINT32)
            elem = struct.unpack("<I", bytes(self.buf[self.pos:self.pos + 4]))[0] if t == ARRAY else None
            self.metadata[key] = self._value(t)
            self.metadata_types[key] = (t, elem)
        self.alignment = int(self.metadata.get("general.alignment", DEFAULT_ALIGNMENT))
        infos = []
        for _ in range(n_tensors):
            name = self._string()
            n_dims = self._scalar(UINT32)
            shape = tuple(self._scalar(UINT64) for _ in range(n_dims))
            infos.append((name, shape, self._scalar(UINT32), self._scalar(UINT64)))
        data_start = (self.pos + self.alignment - 1) // self.alignment * self.alignment
        self.tensors: dict[str, ReadTensor] = {}
        for name, shape, tid, off in infos:
            tname, block, bbytes = TENSOR_TYPES[tid]
            n = int(np.prod(shape)) if shape else 1
            nbytes = n // block * bbytes
            start = data_start + off
            self.tensors[name] = ReadTensor(name, shape, tname, off, self.buf[start:start + nbytes])

    def typed(self, key: str) -> "Typed":
        """The value of `key` with its types, for GGUFWriter.metadata (a copy that keeps them)."""
        t, elem = self.metadata_types[key]
        return Typed(t, self.metadata[key], elem)

    def _take(self, n: int) -> memoryview:
        if self.pos + n > len(self.buf):
            raise ValueError("truncated")
        out = self.buf[self.pos:self.pos + n]
        self.pos += n
        return out

    def _scalar(self, t: int) -> Any:
        fmt = _SCALAR_FMT[t]
        return struct.unpack(fmt, self._take(struct.calcsize(fmt)))[0]

    def _string(self) -> str:
        return bytes(self._take(self._scalar(UINT64))).decode("utf-8")

    def _value(self, t: int) -> Any:
        if t == STRING:
            return self._string()
        if t == ARRAY:
            elem, n = self._scalar(UINT32), self._scalar(UINT64)
            if elem in _SCALAR_FMT:
                dt = np.dtype(_SCALAR_FMT[elem])
                return np.frombuffer(self._take(n * dt.itemsize), dtype=dt).tolist()
            return [self._value(elem) for _ in range(n)]
        return self._scalar(t)
