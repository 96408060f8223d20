#!/usr/bin/python3
"""libtorrent and Cairn side by side on node/benches/swarm.rs's flash crowd or uncapped transfer.

Run through scripts/bench-libtorrent.sh, which installs what this needs (python3-libtorrent,
opentracker, mktorrent) and builds the Cairn bench first. Two modes: the capped flash crowd
(default) and --uncapped (one seed, one leecher, no caps; MB/s and peak memory). Options:

    --runs N          runs per side (default 5), alternating: libtorrent, cairn, libtorrent, ...
    --uncapped        one seed -> one leecher, no rate caps, a 1 GiB file: MB/s and the peak
                      resident memory of both processes (see "Uncapped" below)
    --leechers N      leechers (default 8; flash crowd only)
    --mib M           file size, MiB (default 64; 1024 with --uncapped)
    --seed-kib K      seed upload cap, KiB/s (default 8192; flash crowd only)
    --leecher-kib K   leechers' upload cap, KiB/s (default 2048; flash crowd only)
    --only SIDE       libtorrent or cairn: run that side only (for debugging)
    --workdir DIR     where the files go (default: a new temp dir, removed at the end unless
                      CAIRN_BENCH_KEEP=1)
    --lt-utp          libtorrent peers use uTP as well as TCP (libtorrent's default); see below
    --lt-set K=V      an extra libtorrent setting for every libtorrent peer (repeatable; for
                      experiments, e.g. --lt-set unchoke_slots_limit=16)
    --timeout S       seconds one run may take (default 1800)
    --cairn-exe PATH  the swarm bench's executable, already built (bench-libtorrent.sh passes a
                      copy of it); without it, every Cairn run is a `cargo bench`

Flash crowd (default). The set-up (both sides): one seed with its upload capped at 8 MiB/s,
N leechers with theirs capped at 2 MiB/s, downloads uncapped, a pseudo-random file, 256 KiB
pieces, all on loopback, one process per peer. Each run reports the distribution time T (from
the moment every leecher is asked for the file until the last one holds all of it, verified),
the fluid bound max(F/u_s, N*F/(u_s + sum u_i)) (Kumar and Ross, d_min = infinity), ratio =
bound/T and seed copies = bytes the seed uploaded / F.

libtorrent side (libtorrent 2.0.8, Debian's python3-libtorrent), one `lt.session` per process:
  - tracker: opentracker on 127.0.0.1 (free port), whitelist holding the torrent's info-hash;
  - torrent: mktorrent -l 18 (256 KiB pieces, a v1 torrent as most users have);
  - seed 127.0.0.2, leechers 127.0.0.3, 127.0.0.4, ...: each binds its own loopback address
    (listen_interfaces), so libtorrent sees N+1 distinct IPs and connects them all (no need for
    allow_multiple_connections_per_ip); outgoing connections leave from that address too;
  - caps: upload_rate_limit on the session. libtorrent puts peers on loopback and private
    networks in its "local" peer class, which has no rate limit (and ignores unchoke slots), so
    every address is mapped to the global peer class with set_peer_class_filter; the run prints
    the seed's and the leechers' measured upload rates to show the caps hold;
  - DHT, LSD, UPnP and NAT-PMP are off (a closed loopback swarm; the tracker is the only source
    of peers, plus PEX, which is on by default).
  - uTP is off (enable_outgoing_utp, enable_incoming_utp = false), so peers connect over TCP, as
    Cairn's nodes do (libp2p over TCP). libtorrent's default is both, preferring uTP for
    outgoing connections, so every connection in the swarm is uTP; on loopback that holds the
    seed to about 6 of its 8 MiB/s (its congestion control, not the cap, is the limit), and the
    ratio drops from about 0.8 to 0.65-0.75 -- a measure of uTP over loopback rather than of the
    swarm. --lt-utp turns it back on.
  - Everything else is libtorrent's default, as users run it: the torrent added auto-managed,
    8 fixed unchoke slots, round-robin seed choking, 3 s request queues, PEX,
    rate_limit_ip_overhead on, ... An auto-managed torrent starts on the session's next tick
    (up to 1 s after it is added) and unchoking runs on ticks too, so the seed's first upload
    comes about 2 s after t0; that is part of T, as Cairn's own start-up (finding the provider)
    is part of its T. The run prints when the seed's first upload was counted.
  - Timing is like Cairn's bench: all peer processes are started, the seed has checked the file
    and announced, the leechers' sessions listen; then t0, and every leecher adds the torrent
    at once. A leecher is done when libtorrent reports it seeding (every piece hash-checked).

Cairn side: node/benches/swarm.rs with `--leechers N --mib M --seed-kib K --leecher-kib K`,
once per run: the executable `cargo bench --workspace --bench swarm --no-run` built (a copy, so
that every run has the same code while the tree is being edited), or `cargo bench --workspace
--bench swarm -- ...` without --cairn-exe. Its printed T, bound and seed copies are parsed. Cairn's
bench publishes with the node's default piece size, 256 KiB (p2p DEFAULT_PIECE_SIZE), the same
as here. Its ratio is recomputed as bound/T from the printed T (0.1 s), so it may differ from its
own 2-digit print in the last digit.

Uncapped (--uncapped). The set-up (both sides): one seed and one leecher, no rate caps at all
(libtorrent: the peers get --up 0, and upload_rate_limit = download_rate_limit = 0 is
libtorrent's "unlimited"; the global peer class they are mapped to then limits nothing), a
1 GiB pseudo-random file (--mib overrides), 256 KiB pieces, TCP, loopback, one process per peer;
everything else as in the flash crowd above (tracker, own 127.0.0.x address per peer,
libtorrent's defaults). Per run:
  - T: from the leecher's "go" (libtorrent: the leecher adds the torrent; Cairn: fetchfile) until
    it holds the whole file, verified (libtorrent: the torrent reports seeding, every piece
    hash-checked; Cairn: state "complete"). As in the flash crowd, the start-up (tracker announce,
    auto-managed start on the next tick, connecting, unchoke) is inside T; for libtorrent the run
    prints when the leecher's first payload byte was counted and the rate from then on.
  - MB/s = file bytes / T / 1e6 (and MiB/s = bytes / T / 2^20).
  - Peak memory: VmHWM (peak resident set) from /proc/PID/status of the seed's and the leecher's
    process, read after the leecher is done and just before they are told to quit. The libtorrent
    peers are python3 processes running libtorrent (one lt.session each), as a Cairn node is one
    process; so python's own ~10-20 MiB (interpreter, modules, the bindings) is inside their
    figure. Resident set counts file pages a process has mapped: libtorrent 2.0 does its disk
    I/O through mmap by default, so the pieces it reads or writes count in its RSS (RssFile)
    while mapped and resident, which can make its VmHWM far larger than its own heap. The run
    prints, for libtorrent, RssAnon and RssFile at the end and the largest RssAnon seen (sampled
    every 0.2 s during T), to tell the two apart.
  - CPU seconds (user + system, /proc/PID/stat) of each process, in all (a seed's includes
    hashing the file before T, on both sides); for libtorrent also those used during T.
  Cairn: node/benches/swarm.rs with `--uncapped --mib M` (its seed and leecher are two `cairn
  node` processes on 127.0.0.1); its printed MB/s, peak memories (VmHWM) and CPU seconds are
  parsed, and T is recomputed as bytes / (MB/s * 1e6) (its own print of T has 0.1 s steps). Its
  temp files (the 1 GiB file, the nodes' stores) go under this run's work dir (TMPDIR).
  The table: per run T, MB/s, MiB/s, both peak memories and CPU seconds; per side the median, min
  and max of MB/s and the largest peak memory of each process; libtorrent's largest RssAnon; and
  the ratio of the medians, cairn / libtorrent. The target (issue): Cairn at least libtorrent's MB/s (aim 1.5x), peak memory
  of each process <= 64 MiB.
"""

