"""Build a real 1-5 star ratings set (5 balanced classes) from NSMC's published raw crawl.

Provenance: e9t/nsmc (https://github.com/e9t/nsmc, CC0 1.0), folder `raw/`: 14,730 JSON files, one per movie,
each a list of Naver Movies reviews {review_id, movie_id, review, rating "1".."10", author, date}. The ratings
are the reviewers' own 10-point scores, so the labels here are real human star ratings, not drawn from the
texts' words. Stars = ceil(rating / 2), 1..5.

Read from a local git mirror of that repository (no network): review texts NFC-normalised and stripped, empty
and duplicate texts dropped (a text seen under two star values is dropped altogether), then a seeded balanced
draw of 1,200 texts per star (6,000), split seeded and stratified into train 5,000 / test 1,000 (1,000 / 200 per
star). Written as UTF-8 TSV with header `document<TAB>label`, labels "1".."5".

    python benchmarks/ratings_data.py [OUT_DIR] [--mirror PATH] [--seed 13]

OUT_DIR defaults to benchmarks/.data/ratings5/ (git-ignored).
"""

from __future__ import annotations

import argparse
import json
import math
import random
import subprocess
import unicodedata
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
MIRROR = Path("/work/.mirror/e9t+nsmc/repo/.git")
PER_STAR = 1200
TEST_PER_STAR = 200


def raw_blobs(git_dir: Path) -> list[str]:
    """The blob ids of raw/*.json at HEAD, in path order."""
    out = subprocess.run(
        ["git", "--git-dir", str(git_dir), "ls-tree", "HEAD", "raw/"], check=True, capture_output=True, text=True
    ).stdout
    rows = [line.split("\t", 1) for line in out.splitlines()]
    return [meta.split()[2] for meta, path in sorted(rows, key=lambda r: r[1]) if path.endswith(".json")]


def read_reviews(git_dir: Path) -> tuple[dict[str, int], int, int]:
    """{text: stars} of every usable review, the number of JSON files read and of reviews seen."""
    blobs = raw_blobs(git_dir)
    proc = subprocess.run(
        ["git", "--git-dir", str(git_dir), "cat-file", "--batch"],
        input=("\n".join(blobs) + "\n").encode(),
        check=True,
        capture_output=True,
    )
    data, pos = proc.stdout, 0
    stars: dict[str, set[int]] = defaultdict(set)
    seen = 0
    for _ in blobs:
        header_end = data.index(b"\n", pos)
        size = int(data[pos:header_end].split()[2])
        body = data[header_end + 1 : header_end + 1 + size]
        pos = header_end + 1 + size + 1
        for row in json.loads(body.decode("utf-8")):
            seen += 1
            text = " ".join(unicodedata.normalize("NFC", row.get("review") or "").split())
            rating = str(row.get("rating") or "").strip()
            if not text or not rating.isdigit() or not 1 <= int(rating) <= 10:
                continue
            stars[text].add(math.ceil(int(rating) / 2))
    usable = {text: next(iter(s)) for text, s in stars.items() if len(s) == 1}
    return usable, len(blobs), seen


def draw(usable: dict[str, int], seed: int) -> tuple[list[tuple[str, int]], list[tuple[str, int]]]:
    """A balanced, seeded, stratified (train, test) draw."""
    rng = random.Random(seed)
    by_star: dict[int, list[str]] = defaultdict(list)
    for text in sorted(usable):
        by_star[usable[text]].append(text)
    train, test = [], []
    for star in range(1, 6):
        picked = rng.sample(by_star[star], PER_STAR)
        test += [(t, star) for t in picked[:TEST_PER_STAR]]
        train += [(t, star) for t in picked[TEST_PER_STAR:]]
    rng.shuffle(train)
    rng.shuffle(test)
    return train, test


def write(path: Path, rows: list[tuple[str, int]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    # whitespace is collapsed in read_reviews, so a text holds no tab or newline: plain TSV, no quoting
    lines = ["document\tlabel"] + [f"{text}\t{star}" for text, star in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", nargs="?", type=Path, default=HERE / ".data" / "ratings5")
    parser.add_argument("--mirror", type=Path, default=MIRROR)
    parser.add_argument("--seed", type=int, default=13)
    args = parser.parse_args()
    usable, files, seen = read_reviews(args.mirror)
    counts = {s: sum(1 for v in usable.values() if v == s) for s in range(1, 6)}
    train, test = draw(usable, args.seed)
    write(args.out / "train.tsv", train)
    write(args.out / "test.tsv", test)
    print(f"{files} files, {seen} reviews, {len(usable)} unique usable texts; per star {counts}")
    print(f"wrote {len(train)} train / {len(test)} test rows to {args.out}")


if __name__ == "__main__":
    main()
