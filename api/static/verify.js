// Checks a donation's inclusion proof in the browser (RFC 9162 §2.1.3.2), with Web Crypto's SHA-256,
// against the signed tree head shown beside it; and the tree head's Ed25519 signature where the
// browser's Web Crypto supports Ed25519. The leaf (base64 of its bytes, docs/verifiable-log.md §1)
// is decoded and the facts the page shows are written from its `public` part, so what is shown
// is what was proven; the page says plainly whether the donation is in the log.
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
  const unbase64 = (text) => Uint8Array.from(atob(text), (c) => c.charCodeAt(0));

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

  // The facts the page shows, written from the proven leaf's public part.
  function show(facts) {
    for (const el of document.querySelectorAll("[data-leaf]")) {
      const value = facts[el.dataset.leaf];
      if (el.dataset.value === undefined) el.textContent = value == null ? "" : String(value);
      else if (String(value) !== el.dataset.value) return false;
    }
    return true;
  }

  async function check() {
    const proof = data.proof, head = data.tree_head;
    const leaf = unbase64(data.leaf);
    const leafHash = new Uint8Array(await sha256(concat(Uint8Array.of(0), leaf)));
    if (hex(leafHash) !== proof.leaf_hash || proof.tree_size !== head.tree_size) return false;
    const path = proof.audit_path.map(unhex);
    if (!(await inclusion(leafHash, proof.leaf_index, proof.tree_size, path, head.root_hash))) return false;
    if ((await signature(head, data.public_key)) === false) return false;
    const parsed = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(leaf));
    const facts = parsed.public;
    if (!facts || facts.reference !== document.getElementById("reference").textContent.trim()) return false;
    return show(facts);
  }

  const facts = document.getElementById("leaf-facts");
  const done = (ok) => {
    status.textContent = ok ? status.dataset.ok : status.dataset.bad;
    status.className = "status " + (ok ? "ok" : "bad");
    status.dataset.verified = ok ? "true" : "false";
    if (facts) facts.dataset.verified = ok ? "true" : "false";
  };
  check().then(done, () => done(false));
})();
