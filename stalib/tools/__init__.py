"""Development tooling: the benchmarks (:mod:`stalib.tools.bench`) and the reliability harness
(:mod:`stalib.tools.reliability`). Nothing in the library imports these."""
