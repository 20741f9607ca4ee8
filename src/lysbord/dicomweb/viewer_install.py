"""Install the OHIF Viewer's prebuilt web app for serving under /viewer/ (DOMAIN.md §9).

``python -m lysbord.dicomweb.viewer_install ohif-app-X.tgz .viewer`` (run by
``make viewer`` after ``npm pack @ohif/app@X``). The build assumes it is served from
``/``; this rewrites it, once, at install time: ``window.PUBLIC_URL`` and the root
paths in ``index.html``, webpack's public path in the bundles, ``url(/`` in the CSS
and the icon paths in ``manifest.json``. A pattern that is no longer found means a
new OHIF build changed shape: the install fails rather than serve a broken viewer.
The optional AI runtime (``dist/ort/``, 136 MB) is left out. Text assets are also
written gzipped beside the originals, so the server can send them compressed
without compressing per request. The folder is built beside the target and renamed
into place, so a failed install never leaves half a viewer.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import tarfile
from pathlib import Path

BASE = "/viewer/"
PUBLIC_PATH = '__webpack_require__.p = "/";'
SKIPPED = ("package/dist/ort/",)
COMPRESSED = (".js", ".css", ".json", ".wasm", ".html", ".svg", ".map")
STAMP = ".installed"


class InstallError(RuntimeError):
    """The package is not the OHIF build this installer knows how to rewrite."""


def install(tarball: Path, target: Path) -> int:
    """Unpack ``tarball``'s dist/ into ``target``, rewritten for BASE; files written."""
    work = target.with_name(target.name + ".tmp")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        members = [
            m
            for m in tar.getmembers()
            if m.name.startswith("package/dist/") and not m.name.startswith(SKIPPED)
        ]
        if not members:
            raise InstallError(f"{tarball}: no package/dist/ in it; is it @ohif/app?")
        tar.extractall(work, members=members, filter="data")
    dist = work / "package" / "dist"
    rewrite(dist)
    count = compress(dist)
    version = tarball.stem.rsplit("-", 1)[-1]
    (dist / STAMP).write_text(f"@ohif/app {version}\n")
    shutil.rmtree(target, ignore_errors=True)
    dist.rename(target)
    shutil.rmtree(work)
    return count


def rewrite(dist: Path) -> None:
    """Every root-relative path of the build made relative to BASE."""
    _sub(
        dist / "index.html",
        [
            ('window.PUBLIC_URL="/"', f'window.PUBLIC_URL="{BASE}"'),
            ('href="/', f'href="{BASE}'),
            ('src="/', f'src="{BASE}'),
            ('content="/', f'content="{BASE}'),
        ],
    )
    bundles = [p for p in dist.glob("*.js") if PUBLIC_PATH in p.read_text(errors="ignore")]
    if not any(p.name.startswith("app.bundle.") for p in bundles):
        raise InstallError(f"no bundle sets {PUBLIC_PATH!r}: an unknown OHIF build")
    for path in bundles:
        _sub(path, [(PUBLIC_PATH, f'__webpack_require__.p = "{BASE}";')])
    _sub(dist / "app.bundle.css", [("url(/", f"url({BASE}")])
    _sub(dist / "manifest.json", [('"src": "/', f'"src": "{BASE}')], required=False)


def _sub(path: Path, pairs: list[tuple[str, str]], *, required: bool = True) -> None:
    text = path.read_text()
    for old, new in pairs:
        if old not in text and required:
            raise InstallError(f"{path.name}: {old!r} not found: an unknown OHIF build")
        text = text.replace(old, new)
    path.write_text(text)


def compress(dist: Path) -> int:
    """Write ``name.gz`` beside each text asset worth compressing; how many files in all."""
    files = [p for p in dist.rglob("*") if p.is_file()]
    for path in files:
        if path.suffix in COMPRESSED and path.stat().st_size > 1024:
            with path.open("rb") as src, gzip.open(f"{path}.gz", "wb", compresslevel=9) as out:
                shutil.copyfileobj(src, out)
    return len(files)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("tarball", type=Path, help="the npm pack of @ohif/app")
    parser.add_argument("target", type=Path, help="the viewer folder (e.g. .viewer)")
    args = parser.parse_args()
    try:
        count = install(args.tarball, args.target)
    except InstallError as exc:
        raise SystemExit(f"viewer install failed: {exc}") from exc
    print(f"OHIF viewer installed in {args.target} ({count} files)")  # noqa: T201


if __name__ == "__main__":
    main()
