"""Prompt-lookup drafts (runtime/greedy.py): the tokens that followed the latest earlier occurrence of the
text's last tokens, longest match first, bounded; nothing when the ending never occurred before."""

import numpy as np

from assistant.runtime.greedy import PromptLookup


def test_the_tokens_after_the_latest_earlier_occurrence_of_the_last_ngram_are_drafted():
    #                  0  1  2  3  4  5  6  7  8  9 10 11 12
    history = np.array([5, 1, 2, 3, 9, 9, 1, 2, 4, 6, 8, 1, 2], dtype=np.int32)
    # The last two tokens (1, 2) occurred at 1 and at 6; the latest one was followed by 4, 6, 8.
    assert PromptLookup(max_draft=3).draft(history, limit=10) == [4, 6, 8]
    assert PromptLookup(max_draft=8).draft(history, limit=2) == [4, 6]


def test_a_longer_match_wins_over_a_later_shorter_one():
    # (7, 1, 2) occurred at 0 → followed by 30; (1, 2) alone occurred later at 5 → followed by 40.
    history = np.array([7, 1, 2, 30, 0, 1, 2, 40, 0, 7, 1, 2], dtype=np.int32)
    assert PromptLookup(max_draft=1, ngram_max=3).draft(history, limit=5) == [30]
    assert PromptLookup(max_draft=1, ngram_max=2).draft(history, limit=5) == [40]


def test_no_draft_when_the_ending_never_occurred_before_or_no_room_is_left():
    history = np.array([1, 2, 3, 4, 5, 6], dtype=np.int32)
    assert PromptLookup().draft(history, limit=8) == []
    repeated = np.array([1, 2, 3, 1, 2], dtype=np.int32)
    assert PromptLookup().draft(repeated, limit=0) == []
    # A match right before the end drafts only what follows it, up to the end of the text.
    assert PromptLookup(max_draft=8).draft(repeated, limit=8) == [3, 1, 2]
