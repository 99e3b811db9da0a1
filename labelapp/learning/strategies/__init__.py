"""Active-learning strategies: pure functions from model outputs to scores.

Every scoring function returns ``scores`` of shape ``(N,)`` where a **higher
score means more useful to label**. Selection helpers turn scores (and
optionally embeddings) into indices. Randomness always comes from an explicit
``rng: np.random.Generator``.

One module per step: ``uncertainty`` (scores), ``weighting`` (towards weak classes),
``selection`` (scores to a batch; cold start), ``features`` (model-free image features),
``registry`` (strategies by name, ``DEFAULT_STRATEGY`` and ``score_pool``, the app's entry
point) and ``validation`` (the argument checks they share). The default recipe and the
figures behind it: ``benchmarks/bench_strategies.py``.
"""
