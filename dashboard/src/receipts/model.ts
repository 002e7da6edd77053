// The genesis file, transactions, headers, certificates and both receipt kinds, read from
// strict JSON exactly as RECEIPTS.md §4–§10 define them, with their borsh encodings.

import { ed25519 } from "@noble/curves/ed25519.js";
import { Writer } from "./bytes";
import { array, hex, Malformed, object, string, uint, type JsonValue } from "./json";

export const HASH_ALGS = ["sha256", "sha3-256", "sm3", "sha512"] as const;
export type HashAlg = (typeof HASH_ALGS)[number];

export type WeightedKey = { publicKey: Uint8Array; weight: bigint };

export type Op =
  | { kind: "create_account"; id: string; keys: WeightedKey[]; threshold: bigint; recoveryKey: Uint8Array | null }
  | { kind: "add_key"; key: WeightedKey }
  | { kind: "remove_key"; publicKey: Uint8Array }
  | { kind: "set_threshold"; threshold: bigint }
  | { kind: "set_recovery_key"; recoveryKey: Uint8Array | null }
  | { kind: "recover"; keys: WeightedKey[]; threshold: bigint }
  | { kind: "deposit"; hashAlg: HashAlg; contentHash: Uint8Array; metadata: string; externalId: string | null };

export type Tx = { chainId: string; account: string; nonce: bigint; expiryHeight: bigint; op: Op };
export type SignedTx = { tx: Tx; signatures: { publicKey: Uint8Array; signature: Uint8Array }[] };

export type Header = {
  chainId: string;
  height: bigint;
  timeMs: bigint;
  prevHash: Uint8Array;
  txRoot: Uint8Array;
  txCount: bigint;
  stateRoot: Uint8Array;
  validatorsHash: Uint8Array;
  proposer: bigint;
  round: bigint;
};

export type Certificate = {
  height: bigint;
  round: bigint;
  blockHash: Uint8Array;
  signatures: { validator: bigint; signature: Uint8Array }[];
};

export type PlainReceipt = {
  tx: SignedTx;
  txHash: Uint8Array;
  height: bigint;
  index: bigint;
  blockHash: Uint8Array;
  proof: Uint8Array[];
  header: Header;
  certificate: Certificate;
};

export type AnchoredItem = { hashAlg: HashAlg; contentHash: Uint8Array; metadata: string };
export type AnchoredReceipt = {
  item: AnchoredItem;
  index: bigint;
  size: bigint;
  path: Uint8Array[];
  anchor: PlainReceipt;
};

// ---- reading ----

function hashAlg(v: JsonValue | undefined, at: string): HashAlg {
  const s = string(v, at);
  const found = HASH_ALGS.find((a) => a === s);
  if (!found) throw new Malformed(`${at} is not a known hash algorithm`);
  return found;
}

function weightedKey(v: JsonValue | undefined, at: string): WeightedKey {
  const o = object(v, at, ["public_key", "weight"]);
  return { publicKey: hex(o.get("public_key"), `${at}.public_key`, 32), weight: uint(o.get("weight"), `${at}.weight`, 32) };
}

function keys(v: JsonValue | undefined, at: string): WeightedKey[] {
  return array(v, at).map((k, i) => weightedKey(k, `${at}[${i}]`));
}

function optionalKey(v: JsonValue | undefined, at: string): Uint8Array | null {
  if (v === undefined || v.t === "null") return null;
  return hex(v, at, 32);
}

