"""Real two-channel telephone calls for scripts/bench-asr, built from real recordings.

A call centre's recording holds one party per channel, and each channel is quiet while the other
party talks. No such recording is free to use, so one is assembled from real recorded speech: the
utterances of two recordings (cut at their pauses), alternated between the two channels with a short
gap, each channel carrying a faint line hiss while its party listens. 8 kHz, 16-bit, as telephony
exports them. Each channel's reference text is kept where the sources have one (Debian's Asterisk
prompts), so word error rate is measured on the very files that are timed.

Plain Python (wave, array): no numpy, so the builder runs before any venv exists.
"""
import array, gzip, random, wave
from pathlib import Path

RATE = 8000
ASTERISK = Path("/usr/share/asterisk/sounds")
VOICE = {"es": "es_MX_f_Allison", "en": "en_US_f_Allison"}


def read_8k(path: Path) -> array.array:
    with wave.open(str(path), "rb") as r:
        if (r.getframerate(), r.getsampwidth(), r.getnchannels()) != (RATE, 2, 1):
            raise SystemExit(f"bench-asr: {path}: expected 8 kHz 16-bit mono")
        a = array.array("h")
        a.frombytes(r.readframes(r.getnframes()))
        return a


def utterances(samples: array.array, pause_s=0.6, longest_s=12.0):
    """Runs of speech cut at pauses of `pause_s` or more (20 ms frames under 1/20 of the loudest
    frame's RMS are quiet); a run longer than `longest_s` is cut at its quietest frame."""
    frame = RATE // 50
    rms = []
    for i in range(0, len(samples) - frame + 1, frame):
        chunk = samples[i:i + frame]
        rms.append((sum(x * x for x in chunk) / frame) ** 0.5)
    if not rms:
        return []
    loud = sorted(rms)[int(len(rms) * 0.95)]
    voiced = [r > loud / 20 for r in rms]
    runs, start, quiet = [], None, 0
    for i, v in enumerate(voiced + [False] * int(pause_s * 50 + 1)):
        if v:
            if start is None:
                start = i
            quiet = 0
        elif start is not None:
            quiet += 1
            if quiet * 0.02 >= pause_s:
                runs.append((start, i - quiet + 1))
                start, quiet = None, 0
    out = []
    for a, b in runs:
        while (b - a) * 0.02 > longest_s:
            lo, hi = a + int(longest_s * 25), a + int(longest_s * 50)
            cut = min(range(lo, hi), key=lambda k: rms[k])
            out.append((a, cut))
            a = cut
        if (b - a) * 0.02 >= 0.3:
            out.append((a, b))
    pad = 5  # 100 ms either side: the words' edges are below the quiet line
    return [samples[max(0, a - pad) * frame:min(len(rms), b + pad) * frame] for a, b in out]


def write_call(path: Path, legs):
    """Alternates the two legs' utterances on two channels; returns the channels' lengths in s."""
    rng = random.Random(7)
    left, right = array.array("h"), array.array("h")
    hiss = lambda n: array.array("h", (rng.randint(-12, 12) for _ in range(n)))  # ≈ −72 dBFS
    turns = [(0, u) for u in legs[0]], [(1, u) for u in legs[1]]
    order = []
    for i in range(max(len(turns[0]), len(turns[1]))):
        order += [t[i] for t in turns if i < len(t)]
    for side, utt in order:
        gap = int(RATE * rng.uniform(0.3, 0.9))
        speak, listen = (left, right) if side == 0 else (right, left)
        speak.extend(hiss(gap)); listen.extend(hiss(gap))
        speak.extend(utt); listen.extend(hiss(len(utt)))
    frames = array.array("h", (s for pair in zip(left, right) for s in pair))
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2); w.setsampwidth(2); w.setframerate(RATE)
        w.writeframes(frames.tobytes())
    return len(left) / RATE


def prompt_references(lang: str) -> dict:
    text = gzip.open(f"/usr/share/doc/asterisk-core-sounds-{lang}/core-sounds-{lang}.txt.gz", "rt",
                     encoding="utf-8", errors="replace").read()
    refs = {}
    for line in text.splitlines():
        if ":" in line and not line.startswith(";"):
            key, ref = line.split(":", 1)
            refs[key.strip()] = ref.strip()
    return refs


def asterisk_call(tmp: Path, lang: str, seconds: float):
    """Two legs of Asterisk prompts (each whole prompt one utterance), about `seconds` each; the
    prompts are the longer ones with a reference text, taken alternately for the two legs."""
    refs = prompt_references(lang)
    voice = ASTERISK / VOICE[lang]
    found = []
    for key in sorted(refs):
        p = voice / f"{key}.wav"
        if p.is_file() and len(refs[key].split()) >= 6:
            found.append((key, read_8k(p)))
    legs, texts, lens = ([], []), ([], []), [0.0, 0.0]
    for i, (key, samples) in enumerate(found):
        side = i % 2
        if lens[side] >= seconds:
            if min(lens) >= seconds:
                break
            continue
        legs[side].append(samples); texts[side].append(refs[key]); lens[side] += len(samples) / RATE
    path = tmp / f"asterisk-{lang}.wav"
    duration = write_call(path, legs)
    return path, duration, [" ".join(t) for t in texts]


def aws_call(tmp: Path, shared: Path):
    """The two AWS role-played agent sides (real 8 kHz telephone speech) as the two legs of one call."""
    a, b = shared / "aws-demo-agent.wav", shared / "aws-demo-agent1.wav"
    if not (a.is_file() and b.is_file()):
        return None
    path = tmp / "aws-en.wav"
    duration = write_call(path, (utterances(read_8k(a)), utterances(read_8k(b))))
    return path, duration, None
