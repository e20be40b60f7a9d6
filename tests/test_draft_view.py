"""The console's draft (``static/js/draft.js``, ``DraftView``) drawn block by block, in any order
and in bursts, ends showing exactly what it shows when drawn from all the blocks at once.

A console joining late replays the session's log: thousands of blocks in a burst, where the view
puts each item in its place by bisection and works out who speaks in each block again only now
and then (``speakersChanged``). What it shows once settled must not depend on any of that.
"""

from __future__ import annotations

import io
import itertools
import json
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from playwright.sync_api import Browser, Route

from .chromium import chromium
from .conftest import ROOT
from .test_acta_plenary import _classified

ORIGIN = "http://draft.test"
PAGE = """<!doctype html><meta charset="utf-8"><div id="burst"></div><div id="whole"></div>
<script type="module">
const frame = () => new Promise((resolve) => requestAnimationFrame(resolve));
const task = () => new Promise((resolve) => setTimeout(resolve, 0));
const heard = (block) => ({ utterance_id: block.audio_metadata.utterance_id, position: block.position });
/** The zone of the block said last before `position` (of those tied, the last in the draft). */
function zoneBefore(root, position) {
  let best = null;
  let bestPosition = -Infinity;
  for (const item of root.querySelectorAll("li.block[data-block-id][data-position]")) {
    const p = Number(item.dataset.position);
    if (p < position && p >= bestPosition) [best, bestPosition] = [item.closest("section").dataset.zone, p];
  }
  return best || "HEADER_ZONE";
}
window.replay = async ({ arrivals, ties, updates, removed, final, pending, unwritten }) => {
  const { DraftView } = await import("/js/draft.js");
  const root = document.getElementById("burst");
  const burst = new DraftView(root);
  let waited = false; // whether the speakers were ever held back while blocks kept coming
  let misplaced = []; // utterances' rows not where the blocks drawn so far said
  const check = (utterance) => {
    const row = root.querySelector(`li[data-utterance-id="${utterance.utterance_id}"]:not([data-block-id])`);
    const zone = row && row.closest("section").dataset.zone;
    if (zone !== zoneBefore(root, utterance.position)) misplaced.push([utterance.utterance_id, zone]);
  };
  for (let i = 0; i < arrivals.length; i++) {
    burst.addPlaceholder(heard(arrivals[i])); // being transcribed: its row where it was said
    check(heard(arrivals[i]));
    if (i >= 3) burst.addBlock(arrivals[i - 3]); // its block, a few utterances later
    if (i % 7 === 6) await task();
    if (i % 50 === 49) await frame();
    waited = waited || typeof burst.speakersTimer === "number";
  }
  for (const block of arrivals.slice(-3)) burst.addBlock(block);
  for (const block of ties) burst.addBlock(block);
  for (const block of updates) burst.updateBlock(block);
  burst.removeBlock(removed);
  for (const utterance of pending) {
    burst.addPlaceholder(utterance);
    check(utterance);
  }
  burst.showDiscarded(unwritten);
  for (const utterance of unwritten) check(utterance);
  while (burst.speakersFrame !== null || burst.speakersTimer !== null) await frame();
  await frame();
  burst.addPlaceholder(heard(arrivals[0])); // told again of an utterance whose block is drawn: no row
  const whole = new DraftView(document.getElementById("whole"));
  whole.renderAll(final, pending, unwritten);
  const positions = [...document.querySelectorAll("#burst ol")].map((list) =>
    [...list.children].map((item) => Number(item.dataset.position)),
  );
  return {
    burst: document.getElementById("burst").innerText,
    whole: document.getElementById("whole").innerText,
    items: document.querySelectorAll("#burst li[data-block-id]").length,
    removedShown: document.querySelector(`#burst li[data-block-id="${removed}"]`) !== null,
    positions,
    waited,
    misplaced,
    // items the view still keeps by utterance after they left the draft (redrawn, removed)
    detachedKept: [...burst.heard.values()]
      .flatMap((items) => [...items])
      .filter((item) => !root.contains(item)).length,
    tied: [...root.querySelectorAll(`li[data-block-id][data-position="${ties[0].position}"]`)].map(
      (item) => item.dataset.blockId,
    ),
    transcribing: root.querySelectorAll("li.block--transcribing").length,
    // sections that say "Sin contenido" with items in them, or say nothing with none
    emptyWrong: [...root.querySelectorAll("section")].filter((section) => {
      const filled = section.querySelector("ol").firstElementChild !== null;
      return section.querySelector(".zone__empty").hidden !== filled;
    }).length,
    // the block right before the row heard at its position (items of a position go in the order drawn)
    beforeRow: root.querySelector("li[data-utterance-id='utt_d1']").previousElementSibling.dataset.blockId,
  };
};
</script>"""