function op(v: JsonValue | undefined, at: string): Op {
  if (!v || v.t !== "object" || v.members.size !== 1) throw new Malformed(`${at} must name exactly one operation`);
  const [name, body] = [...v.members][0]!;
  const p = `${at}.${name}`;
  switch (name) {
    case "create_account": {
      const o = object(body, p, ["id", "keys", "threshold"], ["recovery_key"]);
      return {
        kind: name,
        id: string(o.get("id"), `${p}.id`),
        keys: keys(o.get("keys"), `${p}.keys`),
        threshold: uint(o.get("threshold"), `${p}.threshold`, 32),
        recoveryKey: optionalKey(o.get("recovery_key"), `${p}.recovery_key`),
      };
    }
    case "add_key": {
      const o = object(body, p, ["key"]);
      return { kind: name, key: weightedKey(o.get("key"), `${p}.key`) };
    }
    case "remove_key": {
      const o = object(body, p, ["public_key"]);
      return { kind: name, publicKey: hex(o.get("public_key"), `${p}.public_key`, 32) };
    }
    case "set_threshold": {
      const o = object(body, p, ["threshold"]);
      return { kind: name, threshold: uint(o.get("threshold"), `${p}.threshold`, 32) };
    }
    case "set_recovery_key": {
      const o = object(body, p, [], ["recovery_key"]);
      return { kind: name, recoveryKey: optionalKey(o.get("recovery_key"), `${p}.recovery_key`) };
    }
    case "recover": {
      const o = object(body, p, ["keys", "threshold"]);
      return { kind: name, keys: keys(o.get("keys"), `${p}.keys`), threshold: uint(o.get("threshold"), `${p}.threshold`, 32) };
    }
    case "deposit": {
      const o = object(body, p, ["hash_alg", "content_hash"], ["metadata", "external_id"]);
      const ext = o.get("external_id");
      const meta = o.get("metadata");
      return {
        kind: name,
        hashAlg: hashAlg(o.get("hash_alg"), `${p}.hash_alg`),
        contentHash: hex(o.get("content_hash"), `${p}.content_hash`),
        metadata: meta === undefined ? "" : string(meta, `${p}.metadata`),
        externalId: ext === undefined || ext.t === "null" ? null : string(ext, `${p}.external_id`),
      };
    }
    default:
      throw new Malformed(`${at}: unknown operation "${name}"`);
  }
}

function signedTx(v: JsonValue | undefined, at: string): SignedTx {
  const o = object(v, at, ["tx", "signatures"]);
  const t = object(o.get("tx"), `${at}.tx`, ["chain_id", "account", "nonce", "expiry_height", "op"]);
  return {
    tx: {
      chainId: string(t.get("chain_id"), `${at}.tx.chain_id`),
      account: string(t.get("account"), `${at}.tx.account`),
      nonce: uint(t.get("nonce"), `${at}.tx.nonce`, 64),
      expiryHeight: uint(t.get("expiry_height"), `${at}.tx.expiry_height`, 64),
      op: op(t.get("op"), `${at}.tx.op`),
    },
    signatures: array(o.get("signatures"), `${at}.signatures`).map((s, i) => {
      const so = object(s, `${at}.signatures[${i}]`, ["public_key", "signature"]);
      return {
        publicKey: hex(so.get("public_key"), `${at}.signatures[${i}].public_key`, 32),
        signature: hex(so.get("signature"), `${at}.signatures[${i}].signature`, 64),
      };
    }),
  };
}

function header(v: JsonValue | undefined, at: string): Header {
  const o = object(v, at, [
    "chain_id", "height", "time_ms", "prev_hash", "tx_root", "tx_count", "state_root", "validators_hash", "proposer", "round",
  ]);
  return {
    chainId: string(o.get("chain_id"), `${at}.chain_id`),
    height: uint(o.get("height"), `${at}.height`, 64),
    timeMs: uint(o.get("time_ms"), `${at}.time_ms`, 64),
    prevHash: hex(o.get("prev_hash"), `${at}.prev_hash`, 32),
    txRoot: hex(o.get("tx_root"), `${at}.tx_root`, 32),
    txCount: uint(o.get("tx_count"), `${at}.tx_count`, 32),
    stateRoot: hex(o.get("state_root"), `${at}.state_root`, 32),
    validatorsHash: hex(o.get("validators_hash"), `${at}.validators_hash`, 32),
    proposer: uint(o.get("proposer"), `${at}.proposer`, 32),
    round: uint(o.get("round"), `${at}.round`, 32),
  };
}

