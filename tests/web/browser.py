"""Headless Chromium for the browser tests: Debian's /usr/bin/chromium driven by Playwright
(never `playwright install`), with the flags a container needs."""
from __future__ import annotations

from pathlib import Path

CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage"]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"

# Renders each character of ``text`` in the page's own font on a canvas, and the same for a
# code point no font has (U+10FFFD, drawn as the "missing glyph" box).  Real Hanzi give
# distinct, non-empty bitmaps, none equal to the box; a page without a CJK font gives boxes.
GLYPH_CHECK = """(text) => {
  const c = document.createElement('canvas'); c.width = 64; c.height = 64;
  const g = c.getContext('2d');
  g.font = '40px ' + getComputedStyle(document.body).fontFamily;
  const img = (ch) => { g.clearRect(0, 0, 64, 64); g.fillText(ch, 4, 48);
                         return Array.from(g.getImageData(0, 0, 64, 64).data).join(','); };
  const tofu = img(String.fromCodePoint(0x10FFFD));
  const out = Array.from(text).map(img);
  return {n: out.length, distinct: new Set(out).size,
          boxes: out.filter(x => x === tofu).length,
          blank: out.filter(x => !/[1-9]/.test(x)).length};
}"""


def launch(playwright):
    if not Path(CHROMIUM).exists():
        raise RuntimeError("Debian package 'chromium' is missing (scripts/setup.sh installs it)")
    return playwright.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
