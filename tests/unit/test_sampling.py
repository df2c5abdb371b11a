"""The sampled decoding path (compose): llama.cpp's truncation steps, and drawing with the grammar
asked token by token samples the truncated distribution restricted to the allowed tokens."""
import numpy as np
import pytest

from assistant.llm.greedy import GreedyGrammarDecoder, Sampling, penalize_repeats, truncated_distribution


def test_top_k_keeps_the_k_likeliest_in_order():
    logits = np.array([0.0, 3.0, 1.0, 2.0, -1.0], dtype=np.float32)
    ids, p = truncated_distribution(logits, Sampling(top_k=2, top_p=1.0, min_p=0.0, temperature=1.0))
    assert ids.tolist() == [1, 3]
    assert p.sum() == pytest.approx(1.0)
    assert p[0] / p[1] == pytest.approx(np.e, rel=1e-5)


def test_top_p_and_min_p_cut_the_tail_and_rejected_tokens_never_survive():
    logits = np.array([5.0, 4.0, -np.inf, 0.0, -3.0], dtype=np.float32)
    ids, _ = truncated_distribution(logits, Sampling(top_k=40, top_p=0.95, min_p=0.0, temperature=1.0))
    assert ids.tolist() == [0, 1]            # 0.73 + 0.27 ≥ 0.95 before token 3
    ids, _ = truncated_distribution(logits, Sampling(top_k=40, top_p=1.0, min_p=0.05, temperature=1.0))
    assert 2 not in ids.tolist() and 4 not in ids.tolist()   # e^-3/e^5 < 0.05; -inf is out


def test_a_low_temperature_sharpens_the_distribution():
    logits = np.array([1.0, 0.5, 0.0], dtype=np.float32)
    s = dict(top_k=3, top_p=1.0, min_p=0.0)
    _, warm = truncated_distribution(logits, Sampling(temperature=1.0, **s))
    _, cold = truncated_distribution(logits, Sampling(temperature=0.2, **s))
    assert cold[0] > warm[0]


def test_repeat_penalty_makes_recent_tokens_less_likely_either_sign():
    logits = np.array([2.0, -2.0, 1.0], dtype=np.float32)
    out = penalize_repeats(logits, [0, 1, 0], 2.0)
    assert out.tolist() == [1.0, -4.0, 1.0]
    assert logits.tolist() == [2.0, -2.0, 1.0]          # the model's array is not touched


def test_drawing_with_the_grammar_asked_per_token_samples_the_restricted_distribution():
    logits = np.log(np.array([0.4, 0.3, 0.2, 0.1], dtype=np.float32))
    allowed = {1, 3}
    decoder = GreedyGrammarDecoder.__new__(GreedyGrammarDecoder)
    decoder._allowed = lambda smpl, tok: tok in allowed
    decoder._filtered = lambda smpl, lg: np.where(np.isin(np.arange(len(lg)), list(allowed)), lg, -np.inf)
    s = Sampling(top_k=40, top_p=1.0, min_p=0.0, temperature=1.0, repeat_penalty=1.0)
    rng = np.random.default_rng(7)
    draws = [decoder._sample_allowed(None, logits, s, rng, []) for _ in range(6000)]
    tokens = np.array([t for t, _ in draws])
    assert set(tokens.tolist()) <= allowed
    assert not any(f for _, f in draws)                  # a likely token was always allowed: no full filter
    assert (tokens == 1).mean() == pytest.approx(0.75, abs=0.02)   # 0.3 / (0.3 + 0.1)


def test_the_full_filter_runs_only_when_no_likely_token_is_allowed():
    logits = np.log(np.array([0.6, 0.39, 0.01], dtype=np.float32))
    decoder = GreedyGrammarDecoder.__new__(GreedyGrammarDecoder)
    decoder._allowed = lambda smpl, tok: tok == 2
    decoder._filtered = lambda smpl, lg: np.array([-np.inf, -np.inf, lg[2]], dtype=np.float32)
    s = Sampling(top_k=2, top_p=1.0, min_p=0.0, temperature=1.0, repeat_penalty=1.0)
    token, filtered = decoder._sample_allowed(None, logits, s, np.random.default_rng(0), [])
    assert (token, filtered) == (2, 1)
