"""Conformance of a running node's JSON-RPC with Bitcoin Core's documented results.

Usage: python conformance.py http://__cookie__:SECRET@127.0.0.1:PORT   (a regtest node; it is changed)

Calls every method of scripts/conformance/core_rpc.json (Core's RPC table, written from Core's
RPCHelpMan documentation) that the node lists in `help`, through python-bitcoinrpc's
AuthServiceProxy as a Core user would, with Core-style positional parameters, and checks each result
against the table's shape: every documented field present (optional ones may be absent), of the
documented JSON type, recursively. Fields we return beyond Core's are fine.

Exits non-zero if an offered method fails (an error, a missing or mistyped field, or never called),
or if the table's methods the node does not offer differ from PENDING. Prints
"conformance ok: N methods" on success.
"""
import decimal
import json
import os
import string
import sys
import tempfile

from bitcoinrpc.authproxy import AuthServiceProxy, JSONRPCException

TABLE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "conformance", "core_rpc.json")

# Table methods the node does not offer yet: the remaining work of the RPC issue. Kept sorted and exact:
# a method that becomes available must be removed from here (and is then called and checked), so the
# test fails until this list is updated.
PENDING = [
]

# Fields the table (Core master, after v31.0) documents but that Core added in v29.0 or later, newer than
# the Core release Cairn follows (v28): checked for type when present, not required. Paths as in the report:
# "a.b" = field b of object a, "[]" = every array item, "*" = every value of an object keyed by ids.
_MEMPOOL_ENTRY_V31 = ["chunkweight", "fees.chunk"]  # cluster mempool (v31.0)
NEWER_THAN_OUR_TARGET = {
    "getblockchaininfo": ["bits", "target", "backgroundvalidation"],  # v29.0; backgroundvalidation after v31
    "getblock": ["target", "coinbase_tx"],  # target v29.0, coinbase_tx v31.0
    "getblockheader": ["target"],  # v29.0
    "getmininginfo": ["bits", "target", "next", "blockmintxfee"],  # v29.0 (blockmintxfee v30.0)
    # permitbaremultisig, maxdatacarriersize v30.0; the cluster limits and "optimal" v31.0
    "getmempoolinfo": ["permitbaremultisig", "maxdatacarriersize", "limitclustercount", "limitclustersize", "optimal"],
    "getmempoolentry": _MEMPOOL_ENTRY_V31,
    "getrawmempool": ["*." + p for p in _MEMPOOL_ENTRY_V31],
    "getmempoolancestors": ["*." + p for p in _MEMPOOL_ENTRY_V31],
    "getmempooldescendants": ["*." + p for p in _MEMPOOL_ENTRY_V31],
    # Also newer, though the table's notes do not say so:
    "getpeerinfo": ["[].last_inv_sequence", "[].inv_to_send"],  # bitcoin/bitcoin#33448, first in v31.0
    "getbalances": ["mine.nonmempool"],  # bitcoin/bitcoin#33671, after v30 (v30's getbalances lacks it)
}

# Documented, deliberate differences of Cairn from Core (README, "JSON-RPC, as Bitcoin Core"), by method
# and field path -> the reason: reported, but not a failure. Only what the README names as deliberate
# belongs here; a field Cairn merely lacks is a failure until it is added. Empty today: where Cairn has
# no such concept, the README's rule is the closest honest value (weight = 4 x size, wtxid = txid, ...),
# not a missing field, and Core's witness-only fields (txinwitness, coinbase_tx.witness,
# default_witness_commitment) are optional in the table, so omitting them is already conformant.
KNOWN_DEVIATIONS = {}

# Methods whose answers still differ from Core's table. Empty since issue 19 closed: every method of the
# table that the node offers answers with Core's fields. A method listed here is reported in full and must
# still fail (one that passes must leave the list, so it only shrinks as fixes land); every method not
# listed must pass.
OPEN = sorted([])

HEX = set(string.hexdigits)
NUMBER = (int, float, decimal.Decimal)


class CallFailed(Exception):
    """A call of a group failed; the rest of the group depends on it."""


