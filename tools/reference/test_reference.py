"""Self-consistency tests for cachewire's reference side: quantisers, tiny-model writer, numpy
forward pass and the committed golden files.

    /usr/bin/python3 -m unittest discover tools/reference
"""
from __future__ import annotations

import dataclasses
import hashlib
import importlib.util
import json
import os
import tempfile
import unittest

import numpy as np

import forward_reference as fr
import make_golden_logits as mgl
import make_tiny_models as mtm
import quantize_reference as qr

GOLDEN_DIR = mtm.DEFAULT_OUT_DIR


def build_model(spec: mtm.ModelSpec, wtype: str | None = None, weights: dict[str, np.ndarray] | None = None) -> fr.Model:
    """A forward_reference.Model from a spec, optionally with every type forced or given weights."""
    plans = mtm.tensor_plan(spec, wtype)
    if weights is not None:
        plans = [mtm.TensorPlan(p.name, weights[p.name].shape, p.type_name, mtm._const(weights[p.name])) for p in plans]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "m.gguf")
        mtm.write_gguf(path, mtm.model_metadata(spec), plans)
        return fr.Model(path)


def small_spec(arch: str, **kw) -> mtm.ModelSpec:
    base = dict(name=f"test-{arch}", arch=arch, n_embd=64, n_layer=2, n_head=4, n_head_kv=2, head_dim=16,
                n_ff=96, n_vocab=300 if arch == "llama" else 400, seed=5)
    if arch == "gemma3":
        base.update(sliding_window=8, eps=1e-6, tied=True, rope_base=1e6, head_dim=32)
    base.update(kw)
    return mtm.ModelSpec(**base)


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


# ================================================================================================
# Quantisers
# ================================================================================================

