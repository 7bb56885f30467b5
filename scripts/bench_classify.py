"""The Python half of scripts/bench-classify (run it through that script, which prepares the venv).

Embeds a file of sentences with onnxruntime + the HF `tokenizers` package, doing exactly what guion's
Rust `classify::Encoder::embed` does, so that the two timings compare the same work:

- each sentence is prefixed with "query: " and encoded one at a time with special tokens (<s> ... </s>);
  over 512 ids it is cut to 512 with the closing </s> kept as the last id;
- sentences are sorted by token count (stable), cut into batches of --batch, padded with id 1 and
  attention 0, and fed as int64 `input_ids` / `attention_mask`; the output is `embeddings` [batch, 384];
- the session has --threads intra-op threads, 1 inter-op thread and no spinning.

Timed: tokenisation + inference over all sentences, --repeat times (the session load is timed apart, as
load_s). Prints one JSON line:
{"engine":"python-onnxruntime","model":..,"sentences":..,"batch":..,"threads":..,"runs_s":[..],
 "median_s":..,"sentences_per_s":..,"load_s":..}

    python scripts/bench_classify.py --model e5-small.onnx --tokenizer e5-small-tokenizer.json \
        --sentences sentences.txt [--batch 32] [--threads 1] [--repeat 3] [--dump-embeddings out.json]

The sentences file has one sentence per line; empty lines are skipped.
"""
import argparse
import json
import os
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort
from tokenizers import Tokenizer

PREFIX = "query: "  # classify::E5_PREFIX
PAD_ID = 1  # XLM-R's <pad>
MAX_TOKENS = 512  # the encoder's position table
DUMP = 16  # sentences written by --dump-embeddings


def token_ids(tok, text):
    ids = tok.encode(PREFIX + text, add_special_tokens=True).ids
    if len(ids) > MAX_TOKENS:
        # As the Rust encoder: keep the closing </s>, the model has only seen sentences ending with it.
        last = ids[-1]
        ids = ids[:MAX_TOKENS]
        ids[-1] = last
    return ids


def embed(session, tok, texts, batch):
    """Embeddings of `texts`, in input order (batched by length, as Encoder::embed)."""
    ids = [token_ids(tok, t) for t in texts]
    order = sorted(range(len(texts)), key=lambda i: len(ids[i]))  # sorted() is stable, like sort_by_key
    out = [None] * len(texts)
    for start in range(0, len(order), batch):
        chunk = order[start:start + batch]
        width = max(len(ids[i]) for i in chunk)
        input_ids = np.full((len(chunk), width), PAD_ID, dtype=np.int64)
        mask = np.zeros((len(chunk), width), dtype=np.int64)
        for r, i in enumerate(chunk):
            input_ids[r, :len(ids[i])] = ids[i]
            mask[r, :len(ids[i])] = 1
        vectors = session.run(["embeddings"], {"input_ids": input_ids, "attention_mask": mask})[0]
        for r, i in enumerate(chunk):
            out[i] = vectors[r]
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", required=True, help="ONNX encoder (e5-small.onnx or e5-small-int8.onnx)")
    ap.add_argument("--tokenizer", required=True, help="its tokenizer.json")
    ap.add_argument("--sentences", required=True, help="text file, one sentence per line")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--dump-embeddings", metavar="FILE",
                    help=f"write the embeddings of the first {DUMP} sentences (input order) as JSON")
    a = ap.parse_args()
    if a.batch < 1 or a.threads < 1 or a.repeat < 1:
        sys.exit("bench_classify: --batch, --threads and --repeat must be at least 1")

    with open(a.sentences, encoding="utf-8") as f:
        texts = [line for line in f.read().splitlines() if line]
    if not texts:
        sys.exit(f"bench_classify: {a.sentences}: no sentences")

    t0 = time.perf_counter()
    tok = Tokenizer.from_file(a.tokenizer)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = a.threads
    opts.inter_op_num_threads = 1
    # guion always turns spinning off; with one intra-op thread there is no pool to spin anyway.
    opts.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(a.model, opts, providers=["CPUExecutionProvider"])
    load_s = time.perf_counter() - t0

    runs = []
    for _ in range(a.repeat):
        t = time.perf_counter()
        vectors = embed(session, tok, texts, a.batch)
        runs.append(time.perf_counter() - t)
    median = statistics.median(runs)

    if a.dump_embeddings:
        dump = {"engine": "python-onnxruntime", "model": os.path.basename(a.model), "batch": a.batch,
                "texts": texts[:DUMP], "embeddings": [v.tolist() for v in vectors[:DUMP]]}
        with open(a.dump_embeddings, "w", encoding="utf-8") as f:
            json.dump(dump, f)

    print(json.dumps({
        "engine": "python-onnxruntime", "model": os.path.basename(a.model), "sentences": len(texts),
        "batch": a.batch, "threads": a.threads, "runs_s": [round(r, 4) for r in runs],
        "median_s": round(median, 4), "sentences_per_s": round(len(texts) / median, 1),
        "load_s": round(load_s, 3),
    }))


if __name__ == "__main__":
    main()