@pytest.fixture
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


STYLED = """<!doctype html><meta charset="utf-8"><link rel="stylesheet" href="/css/console.css">
<main style="padding: 2rem"><div id="draft" class="draft"></div></main>
<script type="module">
window.draw = async (blocks) => {
  const { DraftView } = await import("/js/draft.js");
  new DraftView(document.getElementById("draft")).renderAll(blocks, [], []);
  const item = document.querySelector("#draft section ol").lastElementChild; // at the section's edges
  item.tabIndex = -1;
  item.focus();
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const box = item.getBoundingClientRect();
  return { left: box.left, top: box.top, right: box.right, bottom: box.bottom };
};
</script>"""
"""The draft under the console's own stylesheet."""

_TYPES = {".js": "text/javascript", ".css": "text/css"}


def _serve(route: Route) -> None:
    path = route.request.url.removeprefix(ORIGIN)
    if path == "/draft.html":
        route.fulfill(body=PAGE, content_type="text/html")
    elif path == "/styled.html":
        route.fulfill(body=STYLED, content_type="text/html")
    elif path.startswith(("/js/", "/css/")) and ".." not in path:
        kind = _TYPES.get(Path(path).suffix, "application/octet-stream")
        route.fulfill(body=(ROOT / "static" / path.lstrip("/")).read_bytes(), content_type=kind)
    else:
        route.fulfill(status=404)


FOCUS_RING = (0xFF, 0xBF, 0x47)
"""``--focus`` in console.css: the ring around the focused block."""


def test_a_focused_block_shows_its_whole_focus_ring_in_a_section_painted_apart(browser: Browser) -> None:
    """Each section of the draft is painted apart (``contain: paint``, so that a long draft does
    not repaint every block after the one added); what a section paints outside its box is clipped,
    and the focus ring of a block is drawn just outside the block: around the last block of a
    section it must still show whole, left, right and below."""
    said = json.loads((ROOT / "tests" / "fixtures" / "plenaria_completa.json").read_text("utf-8"))
    blocks = [
        {**block, "block_id": f"blk_{i}", "position": i + 1, "audio_metadata": None}
        for i, block in enumerate(_classified(said)[:3])
    ]
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    try:
        page.route(f"{ORIGIN}/**", _serve)
        page.goto(f"{ORIGIN}/styled.html")
        page.wait_for_function("() => typeof window.draw === 'function'")
        box = page.evaluate("(blocks) => window.draw(blocks)", blocks)
        width, height = box["right"] - box["left"] - 8, box["bottom"] - box["top"] - 8
        strips = {  # 5 px just outside the block, along each side but the top
            "left": ({"x": box["left"] - 6, "y": box["top"] + 4, "width": 5, "height": height}, "rows"),
            "right": ({"x": box["right"] + 1, "y": box["top"] + 4, "width": 5, "height": height}, "rows"),
            "below": ({"x": box["left"] + 4, "y": box["bottom"] + 1, "width": width, "height": 5}, "columns"),
        }
        for side, (clip, along) in strips.items():
            pixels = Image.open(io.BytesIO(page.screenshot(clip=clip))).convert("RGB")
            if along == "rows":
                lines = [[(x, y) for x in range(pixels.width)] for y in range(pixels.height)]
            else:
                lines = [[(x, y) for y in range(pixels.height)] for x in range(pixels.width)]
            shown = [any(_near(pixels.getpixel(at), FOCUS_RING) for at in line) for line in lines]
            assert all(shown), f"the focus ring is cut {side}: {shown.count(False)} of {len(shown)} {along}"
    finally:
        page.close()