import argparse
import glob
import os
import queue
import random
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

MIB = 1 << 20
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UTP_SOCKET = 1 << 17  # peer_info::utp_socket; not exported by the Python bindings


def log(msg):
    print(msg, flush=True)


# ---------------------------------------------------------------------------------------------
# One libtorrent peer (a child process: `bench_libtorrent.py _peer ...`).
#
# Talks to the coordinator over stdin/stdout, a line at a time:
#   out: "ready"                        session listening (seed: file checked, tracker answered)
#   in:  "go"                           leecher: add the torrent now
#   out: "stat T UP DOWN TOTALUP PEERS PROGRESS"   when the byte counters change (checked every
#                                       50 ms), at least every second (T = time.monotonic(), the
#                                       same clock in every process)
#   out: "peers IP/tcp IP/utp ..."      every second: whom it is connected to
#   out: "done T"                       leecher: holds every piece, verified
#   in:  "quit" (or EOF)                print a last "stat" and "peers", and exit
# ---------------------------------------------------------------------------------------------


def peer_main(argv):
    import libtorrent as lt

    p = argparse.ArgumentParser(prog="bench_libtorrent.py _peer")
    p.add_argument("--ip", required=True)
    p.add_argument("--torrent", required=True)
    p.add_argument("--save", required=True)
    p.add_argument("--up", type=int, required=True,
                   help="upload cap, bytes/s; 0: unlimited (libtorrent's 0)")
    p.add_argument("--seed", action="store_true")
    p.add_argument("--utp", action="store_true")
    p.add_argument("--log", required=True)
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    a = p.parse_args(argv)
    logf = open(a.log, "w", buffering=1)

    def out(line):
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

    settings = {
        "listen_interfaces": f"{a.ip}:0",
        # Outgoing peer connections from this peer's own address, so that the others see one
        # IP per peer (and not 127.0.0.1 for all of them).
        "outgoing_interfaces": a.ip,
        # A closed swarm on loopback: the tracker (and PEX) is how peers find each other.
        "enable_dht": False,
        "enable_lsd": False,
        "enable_upnp": False,
        "enable_natpmp": False,
        # TCP only, unless --lt-utp: see the header.
        "enable_outgoing_utp": a.utp,
        "enable_incoming_utp": a.utp,
        "upload_rate_limit": a.up,
        "download_rate_limit": 0,
        "alert_mask": int(lt.alert.category_t.error_notification)
        | int(lt.alert.category_t.tracker_notification)
        | int(lt.alert.category_t.status_notification),
    }
    for kv in a.set:  # --lt-set: extra settings, for experiments
        key, _, value = kv.partition("=")
        low = value.lower()
        settings[key] = (low == "true") if low in ("true", "false") else (
            int(value) if value.lstrip("-").isdigit() else value)
    ses = lt.session(settings)
    # Every address in the global peer class (the one upload_rate_limit limits); by default
    # loopback and private addresses are in the unlimited "local" class. With --up 0 (the
    # uncapped mode) the global class has no limit either.
    f = lt.ip_filter()
    f.add_rule("0.0.0.0", "255.255.255.255", 1 << lt.session.global_peer_class_id)
    ses.set_peer_class_filter(f)

    def drain_alerts():
        replied = False
        for al in ses.pop_alerts():
            logf.write(f"{time.monotonic():.3f} {type(al).__name__}: {al.message()}\n")
            if isinstance(al, lt.tracker_reply_alert):
                replied = True
        return replied

    deadline = time.monotonic() + 30
    while not ses.is_listening() or ses.listen_port() == 0:
        if time.monotonic() > deadline:
            raise SystemExit(f"{a.ip}: libtorrent did not start listening")
        time.sleep(0.02)
    logf.write(f"listening on {a.ip}:{ses.listen_port()}\n")

    ti = lt.torrent_info(a.torrent)

    def add():
        atp = lt.add_torrent_params()
        atp.ti = ti
        atp.save_path = a.save
        return ses.add_torrent(atp)

    h = None
    if a.seed:
        h = add()
        replied = False
        deadline = time.monotonic() + 60
        while not (replied and h.status().is_seeding):
            if time.monotonic() > deadline:
                raise SystemExit(f"seed: not seeding/announced after 60 s: {h.status().state}")
            replied = drain_alerts() or replied
            time.sleep(0.02)
    out("ready")

    def peer_list():
        """ "peers IP/tcp IP/utp ...": whom this peer is connected to, and over what."""
        peers = []
        for pi in h.get_peer_info():
            kind = "utp" if int(pi.flags) & UTP_SOCKET else "tcp"
            peers.append(f"{pi.ip[0]}/{kind}")
        return " ".join(["peers"] + sorted(peers))

    done = False
    last_stat = 0.0
    last_counters = None
    inbox = b""
    quit = False
    while not quit:
        r, _, _ = select.select([sys.stdin.fileno()], [], [], 0.05)
        if r:
            chunk = os.read(sys.stdin.fileno(), 4096)
            inbox += chunk
            while b"\n" in inbox:
                cmd, inbox = inbox.split(b"\n", 1)
                if cmd.strip() == b"go" and h is None:
                    h = add()
                elif cmd.strip() == b"quit":
                    quit = True
            if not chunk:  # the coordinator is gone
                quit = True
            if quit:
                break
        drain_alerts()
        if h is None:
            continue
        now = time.monotonic()
        st = h.status()
        if not a.seed and not done and st.is_seeding:
            done = True
            out(f"done {now:.4f}")
        # libtorrent updates these counters on its tick (every 0.5 s); a line as soon as they
        # change (within this loop's 50 ms), so that rates over the lines are accurate.
        counters = (st.total_payload_upload, st.total_payload_download, st.total_upload)
        if counters != last_counters or now - last_stat >= 1.0:
            out(f"stat {now:.4f} {counters[0]} {counters[1]} {counters[2]} {st.num_peers} "
                f"{st.progress:.4f}")
            if int(now) != int(last_stat):
                out(peer_list())
            last_stat, last_counters = now, counters
    if h is not None:
        st = h.status()
        out(f"stat {time.monotonic():.4f} {st.total_payload_upload} {st.total_payload_download} "
            f"{st.total_upload} {st.num_peers} {st.progress:.4f}")
    out(peer_list() if h is not None else "peers")
    drain_alerts()
    logf.close()


