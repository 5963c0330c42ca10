"""The simulator as an LLM judge: a deterministic ``Score: N`` for Switchyard's eval judge prompt.

``switchyard eval`` asks a configured judge target to rate an answer (``core/eval_checks.py``
:func:`~core.eval_checks.judge_prompt`). A simulated model recognises that prompt by its first
line and answers like a judge would, so evals on the simulator have a real judge signal: the score
is ``1 + 9 x`` the share of the question's key words (``simulator.text.keywords``, up to 6) that
the answer uses, rounded. A simulated answer is prose built from those key words, so a sound one
scores high and an off-topic or empty one scores 1.
"""

from __future__ import annotations

import re

from core.eval_checks import JUDGE_HEADER
from simulator.text import keywords

_PART = re.compile(r"<(question|answer)>\n(.*?)\n</\1>", re.DOTALL)


def judge_reply(last_user: str) -> str | None:
    """The judge's reply to a judge prompt, else ``None`` (any other request)."""
    if not last_user.startswith(JUDGE_HEADER):
        return None
    parts = dict(_PART.findall(last_user))
    words = keywords(parts.get("question", ""))
    answer = parts.get("answer", "").lower()
    share = sum(w in answer for w in words) / len(words) if words else 0.0
    score = 1 + round(9 * share)
    return f"Score: {score}\nThe answer covers {round(100 * share)}% of the question's key points."