class Checker:
    def __init__(self, proxy, table, offered):
        self.proxy = proxy
        self.table = table
        self.offered = offered
        self.calls = {}  # method -> number of calls
        self.problems = {}  # method -> [text]
        self.deviations = {}  # method -> [text]
        self.notes = {}  # method -> [text]
        self.seen = set()  # (method, path, what) already reported

    def call(self, method, args=(), alt=0, expect_error=None, nonempty=False, expect=None):
        """Calls `method` positionally and checks the result against alternative `alt` of its shape.

        With `expect_error` the call must fail with that Core error code (nothing else is checked).
        With `nonempty` the result must have entries (Core's would here), so their fields are checked.
        `expect(result)` returns what differs from Core's answer to these parameters, or None.
        Raises CallFailed if the call fails otherwise, so a group stops where its state is missing.
        """
        if method not in self.offered:
            raise CallFailed(f"{method} not offered")
        self.calls[method] = self.calls.get(method, 0) + 1
        shown = f"{method} {abbreviated(list(args))}"
        try:
            result = getattr(self.proxy, method)(*args)
        except JSONRPCException as e:
            if expect_error is not None and e.error.get("code") == expect_error:
                return None
            message = str(e.error.get("message", "")).splitlines()[0] if e.error.get("message") else ""
            self.problem(method, f"{shown}: error {e.error.get('code')} {message}")
            raise CallFailed(shown)
        if expect_error is not None:
            self.problem(method, f"{shown}: expected error {expect_error}, got {short(result)}")
            return result
        shape = self.table[method]["result"]
        if isinstance(shape, dict) and "alternatives" in shape:
            shape = shape["alternatives"][alt]
        errors = []
        check(shape, result, "", errors)
        newer = NEWER_THAN_OUR_TARGET.get(method, [])
        known = KNOWN_DEVIATIONS.get(method, {})
        for path, what in errors:
            if what == "missing" and covered(path, newer):
                continue
            reason = next((r for p, r in known.items() if covered(path, [p])), None)
            if reason is not None:
                add(self.deviations, method, f"{path}: {what} ({reason})")
            elif (method, path, what) not in self.seen:
                # Each difference once, with the first call that showed it.
                self.seen.add((method, path, what))
                add(self.problems, method, f"{path or '(result)'}: {what}   [{shown}]")
        if isinstance(result, (list, dict)) and not result:
            if nonempty:
                self.problem(method, f"{shown}: empty {type(result).__name__}, where Core returns entries")
            else:
                add(self.notes, method, f"{shown} returned an empty {type(result).__name__}: items not checked")
        if expect is not None:
            difference = expect(result)
            if difference and (method, difference) not in self.seen:
                self.seen.add((method, difference))
                self.problem(method, f"{difference}   [{shown}]")
        return result

    def problem(self, method, text):
        add(self.problems, method, text)


def add(d, key, text):
    lst = d.setdefault(key, [])
    if text not in lst:
        lst.append(text)


def covered(path, prefixes):
    """Whether `path` is one of `prefixes` or inside one."""
    return any(path == p or path.startswith(p + ".") or path.startswith(p + "[") for p in prefixes)


def abbreviated(args):
    """Call arguments for the report, long hex strings shortened."""

    def shorten(v):
        if isinstance(v, str) and len(v) > 20:
            return v[:8] + "..."
        if isinstance(v, list):
            return [shorten(x) for x in v]
        if isinstance(v, dict):
            return {shorten(k): shorten(x) for k, x in v.items()}
        return v

    return json.dumps(shorten(args), default=str)


def short(v):
    text = json.dumps(v, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


def type_name(v):
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, NUMBER):
        return "number"
    if isinstance(v, str):
        return "string"
    if isinstance(v, list):
        return "array"
    return "object"


def join(path, name):
    return f"{path}.{name}" if path else name


