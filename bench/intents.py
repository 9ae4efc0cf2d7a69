"""intents: the router's intent classifier on BANKING77 (77 banking intents, 10,003 train / 3,080 test texts).

Trains on the training split, classifies the test split, and times one warm classification at a time, next to
a BASELINE measured in the same run: plain word TF-IDF + logistic regression. Ours runs with TF-IDF only,
then with each sentence encoder whose packages are installed (WordLlama, MiniLM; see services/router/intents).

    python -m bench.intents                       # full: whole test split, latency: 3 rounds of 1,000 texts
    python -m bench.intents --quick               # smoke run: 30 examples per intent, 514 test texts
    python -m bench.intents --data DIR            # another copy of the data (train.csv, test.csv: text,category)
    python -m bench.intents --encoders wordllama  # only some encoders ("" for TF-IDF only)
"""

from __future__ import annotations

import argparse
import functools
import pickle
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from bench.banking77 import DEFAULT_DATA, Examples, load_split
from bench.report import table
from services.router.intents import (
    EncoderUnavailable,
    IntentModel,
    SentenceEncoder,
    load_encoder,
    model_to_bytes,
    train_model,
)

NAME = "intents"
ENCODERS = {"wordllama": "WordLlama static", "minilm": "MiniLM int8"}  # load_encoder's names
THRESHOLD = 0.5  # the router's default FIRSTCALL_ROUTER_INTENT_CONFIDENCE_THRESHOLD
COVERAGE_THRESHOLDS = (0.0, 0.3, 0.5, 0.7, 0.9)  # 0.0: only the out-of-scope gate
# Texts no bank customer would write: each should come back unknown.
OFF_TOPIC_FILE = Path(__file__).parent / "data" / "off_topic.txt"
# Per text: the best intent, its confidence, and whether it is in scope (ours gates off-topic texts).
Classify = Callable[[Sequence[str]], list[tuple[str, float, bool]]]


@dataclass
class Result:
    variant: str
    accuracy: float
    macro_f1: float
    coverage: dict[float, tuple[float, float]]  # threshold -> (share answered, accuracy of the answered)
    calibration_error: float  # mean |confidence - accuracy| over 10 confidence bins, weighted by their size
    off_topic_unknown: float
    train_seconds: float
    p50_ms: float
    p99_ms: float
    cpu_p50_ms: float
    size_bytes: int


def off_topic_texts() -> list[str]:
    lines = OFF_TOPIC_FILE.read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line and not line.startswith("#")]


def per_intent(examples: Examples, count: int) -> Examples:
    """The first `count` examples of each intent (a small, fixed, balanced subset for quick runs)."""
    seen: dict[str, int] = {}
    kept = []
    for text, intent in examples:
        seen[intent] = seen.get(intent, 0) + 1
        if seen[intent] <= count:
            kept.append((text, intent))
    return kept


def ours(model: IntentModel) -> Classify:
    def classify(texts: Sequence[str]) -> list[tuple[str, float, bool]]:
        # Threshold 0: only out-of-scope texts are unknown; the thresholds are applied afterwards.
        answers = model.classify_many(texts, threshold=0.0)
        return [(answer.alternatives[0][0], answer.confidence, answer.intent is not None) for answer in answers]

    return classify


def baseline(train: Examples) -> tuple[Classify, int]:
    """Word TF-IDF (scikit-learn's defaults) + logistic regression: the usual first model, and its size."""
    vectorizer = TfidfVectorizer()
    features = vectorizer.fit_transform([text for text, _ in train])
    model = LogisticRegression(max_iter=2000, random_state=0).fit(features, [intent for _, intent in train])

    def classify(texts: Sequence[str]) -> list[tuple[str, float, bool]]:
        probabilities = model.predict_proba(vectorizer.transform(texts))
        return [(str(model.classes_[row.argmax()]), float(row.max()), True) for row in probabilities]

    return classify, len(pickle.dumps((vectorizer, model)))  # pickled only to weigh it


def evaluate(
    variant: str, classify: Classify, *, train_seconds: float, size: int, test: Examples, rounds: int, timed: int
) -> Result:
    truth = [intent for _, intent in test]
    answers = [
        answer for start in range(0, len(test), 256) for answer in classify([t for t, _ in test[start : start + 256]])
    ]
    # Accuracy and macro-F1 are of the best intent, as published figures are; coverage adds the gates.
    predicted = [intent for intent, _, _ in answers]
    correct = np.array([p == t for p, t in zip(predicted, truth, strict=True)])
    confidence = np.array([c for _, c, _ in answers])
    in_scope = np.array([scope for _, _, scope in answers])
    coverage = {}
    for threshold in COVERAGE_THRESHOLDS:
        answered = (confidence >= threshold) & in_scope
        coverage[threshold] = (
            float(answered.mean()),
            float(correct[answered].mean()) if answered.any() else float("nan"),
        )
    bins = np.minimum((confidence * 10).astype(int), 9)
    calibration_error = sum(
        abs(confidence[bins == b].mean() - correct[bins == b].mean()) * (bins == b).mean()
        for b in range(10)
        if (bins == b).any()
    )
    off_topic = classify(off_topic_texts())
    unknown = sum(1 for _, c, scope in off_topic if not scope or c < THRESHOLD) / len(off_topic)
    p50s, p99s, cpus = [], [], []
    for _ in range(rounds):
        wall, cpu = time_one_at_a_time(classify, [text for text, _ in test[:timed]])
        p50s.append(float(np.percentile(wall, 50)))
        p99s.append(float(np.percentile(wall, 99)))
        cpus.append(float(np.percentile(cpu, 50)))
    return Result(
        variant=variant,
        accuracy=float(correct.mean()),
        macro_f1=float(f1_score(truth, predicted, average="macro", labels=sorted(set(truth)))),
        coverage=coverage,
        calibration_error=float(calibration_error),
        off_topic_unknown=unknown,
        train_seconds=train_seconds,
        p50_ms=statistics.median(p50s),
        p99_ms=statistics.median(p99s),
        cpu_p50_ms=statistics.median(cpus),
        size_bytes=size,
    )


