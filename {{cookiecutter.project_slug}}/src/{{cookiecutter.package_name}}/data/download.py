"""Fetch the official NSMC files (online only), verified before they are kept.

The official files have no published checksum, so verification is: the exact header and row counts
NSMC publishes (150,000 train / 50,000 test), then trust on first use: the SHA-256 of each file is
recorded in data/raw/SHA256SUMS and every later download must match it.
"""

from __future__ import annotations

import hashlib
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from .. import logs
from ..errors import DownloadError

NSMC_BASE_URL = "https://raw.githubusercontent.com/e9t/nsmc/master/"
NSMC_ROWS = {"ratings_train.txt": 150_000, "ratings_test.txt": 50_000}
NSMC_HEADER = b"id\tdocument\tlabel"
CHECKSUM_FILE = "SHA256SUMS"


def sha256(path: Path) -> str:
    """The file's SHA-256, hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def recorded_checksums(raw_dir: Path) -> dict[str, str]:
    """File name -> SHA-256 from the checksum file beside the downloads (empty without one)."""
    path = raw_dir / CHECKSUM_FILE
    if not path.is_file():
        return {}
    pairs = (line.split() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return {name: digest for digest, name in pairs}


def fetch(url: str, destination: Path, timeout: float = 30.0) -> Path:
    """Download ``url`` to ``destination.partial`` with a progress bar; the caller verifies and renames."""
    partial = destination.with_suffix(destination.suffix + ".partial")
    destination.parent.mkdir(parents=True, exist_ok=True)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0) or None
            with tqdm(total=total, unit="B", unit_scale=True, desc=destination.name, disable=not logs.bars()) as bar:
                for block in iter(lambda: response.read(1 << 16), b""):
                    out.write(block)
                    bar.update(len(block))
    except (urllib.error.URLError, TimeoutError, OSError) as error:
        partial.unlink(missing_ok=True)
        raise DownloadError(
            f"cannot download {url}: {getattr(error, 'reason', error)} "
            "(offline? copy the files into data/raw/ by hand instead)"
        ) from error
    return partial


def verify_nsmc(partial: Path, name: str, expected_sha256: str | None) -> str:
    """Check a downloaded NSMC file: its header, row count and, when known, its SHA-256. Returns the digest; raises
    DownloadError naming what differs."""
    content = partial.read_bytes()
    lines = content.rstrip(b"\n").split(b"\n")
    if lines[0].rstrip(b"\r") != NSMC_HEADER:
        raise DownloadError(f"{name}: unexpected header {lines[0][:60]!r}; expected {NSMC_HEADER!r}")
    if len(lines) - 1 != NSMC_ROWS[name]:
        raise DownloadError(f"{name}: {len(lines) - 1} rows, NSMC publishes {NSMC_ROWS[name]}")
    digest = sha256(partial)
    if expected_sha256 and digest != expected_sha256:
        raise DownloadError(f"{name}: checksum {digest} differs from the recorded {expected_sha256}")
    return digest


def download_nsmc(raw_dir: str | Path, base_url: str = NSMC_BASE_URL) -> list[Path]:
    """Fetch NSMC's official train and test files into ``raw_dir`` (online): each is downloaded beside its place,
    verified (verify_nsmc, against the checksum recorded before when there is one), then moved into place; the checksums
    are recorded. Returns their paths; raises DownloadError."""
    raw_dir = Path(raw_dir)
    known = recorded_checksums(raw_dir)
    saved = []
    for name in NSMC_ROWS:
        partial = fetch(base_url + name, raw_dir / name)
        try:
            known[name] = verify_nsmc(partial, name, known.get(name))
        except DownloadError:
            partial.unlink(missing_ok=True)
            raise
        partial.replace(raw_dir / name)
        saved.append(raw_dir / name)
    (raw_dir / CHECKSUM_FILE).write_text("".join(f"{d}  {n}\n" for n, d in sorted(known.items())), encoding="utf-8")
    return saved
