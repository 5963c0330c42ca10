"""Admission: shared rate-limit stores (``docs/SHEDDING.md``).

- ``store.py``: the :class:`RateStore` protocol and the factory choosing a store from config;
- ``db_store.py``: buckets in the Switchyard database (embedded default, no Redis needed);
- ``redis_store.py``: buckets in Redis, one Lua script per decision (many gateway replicas).

The bucket arithmetic is ``core/ratelimit.py``; the gateway's use of it is ``worker/gateway/admission.py``.
"""