def time_one_at_a_time(classify: Classify, texts: Sequence[str]) -> tuple[list[float], list[float]]:
    """Wall and CPU milliseconds of classifying each text alone, after a warm-up (the router's hot path)."""
    for text in texts[:20]:
        classify([text])
    wall, cpu = [], []
    for text in texts:
        started, started_cpu = time.perf_counter(), time.thread_time()
        classify([text])
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append((time.perf_counter() - started) * 1000)
    return wall, cpu


def train_ours(train: Examples, encoder: SentenceEncoder | None) -> tuple[IntentModel, float]:
    started = time.perf_counter()
    model = train_model(examples=train, encoder=encoder)
    return model, time.perf_counter() - started


def run(quick: bool, data: Path = DEFAULT_DATA, encoders: Sequence[str] = tuple(ENCODERS)) -> str:
    """The accuracy, confidence and latency tables as Markdown (register it in bench/__main__.py)."""
    train, test = load_split(data / "train.csv"), load_split(data / "test.csv")
    if quick:
        train, test = per_intent(train, 30), test[::6]
    rounds, timed = (1, 200) if quick else (3, 1000)
    measure = functools.partial(evaluate, test=test, rounds=rounds, timed=timed)
    started = time.perf_counter()
    classify, size = baseline(train)
    results = [measure("BASELINE word TF-IDF + LR", classify, train_seconds=time.perf_counter() - started, size=size)]
    model, seconds = train_ours(train, None)
    results.append(measure("ours, TF-IDF only", ours(model), train_seconds=seconds, size=len(model_to_bytes(model))))
    notes = []
    for name in encoders:
        variant = f"ours, TF-IDF + {ENCODERS[name]}"
        started, resident = time.perf_counter(), resident_mib()
        try:
            encoder = load_encoder(name)
        except EncoderUnavailable as exc:
            notes.append(f"{variant} not run: {exc}")
            continue
        grown = resident_mib() - resident
        notes.append(f"{name} encoder: loaded in {time.perf_counter() - started:.1f} s, process grew {grown:.0f} MiB")
        model, seconds = train_ours(train, encoder)
        results.append(measure(variant, ours(model), train_seconds=seconds, size=len(model_to_bytes(model))))
    return markdown(results, trained=len(train), tested=len(test), rounds=rounds, timed=timed, notes=notes)


def resident_mib() -> float:
    with open("/proc/self/status") as status:
        kib = next((int(line.split()[1]) for line in status if line.startswith("VmRSS:")), 0)
    return kib / 1024


def markdown(results: list[Result], *, trained: int, tested: int, rounds: int, timed: int, notes: list[str]) -> str:
    headers = ["variant", "accuracy %", "macro-F1 %", f"answered at {THRESHOLD} %", "their accuracy %"]
    headers += ["ECE %", "off-topic unknown %", "train s", "p50 ms", "p99 ms", "CPU p50 ms", "model bytes"]
    rows = []
    for r in results:
        answered, right = r.coverage[THRESHOLD]
        quality = [f"{100 * r.accuracy:.2f}", f"{100 * r.macro_f1:.2f}", f"{100 * answered:.1f}", f"{100 * right:.2f}"]
        cost = [
            f"{r.train_seconds:.1f}",
            f"{r.p50_ms:.2f}",
            f"{r.p99_ms:.2f}",
            f"{r.cpu_p50_ms:.2f}",
            f"{r.size_bytes:,}",
        ]
        rows.append(
            [r.variant, *quality, f"{100 * r.calibration_error:.1f}", f"{100 * r.off_topic_unknown:.0f}", *cost]
        )
    coverage_headers = ["variant", *(f"≥ {t}: answered % / accuracy %" for t in COVERAGE_THRESHOLDS)]
    coverage_rows = [
        [r.variant, *(f"{100 * a:.1f} / {100 * c:.2f}" for a, c in (r.coverage[t] for t in COVERAGE_THRESHOLDS))]
        for r in results
    ]
    lines = [
        f"## {NAME}: intent classification on BANKING77 ({trained:,} training, {tested:,} test texts, 77 intents)",
        "",
        table(headers, rows),
        "",
        "Accuracy at coverage (an answer is given when its confidence reaches the threshold):",
        "",
        table(coverage_headers, coverage_rows),
        "",
        "- accuracy and macro-F1: the best intent of every test text; answered: its confidence reaches the"
        " threshold and it passes the out-of-scope gate; ECE: expected calibration error of the confidence.",
        f"- latency: one text at a time, warm, in this process; medians over {rounds} round(s) of {timed} texts.",
        f"- off-topic: {len(off_topic_texts())} texts no bank customer would write ({OFF_TOPIC_FILE.name}); unknown = gated or below {THRESHOLD}.",
        "- reference points (published): TF-IDF linear model about 89%, fine-tuned BERT 93.7%.",
        *(f"- {note}" for note in notes),
    ]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a smoke run on a small balanced subset")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="directory with train.csv and test.csv")
    parser.add_argument(
        "--encoders", default=",".join(ENCODERS), help=f"sentence encoders to try next to TF-IDF: {', '.join(ENCODERS)}"
    )
    args = parser.parse_args()
    print(run(args.quick, args.data, [name for name in args.encoders.split(",") if name]))


if __name__ == "__main__":
    main()
