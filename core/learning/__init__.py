"""Learning which target serves each task type best, from recorded outcomes (pure, no I/O).

- ``model``: the shapes: per-period outcome counts in, versioned rankings out, and what a plan
  records about the ranking it used.
- ``evidence``: discounted Beta evidence per signal, with a change-point reset.
- ``rank``: the ranking of one route (constraints, discounted Thompson sampling, shares).
- ``reorder``: a ranking applied to a route's chain groups at planning time.
- ``diff``: what changed between two rankings.

Importable inside workflows: the learning workflow computes rankings in workflow code from a
seed drawn with ``workflow.random()``, so a run's ranking can be recomputed from its history.
"""