# ---------------------------------------------------------------------------------------------
# The coordinator.
# ---------------------------------------------------------------------------------------------


def free_port():
    """A port free for both TCP and UDP on 127.0.0.1 (opentracker serves both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
            t.bind(("127.0.0.1", 0))
            port = t.getsockname()[1]
            try:
                with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
                    u.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


def write_random_file(path, size):
    rng = random.Random(0x9E3779B97F4A7C15)
    with open(path, "wb") as f:
        left = size
        while left > 0:
            n = min(left, MIB)
            f.write(rng.randbytes(n))
            left -= n


PID_FILE = None  # --workdir/pids: every child's pid, for bench-libtorrent.sh's trap


class Proc:
    """A child process whose stdout lines go to a queue, read by a thread. `polite`: it reads
    "quit" on stdin (our peers); otherwise it is stopped with SIGTERM (opentracker)."""

    def __init__(self, name, argv, stderr_path, polite=True, **kw):
        self.name = name
        self.polite = polite
        self.errf = open(stderr_path, "w")
        self.outf = open(stderr_path.rsplit(".", 1)[0] + ".out", "w")  # a copy of its lines
        self.p = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errf, text=True,
            bufsize=1, **kw
        )
        if PID_FILE:
            with open(PID_FILE, "a") as f:
                f.write(f"{self.p.pid}\n")
        self.lines = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.p.stdout:
            self.outf.write(line)
            self.lines.put(line.rstrip("\n"))
        self.outf.close()
        self.lines.put(None)

    def send(self, line):
        try:
            self.p.stdin.write(line + "\n")
            self.p.stdin.flush()
        except (BrokenPipeError, ValueError, OSError):
            pass

    def stop(self, grace=5.0):
        if self.p.poll() is None:
            if self.polite:
                self.send("quit")
            try:
                self.p.wait(grace if self.polite else 0)
            except subprocess.TimeoutExpired:
                self.p.terminate()
                try:
                    self.p.wait(3)
                except subprocess.TimeoutExpired:
                    self.p.kill()
                    self.p.wait()
        try:
            self.p.stdin.close()
        except OSError:
            pass
        self.errf.close()


def stop_group(p, grace):
    """SIGTERM to the process group p leads (p started with start_new_session), then SIGKILL to
    what is left of it after `grace` seconds."""
    deadline = time.monotonic() + grace
    sig = signal.SIGTERM
    while True:
        try:
            os.killpg(p.pid, sig)
        except (ProcessLookupError, PermissionError):
            break  # the group is empty
        if sig == signal.SIGKILL:
            break
        if p.poll() is not None:
            time.sleep(0.1)
        else:
            try:
                p.wait(0.2)
            except subprocess.TimeoutExpired:
                pass
        if time.monotonic() > deadline:
            sig = signal.SIGKILL
        else:
            sig = 0  # only check whether anyone is left
    p.poll()


def stop_all(procs):
    """Stops every process, even if stopping one fails or we are interrupted meanwhile."""
    pending = None
    for pr in reversed(procs):
        try:
            pr.stop()
        except BaseException as e:  # noqa: B036 -- re-raised below, once all are stopped
            pending = pending or e
            try:
                pr.p.kill()
            except OSError:
                pass
    if pending is not None:
        raise pending


def bound_s(size, seed_kib, leecher_kib, leechers):
    u_s = seed_kib * 1024.0
    sum_u = leecher_kib * 1024.0 * leechers
    return max(size / u_s, leechers * size / (u_s + sum_u))


def changes(samples):
    """The (t, bytes, ...) samples at which the bytes changed (libtorrent's ticks), and the
    first."""
    out = samples[:1]
    for s in samples[1:]:
        if s[1] != out[-1][1]:
            out.append(s)
    return out


def peak_rate(samples, window=5.0):
    """Largest rate over `window` seconds or more between counter changes, bytes/s."""
    pts = changes(samples)
    best = 0.0
    j = 0
    for i in range(len(pts)):
        while j + 1 < i and pts[i][0] - pts[j + 1][0] >= window - 0.1:
            j += 1
        dt = pts[i][0] - pts[j][0]
        if dt >= window - 0.1:
            best = max(best, (pts[i][1] - pts[j][1]) / dt)
    return best


def busy_rates(samples, t_to):
    """From (t, payload, total) samples: the payload and the total rate (bytes/s) between the
    first change of the payload counter and its last change before t_to."""
    pts = [s for s in changes(samples)[1:] if s[0] <= t_to]
    if len(pts) < 2 or pts[-1][0] - pts[0][0] < 2.0:
        return float("nan"), float("nan")
    dt = pts[-1][0] - pts[0][0]
    return (pts[-1][1] - pts[0][1]) / dt, (pts[-1][2] - pts[0][2]) / dt


def cpu_seconds(pid):
    """User + system CPU seconds of a live process (0 if gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


def mem_mib(pid):
    """A live process's memory lines of /proc/PID/status (VmHWM, VmRSS, RssAnon, RssFile, ...),
    MiB; {} if it is gone."""
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key.startswith(("Vm", "Rss")) and value.strip().endswith("kB"):
                    out[key] = int(value.split()[0]) / 1024.0
    except (OSError, ValueError):
        pass
    return out


def run_libtorrent(opts, workdir, payload, run_no):
    """One libtorrent flash crowd; returns a result dict."""
    d = os.path.join(workdir, f"run{run_no}-libtorrent")
    os.makedirs(d)
    size = os.path.getsize(payload)
    port = free_port()
    announce = f"http://127.0.0.1:{port}/announce"

    seed_dir = os.path.join(d, "seed")
    os.makedirs(seed_dir)
    seed_file = os.path.join(seed_dir, "payload.bin")
    os.link(payload, seed_file)
    torrent = os.path.join(d, "payload.torrent")
    subprocess.run(
        ["mktorrent", "-l", "18", "-a", announce, "-o", torrent, seed_file],
        check=True, stdout=subprocess.DEVNULL,
    )
    import libtorrent as lt

    info_hash = str(lt.torrent_info(torrent).info_hash())

    # opentracker: as root it chroots to -d and drops to -u, then reads the whitelist, so the
    # folder must be readable by that user and the whitelist path relative (cwd = the folder).
    tdir = os.path.join(d, "tracker")
    os.makedirs(tdir)
    os.chmod(d, 0o755)
    os.chmod(tdir, 0o755)
    with open(os.path.join(tdir, "whitelist.txt"), "w") as f:
        f.write(info_hash + "\n")
    os.chmod(os.path.join(tdir, "whitelist.txt"), 0o644)
    procs = []
    try:
        tracker = Proc(
            "opentracker",
            ["opentracker", "-i", "127.0.0.1", "-p", str(port), "-P", str(port),
             "-w", "whitelist.txt", "-d", tdir] + (["-u", "nobody"] if os.geteuid() == 0 else []),
            os.path.join(d, "opentracker.log"), polite=False, cwd=tdir,
        )
        procs.append(tracker)
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if tracker.p.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"opentracker did not start (see {d}/opentracker.log)")
                time.sleep(0.05)

        me = os.path.abspath(__file__)
        peers = []
        for i in range(opts.leechers + 1):
            seed = i == 0
            name = "seed" if seed else f"leecher{i - 1}"
            save = seed_dir if seed else os.path.join(d, name)
            os.makedirs(save, exist_ok=True)
            # --up 0: libtorrent's upload_rate_limit 0 is "unlimited" (--uncapped).
            cap = 0 if opts.uncapped else (opts.seed_kib if seed else opts.leecher_kib) * 1024
            argv = [sys.executable, me, "_peer", "--ip", f"127.0.0.{i + 2}", "--torrent", torrent,
                    "--save", save, "--up", str(cap), "--log", os.path.join(d, f"{name}.alerts")]
            if seed:
                argv.append("--seed")
            if opts.lt_utp:
                argv.append("--utp")
            for kv in opts.lt_set:
                argv += ["--set", kv]
            peer = Proc(name, argv, os.path.join(d, f"{name}.stderr"))
            procs.append(peer)
            peers.append(peer)

        def wait_line(peer, want, timeout):
            deadline = time.monotonic() + timeout
            while True:
                try:
                    line = peer.lines.get(timeout=max(0.01, deadline - time.monotonic()))
                except queue.Empty:
                    line = ""
                if line is None or time.monotonic() > deadline:
                    raise RuntimeError(f"{peer.name}: no '{want}' (see {d}/{peer.name}.stderr)")
                if line.startswith(want):
                    return line

        for peer in peers:
            wait_line(peer, "ready", 120)

        # --uncapped: CPU used so far (the seed's includes checking the file).
        cpu0 = [cpu_seconds(peer.p.pid) for peer in peers] if opts.uncapped else None
        t0 = time.monotonic()
        for peer in peers[1:]:
            peer.send("go")

        samples = {p.name: [(t0, 0, 0)] for p in peers}  # (t, payload up, total up)
        downs = {p.name: [(t0, 0)] for p in peers}  # (t, payload down)
        final_peers = {}  # the largest peer list each one reported
        done = {}
        deadline = t0 + opts.timeout
        anon_peak = [0.0 for _ in peers]  # largest RssAnon seen, MiB (--uncapped)
        next_mem = t0
        while len(done) < opts.leechers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"libtorrent: distribution did not finish in {opts.timeout} s")
            if opts.uncapped and time.monotonic() >= next_mem:
                next_mem += 0.2
                for k, peer in enumerate(peers):
                    anon_peak[k] = max(anon_peak[k], mem_mib(peer.p.pid).get("RssAnon", 0.0))
            for peer in peers:
                while True:
                    try:
                        line = peer.lines.get_nowait()
                    except queue.Empty:
                        break
                    if line is None:
                        raise RuntimeError(f"{peer.name} exited (see {d}/{peer.name}.stderr)")
                    f = line.split()
                    if f[0] == "stat":
                        samples[peer.name].append((float(f[1]), int(f[2]), int(f[4])))
                        downs[peer.name].append((float(f[1]), int(f[3])))
                    elif f[0] == "done":
                        done[peer.name] = float(f[1]) - t0
                    elif f[0] == "peers" and len(f) - 1 >= len(final_peers.get(peer.name, [])):
                        final_peers[peer.name] = f[1:]
            time.sleep(0.05)

        # CPU used and memory (VmHWM: the peak resident set), then the final counters.
        cpu = [cpu_seconds(peer.p.pid) for peer in peers]
        mem = [mem_mib(peer.p.pid) for peer in peers]
        for peer in peers:
            peer.send("quit")
        for peer in peers:
            while True:
                f = wait_line(peer, "", 20).split()
                if f and f[0] == "stat":
                    samples[peer.name].append((float(f[1]), int(f[2]), int(f[4])))
                elif f and f[0] == "peers":
                    break
    finally:
        stop_all(procs)

    if opts.uncapped:
        return report_libtorrent_uncapped(opts, d, peers, size, t0, done, samples, downs,
                                          final_peers, cpu0, cpu, mem, anon_peak)
    t = max(done.values())
    bound = bound_s(size, opts.seed_kib, opts.leecher_kib, opts.leechers)
    payload_up = {p.name: [(s[0], s[1]) for s in samples[p.name]] for p in peers}
    total_up = {p.name: [(s[0], s[2]) for s in samples[p.name]] for p in peers}
    seed_up = payload_up["seed"][-1][1]
    # The caps: the seed's rate from its first upload until the first leecher is done (until
    # then every leecher wants what the seed has), and every peer's best 5 s (payload, and with
    # the protocol's messages).
    seed_rate, seed_rate_total = busy_rates(samples["seed"], t0 + min(done.values()))
    seed_best = peak_rate(payload_up["seed"])
    leech_best = max(peak_rate(payload_up[p.name]) for p in peers[1:])
    leech_best_total = max(peak_rate(total_up[p.name]) for p in peers[1:])
    leech_up = [payload_up[p.name][-1][1] / MIB for p in peers[1:]]
    seed_changes = changes(payload_up["seed"])
    first = seed_changes[1][0] - t0 if len(seed_changes) > 1 else float("nan")
    # Whom each one was connected to, itself left out (the tracker may hand a peer its own
    # address; libtorrent drops such a connection after the handshake).
    others = {p.name: [k.split("/") for k in final_peers.get(p.name, [])
                       if k.split("/")[0] != f"127.0.0.{i + 2}"] for i, p in enumerate(peers)}
    kinds = [k for _, k in others["seed"]]
    ips = {ip for ip, _ in others["seed"]}
    leech_ips = [len({ip for ip, _ in others[p.name]}) for p in peers[1:]]

    pre = "  libtorrent | "
    log(f"{pre}flash crowd: {opts.mib} MiB, 1 seed at {opts.seed_kib} KiB/s, "
        f"{opts.leechers} leechers at {opts.leecher_kib} KiB/s each (downloads uncapped)")
    log(f"{pre}leechers complete at (s): " + " ".join(f"{v:.1f}" for v in sorted(done.values())))
    log(f"{pre}distribution time T = {t:.1f} s; fluid bound = {bound:.1f} s; "
        f"ratio bound/T = {bound / t:.3f}")
    log(f"{pre}seed uploaded {seed_up / size:.2f} copies ({seed_up / MIB:.0f} MiB)")
    log(f"{pre}leechers uploaded (MiB): " + " ".join(f"{v:.0f}" for v in leech_up))
    log(f"{pre}CPU seconds (seed first): " + " ".join(f"{c:.1f}" for c in cpu))
    log(f"{pre}caps: seed {seed_rate / MIB:.2f} MiB/s payload ({seed_rate_total / MIB:.2f} with "
        f"protocol messages) from its first upload until the first leecher is done, best 5 s "
        f"{seed_best / MIB:.2f} (cap {opts.seed_kib / 1024:.2f}); leechers' best 5 s "
        f"{leech_best / MIB:.2f} payload, {leech_best_total / MIB:.2f} with messages "
        f"(cap {opts.leecher_kib / 1024:.2f})")
    log(f"{pre}swarm: seed connected to {len(kinds)} peers at {len(ips)} addresses "
        f"({kinds.count('tcp')} TCP, {kinds.count('utp')} uTP) at most; each leecher to "
        f"{min(leech_ips)}..{max(leech_ips)} of its {opts.leechers} possible; seed's first "
        f"upload counted {first:.1f} s after t0")

    if os.environ.get("CAIRN_BENCH_KEEP") != "1":
        for p in peers[1:]:
            shutil.rmtree(os.path.join(d, p.name), ignore_errors=True)
    return {"T": t, "bound": bound, "ratio": bound / t, "copies": seed_up / size,
            "seed_rate": seed_rate / MIB}


