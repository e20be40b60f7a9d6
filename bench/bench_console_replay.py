"""Benchmark: a console joining a long session late, its draft replaying the event log.

    .venv/bin/python bench/bench_console_replay.py [--blocks 3000] [--base REV]

A stenographer who opens the console two hours into a session (or whose tab lost its saved
draft) receives every event of the log, one WebSocket message each: for each utterance an
``utterance.detected`` (the draft shows a row "Transcribiendo…" where it was said) and then its
``block.added``, which the draft (``static/js/draft.js``: ``DraftModel`` applies the event,
``DraftView`` draws it, as ``console.js``'s ``applyEvent`` does) draws in the row's place. Who
speaks in each block is derived from all the blocks shown (``speakersOf``, what the acta will
print), so doing that once per block added is quadratic in the session's length; so was placing
each item, and each row of an utterance.

Measured in headless Chromium (Debian's ``/usr/bin/chromium``, driven by Playwright), the draft
laid out by the console's stylesheet (``static/css/console.css``: the browser's style, layout and
paint of a long draft are most of the cost): the blocks of the whole-session fixtures
(``tests/fixtures``, classified by CORE's classifier as it stores them), repeated with new ids and
positions up to ``--blocks``, each recognized from an utterance of its own (audio blocks, as a
recorded session's are), each event applied in a task of its own (a ``MessageChannel`` message,
as a WebSocket message is), the clock stopped once the draft has settled (who speaks worked out
over all the blocks, then two animation frames). Baseline in the same run: ``draft.js`` and
``console.css`` as they are in ``--base`` (default ``HEAD``; the other modules are today's),
served side by side. Each is run three times (``--rounds``); the median is printed with the
longest task. The two drafts must end showing the same text (every block, its section and who
speaks in it), or the benchmark fails and prints where they differ.
"""

from __future__ import annotations

import argparse
import difflib
import http.server
import json
import statistics
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from server.services.classifier import classify  # noqa: E402

STATIC = ROOT / "static"
TENANT_CONFIG = ROOT / "server" / "tenants_data" / "CONCEJO_CALI" / "tenant.json"
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

PAGE = """<!doctype html><meta charset="utf-8"><link rel="stylesheet" href="css/console.css">
<div id="draft" class="draft"></div>
<script type="module">
window.replay = async (module, events) => {
  const { DraftModel, DraftView } = await import(module);
  const model = new DraftModel("bench");
  const view = new DraftView(document.getElementById("draft"));
  const apply = (event) => { // console.js's applyEvent, for the two kinds replayed
    const change = model.apply(event);
    if (!change) return;
    if (change.kind === "utterance.detected" && change.utterance) view.addPlaceholder(change.utterance);
    if (change.kind === "block.added" && change.block) view.addBlock(change.block);
  };
  const channel = new MessageChannel();
  let longest = 0;
  const tasks = []; // the main thread's tasks of 50 ms or more (the animation frames' work too)
  const observer = new PerformanceObserver((list) => tasks.push(...list.getEntries()));
  observer.observe({ type: "longtask" });
  const started = performance.now();
  for (const event of events) {
    await new Promise((resolve) => {
      channel.port1.onmessage = () => {
        const t = performance.now();
        apply(event);
        longest = Math.max(longest, performance.now() - t);
        resolve();
      };
      channel.port2.postMessage(null);
    });
  }
  // Settled: who speaks in each block worked out over all of them (the draft may wait a while
  // to do so after a burst of blocks), then two animation frames.
  while (view.speakersFrame != null || view.speakersTimer != null) {
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  for (let i = 0; i < 2; i++) await new Promise((resolve) => requestAnimationFrame(resolve));
  const total = performance.now() - started;
  await new Promise((resolve) => setTimeout(resolve, 100)); // the last long tasks reported
  observer.disconnect();
  const drawn = document.querySelectorAll("[data-block-id]").length;
  const long = tasks.reduce((sum, t) => sum + t.duration, 0);
  const worst = tasks.reduce((max, t) => Math.max(max, t.duration), 0);
  const shown = document.getElementById("draft").innerText; // to hold both drafts to the same text
  return { total, longest, drawn, long, worst, longCount: tasks.length, shown };
};
</script>"""


def session_events(count: int) -> list[dict[str, Any]]:
    """The log of a recorded session of ``count`` blocks: each block's ``utterance.detected``,
    then its ``block.added``."""
    events: list[dict[str, Any]] = []
    for block in session_blocks(count):
        utterance = block["audio_metadata"]
        detected = {"utterance_id": utterance["utterance_id"], "position": block["position"]}
        detected |= {"time_start": utterance["time_start"], "time_end": utterance["time_end"]}
        events.append({"id": len(events) + 1, "kind": "utterance.detected", "data": detected})
        events.append({"id": len(events) + 1, "kind": "block.added", "data": {"block": block}})
    return events


