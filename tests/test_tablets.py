"""The tablet's configuration QR code, read back as ODK Collect reads it: QR, then base64, zlib, JSON."""

from __future__ import annotations

import base64
import json
import zlib
from pathlib import Path

import numpy as np
import png
import pytest
import zxingcpp

from survey_api import cli, tablets

TOKEN = "sv_tscmvy9xnXUcJgXFJUS-ujiPfK33jt6udyewJR-qq_8"
BASE = "http://192.168.1.10:8000"
OPENROSA = f"{BASE}/openrosa/key/{TOKEN}/projects/korat-demo"


def as_collect_reads(payload: str) -> dict:
    return json.loads(zlib.decompress(base64.b64decode(payload, validate=True)).decode())


def scanned(path: Path) -> list[str]:
    """The texts of the QR codes a scanner finds in the PNG's pixels."""
    width, height, rows, info = png.Reader(filename=str(path)).asDirect()
    assert info["planes"] == 1  # black and white, as segno writes it
    grey = np.array([list(row) for row in rows], dtype=np.uint8) * (255 // (2 ** info["bitdepth"] - 1))
    assert grey.shape == (height, width)
    return [found.text for found in zxingcpp.read_barcodes(grey)]


def test_the_payload_decodes_to_the_openrosa_url_and_the_project():
    settings = tablets.collect_settings(BASE + "/", TOKEN, "korat-demo", "Korat ฝุ่น survey")
    read = as_collect_reads(tablets.qr_payload(settings))
    assert read["general"]["server_url"] == OPENROSA
    assert read["general"]["username"] == ""
    assert read["general"]["form_update_mode"] == "match_exactly"
    assert read["general"]["autosend"] == "wifi_and_cellular"
    assert read["admin"] == {}  # Collect refuses settings without it
    assert read["project"]["name"] == "Korat ฝุ่น survey"
    assert read["project"]["icon"] == "K"
    assert read["project"]["color"] in tablets.COLORS


def test_a_server_behind_a_path_keeps_it():
    settings = tablets.collect_settings("https://surveys.example/city//", TOKEN, "korat-demo", "")
    assert (
        settings["general"]["server_url"]
        == f"https://surveys.example/city/openrosa/key/{TOKEN}/projects/korat-demo"
    )
    assert settings["project"]["name"] == "korat-demo"


@pytest.mark.parametrize(
    ("url", "token", "slug", "said"),
    [
        ("192.168.1.10:8000", TOKEN, "korat-demo", "--url must be http://"),
        ("ftp://192.168.1.10", TOKEN, "korat-demo", "--url must be http://"),
        ("http://", TOKEN, "korat-demo", "--url must be http://"),
        ("http://192.168.1.10:80000", TOKEN, "korat-demo", "port"),
        ("http://192.168.1.10:8000/?x=1", TOKEN, "korat-demo", "without a query"),
        ("http://me:pw@192.168.1.10:8000", TOKEN, "korat-demo", "user"),
        (OPENROSA, TOKEN, "korat-demo", "not an OpenRosa URL"),
        (BASE, "", "korat-demo", "--token"),
        (BASE, "sv_a/../b", "korat-demo", "--token"),
        (BASE, "sv_a b", "korat-demo", "--token"),
        (BASE, TOKEN, "Korat Demo", "--project"),
    ],
)
def test_what_would_give_an_unusable_code_is_refused(url, token, slug, said):
    with pytest.raises(tablets.Refused, match=said):
        tablets.collect_settings(url, token, slug, "Korat")


def test_the_command_prints_the_code_and_writes_a_png_a_scanner_reads(tmp_path, capsys):
    out = tmp_path / "qr.png"
    argv = ["collect-qr", "--url", BASE, "--project", "korat-demo", "--token", TOKEN, "-o", str(out)]
    assert cli.main([*argv, "--name", "Korat demo"]) == 0

    said = capsys.readouterr()
    assert f"Server URL: {OPENROSA}\n" in said.out
    assert "Project: Korat demo\n" in said.out
    drawn = said.out.split("Project:")[0].splitlines()
    assert len(drawn) > 20 and {len(line) for line in drawn} == {len(drawn[0])}  # a square of blocks
    assert f"written to {out}" in said.err

    assert out.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    [text] = scanned(out)
    expected = tablets.collect_settings(BASE, TOKEN, "korat-demo", "Korat demo")
    assert text == tablets.qr_payload(expected)
    assert as_collect_reads(text)["general"]["server_url"] == OPENROSA


def test_the_terminal_drawing_scans_like_the_png(tmp_path):
    """Half blocks back to modules (light = block, as on a dark terminal), then through the scanner."""
    payload = tablets.qr_payload(tablets.collect_settings(BASE, TOKEN, "korat-demo", "Korat"))
    halves = {" ": (0, 0), "▀": (255, 0), "▄": (0, 255), "█": (255, 255)}
    lines = tablets.terminal_text(payload).splitlines()
    modules = [[halves[c][half] for c in line] for line in lines for half in (0, 1)]
    image = np.kron(np.array(modules, dtype=np.uint8), np.ones((4, 4), dtype=np.uint8))
    assert [found.text for found in zxingcpp.read_barcodes(image)] == [payload]


def test_the_command_refuses_a_bad_token_in_one_line(capsys):
    argv = ["collect-qr", "--url", BASE, "--project", "korat-demo", "--token", "not a token"]
    assert cli.main(argv) == 2
    said = capsys.readouterr()
    assert said.out == ""
    assert said.err.count("\n") == 1 and said.err.startswith("error: --token")
