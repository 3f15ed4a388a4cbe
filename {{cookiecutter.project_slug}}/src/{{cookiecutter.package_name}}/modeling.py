"""Where the model comes from: the Hugging Face hub, a local directory, or an offline build.

``scratch:tiny`` / ``scratch:small`` train a WordPiece tokenizer on the training texts and build an
ELECTRA classifier from a config, so everything works with no network. The tokenizer is Hangul-safe:
a BERT/ELECTRA tokenizer with ``do_lower_case=True`` NFD-decomposes Hangul and maps every Korean word to
``[UNK]`` once saved and reloaded, so lowercasing and accent stripping are switched off explicitly.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from .labels import LabelSchema

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SCRATCH_PREFIX = "scratch:"
SCRATCH_SIZES = {
    "tiny": {"vocab_size": 4000, "embedding_size": 64, "hidden_size": 64, "num_hidden_layers": 2,
             "num_attention_heads": 2, "intermediate_size": 128},
    "small": {"vocab_size": 16000, "embedding_size": 128, "hidden_size": 256, "num_hidden_layers": 4,
              "num_attention_heads": 4, "intermediate_size": 1024},
}


SCRATCH_LEARNING_RATES = {"tiny": 2e-3, "small": 5e-4}
PRETRAINED_LEARNING_RATE = 5e-5


class ModelSourceError(ValueError):
    """The model source cannot be loaded; the message says why and what to do."""


def is_scratch(source: str) -> bool:
    return source.startswith(SCRATCH_PREFIX)


def scratch_size(source: str) -> str:
    size = source[len(SCRATCH_PREFIX) :]
    if size not in SCRATCH_SIZES:
        raise ModelSourceError(f"unknown offline model {source!r}; use one of "
                               f"{', '.join(SCRATCH_PREFIX + s for s in SCRATCH_SIZES)}")
    return size


def default_learning_rate(source: str) -> float:
    """Randomly initialised small models need a far larger step than fine-tuning a pretrained one."""
    return SCRATCH_LEARNING_RATES[scratch_size(source)] if is_scratch(source) else PRETRAINED_LEARNING_RATE


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A WordPiece tokenizer trained on ``texts``, wrapped as an ELECTRA fast tokenizer (Hangul-safe)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import ElectraTokenizerFast

    backend = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    backend.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                    strip_accents=False, lowercase=False)
    backend.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=vocab_size, special_tokens=SPECIAL_TOKENS, show_progress=False)
    backend.train_from_iterator(texts, trainer)
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    backend.decoder = decoders.WordPiece()
    return ElectraTokenizerFast(
        tokenizer_object=backend, do_lower_case=False, strip_accents=False, tokenize_chinese_chars=True,
        unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
    )


def build_scratch(source: str, texts: list[str], schema: LabelSchema, max_length: int, tokenizer=None):
    """Tokenizer trained on ``texts`` (unless given) plus a randomly initialised ELECTRA classifier."""
    from transformers import ElectraConfig, ElectraForSequenceClassification

    size = SCRATCH_SIZES[scratch_size(source)]
    tokenizer = tokenizer or train_tokenizer(texts, size["vocab_size"])
    tokenizer.model_max_length = max_length
    config = ElectraConfig(
        **{**size, "vocab_size": len(tokenizer)},
        max_position_embeddings=max(512, max_length),
        num_labels=schema.num_labels, id2label=schema.id2label, label2id=schema.label2id,
        pad_token_id=tokenizer.pad_token_id,
    )
    return tokenizer, ElectraForSequenceClassification(config)


def load_pretrained(source: str, schema: LabelSchema, max_length: int):
    """Tokenizer and classifier from a hub id or a local ``save_pretrained`` folder, head sized to the schema."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model = AutoModelForSequenceClassification.from_pretrained(
            source, num_labels=schema.num_labels, id2label=schema.id2label, label2id=schema.label2id,
            ignore_mismatched_sizes=True,
        )
    except (OSError, ValueError) as error:  # missing files, no network, or no tokenizer files in a folder
        local = Path(source).exists()
        hint = ("it is not a model folder (config.json, weights, tokenizer files)" if local else
                "it is not reachable: with no network (HF_HUB_OFFLINE=1) use a local folder "
                "or scratch:tiny / scratch:small")
        raise ModelSourceError(f"cannot load model {source!r}: {hint} ({error.__class__.__name__})") from error
    tokenizer.model_max_length = max_length
    return tokenizer, model


def load_model(source: str, schema: LabelSchema, max_length: int, train_texts: list[str] | None = None,
               tokenizer=None):
    if is_scratch(source):
        if not train_texts and tokenizer is None:
            raise ModelSourceError(f"{source} builds its tokenizer from training texts, and none were given")
        return build_scratch(source, train_texts or [], schema, max_length, tokenizer)
    return load_pretrained(source, schema, max_length)


def shared_scratch_tokenizer(source: str, texts: list[str], folder: Path, is_main: bool, barrier) -> object:
    """The scratch tokenizer kept with the checkpoints: trained once (by rank 0), then loaded by every
    process and by every resumed run, so token ids never change under a model's weights."""
    from transformers import AutoTokenizer

    if not (folder / "tokenizer.json").is_file() and is_main:
        train_tokenizer(texts, SCRATCH_SIZES[scratch_size(source)]["vocab_size"]).save_pretrained(folder)
    barrier()
    return AutoTokenizer.from_pretrained(folder)
