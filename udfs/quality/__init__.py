"""Heuristic quality filters, one published rule set per module, faithful to datatrove 0.10.1.

- :mod:`.gopher`: Gopher quality rules (Rae et al. 2021);
- :mod:`.repetition`: Gopher repetition rules (Rae et al. 2021, table A1);
- :mod:`.c4`: C4 line and document rules (Raffel et al. 2020), with the rewritten text;
- :mod:`.fineweb`: FineWeb quality rules (Penedo et al. 2024).

Each set has three kernels: ``<set>(text, ...)`` -> STRUCT of named signals,
``<set>_pass(text, ...)`` -> BOOLEAN and ``<set>_reasons(text, ...)`` -> VARCHAR[] of the failed
rules as datatrove's reason strings, in datatrove's order, so ``reasons[1]`` compares directly
with the reason datatrove logs. Thresholds are keyword-only constants named and defaulted as in
datatrove. ``flavor := 'datatrove'`` is the only flavor implemented; each module's docstring
notes how other implementations (Dolma, NeMo Curator, RedPajama-v2) differ.

Words are datatrove's English words (spaCy's English tokenizer rules, reproduced in
:mod:`.words` without importing spaCy). NULL text is read as the empty string everywhere, so
every row gets a decision and, when it fails, a reason.
"""