function certificate(v: JsonValue | undefined, at: string): Certificate {
  const o = object(v, at, ["height", "round", "block_hash", "signatures"]);
  return {
    height: uint(o.get("height"), `${at}.height`, 64),
    round: uint(o.get("round"), `${at}.round`, 32),
    blockHash: hex(o.get("block_hash"), `${at}.block_hash`, 32),
    signatures: array(o.get("signatures"), `${at}.signatures`).map((s, i) => {
      const so = object(s, `${at}.signatures[${i}]`, ["validator", "signature"]);
      return {
        validator: uint(so.get("validator"), `${at}.signatures[${i}].validator`, 32),
        signature: hex(so.get("signature"), `${at}.signatures[${i}].signature`, 64),
      };
    }),
  };
}

const hashes = (v: JsonValue | undefined, at: string) => array(v, at).map((h, i) => hex(h, `${at}[${i}]`, 32));

export function plainReceipt(v: JsonValue | undefined, at = "receipt"): PlainReceipt {
  const o = object(v, at, ["tx", "tx_hash", "height", "index", "block_hash", "proof", "header", "certificate"]);
  return {
    tx: signedTx(o.get("tx"), `${at}.tx`),
    txHash: hex(o.get("tx_hash"), `${at}.tx_hash`, 32),
    height: uint(o.get("height"), `${at}.height`, 64),
    index: uint(o.get("index"), `${at}.index`, 32),
    blockHash: hex(o.get("block_hash"), `${at}.block_hash`, 32),
    proof: hashes(o.get("proof"), `${at}.proof`),
    header: header(o.get("header"), `${at}.header`),
    certificate: certificate(o.get("certificate"), `${at}.certificate`),
  };
}

export function anchoredReceipt(v: JsonValue | undefined): AnchoredReceipt {
  const o = object(v, "receipt", ["item", "index", "size", "path", "anchor"]);
  const item = object(o.get("item"), "receipt.item", ["hash_alg", "content_hash"], ["metadata"]);
  const meta = item.get("metadata");
  return {
    item: {
      hashAlg: hashAlg(item.get("hash_alg"), "receipt.item.hash_alg"),
      contentHash: hex(item.get("content_hash"), "receipt.item.content_hash"),
      metadata: meta === undefined ? "" : string(meta, "receipt.item.metadata"),
    },
    index: uint(o.get("index"), "receipt.index", 64),
    size: uint(o.get("size"), "receipt.size", 64),
    path: hashes(o.get("path"), "receipt.path"),
    anchor: plainReceipt(o.get("anchor"), "receipt.anchor"),
  };
}

// ---- the genesis ----

export type Params = [name: string, type: "u32" | "u64", dflt: bigint, min: bigint, max: bigint | null][];

/** RECEIPTS.md §4: the thirteen parameters in encoding order, with defaults and ranges. */
export const PARAMS: Params = [
  ["max_block_txs", "u32", 10000n, 1n, 100000n],
  ["max_block_bytes", "u64", 16777216n, 8192n, 67108864n],
  ["max_metadata_bytes", "u32", 4096n, 1n, 65536n],
  ["mempool_max_txs", "u32", 100000n, 1n, null],
  ["nonce_window", "u64", 10000n, 0n, null],
  ["propose_timeout_ms", "u64", 3000n, 1n, null],
  ["propose_timeout_delta_ms", "u64", 500n, 0n, null],
  ["prevote_timeout_ms", "u64", 1000n, 1n, null],
  ["prevote_timeout_delta_ms", "u64", 500n, 0n, null],
  ["precommit_timeout_ms", "u64", 1000n, 1n, null],
  ["precommit_timeout_delta_ms", "u64", 500n, 0n, null],
  ["commit_delay_ms", "u64", 0n, 0n, null],
  ["empty_block_ms", "u64", 1000n, 0n, null],
];