def report_libtorrent_uncapped(opts, d, peers, size, t0, done, samples, downs, final_peers, cpu0,
                               cpu, mem, anon_peak):
    """Prints one uncapped libtorrent run and returns its result dict."""
    t = done["leecher0"]
    got = changes(downs["leecher0"])
    first = got[1][0] - t0 if len(got) > 1 else float("nan")
    seed_up = samples["seed"][-1][1]
    kinds = sorted({k.split("/")[1] for k in final_peers.get("seed", [])
                    if k.split("/")[0] != "127.0.0.2"})
    pre = "  libtorrent | "
    log(f"{pre}uncapped, {opts.mib} MiB, one seed to one leecher: T = {t:.2f} s, "
        f"{size / t / 1e6:.1f} MB/s ({size / t / MIB:.1f} MiB/s)")
    if t > first:
        log(f"{pre}leecher's first payload byte counted {first:.2f} s after go; "
            f"{size / (t - first) / 1e6:.1f} MB/s from then until done")
    log(f"{pre}peak memory (VmHWM): seed {mem[0].get('VmHWM', 0):.0f} MiB, leecher "
        f"{mem[1].get('VmHWM', 0):.0f} MiB; at the end RssAnon {mem[0].get('RssAnon', 0):.0f} / "
        f"{mem[1].get('RssAnon', 0):.0f} MiB, RssFile {mem[0].get('RssFile', 0):.0f} / "
        f"{mem[1].get('RssFile', 0):.0f} MiB (seed / leecher); largest RssAnon seen during T "
        f"{anon_peak[0]:.0f} / {anon_peak[1]:.0f} MiB")
    log(f"{pre}CPU seconds: seed {cpu[0]:.1f} ({cpu[0] - cpu0[0]:.1f} during T), leecher "
        f"{cpu[1]:.1f} ({cpu[1] - cpu0[1]:.1f} during T)")
    log(f"{pre}seed uploaded {seed_up / MIB:.0f} MiB payload; seed's connections: "
        f"{' '.join(kinds) or 'none seen'}")
    if os.environ.get("CAIRN_BENCH_KEEP") != "1":
        for p in peers[1:]:
            shutil.rmtree(os.path.join(d, p.name), ignore_errors=True)
    return {"T": t, "mbs": size / t / 1e6, "seed_mem": mem[0].get("VmHWM"),
            "leecher_mem": mem[1].get("VmHWM"), "seed_cpu": cpu[0], "leecher_cpu": cpu[1],
            "seed_anon": max(anon_peak[0], mem[0].get("RssAnon", 0.0)),
            "leecher_anon": max(anon_peak[1], mem[1].get("RssAnon", 0.0))}


