"""One Unicode normal form (NFC) for texts and label names wherever they are read: data files, label schemas."""

from __future__ import annotations

import unicodedata

from {{ cookiecutter.package_name }}.data.labels import LabelSchema
from {{ cookiecutter.package_name }}.data.normalize import Normalizer
from {{ cookiecutter.package_name }}.data.validation import ReadOptions, load_records

NFC_NAMES = ("부정", "중립", "긍정")


def nfd(text: str) -> str:
    return unicodedata.normalize("NFD", text)


def test_decomposed_text_and_label_names_in_a_data_file_are_read_in_nfc(tmp_path):
    path = tmp_path / "a.csv"
    rows = [("1", "좋아요", "긍정"), ("2", "별로예요", "부정")]
    content = "id,review,label\n" + "".join(f"{i},{nfd(text)},{nfd(label)}\n" for i, text, label in rows)
    path.write_text(content, encoding="utf-8")
    report = load_records(
        path, ReadOptions("csv", "review", "label", "id"), LabelSchema(NFC_NAMES, "name"), Normalizer()
    )
    assert not report.errors
    assert [(r.text, r.label) for r in report.records] == [("좋아요", 2), ("별로예요", 0)]


def test_a_label_name_differing_only_in_normal_form_matches():
    decomposed = LabelSchema(tuple(nfd(name) for name in NFC_NAMES), "name")
    assert decomposed.names == NFC_NAMES  # names are kept in NFC (labels.json, answers)
    assert decomposed.to_id("긍정") == LabelSchema(NFC_NAMES, "name").to_id(nfd("긍정")) == 2
