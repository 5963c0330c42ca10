"""Provider simulator: speaks the OpenAI, Anthropic and Gemini wire protocols at their real paths and
replays scripted fault scenarios (``simulator/scenarios/*.yaml``) for chaos drills, demos and CI.

Modules, one idea each (see ``simulator/README.md`` for running it and the control API):

- ``scenario``: the scenario file format (pydantic models), loading, bundled scenarios
- ``clock``: the incident clock; ``timeline``: effective behaviour of a target at an incident time
- ``behaviour``: per-request random draws (a ``Plan``); ``ratelimit``: sliding 60 s windows
- ``world``: the live state (scenario, clock, live steps, random streams, counters); ``stats``: counters
- ``text``, ``values``, ``corrupt``, ``answer``: what the simulated model says
- ``errors``: each provider's error bodies and headers; ``protocol``: the wire-protocol contract
- ``openai_api``, ``anthropic_api``, ``gemini_api``: the three protocols
- ``wire``, ``exchange``: playing a plan on the wire in real time
- ``handlers``, ``control``, ``app``: the Starlette app; ``server``: ``run_simulator`` and ``serve``

Nothing runs at import.
"""
