"""Impaired-network harness: a real meeting of three headless Chromium pages,
each participant and the server in a network namespace of its own, one
participant's link limited (``tbf``) or made lossy and slow (a userspace relay).

``python -m conf_bench.netlab`` (or scripts/impaired_networks.sh) runs the
scenarios; ``scenarios.scenario_figures(name)`` returns one scenario's figures
for tests that assert on them. See docs/performance.md, "Impaired networks".
"""
