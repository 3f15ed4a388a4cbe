"""Tokenised datasets, dynamic padding and length-grouped batching.

Texts are tokenised once, without padding, and cached per (tokenizer, content, max_length); each batch
is padded only to its own longest item, and batches are formed from items of similar length.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
from collections.abc import Iterator, Sequence
from pathlib import Path

import torch
from torch.utils.data import Dataset, Sampler
from tqdm.auto import tqdm

from .. import logs
from ..data.labels import multi_hot
from ..data.report import Record

TOKENIZE_CHUNK = 1000
ROW_ID_KEY = "row_id"  # a batch's row indices, only when a dataset is asked for them (training/row_log.py)


class TokenizedDataset(Dataset):
    """Token-id rows (truncated when tokenised, unpadded: the collator pads each batch), their labels and, for
    sentence pairs, each row's segment ids (``token_type_ids``: 0 for the first text and its [CLS] [SEP], 1 for the
    second text and its [SEP]; None for one text a row). A label is a class id, None when unlabelled, or for
    multi-label a tuple of class ids, handed out as a multi-hot list of ``num_labels`` floats. With ``with_row_ids``
    set, each item also carries its index (ROW_ID_KEY; training/row_log.py's debug hook). Raises ValueError
    when the lists differ in length, or multi-label rows come without ``num_labels``."""

    with_row_ids = False

    def __init__(
        self,
        input_ids: list[list[int]],
        labels: Sequence[int | tuple[int, ...] | None],
        token_type_ids: list[list[int]] | None = None,
        num_labels: int = 0,
    ):
        if len(input_ids) != len(labels):
            raise ValueError(f"{len(input_ids)} tokenised texts but {len(labels)} labels")
        if token_type_ids is not None and len(token_type_ids) != len(input_ids):
            raise ValueError(f"{len(input_ids)} tokenised texts but {len(token_type_ids)} rows of segment ids")
        if num_labels <= 0 and any(isinstance(label, tuple) for label in labels):
            raise ValueError("multi-label rows need num_labels (the length of their multi-hot targets)")
        self.input_ids = input_ids
        self.labels = list(labels)
        self.token_type_ids = token_type_ids
        self.num_labels = num_labels

    def __len__(self) -> int:
        return len(self.input_ids)

    def __getitem__(self, index: int) -> dict:
        item = {"input_ids": self.input_ids[index]}
        if self.token_type_ids is not None:
            item["token_type_ids"] = self.token_type_ids[index]
        label = self.labels[index]
        if isinstance(label, tuple):  # multi-label: BCE targets, 1.0 at each of the row's class ids
            item["labels"] = multi_hot(label, self.num_labels)
        elif label is not None:
            item["labels"] = label
        if self.with_row_ids:
            item[ROW_ID_KEY] = index
        return item

    @property
    def lengths(self) -> list[int]:
        """Each row's length in tokens (what the length-grouped sampler sorts by)."""
        return [len(ids) for ids in self.input_ids]


def tokenizer_fingerprint(tokenizer) -> str:
    """What decides the token ids; the backend's truncation/padding state changes with each call, so not that."""
    backend = getattr(tokenizer, "backend_tokenizer", None)
    if backend is not None:
        content = json.loads(backend.to_str())
        content.pop("truncation", None)
        content.pop("padding", None)
        payload = json.dumps(content, sort_keys=True)
    else:
        payload = repr(sorted(tokenizer.get_vocab().items()))
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]


def content_fingerprint(texts: Sequence[str]) -> str:
    """A 16-hex-digit SHA-256 of the texts in order (NUL-separated): the token cache's key, with the tokenizer's."""
    digest = hashlib.sha256()
    for text in texts:
        digest.update(text.encode("utf-8"))
        digest.update(b"\x00")
    return digest.hexdigest()[:16]


# Sentence pairs are truncated with ``longest_first`` (what transformers' run_glue does): a token at a time comes off
# whichever text is longer, so both texts keep their start and a short claim is never cut for a long review.
PAIR_TRUNCATION = "longest_first"


