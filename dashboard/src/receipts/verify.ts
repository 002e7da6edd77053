// The offline receipt check of RECEIPTS.md §11: a receipt file against a genesis file, with
// nothing else — no server, no network. Every check runs in the specification's order and
// the first that fails names the verdict's code (§12), so this verifier and
// `consortia-node verify-receipt` give the same verdict on the same files.

import { ed25519 } from "@noble/curves/ed25519.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { concat, equal, toHex, utf8, Writer } from "./bytes";
import { Malformed, parseJson, type JsonValue } from "./json";
import {
  anchoredReceipt,
  encodeGenesisBody,
  encodeHeader,
  encodeItem,
  encodeSignedTx,
  encodeTx,
  genesis as readGenesis,
  plainReceipt,
  type Genesis,
  type PlainReceipt,
} from "./model";

export type Code =
  | "malformed" | "wrong_chain" | "tx_hash" | "tx_unsigned" | "tx_duplicate_signer" | "tx_signature"
  | "position" | "proof" | "block_hash" | "validators" | "prev_hash" | "time" | "proposer"
  | "certificate_height" | "certificate_block" | "certificate_unknown_validator"
  | "certificate_duplicate_signer" | "certificate_no_quorum" | "certificate_signature" | "round"
  | "not_an_anchor" | "anchor_metadata" | "anchor_position" | "anchor_path";

/** A verdict, shaped as `consortia-node verify-receipt --json` prints it. */
export type Verdict =
  | {
      valid: true;
      receipt: {
        chain_id: string;
        tx_hash: string;
        height: number | string;
        index: number;
        block_hash: string;
        block_time_ms: number | string;
        account: string;
        kind: string;
        signed_power: number | string;
        total_power: number | string;
      };
      anchored_item: null | { content_hash: string; hash_alg: string; index: number | string; size: number | string };
    }
  | { valid: false; code: Code; reason: string };

class Refused extends Error {
  constructor(readonly code: Code, reason: string) {
    super(reason);
  }
}
const refuse = (code: Code, reason: string): never => {
  throw new Refused(code, reason);
};

/** An exact integer as a JSON number when a double holds it, else as its digits. */
const num = (n: bigint): number | string => (n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n.toString());

const H = (...parts: Uint8Array[]) => sha256(concat(...parts));
const DOMAIN = {
  tx: utf8("consortia/tx/v1\0"),
  header: utf8("consortia/header/v1\0"),
  genesis: utf8("consortia/genesis/v1\0"),
  validators: utf8("consortia/validators/v1\0"),
  vote: utf8("consortia/vote/v1\0"),
  item: utf8("consortia/anchored-deposit/v1"),
};
const LEAF = new Uint8Array([0]);
const NODE = new Uint8Array([1]);
const L = ed25519.Point.Fn.ORDER;

export function genesisHash(g: Genesis): Uint8Array {
  return H(DOMAIN.genesis, encodeGenesisBody(g));
}

export function validatorsHash(g: Genesis): Uint8Array {
  const w = new Writer().bytes(DOMAIN.validators);
  for (const v of g.validators) w.bytes(v.publicKey).u64be(v.power);
  return sha256(w.done());
}

/** RFC 9162 §2.1.3.2, as RECEIPTS.md §7 writes it. */
export function verifyPath(index: bigint, size: bigint, leaf: Uint8Array, path: Uint8Array[], root: Uint8Array): boolean {
  if (index >= size) return false;
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return false;
    if (fn % 2n === 1n || fn === sn) {
      r = H(NODE, p, r);
      if (fn % 2n === 0n) {
        while (fn % 2n === 0n && fn !== 0n) {
          fn >>= 1n;
          sn >>= 1n;
        }
      }
    } else {
      r = H(NODE, r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && equal(r, root);
}

function scalar(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]!);
  return n;
}