class QuantizeTest(unittest.TestCase):
    def setUp(self):
        self.x = np.random.default_rng(1).standard_normal((16, 512)).astype(np.float32)

    def test_q8_0_known_block(self):
        x = np.arange(-16, 16, dtype=np.float32)          # amax 16 -> d = 16/127
        b = qr.quantize(x[None, :], "Q8_0")
        self.assertEqual(len(b), 34)
        self.assertEqual(b[:2], np.float16(16 / 127).tobytes())
        q = np.frombuffer(b[2:], dtype=np.int8)
        np.testing.assert_array_equal(q, qr._round_half_away(x * (127 / 16)))
        self.assertEqual(q[0], -127)

    def test_q8_0_error_bound(self):
        y = qr.dequantize(qr.quantize(self.x, "Q8_0"), "Q8_0", self.x.size).reshape(self.x.shape)
        step = np.abs(self.x.reshape(-1, 32)).max(axis=1, keepdims=True) / 127
        self.assertTrue(np.all(np.abs(y - self.x).reshape(-1, 32) <= 0.5 * step * 1.3))

    def test_q4_k_error_and_size(self):
        b = qr.quantize(self.x, "Q4_K")
        self.assertEqual(len(b), self.x.size // 256 * 144)
        y = qr.dequantize(b, "Q4_K", self.x.size).reshape(self.x.shape)
        rel = np.sqrt(np.mean((y - self.x) ** 2) / np.mean(self.x ** 2))
        self.assertLess(rel, 0.1)

    def test_q4_k_scale_packing(self):
        rng = np.random.default_rng(2)
        sc, mn = rng.integers(0, 64, (500, 8)), rng.integers(0, 64, (500, 8))
        sc2, mn2 = qr._unpack_scales_k4(qr._pack_scales_k4(sc, mn))
        np.testing.assert_array_equal(sc, sc2)
        np.testing.assert_array_equal(mn, mn2)

    def test_q4_k_nonnegative_and_constant(self):
        x = np.abs(self.x[:2]) + 0.5                       # all positive: min clamps to 0 side
        y = qr.dequantize(qr.quantize(x, "Q4_K"), "Q4_K", x.size).reshape(x.shape)
        self.assertLess(np.sqrt(np.mean((y - x) ** 2) / np.mean(x ** 2)), 0.1)
        z = np.zeros((1, 256), np.float32)
        np.testing.assert_array_equal(qr.dequantize(qr.quantize(z, "Q4_K"), "Q4_K", 256), 0)

    def test_self_check_passes(self):
        import contextlib
        import io
        with contextlib.redirect_stdout(io.StringIO()):
            self.assertEqual(qr._self_check(), 0)

    @unittest.skipUnless(importlib.util.find_spec("dequant_reference"), "dequant_reference.py not present")
    def test_independent_dequant_agrees(self):
        import dequant_reference as dr
        fn = getattr(dr, "dequantize", None)
        if fn is None:
            self.skipTest("dequant_reference has no dequantize()")
        for t in ("Q8_0", "Q4_K", "F16"):
            b = qr.quantize(self.x, t)
            try:
                y = np.asarray(fn(b, t, self.x.size), dtype=np.float32).reshape(-1)
            except TypeError:
                self.skipTest("dequant_reference.dequantize has another signature")
            np.testing.assert_allclose(y, qr.dequantize(b, t, self.x.size), rtol=1e-6, atol=1e-7, err_msg=t)


# ================================================================================================
# GGUF writing and metadata
# ================================================================================================

class WriterTest(unittest.TestCase):
    def test_streamed_writer_matches_gguf_io_writer(self):
        spec = mtm.TINY_BY_NAME["tiny-llama-gqa2-q8_0"]
        streamed = mtm.model_bytes(spec)
        w = mtm.gguf_io.GGUFWriter()
        for k, v in mtm.model_metadata(spec).items():
            w.add(k, v)
        for p in mtm.tensor_plan(spec):
            data = b"".join(qr.quantize(c, p.type_name) for c in p.make())
            w.add_tensor(p.name, data, p.type_name, p.ggml_shape)
        self.assertEqual(streamed, w.to_bytes())

    def test_required_metadata_and_tensors(self):
        for spec in mtm.TINY_MODELS:
            r = mtm.gguf_io.GGUFReader(mtm.model_bytes(spec))
            a = spec.arch
            keys = ["context_length", "embedding_length", "block_count", "feed_forward_length",
                    "attention.head_count", "attention.head_count_kv", "rope.freq_base",
                    "attention.layer_norm_rms_epsilon"]
            keys += ["rope.dimension_count", "vocab_size"] if a == "llama" else \
                    ["attention.key_length", "attention.value_length", "attention.sliding_window"]
            for k in keys:
                self.assertIn(f"{a}.{k}", r.metadata, spec.name)
            self.assertIn(r.metadata.get(f"{a}.rope.scaling.type", "none"), ("none", "linear"))  # never "llama3"
            self.assertEqual(len(r.metadata["tokenizer.ggml.tokens"]), spec.n_vocab)
            self.assertEqual(r.tensors["token_embd.weight"].shape, (spec.n_embd, spec.n_vocab))
            self.assertEqual(r.tensors["blk.0.attn_q.weight"].shape, (spec.n_embd, spec.n_head * spec.head_dim))
            self.assertEqual(r.tensors["blk.0.attn_k.weight"].shape, (spec.n_embd, spec.n_head_kv * spec.head_dim))
            self.assertEqual(r.tensors["blk.0.ffn_down.weight"].shape, (spec.n_ff, spec.n_embd))
            self.assertEqual("output.weight" in r.tensors, not spec.tied)
            self.assertEqual(r.tensors["blk.0.attn_norm.weight"].type_name, "F32")

    def test_bpe_merges_are_consistent(self):
        md = mtm.llama_bpe_vocab(400)
        tokens = md["tokenizer.ggml.tokens"].value
        index = {t: i for i, t in enumerate(tokens)}
        for m in md["tokenizer.ggml.merges"].value:
            a, b = m.split(" ")
            self.assertIn(a, index)
            self.assertIn(b, index)
            self.assertIn(a + b, index)
            self.assertGreater(index[a + b], max(index[a], index[b]))

    def test_spm_vocab(self):
        md = mtm.gemma_spm_vocab(600)
        tokens = md["tokenizer.ggml.tokens"].value
        self.assertEqual(tokens[2], "<bos>")
        self.assertIn("<0x0A>", tokens)
        self.assertEqual(len(md["tokenizer.ggml.scores"].value), 600)

    def test_benchmark_shapes(self):
        l1b = mtm.SHAPES["llama-3.2-1b"]
        plans = mtm.tensor_plan(dataclasses.replace(l1b, wtype="Q8_0", embd_type="Q8_0"))
        self.assertEqual(len(plans), 16 * 9 + 3)               # incl. rope_freqs, tied output
        n_params = sum(int(np.prod(p.np_shape)) for p in plans)
        self.assertEqual(n_params, 1_235_814_432)              # Llama-3.2-1B
        g1b = mtm.SHAPES["gemma-3-1b"]
        plans = mtm.tensor_plan(dataclasses.replace(g1b, wtype="Q8_0", embd_type="Q8_0"))
        self.assertEqual(len(plans), 26 * 13 + 2)
        n_params = sum(int(np.prod(p.np_shape)) for p in plans)
        self.assertEqual(n_params, 999_885_952)                # Gemma-3-1B (text)
        for p in plans:
            self.assertGreater(p.nbytes, 0)


# ================================================================================================
# Forward pass
# ================================================================================================

class RopeTest(unittest.TestCase):
    def test_neox_is_norm_under_permutation(self):
        x = np.random.default_rng(3).standard_normal((5, 2, 16))
        cos, sin = fr.rope_angles(5, 16, 10000.0)
        perm = np.stack([np.arange(8), np.arange(8) + 8], axis=1).reshape(-1)   # [0,8,1,9,...]
        np.testing.assert_allclose(fr.rope_neox(x, cos, sin)[..., perm], fr.rope_norm(x[..., perm], cos, sin), atol=1e-12)

    def test_relative_position(self):
        rng = np.random.default_rng(4)
        q, k = rng.standard_normal(32), rng.standard_normal(32)
        cos, sin = fr.rope_angles(20, 32, 10000.0)
        rq = fr.rope_norm(np.tile(q, (20, 1, 1)), cos, sin)[:, 0]
        rk = fr.rope_norm(np.tile(k, (20, 1, 1)), cos, sin)[:, 0]
        self.assertAlmostEqual(rq[7] @ rk[3], rq[15] @ rk[11], places=10)
        self.assertAlmostEqual(rq[0] @ rk[0], q @ k, places=10)

    def test_llama3_factors(self):
        f = mtm.llama3_rope_factors(64, 500000.0, 32.0, 1.0, 4.0, 8192)
        self.assertEqual(f[0], 1.0)
        self.assertEqual(f[-1], 32.0)
        self.assertTrue(np.all(np.diff(f) >= 0))


class ForwardTest(unittest.TestCase):
    def test_causality_prefix(self):
        for spec in mtm.TINY_MODELS:
            m = build_model(spec)
            toks = np.random.default_rng(6).integers(0, spec.n_vocab, 20).tolist()
            full = fr.forward(m, toks)
            for n in (1, 9):
                np.testing.assert_allclose(fr.forward(m, toks[:n]), full[:n], rtol=0, atol=1e-9, err_msg=spec.name)

    def test_gqa_equals_expanded_mha(self):
        for arch in ("llama", "gemma3"):
            spec = small_spec(arch, n_head=4, n_head_kv=2)
            w = mtm.float_weights(spec)
            mha = dataclasses.replace(spec, n_head_kv=4)
            w2 = dict(w)
            for il in range(spec.n_layer):
                for t in ("attn_k", "attn_v"):
                    name = f"blk.{il}.{t}.weight"
                    per_head = w[name].reshape(2, spec.head_dim, spec.n_embd)            # (Hkv, D, E)
                    w2[name] = np.repeat(per_head, 2, axis=0).reshape(4 * spec.head_dim, spec.n_embd)
            toks = np.random.default_rng(7).integers(0, spec.n_vocab, 12).tolist()
            a = fr.forward(build_model(spec, weights=w), toks)
            b = fr.forward(build_model(mha, weights=w2), toks)
            np.testing.assert_allclose(a, b, atol=1e-9, err_msg=arch)

    def test_quantized_close_to_f32_original(self):
        # Q4_K has ~7% relative RMS error per weight; through ~10 independent Q4_K matmuls of a
        # random network that is ~20% relative noise on the logits (cosine ~0.98), so Q4_K gets a
        # looser bound plus the check below that its deviation is exactly noise-sized.
        min_cos = {"F16": 0.9999, "Q8_0": 0.999, "Q4_K": 0.95}
        for spec in mtm.TINY_MODELS:
            if spec.wtype == "F32":
                continue
            toks = np.random.default_rng(8).integers(0, spec.n_vocab, 16).tolist()
            q = fr.forward(build_model(spec), toks)
            f = fr.forward(build_model(spec, wtype="F32"), toks)
            self.assertGreater(cosine_rows(q, f).min(), min_cos[spec.wtype], spec.name)
            self.assertGreater(cosine_rows(q, f).mean(), 0.97, spec.name)

    def test_q4_k_deviation_is_noise_sized(self):
        """Replacing each quantisation error by gaussian noise of the same RMS moves the logits as
        much as the quantisation does: the quantised forward has no systematic error."""
        spec = mtm.TINY_BY_NAME["tiny-llama-gqa4-q4_k-mixed"]
        w = mtm.float_weights(spec)
        types = {p.name: p.type_name for p in mtm.tensor_plan(spec)}
        toks = np.random.default_rng(8).integers(0, spec.n_vocab, 16).tolist()
        f = fr.forward(build_model(spec, wtype="F32", weights=w), toks)
        q = fr.forward(build_model(spec), toks)
        rng = np.random.default_rng(0)
        noisy = {}
        for name, x in w.items():
            if types[name] == "F32":
                noisy[name] = x
                continue
            err = qr.dequantize(qr.quantize(x, types[name]), types[name], x.size).reshape(x.shape) - x
            noisy[name] = x + rng.standard_normal(x.shape).astype(np.float32) * np.sqrt(np.mean(err * err))
        n = fr.forward(build_model(spec, wtype="F32", weights=noisy), toks)
        dq, dn = 1 - cosine_rows(q, f).mean(), 1 - cosine_rows(n, f).mean()
        self.assertLess(dq, 2 * dn)
        self.assertGreater(dq, 0.5 * dn)

    def test_sliding_window(self):
        spec = small_spec("gemma3", n_layer=1)           # one local layer, window 8
        m = build_model(spec)
        toks = np.random.default_rng(9).integers(0, spec.n_vocab, 12).tolist()
        alt = list(toks)
        alt[0] = (alt[0] + 1) % spec.n_vocab
        a, b = fr.forward(m, toks), fr.forward(m, alt)
        self.assertGreater(np.abs(a[7] - b[7]).max(), 1e-6)   # i - j = 7 < 8: visible
        np.testing.assert_allclose(a[8:], b[8:], atol=1e-12)  # i - j >= 8: masked

    def test_gemma3_layer_5_is_global(self):
        toks = np.random.default_rng(10).integers(0, 400, 50).tolist()
        alt = list(toks)
        alt[0] = (alt[0] + 1) % 400
        for n_layer, reaches in ((5, False), (6, True)):   # 5 local layers reach back 5*7 = 35 < 49
            m = build_model(small_spec("gemma3", n_layer=n_layer))
            diff = np.abs(fr.forward(m, toks)[49] - fr.forward(m, alt)[49]).max()
            self.assertEqual(diff > 1e-9, reaches, n_layer)

    def test_gemma3_linear_scaling_only_on_global_layers(self):
        toks = np.random.default_rng(11).integers(0, 400, 10).tolist()
        for n_layer, differs in ((5, False), (6, True)):
            plain = small_spec("gemma3", n_layer=n_layer)
            scaled = dataclasses.replace(plain, rope_linear_factor=8.0)
            d = np.abs(fr.forward(build_model(plain), toks) - fr.forward(build_model(scaled), toks)).max()
            self.assertEqual(d > 1e-9, differs, n_layer)

    def test_llama3_rope_factors_matter(self):
        spec = mtm.TINY_BY_NAME["tiny-llama-gqa4-f16-rope3"]
        w = mtm.float_weights(spec)
        toks = np.random.default_rng(12).integers(0, spec.n_vocab, 10).tolist()
        a = fr.forward(build_model(spec, weights=w), toks)
        w2 = dict(w)
        w2["rope_freqs.weight"] = np.ones_like(w["rope_freqs.weight"])
        b = fr.forward(build_model(spec, weights=w2), toks)
        np.testing.assert_allclose(a[0], b[0], atol=1e-9)      # position 0 is never rotated
        self.assertGreater(np.abs(a[1:] - b[1:]).max(), 1e-4)


# ================================================================================================
# Committed golden files
# ================================================================================================

@unittest.skipUnless(os.path.exists(os.path.join(GOLDEN_DIR, "manifest.json")), "no golden files")
class GoldenTest(unittest.TestCase):
    def setUp(self):
        with open(os.path.join(GOLDEN_DIR, "manifest.json")) as f:
            self.manifest = json.load(f)

    def test_models_regenerate_bit_exactly(self):
        names = [e["name"] for e in self.manifest["models"]]
        self.assertEqual(names, [s.name for s in mtm.TINY_MODELS])
        for e in self.manifest["models"]:
            data = mtm.model_bytes(mtm.TINY_BY_NAME[e["name"]])
            self.assertEqual(hashlib.sha256(data).hexdigest(), e["model_sha256"], e["name"])
            with open(os.path.join(GOLDEN_DIR, e["model_file"]), "rb") as f:
                self.assertEqual(hashlib.sha256(f.read()).hexdigest(), e["model_sha256"], e["name"])

    def test_logits_match_reference(self):
        for e in self.manifest["models"]:
            spec = mtm.TINY_BY_NAME[e["name"]]
            gold = np.fromfile(os.path.join(GOLDEN_DIR, e["logits_file"]), dtype="<f4").reshape(e["logits_shape"])
            m = fr.Model(os.path.join(GOLDEN_DIR, e["model_file"]))
            self.assertEqual([s["tokens"] for s in e["sequences"]], mgl.sequences_for(spec))
            for s in e["sequences"]:
                got = fr.forward(m, s["tokens"])
                want = gold[s["row_offset"]:s["row_offset"] + s["n_rows"]]
                np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-5, err_msg=e["name"])
                self.assertEqual(list(got.argmax(axis=1)), s["argmax"])

    def test_size_budget(self):
        files = [os.path.join(GOLDEN_DIR, f) for f in os.listdir(GOLDEN_DIR)]
        for f in files:
            self.assertLess(os.path.getsize(f), 2 << 20, f)
        self.assertLess(sum(os.path.getsize(f) for f in files), 5 << 20)


if __name__ == "__main__":
    unittest.main()
