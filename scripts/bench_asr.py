"""The orchestrator behind scripts/bench-asr (run it through that script, which prepares the venv).

guion against faster-whisper int8 with its Silero VAD — the engine a user would otherwise pick — on
the same real two-channel 8 kHz calls (scripts/bench_calls.py), the same Whisper base weights
(faster-whisper reads the very CTranslate2 directory guion installs), the same thread budget and the
same beam. Each engine runs as its own process over the whole call set, so that its peak memory
(ru_maxrss of the child) is its own and the model loads once, as in a batch worker; wall time
includes the load. Both transcribe each channel on its own. Runs are repeated and the median is
quoted: machines are shared and noisy. Word error rate is measured on the calls whose legs have a
reference text (Debian's Asterisk prompts), with guion's own folding (benches/wer.rs) for both.
"""
import argparse, json, os, statistics, subprocess, sys, tempfile, time, wave
from pathlib import Path

import bench_calls

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "speech"


def run(cmd, env=None):
    """Wall seconds, peak resident MB and standard output of one child process."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        if os.waitstatus_to_exitcode(status) != 0:
            err.seek(0)
            sys.exit(f"bench-asr: {' '.join(map(str, cmd))} failed:\n{err.read().decode()[-2000:]}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, out.read().decode()


# faster-whisper as its users run it: transcribe() per channel (decode_audio splits a stereo file),
# Silero VAD on, word timestamps on (guion times every word too), no conditioning on earlier text.
FW = r"""
import sys, json
from faster_whisper import WhisperModel
from faster_whisper.audio import decode_audio
model_dir, threads, beam, vad, *jobs = sys.argv[1:]
m = WhisperModel(model_dir, device="cpu", compute_type="int8", cpu_threads=int(threads), num_workers=1)
out = {}
for job in jobs:
    lang, path = job.split(":", 1)
    legs = []
    for leg in decode_audio(path, split_stereo=True):
        segs, _ = m.transcribe(leg, language=lang, beam_size=int(beam), vad_filter=vad == "1",
                               condition_on_previous_text=False, word_timestamps=True)
        legs.append(" ".join(s.text.strip() for s in segs))
    out[path] = legs
print(json.dumps(out))
"""


def guion_legs(out_dir: Path, call: Path):
    """The text of each channel of guion's transcript of `call`."""
    doc = json.loads((out_dir / f"{call.name}.json").read_text())
    legs = {}
    for u in doc["utterances"]:
        legs.setdefault(u.get("channel") or 0, []).append(u["text"])
    return [" ".join(legs.get(c, [])) for c in sorted(set(legs) | {0, 1})]


def wer_of(pairs):
    """(word edits, reference words) summed over (lang, reference, hypothesis) triples."""
    if not pairs:
        return None
    wer = next(p for p in sorted((ROOT / "target" / "release" / "deps").glob("wer-*"), key=os.path.getmtime, reverse=True)
               if os.access(p, os.X_OK) and p.suffix == "")
    lines = "".join(json.dumps({"lang": l, "reference": r, "hypothesis": h}) + "\n" for l, r, h in pairs)
    out = subprocess.run([str(wer)], input=lines, capture_output=True, text=True, check=True).stdout
    rows = [json.loads(x) for x in out.splitlines() if x.strip()]
    return sum(r["errors"] for r in rows), sum(r["words"] for r in rows)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--beams", default="5,1")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=120.0, help="speech per leg of each Asterisk call")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()
    cache = Path(a.cache)
    model = cache / "models" / "whisper-base"
    guion = ROOT / "target" / "release" / "guion"
    tmp = Path(tempfile.mkdtemp(prefix="guion-bench-"))

    calls = []  # (lang, path, legs' reference texts or None, leg seconds)
    for lang in ("es", "en"):
        path, seconds, refs = bench_calls.asterisk_call(tmp, lang, a.seconds)
        calls.append((lang, path, refs, seconds))
    aws = bench_calls.aws_call(tmp, SHARED)
    if aws:
        calls.append(("en", aws[0], None, aws[1]))
    else:
        print(f"note: {SHARED} absent: the AWS call is left out", file=sys.stderr)
    legs_s = sum(2 * c[3] for c in calls)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))
    print(f"bench-asr: {len(calls)} two-channel 8 kHz calls ({', '.join(c[1].name for c in calls)}), "
          f"{legs_s:.0f} s of channel audio; Whisper base; {a.threads} thread(s); median of {a.repeat} runs; "
          f"wall time includes the model load\n")
    print("| beam | engine | wall s | audio s per wall s | peak MB | WER es | WER en | vs faster-whisper+VAD |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    results = []
    for beam in [int(b) for b in a.beams.split(",")]:
        out_dir = tmp / f"guion-{beam}"
        engines = {
            "guion transcribe": [str(guion), "transcribe", "--quiet", "--threads", str(a.threads), "--beam", str(beam),
                                 "--format", "json", "--out", str(out_dir)],
            "faster-whisper int8 + Silero VAD": [sys.executable, "-c", FW, str(model), str(a.threads), str(beam), "1"],
        }
        rows = {}
        for name, cmd in engines.items():
            walls, peaks, texts = [], [], None
            for _ in range(a.repeat):
                if name.startswith("guion"):
                    # One invocation per language, as a night's manifest names each call's language.
                    wall, peak = 0.0, 0.0
                    for lang in ("es", "en"):
                        files = [str(c[1]) for c in calls if c[0] == lang]
                        w, p, _ = run(cmd + ["--language", lang, *files], env)
                        wall, peak = wall + w, max(peak, p)
                    texts = {str(c[1]): guion_legs(out_dir, c[1]) for c in calls}
                else:
                    wall, peak, out = run(cmd + [f"{c[0]}:{c[1]}" for c in calls], env)
                    texts = json.loads(out)
                walls.append(wall)
                peaks.append(peak)
            wers = {}
            for lang in ("es", "en"):
                pairs = [(lang, ref, hyp) for l, path, refs, _ in calls if l == lang and refs
                         for ref, hyp in zip(refs, texts[str(path)])]
                wers[lang] = wer_of(pairs)
            rows[name] = (statistics.median(walls), max(peaks), wers)
        fw = rows["faster-whisper int8 + Silero VAD"][0]
        for name, (wall, peak, wers) in rows.items():
            w = {k: f"{v[0] / v[1]:.3f}" if v and v[1] else "-" for k, v in wers.items()}
            print(f"| {beam} | {name} | {wall:.1f} | {legs_s / wall:.1f} | {peak:.0f} | {w['es']} | {w['en']} | {fw / wall:.2f}x |")
            results.append({"beam": beam, "engine": name, "wall_s": wall, "peak_mb": peak,
                            "wer": {k: (v[0] / v[1] if v and v[1] else None) for k, v in wers.items()},
                            "speed_vs_faster_whisper_vad": fw / wall})
    print("\n'vs faster-whisper+VAD' > 1 means guion is faster (ratio of median wall times, the same run).")
    if a.json:
        Path(a.json).write_text(json.dumps({"threads": a.threads, "audio_s": legs_s, "results": results}, indent=1))


if __name__ == "__main__":
    main()