/** §5: ZIP 215 (cofactored, non-canonical encodings accepted), the key not of small order. */
export function verifyZip215(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    if (ed25519.Point.fromBytes(publicKey, true).isSmallOrder()) return false;
  } catch {
    return false;
  }
  if (scalar(signature.subarray(32)) >= L) return false;
  try {
    return ed25519.verify(signature, message, publicKey, { zip215: true });
  } catch {
    return false;
  }
}

/** §8: `verify_strict` — cofactorless, R and A not of small order, R as given re-derived. */
export function verifyStrict(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  const rBytes = signature.subarray(0, 32);
  const s = scalar(signature.subarray(32));
  if (s >= L) return false;
  let A, R;
  try {
    A = ed25519.Point.fromBytes(publicKey, true);
    R = ed25519.Point.fromBytes(rBytes, true);
  } catch {
    return false;
  }
  if (A.isSmallOrder() || R.isSmallOrder()) return false;
  const k = scalar(sha512(concat(rBytes, publicKey, message))) % L;
  const back = ed25519.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k));
  return equal(back.toBytes(), rBytes);
}

function voteBytes(chainId: string, height: bigint, round: bigint, blockHash: Uint8Array): Uint8Array {
  const id = utf8(chainId);
  return new Writer()
    .bytes(DOMAIN.vote)
    .u8(2)
    .u64be(height)
    .u32be(round)
    .u8(1)
    .bytes(blockHash)
    .u16be(id.length)
    .bytes(id)
    .done();
}

/** Checks 1–19 on a plain receipt; the signed power on success. */
function checkPlain(g: Genesis, r: PlainReceipt): bigint {
  // 1
  if (r.tx.tx.chainId !== g.chainId || r.header.chainId !== g.chainId) {
    refuse("wrong_chain", `the receipt is for chain "${r.header.chainId}", the genesis for "${g.chainId}"`);
  }
  // 2
  const txHash = H(DOMAIN.tx, encodeTx(new Writer(), r.tx.tx).done());
  if (!equal(txHash, r.txHash)) refuse("tx_hash", "the transaction does not hash to tx_hash");
  // 3, 4, 5
  if (r.tx.signatures.length === 0) refuse("tx_unsigned", "the transaction carries no signature");
  const signers = new Set<string>();
  r.tx.signatures.forEach((s, i) => {
    const k = toHex(s.publicKey);
    if (signers.has(k)) refuse("tx_duplicate_signer", `signature ${i} repeats the key ${k}`);
    signers.add(k);
  });
  r.tx.signatures.forEach((s, i) => {
    if (!verifyZip215(s.publicKey, txHash, s.signature)) refuse("tx_signature", `transaction signature ${i} does not verify`);
  });
  // 6
  if (r.header.height !== r.height || r.height < 1n || r.index >= r.header.txCount) {
    refuse("position", "height or index does not fit the block header");
  }
  // 7
  const leaf = H(LEAF, encodeSignedTx(r.tx));
  if (!verifyPath(r.index, r.header.txCount, leaf, r.proof, r.header.txRoot)) {
    refuse("proof", "the transaction's audit path does not lead to the block's tx_root");
  }
  // 8
  if (!equal(H(DOMAIN.header, encodeHeader(r.header)), r.blockHash)) refuse("block_hash", "the header does not hash to block_hash");
  // 9
  if (!equal(r.header.validatorsHash, validatorsHash(g))) refuse("validators", "the block names another validator set than the genesis");
  // 10, 11
  if (r.height === 1n) {
    if (!equal(r.header.prevHash, genesisHash(g))) refuse("prev_hash", "block 1 does not follow this genesis");
    if (r.header.timeMs < g.genesisTimeMs) refuse("time", "block 1 is older than the genesis");
  }
  // 12
  const n = BigInt(g.validators.length);
  const proposer = ((r.height + r.header.round) % (1n << 64n)) % n;
  if (r.header.proposer !== proposer) refuse("proposer", `round ${r.header.round}'s proposer is validator ${proposer}, not ${r.header.proposer}`);
  // 13, 14
  const c = r.certificate;
  if (c.height !== r.height) refuse("certificate_height", "the certificate is for another height");
  if (!equal(c.blockHash, r.blockHash)) refuse("certificate_block", "the certificate is for another block");
  // 15, 16
  const named = new Set<bigint>();
  let signed = 0n;
  c.signatures.forEach((s, i) => {
    if (s.validator >= n) refuse("certificate_unknown_validator", `certificate signature ${i} names validator ${s.validator}, which the genesis lacks`);
    if (named.has(s.validator)) refuse("certificate_duplicate_signer", `validator ${s.validator} signs twice`);
    named.add(s.validator);
    signed += g.validators[Number(s.validator)]!.power;
  });
  // 17
  if (!(3n * signed > 2n * g.totalPower)) refuse("certificate_no_quorum", `the signers hold ${signed} of ${g.totalPower}: not more than two thirds`);
  // 18
  const vote = voteBytes(g.chainId, c.height, c.round, c.blockHash);
  c.signatures.forEach((s, i) => {
    const key = g.validators[Number(s.validator)]!.publicKey;
    if (!verifyStrict(key, vote, s.signature)) refuse("certificate_signature", `certificate signature ${i} (validator ${s.validator}) does not verify`);
  });
  // 19
  if (r.header.round > c.round) refuse("round", "the block was decided before the round it was proposed in");
  return signed;
}

