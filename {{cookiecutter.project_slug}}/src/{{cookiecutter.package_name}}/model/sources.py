"""Where the model comes from: the Hugging Face hub, a local directory, or an offline build.

``scratch:tiny`` / ``scratch:small`` train a WordPiece tokenizer on the training texts and build an
ELECTRA classifier from a config, so everything works with no network. The tokenizer is Hangul-safe: it
brings text to NFC itself (decomposed Hangul would be [UNK]), and it neither lowercases nor strips accents: a
BERT/ELECTRA tokenizer with ``do_lower_case=True`` NFD-decomposes Hangul and maps every Korean word to ``[UNK]``
once saved and reloaded.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

from .. import logs
from ..data.labels import LabelSchema
from ..errors import ModelSourceError
from ..tasks import task_named
from .artifact import MODEL_CONFIG_FILE, TOKENIZER_FILE
from .wordpiece import CONTINUATION, train_vocabulary, word_counts

SPECIAL_TOKENS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
SCRATCH_PREFIX = "scratch:"
# --- extend this: a new offline model size is one entry here (an ELECTRA config); any hub id or local folder
# needs no code: set model.base_model ---
SCRATCH_SIZES = {
    "tiny": {
        "vocab_size": 4000,
        "embedding_size": 64,
        "hidden_size": 64,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 128,
    },
    "small": {
        "vocab_size": 16000,
        "embedding_size": 128,
        "hidden_size": 256,
        "num_hidden_layers": 4,
        "num_attention_heads": 4,
        "intermediate_size": 1024,
    },
}
AUTO_SIZE = "auto"  # scratch:auto: the size settled_source picks for the number of training texts
# scratch:small beat scratch:tiny on the whole of NSMC (135K training rows), tied it on 18K and lost on the real sets
# of 4-8K rows, at several times the training time; the cut-off lies between the sizes measured
# (benchmarks/RESULTS-real-sets-defaults.md)
SMALL_FROM_ROWS = 50_000
# scratch:tiny at 2e-3 answered mostly two classes of real 1-5 star ratings (some classes' recall under 0.1); 1e-3
# learns all five and is no worse on NSMC or HateSpeech (benchmarks/RESULTS-defaults.md). scratch:small at 5e-4
# collapsed to one class on the whole of NSMC over 3 epochs; 2.5e-4 did not
# (benchmarks/RESULTS-real-sets-defaults.md)
SCRATCH_LEARNING_RATES = {"tiny": 1e-3, "small": 2.5e-4}
LEGACY_NAMES = ("gamma", "beta", "weight_g", "weight_v")  # old parameter names transformers renames on load
PRETRAINED_LEARNING_RATE = 5e-5
PRETRAIN_RECORD = "pretrain.json"  # what `pretrain` writes beside its model: the source it started from, its losses
HEAD_PREFIXES = ("classifier", "score", "pre_classifier", "qa_outputs")  # a classifier's own, newly made weights


def is_scratch(source: str) -> bool:
    """Whether ``source`` names an offline model built from the training texts (``scratch:tiny``, ``scratch:small``,
    ``scratch:auto``)."""
    return source.startswith(SCRATCH_PREFIX)


def scratch_size(source: str) -> str:
    """The size in ``scratch:<size>`` (a key of SCRATCH_SIZES; ``scratch:auto`` is settled_source's to make one).
    Raises ModelSourceError for an unknown size, naming the known ones."""
    size = source[len(SCRATCH_PREFIX) :]
    if size not in SCRATCH_SIZES:
        known = [*SCRATCH_SIZES, AUTO_SIZE]
        raise ModelSourceError(
            f"model.base_model: unknown offline model {source!r}; use one of "
            f"{', '.join(SCRATCH_PREFIX + s for s in known)}"
        )
    return size


def settled_source(source: str, rows: int) -> str:
    """The model ``source`` stands for when the model learns from ``rows`` texts: ``scratch:auto`` is scratch:small
    from SMALL_FROM_ROWS rows and scratch:tiny below them; any other source is itself."""
    if source != SCRATCH_PREFIX + AUTO_SIZE:
        return source
    return SCRATCH_PREFIX + ("small" if rows >= SMALL_FROM_ROWS else "tiny")


def check_source(source: str) -> None:
    """Fail early, before any data is read, on a source that cannot work. Raises ModelSourceError."""
    if is_scratch(source):
        scratch_size(settled_source(source, 0))
    elif not source.strip():
        raise ModelSourceError("model.base_model is empty; give a hub id, a local folder or scratch:tiny")


def pretrained_from(source: str) -> str:
    """The model.base_model a `pretrain` output folder started from (its PRETRAIN_RECORD); ``source`` itself
    otherwise."""
    record = Path(source) / PRETRAIN_RECORD
    if not record.is_file():
        return source
    try:
        return str(json.loads(record.read_text(encoding="utf-8")).get("base_model") or source)
    except (ValueError, UnicodeDecodeError, AttributeError):
        return source


def default_learning_rate(source: str) -> float:
    """Randomly initialised small models need a far larger step than fine-tuning a pretrained one; a `pretrain`
    folder takes the rate of the model it started from (scratch:tiny pretrained on a few thousand texts is still
    a tiny model)."""
    source = pretrained_from(source)
    return SCRATCH_LEARNING_RATES[scratch_size(source)] if is_scratch(source) else PRETRAINED_LEARNING_RATE


def train_tokenizer(texts: Iterable[str], vocab_size: int):
    """A WordPiece tokenizer trained on ``texts``, wrapped as a plain fast tokenizer (Hangul-safe).

    The wrapper is transformers' generic one (saved as ``TokenizersBackend``), not ElectraTokenizerFast: a
    BERT/ELECTRA class rebuilds its normaliser from ``do_lower_case``/``strip_accents`` when it is loaded and
    drops the NFC step; the generic one loads tokenizer.json's pipeline as saved. Deterministic
    (model/wordpiece.py): the same texts give the same vocabulary and token ids in any process.
    """
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    # NFC first: decomposed Hangul (NFD, as macOS and some web forms send it) would otherwise be jamo the
    # vocabulary never saw, i.e. [UNK]. Not NFKC: it folds compatibility jamo (ㅋㅋ, ㅠㅠ, which carry meaning in
    # Korean reviews) into conjoining jamo and full-width forms into ASCII. No lowercasing or accent stripping:
    # both decompose Hangul (module docstring).
    normalizer = normalizers.Sequence(
        [
            normalizers.NFC(),
            normalizers.BertNormalizer(
                clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False
            ),
        ]
    )
    pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    vocabulary = train_vocabulary(word_counts(texts, normalizer, pre_tokenizer), vocab_size, SPECIAL_TOKENS)
    backend = Tokenizer(
        models.WordPiece(
            {token: index for index, token in enumerate(vocabulary)},
            unk_token="[UNK]",
            continuing_subword_prefix=CONTINUATION,
        )
    )
    backend.normalizer = normalizer
    backend.pre_tokenizer = pre_tokenizer
    cls_id, sep_id = backend.token_to_id("[CLS]"), backend.token_to_id("[SEP]")
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]",
        pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", cls_id), ("[SEP]", sep_id)],
    )
    backend.decoder = decoders.WordPiece(prefix=CONTINUATION)
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],  # what an ELECTRA tokenizer gives
        unk_token="[UNK]",
        pad_token="[PAD]",
        cls_token="[CLS]",
        sep_token="[SEP]",
        mask_token="[MASK]",
    )


def head_settings(schema: LabelSchema) -> dict:
    """The model config's head settings of the schema's task, as keyword arguments (Task.config_kwargs: its
    outputs, their names and the ``problem_type`` transformers picks the loss by)."""
    return task_named(schema.task).config_kwargs(schema)


def build_scratch(source: str, texts: list[str], schema: LabelSchema, max_length: int, tokenizer=None):
    """Tokenizer trained on ``texts`` (unless given) plus a randomly initialised ELECTRA classifier."""
    from transformers import ElectraConfig, ElectraForSequenceClassification

    size = SCRATCH_SIZES[scratch_size(source)]
    tokenizer = tokenizer or train_tokenizer(texts, size["vocab_size"])
    tokenizer.model_max_length = max_length
    config = ElectraConfig(
        **{**size, "vocab_size": len(tokenizer)},
        max_position_embeddings=max(512, max_length),
        pad_token_id=tokenizer.pad_token_id,
        **head_settings(schema),
    )
    return tokenizer, ElectraForSequenceClassification(config)


def load_pretrained(source: str, schema: LabelSchema, max_length: int):
    """Tokenizer and classifier from a hub id or a local ``save_pretrained`` folder, head sized to the schema."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(source)
        model, loading = AutoModelForSequenceClassification.from_pretrained(
            source, ignore_mismatched_sizes=True, output_loading_info=True, **head_settings(schema)
        )
    except (OSError, ValueError) as error:  # missing files, no network, or no tokenizer files in a folder
        local = Path(source).exists()
        hint = (
            f"it is not a model folder ({MODEL_CONFIG_FILE}, weights, tokenizer files)"
            if local
            else "it is not reachable: with no network (HF_HUB_OFFLINE=1) use a local folder "
            "or scratch:auto / scratch:tiny / scratch:small"
        )
        raise ModelSourceError(f"cannot load model {source!r}: {hint} ({error.__class__.__name__})") from error
    tokenizer.model_max_length = max_length
    warn_missing_weights(source, loading.get("missing_keys", ()))
    save_with_native_names(model)
    return tokenizer, model


def warn_missing_weights(source: str, missing) -> None:
    """One warning line when loading ``source`` left weights other than the classification head newly initialised
    (``missing``: from_pretrained's missing keys): the encoder did not come from that folder or model."""
    encoder = sorted(key for key in missing if not key.startswith(HEAD_PREFIXES))
    if encoder:
        logs.result(
            f"warning: {source}: {len(encoder)} encoder weight(s) were not in it and start random "
            f"(e.g. {encoder[0]}); is it the model you meant?",
            stderr=True,
        )


def save_with_native_names(model) -> None:
    """Make save_pretrained write today's parameter names.

    transformers 5.3 to 5.5 (the pinned SageMaker containers) remember the legacy renaming a checkpoint was loaded
    with (LayerNorm.gamma -> LayerNorm.weight) and apply it in reverse on every save, so checkpoints hold
    LayerNorm.gamma/beta keys that the Trainer's resume and load_best_model_at_end do not match: every LayerNorm
    would silently keep its pre-resume weights. Later versions drop the legacy renaming themselves.
    """
    conversions = getattr(model, "_weight_conversions", None)
    if conversions:

        def legacy(conversion) -> bool:
            patterns = getattr(conversion, "source_patterns", [])
            patterns = [patterns] if isinstance(patterns, str) else patterns
            return any(name in pattern for pattern in patterns for name in LEGACY_NAMES)

        model._weight_conversions = [c for c in conversions if not legacy(c)] or None


def load_model(source: str, schema: LabelSchema, max_length: int, train_texts: list[str] | None = None, tokenizer=None):
    """(tokenizer, model) for ``source``: a scratch model built from ``train_texts`` (or with the given ``tokenizer``),
    else a pretrained one from the hub or a folder, with a fresh classification head of ``schema``'s labels and
    ``max_length``. Raises ModelSourceError."""
    if is_scratch(source):
        if not train_texts and tokenizer is None:
            raise ModelSourceError(f"{source} builds its tokenizer from training texts, and none were given")
        return build_scratch(source, train_texts or [], schema, max_length, tokenizer)
    return load_pretrained(source, schema, max_length)


def scratch_tokenizer(source: str, texts: list[str], folder: Path, builds_here: bool, barrier) -> object:
    """The scratch tokenizer kept with the checkpoints, so resumed runs keep their token ids.

    ``builds_here`` is true on one process per machine (local rank 0): each machine has its own disk, and
    training is deterministic, so every node builds the same files; the other processes wait, then load.
    """
    from transformers import AutoTokenizer

    if builds_here and not (folder / TOKENIZER_FILE).is_file():
        partial = folder.with_name(folder.name + ".partial")  # a kill mid-save leaves no half tokenizer
        shutil.rmtree(partial, ignore_errors=True)
        train_tokenizer(texts, SCRATCH_SIZES[scratch_size(source)]["vocab_size"]).save_pretrained(partial)
        shutil.rmtree(folder, ignore_errors=True)
        partial.rename(folder)
    barrier()
    return AutoTokenizer.from_pretrained(folder)