CAIRN_T = re.compile(r"distribution time T = ([\d.]+) s; fluid bound = ([\d.]+) s; "
                     r"ratio bound/T = ([\d.]+)")
CAIRN_COPIES = re.compile(r"seed uploaded ([\d.]+) copies")
CAIRN_UNCAPPED = re.compile(r"uncapped, (\d+) MiB, one seed to one leecher: ([\d.]+) s, "
                            r"([\d.]+) MB/s \(([\d.]+) MiB/s\)")
CAIRN_MEM = re.compile(r"peak memory \(VmHWM\): seed ([\d.]+) MiB, leecher ([\d.]+) MiB")
CAIRN_CPU = re.compile(r"CPU seconds: seed ([\d.]+), leecher ([\d.]+)")


def run_cairn(opts, workdir, run_no):
    d = os.path.join(workdir, f"run{run_no}-cairn")
    os.makedirs(d)
    if opts.uncapped:
        bench_args = ["--uncapped", "--mib", str(opts.mib)]
    else:
        bench_args = ["--leechers", str(opts.leechers), "--mib", str(opts.mib), "--seed-kib",
                      str(opts.seed_kib), "--leecher-kib", str(opts.leecher_kib)]
    if opts.cairn_exe:
        # The bench executable built up front, run the way cargo bench runs it (in the package's
        # folder, with --bench): no build, and the same code in every run, even if the tree
        # changes meanwhile.
        argv, cwd = [opts.cairn_exe, "--bench"] + bench_args, os.path.join(ROOT, "node")
    else:
        argv, cwd = ["cargo", "bench", "--workspace", "--bench", "swarm", "--"] + bench_args, ROOT
    env = dict(os.environ)
    # The bench reads CAIRN_BENCH_KEEP as a folder for the nodes' logs: keep them in ours.
    if env.get("CAIRN_BENCH_KEEP") == "1":
        env["CAIRN_BENCH_KEEP"] = os.path.join(d, "logs")
    else:
        env.pop("CAIRN_BENCH_KEEP", None)
    if opts.uncapped:
        # Its temp dir (the 1 GiB file, the nodes' data dirs) under ours, so that it goes with
        # ours even if the bench is killed before it removes it.
        env["TMPDIR"] = d
    with open(os.path.join(d, "bench.stderr"), "w") as err:
        # Its own process group: cargo, the bench and its `cairn node`s, stopped as one.
        p = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=err,
                             text=True, bufsize=1, start_new_session=True)
        if PID_FILE:
            with open(PID_FILE, "a") as f:
                f.write(f"-{p.pid}\n")
        timer = threading.Timer(opts.timeout, stop_group, (p, 10))
        timer.start()
        out = []
        try:
            for line in p.stdout:
                out.append(line)
                log("  cairn      | " + line.rstrip("\n"))
            rc = p.wait()
        finally:
            timer.cancel()
            stop_group(p, 10)
    text = "".join(out)
    if opts.uncapped:
        return parse_cairn_uncapped(opts, d, rc, text)
    m, c = CAIRN_T.search(text), CAIRN_COPIES.search(text)
    if rc != 0 or not m or not c:
        tail = open(os.path.join(d, "bench.stderr")).read().strip().splitlines()[-15:]
        raise RuntimeError("the Cairn bench failed (exit %d):\n    %s" % (rc, "\n    ".join(tail)))
    t, bound = float(m.group(1)), float(m.group(2))
    exact = bound_s(opts.mib * MIB, opts.seed_kib, opts.leecher_kib, opts.leechers)
    return {"T": t, "bound": exact, "ratio": exact / t, "copies": float(c.group(1)),
            "seed_rate": None}