export type Genesis = {
  chainId: string;
  genesisTimeMs: bigint;
  validators: { name: string; publicKey: Uint8Array; power: bigint }[];
  accounts: { id: string; keys: WeightedKey[]; threshold: bigint; recoveryKey: Uint8Array | null }[];
  params: bigint[];
  totalPower: bigint;
};

/** A genesis that breaks a rule of §4: no receipt is checked against it. */
export class InvalidGenesis extends Error {
  constructor(message: string) {
    super(message);
    this.name = "InvalidGenesis";
  }
}

const U64_MAX = (1n << 64n) - 1n;

function point(key: Uint8Array, smallOrderToo: boolean): boolean {
  try {
    const p = ed25519.Point.fromBytes(key, true);
    return !(smallOrderToo && p.isSmallOrder());
  } catch {
    return false;
  }
}

export function genesis(v: JsonValue): Genesis {
  try {
    return readGenesis(v);
  } catch (e) {
    if (e instanceof Malformed) throw new InvalidGenesis(e.message);
    throw e;
  }
}

function readGenesis(v: JsonValue): Genesis {
  const o = object(v, "genesis", ["chain_id", "genesis_time_ms", "validators"], ["accounts", "params"]);
  const bad = (m: string): never => {
    throw new InvalidGenesis(m);
  };
  const chainId = string(o.get("chain_id"), "genesis.chain_id");
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(chainId)) bad("chain_id must be 1–64 characters of a-z A-Z 0-9 . _ -");
  const validators = array(o.get("validators"), "genesis.validators").map((x, i) => {
    const at = `genesis.validators[${i}]`;
    const vo = object(x, at, ["public_key", "power"], ["name"]);
    const name = vo.get("name");
    return {
      name: name === undefined ? "" : string(name, `${at}.name`),
      publicKey: hex(vo.get("public_key"), `${at}.public_key`, 32),
      power: uint(vo.get("power"), `${at}.power`, 64),
    };
  });
  if (validators.length === 0) bad("at least one validator is needed");
  const seen = new Set<string>();
  let total = 0n;
  validators.forEach((val, i) => {
    if (val.power < 1n) bad(`validator ${i} has no voting power`);
    if (!point(val.publicKey, false)) bad(`validator ${i}'s key is not a curve point`);
    const k = val.publicKey.join(",");
    if (seen.has(k)) bad(`validator ${i}'s key appears twice`);
    seen.add(k);
    total += val.power;
  });
  if (total > U64_MAX || 3n * total > U64_MAX) bad("the total voting power is too large");
  const ids = new Set<string>();
  const accountsJson = o.get("accounts");
  const accounts = (accountsJson === undefined ? [] : array(accountsJson, "genesis.accounts")).map((x, i) => {
    const at = `genesis.accounts[${i}]`;
    const ao = object(x, at, ["id", "keys", "threshold"], ["recovery_key"]);
    const id = string(ao.get("id"), `${at}.id`);
    if (!/^[a-z0-9][a-z0-9._-]{2,63}$/.test(id)) bad(`${at}.id is not a valid account id`);
    if (ids.has(id)) bad(`account ${id} appears twice`);
    ids.add(id);
    const ks = keys(ao.get("keys"), `${at}.keys`);
    if (ks.length < 1 || ks.length > 16) bad(`${at} must have 1–16 keys`);
    const kseen = new Set<string>();
    let weights = 0n;
    for (const k of ks) {
      if (k.weight < 1n) bad(`${at} has a key of weight 0`);
      if (!point(k.publicKey, true)) bad(`${at} has a key that is not a usable curve point`);
      const s = k.publicKey.join(",");
      if (kseen.has(s)) bad(`${at} has a key twice`);
      kseen.add(s);
      weights += k.weight;
    }
    const threshold = uint(ao.get("threshold"), `${at}.threshold`, 32);
    if (threshold < 1n || threshold > weights) bad(`${at}.threshold must be between 1 and the keys' total weight`);
    return { id, keys: ks, threshold, recoveryKey: optionalKey(ao.get("recovery_key"), `${at}.recovery_key`) };
  });
  const paramsJson = o.get("params");
  const po = paramsJson === undefined ? new Map<string, JsonValue>() : object(paramsJson, "genesis.params", [], PARAMS.map((p) => p[0]));
  const params = PARAMS.map(([name, type, dflt, min, max]) => {
    const x = po.get(name);
    const n = x === undefined ? dflt : uint(x, `genesis.params.${name}`, type === "u32" ? 32 : 64);
    if (n < min || (max !== null && n > max)) bad(`params.${name} is out of range`);
    return n;
  });
  return {
    chainId,
    genesisTimeMs: uint(o.get("genesis_time_ms"), "genesis.genesis_time_ms", 64),
    validators,
    accounts,
    params,
    totalPower: total,
  };
}

