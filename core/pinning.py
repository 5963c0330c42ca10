"""Conversation pinning rules: when the pin moves, why, and when it returns to the preferred target.

Pure and deterministic (used inside ``ConversationWorkflow``; unit-tested without Temporal).

- The first answered turn pins the conversation to the target that answered (``initial``); that
  target is the conversation's *preferred* target.
- A later turn is planned with the pin first. If another target answers (the pinned one failed,
  was skipped by planning - cooling down, lacking a capability, context too small -, was placed
  behind healthier targets by the health layer, or left the config), the pin moves there
  (``failover``) with the reason read from the turn's routing trace.
- Optional return (``ConversationConfig.return_after_s``): at the start of a turn - never in the
  middle of one - if the preferred target has had no failure counting against health and no
  cooldown for ``return_after_s`` seconds (and the pin moved away at least that long ago), the turn
  is planned preferred-first with the current pin second; if the preferred target answers the pin
  moves back (``return``).
"""

from __future__ import annotations

from core.chat import ChatMessage
from core.conversation import PIN_HISTORY_KEPT, PinMove, TranscriptEntry
from core.plan import Plan
from core.request import RoutingTrace

#: Plan reasons that only say where a target sits (not why it moved): left out of pin reasons.
_POSITIONAL = ("chain position", "region ", "conversation pinned")


def move_reason(pinned: str, trace: RoutingTrace) -> str:
    """Why a turn pinned to ``pinned`` was answered elsewhere, from the turn's trace."""
    failed = [a for a in trace.attempts if a.target == pinned and a.error_class]
    if failed:
        last = failed[-1]
        status = f" {last.status}" if last.status else ""
        tries = f" after {len(failed)} call(s)" if len(failed) > 1 else ""
        detail = f": {last.message[:160]}" if last.message else ""
        return f"pinned target {pinned} failed with {last.error_class}{status}{tries}{detail}"
    if pinned in trace.skipped:
        return f"pinned target {pinned} skipped by planning: {trace.skipped[pinned]}"
    if pinned not in trace.plan:
        return f"pinned target {pinned} is no longer in route {trace.route}'s plan"
    why = [r for r in trace.plan_reasons.get(pinned, []) if not r.startswith(_POSITIONAL)]
    return f"planning placed pinned target {pinned} after others" + (f": {'; '.join(why)}" if why else "")


def pin_move(turn: int, pinned: str | None, preferred: str | None, answered_by: str, trace: RoutingTrace,
             at: float, *, returning: bool) -> PinMove | None:
    """The move this turn makes (``None`` when the pinned target answered). ``at``: unix s."""
    if pinned == answered_by:
        return None
    if pinned is None:
        return PinMove(turn=turn, from_target=None, to_target=answered_by, kind="initial", at=at,
                       reason=f"first answer came from {answered_by}")
    if returning and answered_by == preferred:
        return PinMove(turn=turn, from_target=pinned, to_target=answered_by, kind="return", at=at,
                       reason=f"preferred target {answered_by} healthy again: returned from {pinned}")
    reason = move_reason(pinned, trace)
    if returning and preferred:
        reason = f"{move_reason(preferred, trace)}; {reason}"
    return PinMove(turn=turn, from_target=pinned, to_target=answered_by, kind="failover", at=at, reason=reason)


def healthy_since(last_failure_at: float | None, cooldown_until: float | None, moved_away_at: float | None) -> float:
    """Unix s from which the preferred target counts as healthy: after its last failure, the end of
    its cooldown and the moment the pin moved away, whichever is latest."""
    return max(t for t in (last_failure_at, cooldown_until, moved_away_at, 0.0) if t is not None)


def return_due(return_after_s: float | None, pinned: str | None, preferred: str | None, since: float,
               now: float) -> bool:
    """True when the next turn should try the preferred target again (see module docstring)."""
    if return_after_s is None or not pinned or not preferred or pinned == preferred:
        return False
    return now - since >= return_after_s


def moved_away_at(history: list[PinMove], preferred: str | None) -> float | None:
    """When the pin last left ``preferred`` (unix s), from the pin history."""
    for move in reversed(history):
        if move.from_target == preferred:
            return move.at
    return None


def second_choice(plan: Plan, target: str | None) -> Plan:
    """``plan`` with ``target`` moved to the second position (a return attempt keeps the current
    pin as the first fallback); unchanged if ``target`` is absent or already first."""
    entries = list(plan.entries)
    idx = next((i for i, e in enumerate(entries) if e.target == target), None)
    if idx is None or idx <= 1:
        return plan
    entry = entries.pop(idx)
    entry = entry.model_copy(update={"reasons": ["conversation's current pin: first fallback", *entry.reasons]})
    entries.insert(1, entry)
    return plan.model_copy(update={"entries": entries})


def record_move(history: list[PinMove], move: PinMove) -> list[PinMove]:
    """``history`` with ``move`` appended, keeping the last :data:`PIN_HISTORY_KEPT` moves."""
    return (history + [move])[-PIN_HISTORY_KEPT:]


def entry_chars(entry: TranscriptEntry) -> int:
    """Characters an entry's message holds (text and tool-call arguments)."""
    msg: ChatMessage | None = entry.message
    if msg is None:
        return 0
    return len(msg.text()) + sum(len(c.function.arguments) for c in msg.tool_calls or [])


def trim_tail(entries: list[TranscriptEntry], max_chars: int) -> list[TranscriptEntry]:
    """The most recent entries whose messages hold at most ``max_chars`` characters in total; an
    entry too large on its own is kept without its message (it is in the database)."""
    kept: list[TranscriptEntry] = []
    total = 0
    for entry in reversed(entries):
        size = entry_chars(entry)
        if size > max_chars:
            entry = entry.model_copy(update={"message": None})
            size = 0
        if total + size > max_chars:
            break
        kept.append(entry)
        total += size
    return list(reversed(kept))
