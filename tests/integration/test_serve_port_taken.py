"""``lysbord serve`` on a port that is taken ends with one line naming the port and the
flag to change it, no traceback; a port out of range stops `make run` and `serve` first
(issue 23)."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize("door", ["http", "dicom", "hl7"])
def test_a_taken_port_is_one_line_naming_it_and_the_flag(tmp_path: Path, door: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        ports = {"http": "0", "dicom": "0", "hl7": "0", door: str(port)}
        flags = [x for d, p in ports.items() for x in (f"--{d}-port", p)]
        run = subprocess.run(
            [
                str(Path(sys.executable).parent / "lysbord"),
                "serve",
                "--data-dir",
                str(tmp_path),
                *flags,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    said = (run.stdout + run.stderr).strip().splitlines()
    assert run.returncode == 2, said
    assert "Traceback" not in run.stderr
    problem = [line for line in said if str(port) in line]
    assert len(problem) == 1 and f"--{door}-port" in problem[0], said


@pytest.mark.parametrize("flag", ["PORT=abc", "DICOM_PORT=70000", "HL7_PORT=8o"])
def test_make_run_with_a_port_that_is_no_number_stops_first(flag: str) -> None:
    root = Path(__file__).resolve().parents[2]
    run = subprocess.run(
        ["make", "-s", "-C", str(root), "ports", flag], capture_output=True, text=True
    )
    assert run.returncode == 2
    assert "is not a port number (1-65535)" in run.stderr and flag.split("=")[1] in run.stderr


def test_serve_refuses_a_port_out_of_range(tmp_path: Path) -> None:
    lysbord = str(Path(sys.executable).parent / "lysbord")
    run = subprocess.run(
        [lysbord, "serve", "--data-dir", str(tmp_path), "--http-port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and "--http-port" in run.stderr and "Traceback" not in run.stderr