// ---- borsh encodings ----

const weighted = (w: Writer, k: WeightedKey) => w.bytes(k.publicKey).u32(k.weight);
const key32 = (w: Writer, k: Uint8Array) => w.bytes(k);

export function encodeTx(w: Writer, t: Tx): Writer {
  w.string(t.chainId).string(t.account).u64(t.nonce).u64(t.expiryHeight);
  const op = t.op;
  switch (op.kind) {
    case "create_account":
      return w.u8(0).string(op.id).vec(op.keys, weighted).u32(op.threshold).option(op.recoveryKey, key32);
    case "add_key":
      return weighted(w.u8(1), op.key);
    case "remove_key":
      return w.u8(2).bytes(op.publicKey);
    case "set_threshold":
      return w.u8(3).u32(op.threshold);
    case "set_recovery_key":
      return w.u8(4).option(op.recoveryKey, key32);
    case "recover":
      return w.u8(5).vec(op.keys, weighted).u32(op.threshold);
    case "deposit":
      return w
        .u8(6)
        .u8(HASH_ALGS.indexOf(op.hashAlg))
        .vecBytes(op.contentHash)
        .string(op.metadata)
        .option(op.externalId, (ww, s) => ww.string(s));
  }
}

export function encodeSignedTx(t: SignedTx): Uint8Array {
  const w = encodeTx(new Writer(), t.tx);
  w.vec(t.signatures, (ww, s) => ww.bytes(s.publicKey).bytes(s.signature));
  return w.done();
}

export function encodeHeader(h: Header): Uint8Array {
  return new Writer()
    .string(h.chainId)
    .u64(h.height)
    .u64(h.timeMs)
    .bytes(h.prevHash)
    .bytes(h.txRoot)
    .u32(h.txCount)
    .bytes(h.stateRoot)
    .bytes(h.validatorsHash)
    .u32(h.proposer)
    .u32(h.round)
    .done();
}

export function encodeGenesisBody(g: Genesis): Uint8Array {
  const w = new Writer().string(g.chainId).u64(g.genesisTimeMs);
  w.vec(g.validators, (ww, v) => ww.string(v.name).bytes(v.publicKey).u64(v.power));
  w.vec(g.accounts, (ww, a) => ww.string(a.id).vec(a.keys, weighted).u32(a.threshold).option(a.recoveryKey, key32));
  PARAMS.forEach(([, type], i) => (type === "u32" ? w.u32(g.params[i]!) : w.u64(g.params[i]!)));
  return w.done();
}

export function encodeItem(item: AnchoredItem): Uint8Array {
  return new Writer().u8(HASH_ALGS.indexOf(item.hashAlg)).vecBytes(item.contentHash).string(item.metadata).done();
}
