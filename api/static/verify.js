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

  // The checkpoint note (C2SP signed note): body, blank line, "— name base64(key id ‖ sig)" lines.
  function parseNote(text) {
    const cut = text.indexOf("\n\n");
    if (cut < 0) return null;
    const body = text.slice(0, cut + 1);
    const lines = body.split("\n");
    if (lines.length < 4) return null;
    const sigs = [];
    for (const line of text.slice(cut + 2).split("\n")) {
      if (line === "") continue;
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) return null;
      sigs.push({ name: m[1], bytes: unbase64(m[2]) });
    }
    return { body, origin: lines[0], size: Number(lines[1]), root: hex(unbase64(lines[2])), sigs };
  }

  async function keyId(name, alg, publicKey) {
    return new Uint8Array(await sha256(concat(enc.encode(name), Uint8Array.of(10, alg), publicKey))).slice(0, 4);
  }
  const same = (a, b) => a.length === b.length && a.every((x, i) => x === b[i]);
  const ed25519 = (publicKey) => crypto.subtle.importKey("raw", publicKey, { name: "Ed25519" }, false, ["verify"]);

  // The log's note signature over the body, then the cosignatures over THIS body by the
  // published witness keys (name and key id both match); they must reach the quorum.
  async function witnessed(note) {
    const logKey = unhex(data.public_key), body = enc.encode(note.body);
    const logId = await keyId(data.origin, 1, logKey);
    let signed = false;
    for (const s of note.sigs) {
      if (s.name === data.origin && s.bytes.length === 68 && same(s.bytes.slice(0, 4), logId) &&
          await crypto.subtle.verify({ name: "Ed25519" }, await ed25519(logKey), s.bytes.slice(4), body)) signed = true;
    }
    if (!signed) return false;
    let count = 0;
    for (const w of data.witnesses) {
      const key = unhex(w.public_key), id = await keyId(w.name, 4, key);
      for (const s of note.sigs) {
        if (s.name !== w.name || s.bytes.length !== 76 || !same(s.bytes.slice(0, 4), id)) continue;
        let ts = 0n;
        for (const b of s.bytes.slice(4, 12)) ts = (ts << 8n) | BigInt(b);
        const message = concat(enc.encode("cosignature/v1\ntime " + ts.toString() + "\n"), body);
        if (await crypto.subtle.verify({ name: "Ed25519" }, await ed25519(key), s.bytes.slice(12), message)) { count++; break; }
      }
    }
    return count >= data.quorum;
  }

  // RFC 9162 §2.1.4.2: the tree of size `second` extends the tree of size `first`.
  async function consistent(first, second, path, firstRoot, secondRoot) {
    const node = async (l, r) => new Uint8Array(await sha256(concat(Uint8Array.of(1), l, r)));
    if (first === second) return path.length === 0 && firstRoot === secondRoot;
    if (first === 0 || first > second || path.length === 0) return false;
    if ((first & (first - 1)) === 0) path = [unhex(firstRoot), ...path];
    let fn = first - 1, sn = second - 1;
    while ((fn & 1) === 1) { fn >>= 1; sn >>= 1; }
    let fr = path[0], sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0) return false;
      if ((fn & 1) === 1 || fn === sn) {
        fr = await node(c, fr); sr = await node(c, sr);
        if ((fn & 1) === 0) { while ((fn & 1) === 0 && fn !== 0) { fn >>= 1; sn >>= 1; } }
      } else {
        sr = await node(sr, c);
      }
      fn >>= 1; sn >>= 1;
    }
    return sn === 0 && hex(fr) === firstRoot && hex(sr) === secondRoot;
  }

  // The last checkpoint this browser verified for this log: the new one must extend it.
  const storeKey = () => "minhbach.checkpoint:" + data.origin;
  async function extendsRemembered(note) {
    let old = null;
    try { old = JSON.parse(localStorage.getItem(storeKey()) || "null"); } catch (e) { old = null; }
    if (!old || old.origin !== data.origin) return true;
    let ok;
    if (old.size === note.size) ok = old.root === note.root;
    else if (old.size > note.size) ok = false; // rolled back
    else {
      const answer = await fetch("/api/v1/audit/proofs/consistency?first=" + old.size + "&second=" + note.size);
      ok = answer.ok && await consistent(old.size, note.size, (await answer.json()).proof.map(unhex), old.root, note.root);
    }
    if (!ok) {
      document.getElementById("alarm-old").textContent = old.note;
      document.getElementById("alarm-new").textContent = data.checkpoint;
      document.getElementById("proof-alarm").hidden = false;
    }
    return ok;
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
    if (data.checkpoint) {
      const note = parseNote(data.checkpoint);
      if (!note || note.origin !== data.origin || note.size !== head.tree_size || note.root !== head.root_hash) return false;
      if (data.quorum > 0 && !(await witnessed(note))) return false;
      if (!(await extendsRemembered(note))) return false;
      localStorage.setItem(storeKey(), JSON.stringify({ origin: data.origin, size: note.size, root: note.root, note: data.checkpoint }));
    }
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
