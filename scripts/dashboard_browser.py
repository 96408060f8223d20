"""Drives the node's dashboard (/dashboard/) in a real browser: headless Chromium through
chromedriver and Selenium, against a running regtest node.

    python dashboard_browser.py --rpc URL --auth USER:PASS --cid CID --keyword WORD --out DIR
                                [--pid PID] [--rounds N]

URL is the node's RPC address (http://127.0.0.1:PORT); USER:PASS its cookie or rpcuser (sent as
an Authorization header on every request the page makes, as the browser would after its login
prompt). CID is a file published on another node that this node has not fetched: the script
fetches it while the page is open, so the page's piece map must fill. Steps, each wait bounded:

 1. the page loads and its event stream goes live;
 2. a block is mined through RPC: the page must show the new height (the time it took is
    printed: `height latency`); repeated --rounds times;
 3. fetchfile CID: the file's piece map must go from missing to all held;
 4. a lookup of WORD typed in the page must be drawn hop by hop, ending at the responsible node;
 5. screenshots DIR/dashboard.png (1280 px wide) and DIR/dashboard-phone.png (390 px; the page
    must not scroll sideways there);
 6. page weight (bytes of the page, its script and style sheet, one state) is printed; with
    --pid, the node's CPU time over 15 s with the page open and 15 s without is printed too.

Prints `dashboard ok` at the end; exit status 1 with the reason on any failure.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import statistics
import sys
import time
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By


def rpc(url: str, auth: str, method: str, params: list):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}).encode()
    request = urllib.request.Request(url + "/", data=body, headers=header(auth) | {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as r:
        reply = json.load(r)
    if reply.get("error"):
        raise RuntimeError(f"{method}: {reply['error']}")
    return reply["result"]


def header(auth: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(auth.encode()).decode()}


def get(url: str, auth: str) -> bytes:
    with urllib.request.urlopen(urllib.request.Request(url, headers=header(auth)), timeout=30) as r:
        return r.read()


def wait(what: str, predicate, timeout: float, every: float = 0.05):
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > end:
            raise TimeoutError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(every)


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def browser() -> webdriver.Chrome:
    options = webdriver.ChromeOptions()
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium:
        options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1280,1000"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--rpc", required=True)
    p.add_argument("--auth", required=True)
    p.add_argument("--cid", required=True)
    p.add_argument("--keyword", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--pid", type=int)
    p.add_argument("--rounds", type=int, default=1)
    p.add_argument("--cpu-window", type=float, default=15.0, help="seconds of each CPU measurement (with --pid)")
    p.add_argument("--payments", type=int, default=0,
                   help="payments (at rising fee rates) left in the mempool before the screenshots")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    address = rpc(a.rpc, a.auth, "getnewaddress", [])
    driver = browser()
    try:
        driver.set_page_load_timeout(30)
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd("Network.setExtraHTTPHeaders", {"headers": header(a.auth)})
        driver.get(a.rpc + "/dashboard/")
        # Read in one script each time: the page redraws its elements every second, so a found
        # element may be replaced before it is read.
        js = driver.execute_script
        text = lambda id_: js("const e = document.getElementById(arguments[0]); return e ? e.textContent : ''", id_)
        wait("the event stream to go live", lambda: text("live") == "live", 20)
        wait("a height", lambda: text("height").isdigit(), 20)

        latencies = []
        for _ in range(a.rounds):
            before = int(text("height"))
            start = time.monotonic()
            rpc(a.rpc, a.auth, "generatetoaddress", [1, address])
            wait(f"height {before + 1} on the page", lambda: text("height") == str(before + 1), 20, 0.02)
            latencies.append(time.monotonic() - start)
        print("height latency (s): " + " ".join(f"{t:.3f}" for t in latencies)
              + f"; median {statistics.median(latencies):.3f}, max {max(latencies):.3f}")

        rpc(a.rpc, a.auth, "fetchfile", [a.cid])
        piecemap = f'.piecemap[data-cid="{a.cid}"]'
        counts = lambda: [tuple(c) for c in js("return [...document.querySelectorAll(arguments[0])]"
                                                   ".map((e) => [+e.dataset.have, +e.dataset.total])", piecemap)]
        first = wait("the file's piece map", lambda: counts() and counts()[0][1] > 0 and counts()[0], 60)
        seen = {first}
        def filled():
            c = counts()
            if c:
                seen.add(c[0])
            return c and c[0][0] == c[0][1]
        wait("every piece held", filled, 120)
        squares = js("return [...document.querySelectorAll(arguments[0])].map((e) => e.className)", piecemap + " i")
        held = sum(1 for s in squares if s == "h")
        if held != len(squares) or not squares:
            raise AssertionError(f"piece map shows {held} of {len(squares)} held")
        print(f"piece map: {len(squares)} pieces, states seen (have/total): {sorted(seen)}")
        # Names come from peers: markup in one must be text on the page, never elements.
        shown = js("return [...document.querySelectorAll('#files strong')].map((e) => e.textContent)")
        injected = js("return document.querySelectorAll('#files b, #files img, #files script').length")
        if injected:
            raise AssertionError(f"a file name became markup ({injected} elements): {shown}")
        print(f"file names shown as text: {shown}")

        box = driver.find_element(By.ID, "lookup-key")
        box.send_keys(a.keyword)
        driver.find_element(By.CSS_SELECTOR, "#lookup-form button").click()
        items = lambda: js("return [...document.querySelectorAll('#lookup-hops li')].map((e) => e.textContent)")
        hops = wait("the lookup's last hop", lambda: any(t.startswith("responsible:") for t in items()) and items(), 20)
        drawn = js("return document.querySelectorAll('#ring line.hop').length")
        print(f"lookup drawn in {len(hops)} steps ({drawn} segments on the ring): {hops[-1]}")
        if drawn < 1:
            raise AssertionError("no hop drawn on the ring")

        for i in range(a.payments):
            rpc(a.rpc, a.auth, "sendtoaddress", [address, round(0.1 + i / 100, 2), "", "", False, True, None, "unset", None, 1 + 7 * i])
        if a.payments:
            wait("the payments on the page", lambda: text("mempool-count") == f"{a.payments} tx", 20)
            time.sleep(1.5)
        # The whole page: the viewport as tall as the document.
        tall = min(4000, max(1000, js("return document.documentElement.scrollHeight")))
        driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                               {"width": 1280, "height": tall, "deviceScaleFactor": 1, "mobile": False})
        time.sleep(0.5)
        driver.save_screenshot(str(out / "dashboard.png"))
        driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})
        driver.set_window_size(390, 844)
        time.sleep(0.5)
        overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            raise AssertionError(f"the page scrolls sideways by {overflow} px at phone width")
        driver.save_screenshot(str(out / "dashboard-phone.png"))

        page = {name: len(get(a.rpc + "/dashboard/" + name, a.auth)) for name in ("", "app.js", "style.css")}
        state = len(get(a.rpc + "/dashboard/state", a.auth))
        print(f"page weight: html {page['']} + js {page['app.js']} + css {page['style.css']} = "
              f"{sum(page.values())} bytes; one state {state} bytes")
        if a.pid:
            w = a.cpu_window
            c0 = cpu_seconds(a.pid)
            time.sleep(w)
            open_cpu = cpu_seconds(a.pid) - c0
            driver.get("about:blank")
            time.sleep(2)
            c1 = cpu_seconds(a.pid)
            time.sleep(w)
            closed_cpu = cpu_seconds(a.pid) - c1
            print(f"node CPU over {w:g} s: page open {open_cpu:.3f} s ({100 * open_cpu / w:.2f} %), "
                  f"closed {closed_cpu:.3f} s ({100 * closed_cpu / w:.2f} %)")
    finally:
        driver.quit()
    print("dashboard ok")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:  # the reason, for the test's assertion message
        print(f"dashboard failed: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