def parse_cairn_uncapped(opts, d, rc, text):
    """The result dict of one uncapped Cairn run, from the bench's output."""
    m, mem, cpu = CAIRN_UNCAPPED.search(text), CAIRN_MEM.search(text), CAIRN_CPU.search(text)
    if rc != 0 or not m or not mem:
        tail = open(os.path.join(d, "bench.stderr")).read().strip().splitlines()[-15:]
        raise RuntimeError("the Cairn bench failed (exit %d):\n    %s" % (rc, "\n    ".join(tail)))
    if int(m.group(1)) != opts.mib:
        raise RuntimeError(f"the Cairn bench moved {m.group(1)} MiB, not {opts.mib}")
    mbs = float(m.group(3))
    return {"T": opts.mib * MIB / (mbs * 1e6), "mbs": mbs, "seed_mem": float(mem.group(1)),
            "leecher_mem": float(mem.group(2)),
            "seed_cpu": float(cpu.group(1)) if cpu else None,
            "leecher_cpu": float(cpu.group(2)) if cpu else None}


def fmt(v, spec):
    """v formatted with spec, or "-" (as wide) if there is none."""
    if v is None:
        width = "".join(ch for ch in spec.split(".")[0] if ch.isdigit())
        return format("-", ">" + width)
    return format(v, spec)


