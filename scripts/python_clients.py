"""Drives a running cairn node with the Python clients people use against Bitcoin Core.

Usage: python python_clients.py http://__cookie__:SECRET@127.0.0.1:PORT
Exits non-zero (with the failing assertion) if anything differs from Core's behaviour.
"""
import decimal
import sys

import bitcoin.rpc
from bitcoinrpc.authproxy import AuthServiceProxy, JSONRPCException

url = sys.argv[1]

# python-bitcoinlib: legacy framing ("version": "1.1"), amounts parsed as Decimal.
raw = bitcoin.rpc.RawProxy(service_url=url)
assert raw.getblockcount() == 0
address = raw.getnewaddress()
hashes = raw.generatetoaddress(101, address)
assert len(hashes) == 101, hashes
assert raw.getbalance() == decimal.Decimal("50.00000000")
try:
    raw.getblockhash(100000)
    raise SystemExit("getblockhash out of range did not fail")
except bitcoin.rpc.JSONRPCError as e:
    assert e.error["code"] == -8, e.error
info = raw.getblockchaininfo()
assert info["blocks"] == 101 and info["chain"] == "regtest", info

# python-bitcoinrpc: checks Content-Type == application/json, needs result and error members.
proxy = AuthServiceProxy(url)
assert proxy.getblockcount() == 101
to = proxy.getnewaddress()
txid = proxy.sendtoaddress(to, decimal.Decimal("1.5"))
assert txid in proxy.getrawmempool()
tx = proxy.gettransaction(txid)
assert tx["confirmations"] == 0 and tx["fee"] < 0, tx
try:
    proxy.nosuchmethod()
    raise SystemExit("unknown method did not fail")
except JSONRPCException as e:
    assert e.error["code"] == -32601, e.error
try:
    proxy.sendtoaddress("Rnotanaddress", 1)
    raise SystemExit("bad address did not fail")
except JSONRPCException as e:
    assert e.error["code"] == -5, e.error
proxy.generatetoaddress(1, address)
assert proxy.gettransaction(txid)["confirmations"] == 1
print("python clients ok")
