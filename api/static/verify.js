// Checks a donation's inclusion proof in the browser (RFC 9162 §2.1.3.2), with Web Crypto's SHA-256,
// against the signed tree head shown beside it; and the tree head's Ed25519 signature where the
// browser's Web Crypto supports Ed25519. The page says plainly whether the donation is in the log.
"use strict";
(function () {
  const status = document.getElementById("proof-status");
  const data = JSON.parse(document.getElementById("proof-data").textContent);
  const enc = new TextEncoder();
  const hex = (bytes) => Array.from(new Uint8Array(bytes), (b) => b.toString(16).padStart(2, "0")).join("");
  const unhex = (text) => new Uint8Array(text.match(/../g).map((h) => parseInt(h, 16)));
  const sha256 = (bytes) => crypto.subtle.digest("SHA-256", bytes);
  const concat = (...parts) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) { out.set(p, at); at += p.length; }
    return out;
  };
  // Canonical JSON of the five leaf fields, keys sorted, exactly as docs/verifiable-log.md says.
  const leafBytes = (leaf) => enc.encode(
    '{"originator_id":' + JSON.stringify(leaf.originator_id) +
    ',"originator_version":' + String(leaf.originator_version) +
    ',"position":' + String(leaf.position) +
    ',"state":' + JSON.stringify(leaf.state) +
    ',"topic":' + JSON.stringify(leaf.topic) + "}");

  async function inclusion(leafHash, index, size, path, root) {
    if (index >= size) return false;
    let fn = index, sn = size - 1, r = leafHash;
    for (const p of path) {
      if (sn === 0) return false;
      if ((fn & 1) === 1 || fn === sn) {
        r = new Uint8Array(await sha256(concat(Uint8Array.of(1), p, r)));
        if ((fn & 1) === 0) { while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; } }
      } else {
        r = new Uint8Array(await sha256(concat(Uint8Array.of(1), r, p)));
      }
      fn >>= 1; sn >>= 1;
    }
    return sn === 0 && hex(r) === root;
  }

  async function signature(head, publicKey) {
    let key;
    try {
      key = await crypto.subtle.importKey("raw", unhex(publicKey), { name: "Ed25519" }, false, ["verify"]);
    } catch (e) {
      return null; // this browser has no Ed25519 in Web Crypto: the root is checked, not its signature
    }
    const signed = enc.encode('{"root_hash":' + JSON.stringify(head.root_hash) +
      ',"timestamp":' + String(head.timestamp) + ',"tree_size":' + String(head.tree_size) + "}");
    return crypto.subtle.verify({ name: "Ed25519" }, key, unhex(head.signature), signed);
  }

  async function check() {
    const proof = data.proof, head = data.tree_head;
    const leafHash = new Uint8Array(await sha256(concat(Uint8Array.of(0), leafBytes(data.leaf))));
    if (hex(leafHash) !== proof.leaf_hash || proof.tree_size !== head.tree_size) return false;
    const path = proof.audit_path.map(unhex);
    if (!(await inclusion(leafHash, proof.leaf_index, proof.tree_size, path, head.root_hash))) return false;
    return (await signature(head, data.public_key)) !== false;
  }

  check().then((ok) => {
    status.textContent = ok ? status.dataset.ok : status.dataset.bad;
    status.className = "status " + (ok ? "ok" : "bad");
    status.dataset.verified = ok ? "true" : "false";
  }, () => {
    status.textContent = status.dataset.bad;
    status.className = "status bad";
    status.dataset.verified = "false";
  });
})();
