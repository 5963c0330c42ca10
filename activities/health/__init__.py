"""The health layer at run time: in-process cache fed by attempts, database sync, active prober.

``monitor.HealthMonitor`` (one per worker process) wraps the pure ``core.health.board.HealthBoard``;
``sync.HealthSync`` shares it through the database; ``prober.Prober`` probes quiet or unwell targets.
"""