def print_tables(opts, results):
    log("")
    log(f"flash crowd: {opts.mib} MiB, 256 KiB pieces, 1 seed at {opts.seed_kib} KiB/s, "
        f"{opts.leechers} leechers at {opts.leecher_kib} KiB/s each, loopback, "
        f"{os.cpu_count()} cores")
    log(f"{'run':>3}  {'side':<10}  {'T (s)':>6}  {'bound (s)':>9}  {'ratio':>5}  "
        f"{'seed copies':>11}  {'seed MiB/s':>10}")
    for i, (side, r) in enumerate(results, 1):
        if r is None:
            log(f"{i:>3}  {side:<10}  failed")
            continue
        log(f"{i:>3}  {side:<10}  {r['T']:>6.1f}  {r['bound']:>9.1f}  {r['ratio']:>5.3f}  "
            f"{r['copies']:>11.2f}  {fmt(r['seed_rate'], '>10.2f')}")
    log("")
    log(f"{'side':<10}  {'runs':>4}  {'ratio median':>12}  {'min':>5}  {'max':>5}  "
        f"{'seed copies median':>18}  {'min':>5}  {'max':>5}")
    for side in ("libtorrent", "cairn"):
        ok = [r for s, r in results if s == side and r is not None]
        failed = sum(1 for s, r in results if s == side and r is None)
        if not ok and not failed:
            continue
        note = f"  ({failed} failed)" if failed else ""
        if not ok:
            log(f"{side:<10}  {0:>4}{note}")
            continue
        ra = [r["ratio"] for r in ok]
        co = [r["copies"] for r in ok]
        log(f"{side:<10}  {len(ok):>4}  {statistics.median(ra):>12.3f}  {min(ra):>5.3f}  "
            f"{max(ra):>5.3f}  {statistics.median(co):>18.2f}  {min(co):>5.2f}  "
            f"{max(co):>5.2f}{note}")
    log("(ratio = fluid bound / T; seed copies = bytes the seed uploaded / file size; "
        "seed MiB/s = libtorrent seed's payload upload rate from its first upload until the "
        "first leecher is done; "
        "median of an even count is the mean of the middle two)")


def print_tables_uncapped(opts, results):
    log("")
    log(f"uncapped: {opts.mib} MiB, 256 KiB pieces, one seed to one leecher, no rate caps, TCP, "
        f"loopback, {os.cpu_count()} cores")
    log(f"{'run':>3}  {'side':<10}  {'T (s)':>6}  {'MB/s':>6}  {'MiB/s':>6}  "
        f"{'seed peak MiB':>13}  {'leecher peak MiB':>16}  {'seed CPU s':>10}  "
        f"{'leecher CPU s':>13}")
    for i, (side, r) in enumerate(results, 1):
        if r is None:
            log(f"{i:>3}  {side:<10}  failed")
            continue
        log(f"{i:>3}  {side:<10}  {r['T']:>6.2f}  {r['mbs']:>6.1f}  "
            f"{r['mbs'] * 1e6 / MIB:>6.1f}  {fmt(r['seed_mem'], '>13.0f')}  "
            f"{fmt(r['leecher_mem'], '>16.0f')}  {fmt(r['seed_cpu'], '>10.1f')}  "
            f"{fmt(r['leecher_cpu'], '>13.1f')}")
    log("")
    log(f"{'side':<10}  {'runs':>4}  {'MB/s median':>11}  {'min':>6}  {'max':>6}  "
        f"{'seed peak max':>13}  {'leecher peak max':>16}")
    medians = {}
    for side in ("libtorrent", "cairn"):
        ok = [r for s, r in results if s == side and r is not None]
        failed = sum(1 for s, r in results if s == side and r is None)
        if not ok and not failed:
            continue
        note = f"  ({failed} failed)" if failed else ""
        if not ok:
            log(f"{side:<10}  {0:>4}{note}")
            continue
        mbs = [r["mbs"] for r in ok]
        medians[side] = statistics.median(mbs)
        seed_mem = [r["seed_mem"] for r in ok if r["seed_mem"] is not None]
        leecher_mem = [r["leecher_mem"] for r in ok if r["leecher_mem"] is not None]
        log(f"{side:<10}  {len(ok):>4}  {medians[side]:>11.1f}  {min(mbs):>6.1f}  "
            f"{max(mbs):>6.1f}  {fmt(max(seed_mem) if seed_mem else None, '>13.0f')}  "
            f"{fmt(max(leecher_mem) if leecher_mem else None, '>16.0f')}{note}")
    anon = [r for s, r in results if s == "libtorrent" and r is not None]
    if anon:
        log(f"libtorrent's peaks without its mapped file pages: largest RssAnon seed "
            f"{max(r['seed_anon'] for r in anon):.0f} MiB, leecher "
            f"{max(r['leecher_anon'] for r in anon):.0f} MiB (sampled every 0.2 s and at the end; "
            f"its VmHWM counts the pages of the file it has mmap'ed)")
    if len(medians) == 2 and medians["libtorrent"] > 0:
        log(f"cairn / libtorrent, ratio of the MB/s medians: "
            f"{medians['cairn'] / medians['libtorrent']:.2f} (target >= 1, aim 1.5; peak memory "
            f"of each process <= 64 MiB)")
    log("(T = from the leecher's go until it holds the file, verified; MB/s = file bytes / T / "
        "1e6; peak = VmHWM of the process, MiB, libtorrent's being a python3 process; CPU s = "
        "user + system seconds of the whole process life; Cairn's T = bytes / its printed MB/s; "
        "median of an even count is the mean of the middle two)")


