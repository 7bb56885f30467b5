"""The orchestrator behind scripts/bench-asr (run it through that script, which prepares the venv).

Each engine runs as its own process over the whole file set, so that peak memory (ru_maxrss of the
child) is its own and the model loads once, as in a batch worker. Wall time includes the model load.
Runs are repeated and the median is quoted: machines are shared and noisy.
"""
import argparse, os, statistics, subprocess, sys, tempfile, time, wave
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data" / "speech"
ES = "/usr/share/asterisk/sounds/es_MX_f_Allison"


def spanish_call(tmp: Path) -> Path:
    """Real Spanish speech as long as a short call: Asterisk prompts in sequence with pauses (8 kHz)."""
    ids = ["agent-alreadyon", "queue-youarenext", "privacy-prompt", "privacy-unident", "conf-usermenu",
           "vm-intro", "queue-periodic-announce", "conf-onlyperson", "conf-invalid", "agent-user"]
    out = tmp / "es-prompts.wav"
    silence = b"\x00\x00" * 8000 * 2
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
        for i in ids:
            with wave.open(f"{ES}/{i}.wav", "rb") as r:
                assert (r.getframerate(), r.getsampwidth(), r.getnchannels()) == (8000, 2, 1)
                w.writeframes(r.readframes(r.getnframes()))
            w.writeframes(silence)
    return out


def run(cmd, env=None):
    """Wall seconds and peak resident MB of one child process (wait4 gives that child's own rusage)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        p = subprocess.Popen(cmd, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(p.pid, 0)
        wall = time.perf_counter() - t0
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            err.seek(0)
            sys.exit(f"bench-asr: {' '.join(map(str, cmd))} failed:\n{err.read().decode()[-2000:]}")
        return wall, usage.ru_maxrss / 1024


FW = r"""
import sys, json, time
from faster_whisper import WhisperModel
model_dir, lang, threads, beam, compute, vad, *files = sys.argv[1:]
m = WhisperModel(model_dir, device="cpu", compute_type=compute, cpu_threads=int(threads), num_workers=1)
words = 0
for f in files:
    segs, info = m.transcribe(f, language=lang, beam_size=int(beam), vad_filter=vad == "1",
                              condition_on_previous_text=False, word_timestamps=True)
    words += sum(len(s.text.split()) for s in segs)
print(json.dumps({"words": words}))
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cache", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--beam", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    cache = Path(a.cache)
    model = cache / "models" / "ggml-base.bin"
    ct2 = cache / "source" / "base"
    guion = ROOT / "target" / "release" / "guion"
    bare = next(p for p in sorted((ROOT / "target" / "release" / "deps").glob("asr_bare-*"), key=os.path.getmtime, reverse=True)
                if os.access(p, os.X_OK) and p.suffix == "")
    tmp = Path(tempfile.mkdtemp(prefix="guion-bench-"))
    sets = [("es", [spanish_call(tmp)])]
    en = [SHARED / "aws-demo-agent.wav", SHARED / "aws-demo-agent1.wav"]
    if all(p.exists() for p in en):
        sets.append(("en", en))
    else:
        print(f"note: {SHARED} absent: English set skipped", file=sys.stderr)
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS=str(a.threads))
    print(f"threads {a.threads}, beam {a.beam}, median of {a.repeat} runs; wall time includes model load\n")
    print(f"{'set':<4}{'engine':<34}{'audio s':>9}{'wall s':>9}{'RTF':>8}{'vs bare':>9}{'peak MB':>9}")
    for lang, files in sets:
        audio_s = sum(wave.open(str(f)).getnframes() / wave.open(str(f)).getframerate() for f in files)
        engines = [
            ("guion transcribe", [str(guion), "transcribe", "--quiet", "--language", lang, "--threads", str(a.threads),
                                  "--beam", str(a.beam), "--out", str(tmp / "out"), *map(str, files)]),
            ("whisper-rs bare loop", [str(bare), str(model), lang, str(a.threads), str(a.beam), *map(str, files)]),
            ("faster-whisper float32", [sys.executable, "-c", FW, str(ct2), lang, str(a.threads), str(a.beam), "float32", "0", *map(str, files)]),
            ("faster-whisper int8", [sys.executable, "-c", FW, str(ct2), lang, str(a.threads), str(a.beam), "int8", "0", *map(str, files)]),
            ("faster-whisper int8 + Silero VAD", [sys.executable, "-c", FW, str(ct2), lang, str(a.threads), str(a.beam), "int8", "1", *map(str, files)]),
        ]
        results = {}
        for name, cmd in engines:
            runs = [run(cmd, env) for _ in range(a.repeat)]
            results[name] = (statistics.median(w for w, _ in runs), max(m for _, m in runs))
        base = results["whisper-rs bare loop"][0]
        for name, (wall, peak) in results.items():
            print(f"{lang:<4}{name:<34}{audio_s:>9.1f}{wall:>9.2f}{audio_s / wall:>7.1f}x{base / wall:>8.2f}x{peak:>9.0f}")
    print("\nRTF = audio seconds per wall second; 'vs bare' > 1 means faster than the bare whisper-rs loop.")


if __name__ == "__main__":
    main()