def session_blocks(count: int) -> list[dict[str, Any]]:
    """The fixtures' blocks as CORE stores them, repeated up to ``count``."""
    config = json.loads(TENANT_CONFIG.read_text("utf-8"))
    said: list[dict[str, Any]] = []
    for fixture in sorted((ROOT / "tests" / "fixtures").glob("*.json")):
        said += json.loads(fixture.read_text("utf-8"))
    classified = []
    previous: str | None = None
    for utterance in said:
        c = classify(utterance["text"], config["entities_dictionary"], previous)
        previous = c.template_id
        classified.append(c)
    blocks = []
    for i in range(count):
        c = classified[i % len(classified)]
        blocks.append(
            {
                "block_id": f"blk_{i:05d}",
                "version": 1,
                "type": "TEMPLATE",
                "intent": c.intent,
                "template_id": c.template_id,
                "target_placeholder": config["placeholder_map"][c.template_id],
                "text": c.text,
                "structured_data": c.structured_data,
                "position": i + 1,
                "source": {"kind": "audio", "utterance_id": f"utt_{i:05d}"},
                "audio_metadata": {
                    "utterance_id": f"utt_{i:05d}",
                    "audio_ref": f"tenants/T/sessions/S/audio/utt_{i:05d}.wav",
                    "time_start": 4.0 * i,
                    "time_end": 4.0 * i + 3.5,
                },
            }
        )
    return blocks


def serve(base_draft: bytes, base_css: bytes) -> tuple[http.server.ThreadingHTTPServer, str]:
    """The console's static files, the page above, and ``/base/``: today's files but draft.js
    and console.css from the baseline revision."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, directory=str(STATIC), **kwargs)

        def log_message(self, *args: Any) -> None:
            pass

        def do_GET(self) -> None:
            if self.path in ("/bench.html", "/base/bench.html"):
                self._send(PAGE.encode(), "text/html")
            elif self.path == "/base/js/draft.js":
                self._send(base_draft, "text/javascript")
            elif self.path == "/base/css/console.css":
                self._send(base_css, "text/css")
            elif self.path.startswith("/base/"):
                self.path = self.path[len("/base") :]
                super().do_GET()
            else:
                super().do_GET()

        def _send(self, body: bytes, kind: str) -> None:
            self.send_response(200)
            self.send_header("content-type", kind)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3000)
    parser.add_argument("--base", default="HEAD", help="the revision whose draft.js is the baseline")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    base, base_css = (
        subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{args.base}:static/{path}"], check=True, capture_output=True
        ).stdout
        for path in ("js/draft.js", "css/console.css")
    )
    events = session_events(args.blocks)
    server, url = serve(base, base_css)
    results: dict[str, list[dict[str, float]]] = {"base": [], "now": []}
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            for _ in range(args.rounds):
                for name, prefix in (("base", "/base"), ("now", "")):
                    module = f"{prefix}/js/draft.js"
                    page = browser.new_page()
                    page.goto(f"{url}{prefix}/bench.html")
                    page.wait_for_function("() => typeof window.replay === 'function'")
                    results[name].append(page.evaluate("([m, b]) => window.replay(m, b)", [module, events]))
                    page.close()
            browser.close()
    finally:
        server.shutdown()
    shown = {r["shown"] for runs in results.values() for r in runs}
    if len(shown) != 1:  # a faster draft that shows something else is no result
        base_text, now_text = (results[name][0]["shown"].splitlines() for name in ("base", "now"))
        print("\n".join(list(difflib.unified_diff(base_text, now_text, "base", "now", lineterm=""))[:40]))
        raise SystemExit("the drafts differ: the working tree's does not show what the baseline's does")
    print(
        f"| draft.js, console.css | blocks replayed | total (median of {args.rounds}) | longest event "
        "| tasks ≥ 50 ms: count, time, longest | blocks drawn |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for name, label in (("base", f"`{args.base}`"), ("now", "working tree")):
        runs = results[name]
        total = statistics.median(r["total"] for r in runs)
        longest = statistics.median(r["longest"] for r in runs)
        count = statistics.median(r["longCount"] for r in runs)
        long = statistics.median(r["long"] for r in runs)
        worst = statistics.median(r["worst"] for r in runs)
        print(
            f"| {label} | {args.blocks:,} | {total / 1000:.2f} s | {longest:.1f} ms "
            f"| {count:.0f}, {long / 1000:.2f} s, {worst:.0f} ms | {int(runs[0]['drawn']):,} |"
        )


if __name__ == "__main__":
    main()