function describe(g: Genesis, r: PlainReceipt, signed: bigint) {
  return {
    chain_id: g.chainId,
    tx_hash: toHex(r.txHash),
    height: num(r.height),
    index: Number(r.index),
    block_hash: toHex(r.blockHash),
    block_time_ms: num(r.header.timeMs),
    account: r.tx.tx.account,
    kind: r.tx.tx.op.kind,
    signed_power: num(signed),
    total_power: num(g.totalPower),
  };
}

/** Reads a genesis file; throws when it is not a valid genesis (no verdict then). */
export function loadGenesis(file: Uint8Array | string): Genesis {
  return readGenesis(parseJson(file));
}

/** Checks a receipt file against a genesis. */
export function verifyReceipt(g: Genesis, file: Uint8Array | string): Verdict {
  try {
    const json: JsonValue = parseJson(file);
    if (json.t === "object" && json.members.has("anchor")) {
      const a = anchoredReceipt(json);
      const signed = checkPlain(g, a.anchor);
      // 20
      const op = a.anchor.tx.tx.op;
      if (op.kind !== "deposit" || op.hashAlg !== "sha256" || op.contentHash.length !== 32) {
        refuse("not_an_anchor", "the anchoring transaction is not a SHA-256 deposit of a 32-byte root");
      }
      // 21
      const want = `{"kind":"consortia.merkle-anchor","leaves":${a.size}}`;
      if (op.kind === "deposit" && op.metadata !== want) refuse("anchor_metadata", `the anchor's metadata is not ${want}`);
      // 22
      if (a.index >= a.size) refuse("anchor_position", "the item's index is outside the batch");
      // 23
      const leaf = H(LEAF, DOMAIN.item, encodeItem(a.item));
      const root = op.kind === "deposit" ? op.contentHash : new Uint8Array();
      if (!verifyPath(a.index, a.size, leaf, a.path, root)) refuse("anchor_path", "the item's path does not lead to the anchored root");
      return {
        valid: true,
        receipt: describe(g, a.anchor, signed),
        anchored_item: { content_hash: toHex(a.item.contentHash), hash_alg: a.item.hashAlg, index: num(a.index), size: num(a.size) },
      };
    }
    const r = plainReceipt(json);
    const signed = checkPlain(g, r);
    return { valid: true, receipt: describe(g, r, signed), anchored_item: null };
  } catch (e) {
    if (e instanceof Refused) return { valid: false, code: e.code, reason: e.message };
    if (e instanceof Malformed) return { valid: false, code: "malformed", reason: e.message };
    throw e;
  }
}