def check(shape, value, path, errors):
    """Appends (path, what) for every way `value` differs from `shape`."""
    if isinstance(shape, str):
        ok = {
            "str": lambda v: isinstance(v, str),
            "hex": lambda v: isinstance(v, str) and all(c in HEX for c in v),
            "num": lambda v: isinstance(v, NUMBER) and not isinstance(v, bool),
            "amount": lambda v: isinstance(v, NUMBER) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "none": lambda v: v is None,
        }[shape](value)
        if not ok:
            errors.append((path, f"{shape} expected, got {type_name(value)} {short(value)}"))
        return
    if "alternatives" in shape:
        best = None
        for alternative in shape["alternatives"]:
            errs = []
            check(alternative, value, path, errs)
            if not errs:
                return
            best = best if best is not None else errs
        errors.extend(best)
        return
    kind = shape["type"]
    if kind == "obj":
        if not isinstance(value, dict):
            errors.append((path, f"object expected, got {type_name(value)} {short(value)}"))
            return
        for name, spec in shape["fields"].items():
            optional = isinstance(spec, dict) and "shape" in spec and spec.get("optional", False)
            inner = spec["shape"] if isinstance(spec, dict) and "shape" in spec else spec
            if name not in value:
                if not optional:
                    errors.append((join(path, name), "missing"))
                continue
            check(inner, value[name], join(path, name), errors)
    elif kind == "arr":
        if not isinstance(value, list):
            errors.append((path, f"array expected, got {type_name(value)} {short(value)}"))
            return
        if "fixed_length" in shape and len(value) != shape["fixed_length"]:
            errors.append((path, f"{shape['fixed_length']} items expected, got {len(value)}"))
        for item in value:
            check(shape["items"], item, path + "[]", errors)
    elif kind == "obj_dyn":
        if not isinstance(value, dict):
            errors.append((path, f"object expected, got {type_name(value)} {short(value)}"))
            return
        for item in value.values():
            check(shape["values"], item, join(path, "*"), errors)
    else:
        raise ValueError(f"unknown shape {shape}")


def has_entries(field):
    """An `expect` check: `field` is present and not empty, as in Core's answer."""
    return lambda r: None if r.get(field) else f"{field}: absent or empty, where Core fills it"


def lists_tx(txid):
    """An `expect` check: the wallet's transaction `txid` has an entry, as in Core's listtransactions."""
    return lambda r: None if any(e.get("txid") == txid for e in r) else f"no entry for wallet transaction {txid[:8]}..."


def offered_methods(help_text):
    """Method names in `help` output: the first word of every line that is not a `== X ==` header."""
    names = set()
    for line in help_text.splitlines():
        line = line.strip()
        if line and not line.startswith("=="):
            names.add(line.split()[0])
    return names


def vout_paying(c, txid, address, blockhash=None):
    """The output number and value of `txid` (in the mempool, or in block `blockhash`) paying `address`."""
    hexstring = c.call("getrawtransaction", [txid, 0, blockhash] if blockhash else [txid])
    decoded = c.call("decoderawtransaction", [hexstring])
    for out in decoded["vout"]:
        if out["scriptPubKey"].get("address") == address:
            return out["n"], out["value"]
    raise CallFailed(f"no output of {txid} pays {address}")


def spend(c, txid, vout, value, to, fee=decimal.Decimal("0.0001")):
    """A signed transaction spending (txid, vout) of `value` to `to`, less `fee`."""
    raw = c.call("createrawtransaction", [[{"txid": txid, "vout": vout}], [{to: value - fee}]])
    signed = c.call("signrawtransactionwithwallet", [raw])
    if not signed["complete"]:
        raise CallFailed(f"signrawtransactionwithwallet incomplete: {signed}")
    return signed["hex"]


