"""A deterministic WordPiece vocabulary: the same texts give the same tokens with the same ids, in any process.

The `tokenizers` trainers (WordPiece, BPE, Unigram) break ties between equally frequent merges in hash order,
which changes from process to process: two nodes of one training job, or two runs with the same seed, would
get different vocabularies. This is the same algorithm as its WordPiece trainer (BPE merges over words split
into a first character and ``##``-prefixed continuations, most frequent pair first), with ties broken by the
pair's text. It runs in Python: about 20 s for 150,000 reviews and 16,000 tokens on one core.
"""

from __future__ import annotations

import heapq
from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import pairwise

CONTINUATION = "##"
MAX_WORD_CHARS = 100  # longer words become [UNK] at encoding time anyway (WordPiece's max_input_chars_per_word)


def word_counts(texts: Iterable[str], normalizer, pre_tokenizer) -> Counter:
    """How often each pre-tokenised word occurs in ``texts`` after ``normalizer`` (the tokenizer's own normaliser and
    pre-tokenizer)."""
    counts: Counter = Counter()
    for text in texts:
        counts.update(word for word, _ in pre_tokenizer.pre_tokenize_str(normalizer.normalize_str(text)))
    return counts


def train_vocabulary(counts: Counter, vocab_size: int, special_tokens: list[str]) -> list[str]:
    """Special tokens, every character seen (as a word start and as a ``##`` continuation), then merged pieces
    in the order they were merged, until ``vocab_size`` tokens."""
    items = sorted((word, count) for word, count in counts.items() if len(word) <= MAX_WORD_CHARS)
    words = [[word[0]] + [CONTINUATION + ch for ch in word[1:]] for word, _ in items]
    frequency = [count for _, count in items]
    vocabulary = list(special_tokens) + sorted({symbol for word in words for symbol in word} - set(special_tokens))
    pair_counts: defaultdict[tuple[str, str], int] = defaultdict(int)
    where: defaultdict[tuple[str, str], set[int]] = defaultdict(set)
    for index, word in enumerate(words):
        for pair in pairwise(word):
            pair_counts[pair] += frequency[index]
            where[pair].add(index)
    heap = [(-count, pair) for pair, count in pair_counts.items()]
    heapq.heapify(heap)
    while len(vocabulary) < vocab_size and heap:
        negative, pair = heapq.heappop(heap)
        if pair_counts.get(pair, 0) != -negative:
            continue  # a stale entry: this pair's count changed since it was pushed
        merged = pair[0] + pair[1][len(CONTINUATION) :]
        vocabulary.append(merged)
        changed = merge_everywhere(pair, merged, sorted(where.pop(pair, ())), words, frequency, pair_counts, where)
        pair_counts.pop(pair, None)
        for other in changed - {pair}:
            if pair_counts.get(other, 0) > 0:
                heapq.heappush(heap, (-pair_counts[other], other))
    return vocabulary


def merge_everywhere(pair, merged, indices, words, frequency, pair_counts, where) -> set[tuple[str, str]]:
    """Replace ``pair`` by ``merged`` in the given words, updating the pair counts; returns the pairs touched."""
    first, second = pair
    changed = set()
    for index in indices:
        word, count = words[index], frequency[index]
        new, position = [], 0
        while position < len(word):
            if position + 1 < len(word) and word[position] == first and word[position + 1] == second:
                new.append(merged)
                position += 2
            else:
                new.append(word[position])
                position += 1
        if len(new) == len(word):
            continue
        for old in pairwise(word):
            pair_counts[old] -= count
            changed.add(old)
        for fresh in pairwise(new):
            pair_counts[fresh] += count
            where[fresh].add(index)
            changed.add(fresh)
        words[index] = new
    return changed