def tokenize_texts(
    tokenizer,
    texts: Sequence[str],
    max_length: int,
    show_progress: bool = True,
    text_pairs: Sequence[str] | None = None,
) -> list[list[int]] | tuple[list[list[int]], list[list[int]]]:
    """Token ids of each text, truncated to ``max_length`` tokens, unpadded, in chunks (a bar on a terminal when
    ``show_progress``). With ``text_pairs`` (one second text per text), each pair is encoded as a pair ([CLS] A
    [SEP] B [SEP], truncated by PAIR_TRUNCATION) and the result is (token ids, segment ids), both lists of rows."""
    ids: list[list[int]] = []
    types: list[list[int]] = []
    chunks = range(0, len(texts), TOKENIZE_CHUNK)
    for start in tqdm(chunks, desc="tokenizing", unit="chunk", disable=not logs.bars(show_progress) or len(chunks) < 5):
        batch = list(texts[start : start + TOKENIZE_CHUNK])
        if text_pairs is None:
            encoded = tokenizer(
                batch,
                truncation=True,
                max_length=max_length,
                padding=False,
                return_attention_mask=False,
                return_token_type_ids=False,
            )
        else:
            encoded = tokenizer(
                batch,
                list(text_pairs[start : start + TOKENIZE_CHUNK]),
                truncation=PAIR_TRUNCATION,
                max_length=max_length,
                padding=False,
                return_attention_mask=False,
                return_token_type_ids=True,
            )
            types.extend(encoded["token_type_ids"])
        ids.extend(encoded["input_ids"])
    return ids if text_pairs is None else (ids, types)


def record_pairs(records: Sequence[Record]) -> list[str] | None:
    """The records' second texts, or None when they have none (one text a row). Raises ValueError when only some
    records have one."""
    pairs = [record.text_pair for record in records]
    if all(pair is None for pair in pairs):
        return None
    if any(pair is None for pair in pairs):
        raise ValueError("some records have a second text (text_pair) and some do not")
    return pairs


def build_dataset(
    tokenizer,
    records: Sequence[Record],
    max_length: int,
    cache_dir: str | Path | None = None,
    show_progress: bool = True,
    num_labels: int = 0,
) -> TokenizedDataset:
    """Tokenise records once (as pairs when they have a second text); reuse the cached result for the same
    tokenizer, texts, second texts and max_length. ``num_labels``: the length of multi-label rows' multi-hot targets
    (needed only for them). Returns the TokenizedDataset."""
    texts = [r.text for r in records]
    pairs = record_pairs(records)
    labels = [r.label for r in records]
    cache_file = None
    if cache_dir is not None:
        key = f"{tokenizer_fingerprint(tokenizer)}-{content_fingerprint(texts)}-{max_length}"
        if pairs is not None:
            key += f"-pair-{content_fingerprint(pairs)}"
        cache_file = Path(cache_dir) / "tokenized" / f"{key}.pt"
        if cache_file.is_file():
            cached = torch.load(cache_file, weights_only=True)
            if pairs is None:
                return TokenizedDataset(cached, labels, num_labels=num_labels)
            return TokenizedDataset(cached["input_ids"], labels, cached["token_type_ids"], num_labels)
    encoded = tokenize_texts(tokenizer, texts, max_length, show_progress, pairs)
    input_ids, token_type_ids = encoded if pairs is not None else (encoded, None)
    if cache_file is not None:
        cache_file.parent.mkdir(parents=True, exist_ok=True)
        partial = cache_file.with_suffix(f".{os.getpid()}.tmp")  # torchrun ranks may write at once
        content = input_ids if pairs is None else {"input_ids": input_ids, "token_type_ids": token_type_ids}
        torch.save(content, partial)
        os.replace(partial, cache_file)
    return TokenizedDataset(input_ids, labels, token_type_ids, num_labels)


