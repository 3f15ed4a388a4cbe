"""NSMC download: verified before kept, clear errors offline (served from 127.0.0.1 here)."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from {{ cookiecutter.package_name }}.data.download import CHECKSUM_FILE, download_nsmc
from {{ cookiecutter.package_name }}.errors import DownloadError


def nsmc_like(rows: int) -> str:
    return "id\tdocument\tlabel\n" + "".join(f"{i}\t리뷰 {i}\t{i % 2}\n" for i in range(rows))


@pytest.fixture()
def mirror(tmp_path):
    """A local stand-in for the NSMC address, serving files from a folder."""
    folder = tmp_path / "mirror"
    folder.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *args: None
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def test_download_verifies_rows_and_records_checksums(mirror, tmp_path):
    folder, url = mirror
    (folder / "ratings_train.txt").write_text(nsmc_like(150_000), encoding="utf-8")
    (folder / "ratings_test.txt").write_text(nsmc_like(50_000), encoding="utf-8")
    raw = tmp_path / "raw"
    saved = download_nsmc(raw, base_url=url)
    assert [p.name for p in saved] == ["ratings_train.txt", "ratings_test.txt"]
    assert len((raw / CHECKSUM_FILE).read_text(encoding="utf-8").splitlines()) == 2
    download_nsmc(raw, base_url=url)  # the same files again: checksums match
    (folder / "ratings_test.txt").write_text(nsmc_like(50_000).replace("리뷰 7", "리뷰 8"), encoding="utf-8")
    with pytest.raises(DownloadError, match="differs from the recorded"):
        download_nsmc(raw, base_url=url)
    assert not list(raw.glob("*.partial"))


def test_truncated_file_is_rejected_and_not_kept(mirror, tmp_path):
    folder, url = mirror
    (folder / "ratings_train.txt").write_text(nsmc_like(149_999), encoding="utf-8")
    with pytest.raises(DownloadError, match="149999 rows, NSMC publishes 150000"):
        download_nsmc(tmp_path / "raw", base_url=url)
    assert not (tmp_path / "raw" / "ratings_train.txt").exists()


def test_offline_download_says_what_to_do(tmp_path):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # nothing listens here once closed
    with pytest.raises(DownloadError, match="offline\\? copy the files into data/raw/ by hand"):
        download_nsmc(tmp_path / "raw", base_url=f"http://127.0.0.1:{port}/")
