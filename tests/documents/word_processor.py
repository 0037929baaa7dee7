"""Turning a Word document into PDF with LibreOffice, as a test can do alongside other test processes.

LibreOffice keeps one user profile per process that uses it, and a second `soffice` started on a profile in use
hands its work to the first or fails; each conversion here gets a profile of its own, in the test's folder.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


def require(*tools: str) -> None:
    """Skips the test when a tool is missing (fails it on CI, whose .ci/run installs them)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing and os.environ.get("CI"):
        pytest.fail(f"CI must install {', '.join(missing)} (.ci/run)")
    if missing:
        pytest.skip(f"not installed: {', '.join(missing)}")


def to_pdf(document: Path, out_dir: Path, scratch: Path) -> Path:
    """`document` converted into `out_dir` by `soffice --headless`, with its user profile under `scratch`: the PDF."""
    profile = scratch / "libreoffice-profile"
    env = {**os.environ, "HOME": str(scratch)}  # what else it writes under HOME stays in the test's folder too
    subprocess.run(["soffice", f"-env:UserInstallation={profile.as_uri()}", "--headless", "--convert-to", "pdf",
                    "--outdir", str(out_dir), str(document)], check=True, capture_output=True, timeout=180, env=env)
    return out_dir / f"{document.stem}.pdf"