def _near(pixel: tuple[int, ...], color: tuple[int, int, int]) -> bool:
    return all(abs(a - b) <= 24 for a, b in zip(pixel, color, strict=False))


def test_a_draft_drawn_in_a_shuffled_burst_shows_what_it_shows_drawn_at_once(browser: Browser) -> None:
    said = json.loads((ROOT / "tests" / "fixtures" / "plenaria_completa.json").read_text("utf-8"))
    blocks = _classified(said) * 3  # a longer session: the same proceedings three times over
    blocks = [
        {
            **block,
            "block_id": f"blk_{i:04d}",
            "position": i + 1 + (0.5 if i % 11 == 0 else 0),
            "audio_metadata": {
                "utterance_id": f"utt_{i:04d}",
                "time_start": 4.0 * i,
                "time_end": 4.0 * i + 3.5,
            },
        }
        for i, block in enumerate(blocks)
    ]
    rng = random.Random(7)
    arrivals = blocks[:]
    rng.shuffle(arrivals)  # inserted blocks, and events replayed out of order, go in between
    removed = blocks[len(blocks) // 2]["block_id"]
    updates: list[dict[str, Any]] = []
    for block in rng.sample(blocks, 12):  # new versions: edited words, some moved to another place
        new = {**block, "version": 2, "text": block["text"] + " (corregido)"}
        if len(updates) % 3 == 0:
            new["position"] = block["position"] + 0.25
        updates.append(new)
    # Two blocks said at the position of another (in its section), drawn after it: in that order.
    tied = next(b for b in blocks[30:] if b["block_id"] not in {removed, *(u["block_id"] for u in updates)})
    ties = [
        {**tied, "block_id": f"blk_tie{i}", "audio_metadata": None, "text": f"Igual {i}."} for i in (1, 2)
    ]
    final = {block["block_id"]: block for block in [*blocks, *updates, *ties]}
    del final[removed]
    # Still being transcribed, and heard with no words: between blocks, and at the position of a
    # block that opens another section than the block before it (a row follows the blocks said
    # before it, not one said at the same time), and of one in the same section as the one before.
    opening = next(
        b for a, b in itertools.pairwise(blocks) if a["target_placeholder"] != b["target_placeholder"]
    )
    same = next(
        b for a, b in itertools.pairwise(blocks[60:]) if a["target_placeholder"] == b["target_placeholder"]
    )
    assert same["block_id"] not in {removed, *(u["block_id"] for u in updates)}
    # and at the position of the last block of a section, said right after a block of another one
    said = sorted(final.values(), key=lambda block: block["position"])
    last_of = {block["target_placeholder"]: block for block in said}
    closing = next(
        b
        for a, b in itertools.pairwise(said)
        if last_of[b["target_placeholder"]] is b and a["target_placeholder"] != b["target_placeholder"]
    )
    pending = [
        {"utterance_id": f"utt_p{i}", "position": p}
        for i, p in enumerate((0.5, 40.2, opening["position"], closing["position"]))
    ]
    unwritten = [
        {"utterance_id": f"utt_d{i}", "position": position, "time_start": None, "time_end": None}
        for i, position in enumerate((12.7, same["position"], 500))
    ]

    page = browser.new_page()
    page.route(f"{ORIGIN}/**", _serve)
    page.goto(f"{ORIGIN}/draft.html")
    page.wait_for_function("() => typeof window.replay === 'function'")
    result = page.evaluate(
        "(args) => window.replay(args)",
        {
            "arrivals": arrivals,
            "ties": ties,
            "updates": updates,
            "removed": removed,
            "final": list(final.values()),
            "pending": pending,
            "unwritten": unwritten,
        },
    )

    assert result["waited"], "the burst never held the speakers back: the test does not test that"
    assert result["items"] == len(final) and not result["removedShown"]
    assert result["misplaced"] == []
    assert result["detachedKept"] == 0
    assert result["tied"] == [tied["block_id"], *(block["block_id"] for block in ties)]
    assert result["emptyWrong"] == 0
    assert result["transcribing"] == len(pending)  # each block took its utterance's row
    assert result["beforeRow"] == same["block_id"]
    for positions in result["positions"]:
        assert positions == sorted(positions)
    assert result["burst"] == result["whole"]
    assert "(corregido)" in result["burst"]
