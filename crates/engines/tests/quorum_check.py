"""Checks GoQuorum material made by consortia-engines with libraries we did not write.

Usage: quorum_check.py MATERIAL.json. The file holds the nodes' keys with what our crate
derived from them (address, enode id, enode URL), the genesis and the static node list.
PyPI's eth-keys derives every address and enode id again; rlp encodes the QBFT extraData
this genesis must carry and decodes ours; every field of the genesis is checked. Prints
"ok" or fails with the first difference.
"""

import json
import sys

import rlp
from eth_keys import keys
from eth_utils import is_checksum_address, to_checksum_address

ISTANBUL_MIX_HASH = "0x63746963616c2062797a616e74696e65206661756c7420746f6c6572616e6365"


def main(path):
    m = json.load(open(path))
    params = m["params"]
    addresses = []
    for n in m["nodes"]:
        private = keys.PrivateKey(bytes.fromhex(n["nodekey"]))
        public = private.public_key
        assert public.to_hex()[2:] == n["enode_id"], ("enode id", n)
        assert public.to_checksum_address() == n["address"], ("address", n)
        assert n["enode_url"] == f"enode://{n['enode_id']}@{n['host']}:{n['port']}?discport=0", n
        addresses.append(public.to_canonical_address())

    g = m["genesis"]
    # The known-good extraData, computed here: [vanity, sorted validators, no vote, round 0, no seals].
    expected = rlp.encode([b"\x00" * 32, sorted(addresses), [], 0, []])
    assert g["extraData"] == "0x" + expected.hex(), (g["extraData"], expected.hex())
    vanity, validators, vote, round_, seals = rlp.decode(bytes.fromhex(g["extraData"][2:]))
    assert vanity == b"\x00" * 32 and vote == [] and round_ == b"" and seals == []
    assert validators == sorted(addresses)

    c = g["config"]
    assert c["chainId"] == params["chain_id"]
    assert c["isQuorum"] is True
    for fork in ["homesteadBlock", "eip150Block", "eip155Block", "eip158Block", "byzantiumBlock",
                 "constantinopleBlock", "petersburgBlock", "istanbulBlock", "berlinBlock", "londonBlock"]:
        assert c[fork] == 0, fork
    q = c["qbft"]
    assert q["blockperiodseconds"] == params["block_period_seconds"]
    assert q["emptyblockperiodseconds"] == params["empty_block_period_seconds"]
    assert q["epochlength"] == params["epoch_length"]
    assert q["requesttimeoutseconds"] == params["request_timeout_seconds"]
    assert int(g["gasLimit"], 16) == params["gas_limit"]
    assert g["mixHash"] == ISTANBUL_MIX_HASH
    assert int(g["difficulty"], 16) == 1 and int(g["nonce"], 16) == 0 and int(g["number"], 16) == 0

    funded = {to_checksum_address(a): int(v["balance"], 16) for a, v in g["alloc"].items()}
    assert all(is_checksum_address(a) for a in g["alloc"]), g["alloc"]
    want = {to_checksum_address(a["address"]): int(a["wei"]) for a in m["alloc"]}
    assert funded == want, (funded, want)

    assert m["static_nodes"] == [n["enode_url"] for n in m["nodes"]]
    print("ok")


if __name__ == "__main__":
    main(sys.argv[1])