def main(argv):
    p = argparse.ArgumentParser(
        description=__doc__.split("\n")[0],
        epilog="Modes: the flash crowd (default: 1 seed at 8 MiB/s, 8 leechers at 2 MiB/s, 64 MiB; "
               "the ratio fluid bound / T and the seed's copies) and --uncapped (1 seed to 1 "
               "leecher, no caps, 1 GiB; MB/s and each process's peak memory, VmHWM). Both run "
               "libtorrent and Cairn alternately, --runs times each, and print a table. Details: "
               "the header of scripts/bench_libtorrent.py.")
    p.add_argument("--runs", type=int, default=5, help="runs per side (default 5)")
    p.add_argument("--uncapped", action="store_true",
                   help="one seed to one leecher, no rate caps, a 1 GiB file: MB/s and the peak "
                        "memory (VmHWM) of both processes, instead of the flash crowd")
    p.add_argument("--leechers", type=int, help="flash crowd: leechers (default 8)")
    p.add_argument("--mib", type=int, help="file size, MiB (default 64; --uncapped: 1024)")
    p.add_argument("--seed-kib", type=int, help="flash crowd: seed upload cap, KiB/s "
                   "(default 8192)")
    p.add_argument("--leecher-kib", type=int, help="flash crowd: leechers' upload cap, KiB/s "
                   "(default 2048)")
    p.add_argument("--only", choices=["libtorrent", "cairn"], help="run one side only")
    p.add_argument("--workdir", help="where the files go (default: a new temp dir)")
    p.add_argument("--cairn-exe", help="the swarm bench's executable, built already (default: "
                   "`cargo bench --workspace --bench swarm -- ...` in every run)")
    p.add_argument("--lt-utp", action="store_true",
                   help="libtorrent peers use uTP too (libtorrent's default; it prefers uTP for "
                        "outgoing connections), instead of TCP only")
    p.add_argument("--lt-set", action="append", default=[], metavar="KEY=VALUE",
                   help="an extra libtorrent setting for every peer (repeatable), for "
                        "experiments, e.g. enable_outgoing_utp=false")
    p.add_argument("--timeout", type=float, default=1800.0,
                   help="seconds one run may take (default 1800)")
    opts = p.parse_args(argv)
    if opts.uncapped:
        given = [o for o, v in (("--leechers", opts.leechers), ("--seed-kib", opts.seed_kib),
                                ("--leecher-kib", opts.leecher_kib)) if v is not None]
        if given:
            p.error(f"--uncapped has one leecher and no caps: no {', '.join(given)}")
        opts.leechers, opts.seed_kib, opts.leecher_kib = 1, 0, 0
        opts.mib = 1024 if opts.mib is None else opts.mib
    else:
        opts.leechers = 8 if opts.leechers is None else opts.leechers
        opts.mib = 64 if opts.mib is None else opts.mib
        opts.seed_kib = 8192 if opts.seed_kib is None else opts.seed_kib
        opts.leecher_kib = 2048 if opts.leecher_kib is None else opts.leecher_kib
    if opts.leechers < 1 or opts.leechers > 250 or opts.runs < 1 or opts.mib < 1:
        p.error("need --runs >= 1, 1 <= --leechers <= 250, --mib >= 1")

    # Stopped (by bench-libtorrent.sh's trap, or anyone): unwind, so that every `finally` stops
    # the processes it started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    own = opts.workdir is None
    workdir = opts.workdir or tempfile.mkdtemp(prefix="cairn-bench-lt.")
    global PID_FILE
    PID_FILE = os.path.join(workdir, "pids")
    results = []
    payload = None
    try:
        order = [opts.only] if opts.only else ["libtorrent", "cairn"]
        sides = order * opts.runs
        for i, side in enumerate(sides):
            log(f"== run {i + 1} of {len(sides)}: {side}")
            try:
                if side == "libtorrent":
                    if payload is None:
                        payload = os.path.join(workdir, "payload.bin")
                        write_random_file(payload, opts.mib * MIB)
                    results.append((side, run_libtorrent(opts, workdir, payload, i + 1)))
                else:
                    results.append((side, run_cairn(opts, workdir, i + 1)))
            except (RuntimeError, subprocess.CalledProcessError) as e:
                log(f"  {side:<10} | run failed: {e}")
                results.append((side, None))
        (print_tables_uncapped if opts.uncapped else print_tables)(opts, results)
    finally:
        # The payload (1 GiB with --uncapped) and the seeds' links to it go now, not only with
        # the work dir (which is not ours to remove with --workdir).
        if payload is not None and os.environ.get("CAIRN_BENCH_KEEP") != "1":
            links = glob.glob(os.path.join(workdir, "run*-libtorrent", "seed", "payload.bin"))
            for f in [payload] + links:
                try:
                    os.unlink(f)
                except OSError:
                    pass
        if own and os.environ.get("CAIRN_BENCH_KEEP") != "1":
            shutil.rmtree(workdir, ignore_errors=True)
        elif own:
            log(f"kept {workdir}")
    return 1 if any(r is None for _, r in results) else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_peer":
        peer_main(sys.argv[2:])
    else:
        sys.exit(main(sys.argv[1:]))
