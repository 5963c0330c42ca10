"""Health of targets: pure, deterministic math fed with scripted or real outcomes (no I/O).

Module map (``shared/RESILIENCE.md`` recommendations in brackets)::

    settings   every threshold with its default and source                      [all]
    signals    outcome -> Observation (failure / capacity / ignored, slow, flags) [R1]
    baseline   EWMA baselines of log latency and binary rates                    [R2]
    detectors  Bernoulli and Gaussian CUSUM, Page-Hinkley, Beta feedback test    [R3]
    window     1 s bucket counters and short sample windows                      [R3, R6]
    breaker    closed / open / half-open state machine                           [R6]
    levels     detector severities -> level with corroboration and hysteresis    [R4]
    shares     traffic share of a target: fast down, ramped back up              [R5]
    tracker    one target: all of the above                                      [R1-R6]
    board      every target, the view planning reads                             [R5.6]
    routing    a plan's entries reordered by share, panic rule                   [R5]
    budget     token buckets for retries, probes, hedges                         [R7, R8]

Every function that needs time takes ``now`` (unix seconds) and randomness comes from an injected
``random.Random``, so tests script outcome sequences on a fake clock (Envoy's and resilience4j's
testing pattern, RESILIENCE.md section 1.3).
"""