def exercise(c, st):
    """Every method of the table, with Core's parameters, in an order that keeps side effects safe."""
    groups = []

    def group(fn):
        groups.append(fn)
        return fn

    @group
    def chain_state():
        # Setup: a mature coinbase, two payments mined in one block, a parent and child in the mempool.
        st["addr"] = c.call("getnewaddress")
        c.call("getnewaddress", ["conformance"])
        st["hashes"] = c.call("generatetoaddress", [101, st["addr"]])
        st["to1"] = c.call("getnewaddress")
        st["to2"] = c.call("getnewaddress")
        st["tx1"] = c.call("sendtoaddress", [st["to1"], decimal.Decimal("1.5")])
        st["tx2"] = c.call("sendtoaddress", [st["to2"], 2, "rent", "landlord"])
        st["block"] = c.call("generatetoaddress", [1, st["addr"]])[0]
        st["height"] = 102
        st["to3"] = c.call("getnewaddress")
        st["tx3"] = c.call("sendtoaddress", [st["to3"], decimal.Decimal("3.25")])
        n, value = vout_paying(c, st["tx3"], st["to3"])
        child = spend(c, st["tx3"], n, value, st["addr"])
        st["tx4"] = c.call("sendrawtransaction", [child])

    @group
    def blockchain():
        c.call("getblockchaininfo")
        c.call("getblockcount")
        c.call("getbestblockhash")
        c.call("getblockhash", [st["height"]])
        c.call("getblock", [st["block"]])
        c.call("getblock", [st["block"], 0], alt=1)
        c.call("getblock", [st["block"], 1], alt=0)
        c.call("getblock", [st["block"], 2], alt=2)
        c.call("getblock", [st["hashes"][0], 2], alt=2)
        c.call("getblock", [st["block"], True], alt=0)  # the older boolean form, as Core still accepts
        c.call("getblock", [st["block"], False], alt=1)
        st["coinbase"] = c.call("getblock", [st["hashes"][0]])["tx"][0]
        c.call("getblockheader", [st["block"]])
        c.call("getblockheader", [st["block"], False], alt=1)
        c.call("getblockstats", [st["height"]])
        c.call("getblockstats", [st["block"], ["avgfee", "txs", "feerate_percentiles"]])
        c.call("getchaintips", nonempty=True)
        c.call("getchaintxstats")
        c.call("getchaintxstats", [10, st["block"]])
        c.call("getdifficulty")
        c.call("gettxout", [st["tx1"], vout_paying(c, st["tx1"], st["to1"], st["block"])[0]])
        c.call("gettxout", [st["tx4"], 0, True])
        c.call("gettxout", ["00" * 32, 0], alt=1)
        c.call("gettxoutsetinfo")
        c.call("gettxoutsetinfo", ["none"])
        c.call("getindexinfo")

    @group
    def blockchain_verbosity_3():
        c.call("getblock", [st["block"], 3], alt=3)

    @group
    def mempool():
        c.call("getmempoolinfo")
        c.call("getrawmempool", nonempty=True)
        c.call("getrawmempool", [True], alt=1, nonempty=True)
        c.call("getrawmempool", [False, True], alt=2)
        c.call("getmempoolentry", [st["tx3"]])
        c.call("getmempoolentry", [st["tx4"]])
        c.call("getmempoolancestors", [st["tx4"]])
        c.call("getmempoolancestors", [st["tx4"], True], alt=1)
        c.call("getmempooldescendants", [st["tx3"]])
        c.call("getmempooldescendants", [st["tx3"], True], alt=1)

    @group
    def rawtransactions():
        c.call("getrawtransaction", [st["tx3"]])
        c.call("getrawtransaction", [st["tx3"], 1], alt=1)
        c.call("getrawtransaction", [st["tx3"], True], alt=1)  # the older boolean form
        c.call("getrawtransaction", [st["tx4"], 2], alt=2)
        c.call("getrawtransaction", [st["tx1"], 1, st["block"]], alt=1)
        c.call("getrawtransaction", [st["tx1"], 2, st["block"]], alt=2)
        coin = next(u for u in c.call("listunspent", nonempty=True) if u["confirmations"] >= 1)
        signed = spend(c, coin["txid"], coin["vout"], coin["amount"], st["addr"])
        c.call("decoderawtransaction", [signed])
        c.call("testmempoolaccept", [[signed]])
        c.call("testmempoolaccept", [[signed], decimal.Decimal("0.1")])
        c.call("createrawtransaction", [[{"txid": coin["txid"], "vout": coin["vout"]}], {st["to1"]: 1}, 0])

    @group
    def fund():
        # Core's way to fund: a transaction without inputs, completed by the wallet.
        if "fundrawtransaction" not in c.offered:
            return
        raw = c.call("createrawtransaction", [[], [{st["to1"]: decimal.Decimal("0.5")}]])
        c.call("fundrawtransaction", [raw])

    @group
    def mining():
        c.call("getmininginfo")
        c.call("getnetworkhashps")
        c.call("getnetworkhashps", [120, -1])
        c.call("getblocktemplate", [{"rules": ["segwit"]}])
        c.call("prioritisetransaction", [st["tx3"], 0, 10000])
        c.call("generateblock", [st["addr"], []])
        block = c.call("generateblock", [st["addr"], [], False])
        c.call("submitblock", [block["hex"]], alt=0)
        c.call("submitblock", [block["hex"]], alt=1)  # "duplicate"

    @group
    def network():
        c.call("getnetworkinfo")
        c.call("getnettotals")
        c.call("ping")
        connected = c.call("getconnectioncount") > 0
        st["peers"] = c.call("getpeerinfo", nonempty=connected)
        c.call("addnode", ["192.0.2.1:18444", "add"])
        c.call("getaddednodeinfo", nonempty=True)
        c.call("getaddednodeinfo", ["192.0.2.1:18444"])
        c.call("addnode", ["192.0.2.1:18444", "remove"])

    @group
    def disconnect():
        if st.get("peers"):
            c.call("disconnectnode", [st["peers"][0]["addr"]])
        else:
            c.call("disconnectnode", ["192.0.2.1:18444"], expect_error=-29)

    @group
    def network_active():
        c.call("setnetworkactive", [False])
        c.call("setnetworkactive", [True])

    @group
    def bans():
        c.call("setban", ["192.0.2.2", "add"])
        c.call("setban", ["192.0.2.0/28", "add", 3600])
        c.call("listbanned", nonempty=True)
        c.call("setban", ["192.0.2.2", "remove"])

    @group
    def unban():
        c.call("listbanned")
        c.call("clearbanned")

    @group
    def util():
        c.call("estimatesmartfee", [6])
        c.call("estimatesmartfee", [2, "conservative"])
        c.call("validateaddress", [st["addr"]])
        c.call("validateaddress", ["notanaddress"])

    @group
    def messages():
        address = c.call("getnewaddress", ["", "legacy"])
        signature = c.call("signmessage", [address, "conformance"])
        c.call("verifymessage", [address, signature, "conformance"])

    @group
    def control():
        c.call("getmemoryinfo")
        c.call("getmemoryinfo", ["stats"])
        c.call("getrpcinfo")
        c.call("help")
        c.call("help", ["getblock"])
        c.call("uptime")

    @group
    def logging():
        c.call("logging")

    @group
    def verify():
        c.call("verifychain")
        c.call("verifychain", [4, 0])

    @group
    def wallet():
        c.call("getbalance")
        c.call("getbalance", ["*", 6])
        c.call("getbalances")
        c.call("listunspent", nonempty=True)
        c.call("listunspent", [0, 9999999, [st["to1"]]], nonempty=True)
        c.call("listunspent", [1, 9999999, [], True], nonempty=True)  # "[]": no address filter
        c.call("gettransaction", [st["tx1"]], expect=has_entries("details"))
        c.call("gettransaction", [st["tx3"], True], expect=has_entries("details"))
        c.call("gettransaction", [st["coinbase"]], expect=has_entries("details"))
        c.call("listtransactions", nonempty=True)
        c.call("listtransactions", ["*", 100, 0], expect=lists_tx(st["tx1"]))
        c.call("sendtoaddress", [st["to2"], decimal.Decimal("0.1"), "", "", False, True])

    @group
    def wallet_verbose_send():
        c.call("sendtoaddress", [st["to2"], decimal.Decimal("0.1"), "", "", False, True, None, "unset", None, None, True], alt=1)

    @group
    def wallet_decoded():
        c.call("gettransaction", [st["tx1"], True, True], expect=has_entries("decoded"))

    @group
    def wallet_more():
        c.call("getwalletinfo")
        c.call("getaddressinfo", [st["addr"]])
        c.call("getreceivedbyaddress", [st["to1"]])
        c.call("getreceivedbyaddress", [st["to1"], 0])
        c.call("listreceivedbyaddress")
        c.call("listreceivedbyaddress", [0, True])
        c.call("listsinceblock")
        c.call("listsinceblock", [st["block"]])

    @group
    def send_many():
        c.call("sendmany", ["", {st["to1"]: decimal.Decimal("0.01"), st["to2"]: decimal.Decimal("0.02")}])
        c.call("sendmany", ["", {st["to1"]: decimal.Decimal("0.01")}, 1, "", [], True, None, "unset", None, True], alt=1)

    @group
    def locks():
        coin = c.call("listunspent")[0]
        c.call("lockunspent", [False, [{"txid": coin["txid"], "vout": coin["vout"]}]])
        c.call("listlockunspent")
        c.call("lockunspent", [True])

    @group
    def abandon():
        # Cairn keeps the first spend it sees (no replacement, so Core's way of pushing a payment out
        # of the mempool does not apply): here a reorg does it. The payment spends the coinbase 101
        # blocks deep; invalidating the last two blocks makes that coinbase immature again, the
        # payment leaves the pool, and it can be abandoned.
        c.call("generatetoaddress", [101, st["addr"]])  # a coinbase exactly 101 deep, unspent
        height = c.call("getblockcount")
        coinbase = c.call("getblock", [c.call("getblockhash", [height - 100]), 2], alt=2)["tx"][0]
        raw = spend(c, coinbase["txid"], 0, coinbase["vout"][0]["value"], st["addr"])
        txid = c.call("sendrawtransaction", [raw])
        undo = c.call("getblockhash", [height - 1])
        c.call("invalidateblock", [undo])
        c.call("abandontransaction", [txid])
        c.call("reconsiderblock", [undo])

    @group
    def reorg():
        tip = c.call("getbestblockhash")
        c.call("invalidateblock", [tip])
        c.call("reconsiderblock", [tip])

    @group
    def fee():
        c.call("settxfee", [decimal.Decimal("0.0002")])

    @group
    def wallets():
        name = "conformance-2"
        c.call("createwallet", [name])
        c.call("listwallets")
        c.call("unloadwallet", [name])
        c.call("loadwallet", [name])
        c.call("unloadwallet", [name])

    @group
    def backup():
        with tempfile.TemporaryDirectory(prefix="cairn-conformance-") as d:
            c.call("backupwallet", [os.path.join(d, "backup.dat")])

    @group
    def encryption():
        # Last: the wallet stays encrypted.
        c.call("encryptwallet", ["conformance passphrase"])
        c.call("walletpassphrase", ["conformance passphrase", 60])
        c.call("walletlock")

    for fn in groups:
        try:
            fn()
        except CallFailed:
            pass


