// What the evidence page does with files, apart from showing them: hashing in the browser
// and saving receipts as files.

/** Lowercase hex SHA-256 of a file, computed with WebCrypto: the file never leaves the browser. */
export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const buf = data instanceof Uint8Array ? data.slice().buffer : data;
  const digest = await crypto.subtle.digest("SHA-256", buf);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Offers bytes or text as a file download. */
export function download(name: string, body: BlobPart, type: string): void {
  const url = URL.createObjectURL(new Blob([body], { type }));
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** Offers `value` as a JSON file download. */
export function downloadJson(name: string, value: unknown): void {
  download(name, JSON.stringify(value, null, 2) + "\n", "application/json");
}

/** A receipt file's name: the file's own name, the chain's, and `.receipt.json`. */
export function receiptName(file: string, chain: string): string {
  const safe = (s: string) => s.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^[._-]+|[._-]+$/g, "") || "deposit";
  return `${safe(file)}.${safe(chain)}.receipt.json`;
}