class DynamicPaddingCollator:
    """Pads each batch to its own longest sequence (optionally rounded up to a multiple). A batch is input_ids and
    attention_mask (rows, longest), token_type_ids (rows, longest; padded with 0) when the items have them,
    labels (rows,) when they have them, and their row indices (rows,) under ROW_ID_KEY when they carry them."""

    def __init__(self, pad_token_id: int, pad_to_multiple_of: int | None = None):
        self.pad_token_id = pad_token_id
        self.pad_to_multiple_of = pad_to_multiple_of

    def __call__(self, features: list[dict]) -> dict[str, torch.Tensor]:
        width = max(len(f["input_ids"]) for f in features)
        if self.pad_to_multiple_of:
            width = -(-width // self.pad_to_multiple_of) * self.pad_to_multiple_of
        input_ids = torch.full((len(features), width), self.pad_token_id, dtype=torch.long)
        attention_mask = torch.zeros((len(features), width), dtype=torch.long)
        for row, feature in enumerate(features):
            ids = feature["input_ids"]
            input_ids[row, : len(ids)] = torch.as_tensor(ids, dtype=torch.long)
            attention_mask[row, : len(ids)] = 1
        batch = {"input_ids": input_ids, "attention_mask": attention_mask}
        if "token_type_ids" in features[0]:  # sentence pairs: segment ids, padded with 0
            token_type_ids = torch.zeros((len(features), width), dtype=torch.long)
            for row, feature in enumerate(features):
                types = feature["token_type_ids"]
                token_type_ids[row, : len(types)] = torch.as_tensor(types, dtype=torch.long)
            batch["token_type_ids"] = token_type_ids
        if "labels" in features[0]:  # class ids (long), or multi-label multi-hot rows (float: BCE targets)
            real = isinstance(features[0]["labels"], (list, float))  # multi-hot rows or scores: float targets
            batch["labels"] = torch.tensor([f["labels"] for f in features], dtype=torch.float32 if real else torch.long)
        if ROW_ID_KEY in features[0]:
            batch[ROW_ID_KEY] = torch.tensor([f[ROW_ID_KEY] for f in features], dtype=torch.long)
        return batch


class LengthGroupedSampler(Sampler[int]):
    """Random order of batches whose items have similar lengths; deterministic per (seed, epoch).

    Indices are shuffled, cut into mega-batches of ``batch_size * mega_factor``, each sorted by length
    and cut into batches; the batches are then shuffled. Under torch distributed each rank takes every
    ``num_replicas``-th index, so neighbouring (similar-length) items land in the same step on all ranks.
    """

    def __init__(
        self,
        lengths: Sequence[int],
        batch_size: int,
        seed: int = 42,
        mega_factor: int = 50,
        num_replicas: int = 1,
        rank: int = 0,
    ):
        self.lengths = list(lengths)
        self.batch_size = batch_size
        self.seed = seed
        self.mega_factor = mega_factor
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Use ``epoch`` in the next shuffle's seed (as DistributedSampler does), so each epoch's order differs and is
        reproducible."""
        self.epoch = epoch

    def _global_order(self) -> list[int]:
        rng = random.Random(self.seed + self.epoch)
        indices = list(range(len(self.lengths)))
        rng.shuffle(indices)
        mega = self.batch_size * self.num_replicas * self.mega_factor
        batches = []
        for start in range(0, len(indices), mega):
            chunk = sorted(indices[start : start + mega], key=lambda i: self.lengths[i], reverse=True)
            step = self.batch_size * self.num_replicas
            batches.extend(chunk[i : i + step] for i in range(0, len(chunk), step))
        rng.shuffle(batches)
        return [i for batch in batches for i in batch]

    def __iter__(self) -> Iterator[int]:
        order = self._global_order()
        if self.num_replicas > 1:
            padding = (-len(order)) % self.num_replicas
            order = order + order[:padding]
            order = order[self.rank :: self.num_replicas]
        return iter(order)

    def __len__(self) -> int:
        return -(-len(self.lengths) // self.num_replicas)