def main():
    url = sys.argv[1]
    table = json.load(open(TABLE_PATH))["methods"]
    proxy = AuthServiceProxy(url, timeout=120)
    offered = offered_methods(proxy.help())
    # Core's `help` leaves hidden commands out of its list, but `help NAME` explains them.
    for name, entry in table.items():
        if entry.get("category") == "hidden" and name not in offered:
            if not proxy.help(name).startswith("help: unknown command"):
                offered.add(name)
    c = Checker(proxy, table, offered)
    exercise(c, {})

    failed = False
    checked = sorted(m for m in table if m in offered and m != "stop")
    print("method                        result")
    for method in checked:
        problems = list(c.problems.get(method, []))
        if method not in c.calls:
            problems.append("never called (a call it depends on failed, or it has none in exercise())")
        if method in OPEN:
            status = "OPEN" if problems else "FAIL (passes now: remove it from OPEN)"
            failed |= not problems
        else:
            status = "FAIL" if problems else "OK"
            failed |= bool(problems)
        print(f"{method:<29} {status} ({c.calls.get(method, 0)} calls)")
        for text in problems:
            print(f"    - {text}")
        for text in c.deviations.get(method, []):
            print(f"    ~ known deviation: {text}")
        for text in c.notes.get(method, []):
            print(f"    . {text}")
    print("stop                          not called (it stops the node)")

    missing = sorted(m for m in table if m not in offered)
    print(f"\nin Core's table, not offered by the node ({len(missing)}): {' '.join(missing)}")
    if missing != sorted(PENDING):
        failed = True
        now_offered = sorted(set(PENDING) - set(missing))
        newly_missing = sorted(set(missing) - set(PENDING))
        if now_offered:
            print(f"FAIL: offered now, remove from PENDING: {' '.join(now_offered)}")
        if newly_missing:
            print(f"FAIL: not offered but not in PENDING: {' '.join(newly_missing)}")
    if PENDING != sorted(PENDING):
        failed = True
        print("FAIL: PENDING is not sorted")
    if failed:
        print("conformance FAILED")
        sys.exit(1)
    print(f"conformance ok: {len(checked)} methods, {len(checked) - len(OPEN)} as Core's table, {len(OPEN)} open")


if __name__ == "__main__":
    main()
