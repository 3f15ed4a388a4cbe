"""Bring more real, human-labelled Korean sets into benchmarks/.data/ from local git mirrors of their public
repositories (no network here: `fetch` or `git clone --mirror` them first), for bench_real_sets.py.

  chatbot  songys/Chatbot_data (MIT): ChatbotData.csv, 11,823 questions labelled 0 everyday, 1 breakup
           (negative), 2 love (positive) by its author. The questions only (column Q); a text seen under two labels
           is dropped, a repeated text kept once; then a seeded stratified split, 80% train.csv / 20% test.csv.
  unsmile  smilegate-ai/korean_unsmile_dataset (CC BY-NC-ND 4.0): unsmile_train_v1.0.tsv (15,005) and
           unsmile_valid_v1.0.tsv (3,737) verbatim, one 0/1 column a label.
  xnli     kakaobrain/kor-nlu-datasets (CC BY-SA 4.0): KorNLI/xnli.dev.ko.tsv (2,490 pairs) as the training file,
           xnli.test.ko.tsv (5,010) as the test file, verbatim: 3 classes, entailment / neutral / contradiction.
  korsts   the same repository: KorSTS/sts-train.tsv (5,749 pairs) and sts-test.tsv (1,379), verbatim: a 0-5 score.
  hate-unlabeled  kocohub/korean-hate-speech (CC BY-SA 4.0): unlabeled/unlabeled_comments_5.txt, 33,893 unlabelled
           comments from the same portal as the labelled HateSpeech set (the one part of the 2M the mirror holds;
           none is a labelled comment), verbatim: texts for `pretrain.unlabeled_files`.

    python benchmarks/real_sets_data.py [--mirrors /work/.mirror]

A mirror is the git directory `<mirrors>/<owner>+<name>/repo`; a set whose mirror is missing is skipped (said).
"""

from __future__ import annotations

import argparse
import csv
import io
import random
import subprocess
import unicodedata
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
DATA = HERE / ".data"
SEED = 13
TEST_SHARE = 0.2
VERBATIM = {
    "unsmile": (
        "smilegate-ai+korean_unsmile_dataset",
        {"unsmile_train.tsv": "unsmile_train_v1.0.tsv", "unsmile_valid.tsv": "unsmile_valid_v1.0.tsv"},
    ),
    "xnli": (
        "kakaobrain+kor-nlu-datasets",
        {"train.tsv": "KorNLI/xnli.dev.ko.tsv", "test.tsv": "KorNLI/xnli.test.ko.tsv"},
    ),
    "korsts": ("kakaobrain+kor-nlu-datasets", {"train.tsv": "KorSTS/sts-train.tsv", "test.tsv": "KorSTS/sts-test.tsv"}),
    "hate-unlabeled": (
        "kocohub+korean-hate-speech",
        {"unlabeled_comments_5.txt": "unlabeled/unlabeled_comments_5.txt"},
    ),
}
CHATBOT = ("songys+Chatbot_data", "ChatbotData.csv")


def git_file(git_dir: Path, path: str) -> str:
    """The UTF-8 text of ``path`` at HEAD of the git directory ``git_dir``."""
    shown = subprocess.run(["git", "--git-dir", str(git_dir), "show", f"HEAD:{path}"], check=True, capture_output=True)
    return shown.stdout.decode("utf-8")


def chatbot_split(text: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, test) rows (question, label) of ChatbotData.csv: NFC, stripped, ambiguous texts dropped, repeats kept
    once, a seeded split of TEST_SHARE of each label to test."""
    labels: dict[str, set[str]] = defaultdict(set)
    for row in csv.DictReader(io.StringIO(text)):
        question = unicodedata.normalize("NFC", row["Q"]).strip()
        if question:
            labels[question].add(row["label"])
    by_label: dict[str, list[str]] = defaultdict(list)
    for question, seen in sorted(labels.items()):
        if len(seen) == 1:
            by_label[next(iter(seen))].append(question)
    rng, train, test = random.Random(SEED), [], []
    for label, questions in sorted(by_label.items()):
        rng.shuffle(questions)
        cut = round(len(questions) * TEST_SHARE)
        test += [(q, label) for q in questions[:cut]]
        train += [(q, label) for q in questions[cut:]]
    rng.shuffle(train), rng.shuffle(test)
    return train, test


def write_csv(path: Path, rows: list[tuple[str, str]]) -> None:
    """``rows`` as a UTF-8 CSV with header Q,label."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Q", "label"])
        writer.writerows(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    args = parser.parse_args()
    for name, (repository, files) in VERBATIM.items():
        git_dir = args.mirrors / repository / "repo"
        if not git_dir.exists():
            print(f"{name}: no mirror at {git_dir}, skipped")
            continue
        (DATA / name).mkdir(parents=True, exist_ok=True)
        for target, source in files.items():
            (DATA / name / target).write_text(git_file(git_dir, source), encoding="utf-8")
        print(f"{name}: {', '.join(files)} in {DATA / name}")
    git_dir = args.mirrors / CHATBOT[0] / "repo"
    if not git_dir.exists():
        print(f"chatbot: no mirror at {git_dir}, skipped")
        return 0
    train, test = chatbot_split(git_file(git_dir, CHATBOT[1]))
    (DATA / "chatbot").mkdir(parents=True, exist_ok=True)
    write_csv(DATA / "chatbot" / "train.csv", train)
    write_csv(DATA / "chatbot" / "test.csv", test)
    print(f"chatbot: {len(train)} train / {len(test)} test questions in {DATA / 'chatbot'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
