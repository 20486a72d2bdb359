"""The README's screenshots of the studio: `python tools/screenshots.py --out docs/`.

Starts the app in this process, drives Debian's Chromium with Playwright as a person would (build
a graph on the canvas, generate, pick the tree, move it past the car, rerun), and saves two
pictures: the studio after generating, and after the edit (the canvas shows the failing edge).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic"]


def _wait_src(page, elem_id: str, old: str | None) -> str:
    for _ in range(1200):
        src = page.evaluate(f"() => {{ const i = document.querySelector('#{elem_id} img'); return i && i.src; }}")
        if src and src != old:
            return src
        time.sleep(0.05)
    raise SystemExit(f"#{elem_id} did not change")


def _save(page, path: Path, bottom_id: str) -> None:
    """The page from the top down to the bottom of one element, as a JPEG."""
    from PIL import Image

    box = page.locator(f"#{bottom_id}").bounding_box()
    scroll = page.evaluate("() => window.scrollY")
    page.screenshot(path=str(path.with_suffix(".png")), full_page=True,
                    clip={"x": 0, "y": 0, "width": 1400, "height": box["y"] + scroll + box["height"] + 12})
    Image.open(path.with_suffix(".png")).convert("RGB").save(path, quality=85)
    path.with_suffix(".png").unlink()
    print(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="docs", help="folder for studio.jpg and studio_edit.jpg")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    from playwright.sync_api import sync_playwright

    from sgcond_app.ui import serve_locally

    demo, url = serve_locally(warm=True)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.goto(url)
            canvas = page.locator("#sg-canvas")
            canvas.locator(".sg-svg").wait_for()
            canvas.locator(".sg-clear").click()
            for label in ("sky", "grass", "red car", "tree", "street"):
                canvas.locator(".sg-label").fill(label)
                canvas.locator(".sg-add").click()
            canvas.locator(".sg-connect").click()
            nodes = canvas.locator(".sg-node")
            for s, pred, o in ((0, "above", 1), (2, "on", 4), (3, "right of", 2), (3, "on", 1)):
                canvas.locator(".sg-pred").fill(pred)
                nodes.nth(s).click()
                nodes.nth(o).click()
            canvas.locator(".sg-connect").click()
            canvas.locator(".sg-tidy").click()
            time.sleep(1.5)
            page.click("#sg-generate")
            seg = _wait_src(page, "sg-seg", None)
            _wait_src(page, "sg-image", None)
            time.sleep(1.5)
            _save(page, out / "studio.jpg", "sg-overlay")

            # Pick the largest tree from its legend row, then move it left, past the car.
            rows = page.locator("#sg-legend tbody tr", has_text="tree")
            areas = [int(rows.nth(i).locator("td").nth(4).inner_text().split()[0]) for i in range(rows.count())]
            rows.nth(areas.index(max(areas))).click()
            page.wait_for_function("() => document.querySelector('#sg-picked').innerText.includes('tree')")
            for _ in range(3):
                page.click("#sg-move_left")
                seg = _wait_src(page, "sg-seg", seg)
            page.click("#sg-rerun")
            _wait_src(page, "sg-image", None)
            time.sleep(2.5)
            page.locator("#sg-legend").scroll_into_view_if_needed()
            _save(page, out / "studio_edit.jpg", "sg-legend")
            browser.close()
    finally:
        demo.close()


if __name__ == "__main__":
    main()
