#!/usr/bin/env python3
"""Quilt (version 1) vectors, computed from Walrus's rules as its source states them, without the
Swift code: run `python3 make_vectors.py > quilt-v1.json`.

Every rule below names where it comes from in MystenLabs/walrus:
  Q = crates/walrus-core/src/encoding/quilt_encoding.rs
  M = crates/walrus-core/src/metadata.rs (QuiltPatchV1, QuiltIndexV1, QuiltPatchInternalIdV1)
  C = crates/walrus-core/src/encoding/config.rs (source symbols for n shards)
and the BCS format of the `bcs` crate (ULEB128 lengths; maps sorted by serialized key bytes).
The quilt's blob ID is the blob ID of `quilt` bytes, which the blob-ID vectors
(redstuff-blob-ids.json, from the reference) pin; this script pins the quilt bytes themselves.
"""
import hashlib
import json


def source_symbols(n):
    # C: f = (n - 1) / 3; primary source symbols n - 2f (rows), secondary n - f (columns).
    f = (n - 1) // 3
    return n - 2 * f, n - f


def uleb(n):
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def bcs_str(s):
    b = s.encode("utf-8")
    return uleb(len(b)) + b


def bcs_map(tags):
    # bcs: a BTreeMap is written as its length, then entries sorted by their serialized keys.
    entries = sorted((bcs_str(k), bcs_str(v)) for k, v in tags.items())
    return uleb(len(entries)) + b"".join(k + v for k, v in entries)


def patch_prefix(identifier, tags):
    # Q get_header_and_extension_bytes: u16 LE size + BCS identifier; if tags, u16 LE size + BCS
    # tags (mask bit 0); header = version 1, u32 LE length of extensions + data, mask.
    ident = bcs_str(identifier)
    ext = len(ident).to_bytes(2, "little") + ident
    mask = 0
    if tags:
        t = bcs_map(tags)
        ext += len(t).to_bytes(2, "little") + t
        mask |= 1
    return ext, mask


def div_ceil(a, b):
    return -(-a // b)


def compute_symbol_size(sizes, n_cols, n_rows, max_index_cols, alignment=2, max_symbol=65534):
    # Q utils::compute_symbol_size, bounds and binary search as written there.
    if len(sizes) > n_cols:
        raise ValueError("too many blobs")
    lo = max(div_ceil(sum(sizes), n_cols * n_rows), div_ceil(sizes[0], n_rows * max_index_cols))
    lo = max(lo, div_ceil(5, n_rows))
    hi = div_ceil(max(sizes), (n_cols // len(sizes)) * n_rows)

    def fits(col_size):
        return sum(div_ceil(s, col_size) for s in sizes) <= n_cols

    while lo < hi:
        mid = (lo + hi) // 2
        if fits(mid * n_rows):
            hi = mid
        else:
            lo = mid + 1
    symbol = div_ceil(lo, alignment) * alignment
    if symbol > max_symbol:
        raise ValueError("oversize")
    return symbol


def build(files, n):
    n_rows, n_cols = source_symbols(n)
    # Q construct_quilt: sort by identifier (Rust String order = UTF-8 bytes).
    files = sorted(files, key=lambda f: f["identifier"].encode("utf-8"))
    prefixes = []
    sizes = []
    for f in files:
        ext, mask = patch_prefix(f["identifier"], f["tags"])
        header = bytes([1]) + (len(ext) + len(f["data"])).to_bytes(4, "little") + bytes([mask])
        prefixes.append(header + ext)
        sizes.append(len(header) + len(ext) + len(f["data"]))

    # M: QuiltIndexV1 { quilt_patches: Vec<QuiltPatchV1 { end_index u16, identifier, tags }> }.
    def index_bytes(ends):
        return uleb(len(files)) + b"".join(
            e.to_bytes(2, "little") + bcs_str(f["identifier"]) + bcs_map(f["tags"]) for e, f in zip(ends, files))

    index_total = 5 + len(index_bytes([0] * len(files)))
    symbol = compute_symbol_size([index_total] + sizes, n_cols, n_rows, 10)
    col_size = symbol * n_rows
    row_size = symbol * n_cols
    data = bytearray(row_size * n_rows)

    def write(payload, start_col, skip):
        # Q write_bytes_to_columns: down the column symbol by symbol, then the next column.
        pos = 0
        while pos < len(payload):
            off = skip + pos
            col = start_col + off // col_size
            within = off % col_size
            row, in_sym = divmod(within, symbol)
            chunk = min(symbol - in_sym, len(payload) - pos)
            at = row * row_size + col * symbol + in_sym
            data[at:at + chunk] = payload[pos:pos + chunk]
            pos += chunk

    col = div_ceil(index_total, col_size)
    assert col <= 10
    ranges = []
    for f, p, s in zip(files, prefixes, sizes):
        write(p, col, 0)
        write(f["data"], col, len(p))
        used = div_ceil(s, col_size)
        ranges.append((col, col + used))
        col += used
    idx = index_bytes([e for _, e in ranges])
    write(bytes([1]) + len(idx).to_bytes(4, "little") + idx, 0, 0)
    return files, bytes(data), symbol, idx, ranges


def det_bytes(seed, length):
    out = bytearray()
    counter = 0
    while len(out) < length:
        out += hashlib.sha256(f"{seed}:{counter}".encode()).digest()
        counter += 1
    return bytes(out[:length])


def case(name, n, files, full=False):
    ordered, quilt, symbol, idx, ranges = build(files, n)
    entry = {
        "name": name,
        "nShards": n,
        "files": [{"identifier": f["identifier"], "tags": f["tags"], "dataHex": f["data"].hex()} if "seed" not in f
                  else {"identifier": f["identifier"], "tags": f["tags"], "seed": f["seed"], "length": len(f["data"])}
                  for f in files],
        "symbolSize": symbol,
        "quiltLength": len(quilt),
        "quiltSha256": hashlib.sha256(quilt).hexdigest(),
        "indexSha256": hashlib.sha256(idx).hexdigest(),
        "patches": [{"identifier": f["identifier"], "startColumn": s, "endColumn": e,
                     # M QuiltPatchInternalIdV1::to_bytes: version 1, start u16 LE, end u16 LE.
                     "internalIdHex": (bytes([1]) + s.to_bytes(2, "little") + e.to_bytes(2, "little")).hex()}
                    for f, (s, e) in zip(ordered, ranges)],
    }
    if full:
        entry["quiltHex"] = quilt.hex()
        entry["indexHex"] = idx.hex()
    return entry


def seeded(identifier, seed, length, tags=None):
    return {"identifier": identifier, "tags": tags or {}, "data": det_bytes(seed, length), "seed": seed}


def literal(identifier, data, tags=None):
    return {"identifier": identifier, "tags": tags or {}, "data": bytes(data)}


def main():
    cases = [
        # Q tests, test_quilt_construct_quilt case_0 (7 shards).
        case("walrus-case-0", 7, [
            literal("test-blob-0", range(1, 12), {"tag1": "value1"}),
            literal("test-blob-1", [5, 68, 3, 2, 5], {"tag1": "value1"}),
            literal("test-blob-2", [5, 68, 3, 2, 5, 6, 78, 8], {"tag1": "value1"}),
        ], full=True),
        # Q tests, case_1_random_order (no tags; identifiers out of order).
        case("walrus-case-1-random-order", 7, [
            literal("test-blob-0", [5, 68, 3, 2, 5]),
            literal("short", range(1, 12)),
            literal("test-blob-2", [5, 68, 3, 2, 5, 6, 78, 8]),
        ], full=True),
        # Q tests, case_2 (12 shards; one large patch).
        case("walrus-case-2", 12, [
            literal("test-blob-0", [1, 3]),
            literal("test-blob-1", [255] * 1024),
            literal("test-blob-2", [1, 2, 3]),
        ]),
        # Tag order by serialized key (shorter keys first), UTF-8 identifiers, an empty file.
        case("tags-and-unicode", 10, [
            literal("zebra", b"z" * 40, {"content-type": "text/plain", "a": "1", "bb": "2", "é": "accent"}),
            literal("Émile.txt", b"bonjour"),
            literal("empty", b""),
            literal("Zed", b"capital first", {"x": ""}),
        ], full=True),
        # An index that spills over several columns (long identifiers, few rows).
        case("index-spills", 10, [seeded("file-" + "x" * 300 + f"-{i}", f"spill{i}", 50 + i) for i in range(5)]),
        # 60 patches of random sizes for 100 shards (the devnet's shard count).
        case("sixty-patches-100-shards", 100,
             [seeded(f"patch-{i:02}", f"p{i}", (i * 7919) % 1000, {"i": str(i)} if i % 3 == 0 else None) for i in range(60)]),
        # 666 patches for 1000 shards: every column of the matrix but the index's.
        case("full-1000-shards", 1000, [seeded(f"f{i:03}.bin", f"full{i}", 100 + (i % 17)) for i in range(666)]),
        # 1000 files of 10 KiB, the benchmark's shape, for 1501 shards (1001 columns).
        case("thousand-10k-1501-shards", 1501, [seeded(f"file-{i:04}.txt", f"t{i}", 10240) for i in range(1000)]),
    ]
    symbol_cases = [
        # Q tests, test_quilt_find_min_length (sizes, columns, rows, index columns, expected).
        {"sizes": [1000, 1, 1], "columns": 4, "rows": 7, "indexColumns": 2, "symbolSize": 72},
        {"sizes": [1], "columns": 3, "rows": 2, "indexColumns": 1, "symbolSize": 4},
        {"sizes": [115, 80, 4], "columns": 17, "rows": 9, "indexColumns": 3, "symbolSize": 6},
        {"sizes": [20, 20, 20], "columns": 3, "rows": 5, "indexColumns": 2, "symbolSize": 4},
        {"sizes": [5, 5, 5], "columns": 5, "rows": 1, "indexColumns": 1, "symbolSize": 6},
        {"sizes": [25, 35, 45], "columns": 200, "rows": 1, "indexColumns": 3, "symbolSize": 10},
        {"sizes": [10, 0, 0, 0], "columns": 17, "rows": 9, "indexColumns": 2, "symbolSize": 2},
        {"sizes": [416, 253, 258, 384, 492, 303, 276, 464, 143, 251, 388, 263, 515, 433, 505, 385, 346, 69, 48, 495,
                   329, 450, 494, 104, 539, 245, 109, 317, 60], "columns": 34, "rows": 16, "indexColumns": 3, "symbolSize": 32},
    ]
    for c in symbol_cases:
        assert compute_symbol_size(c["sizes"], c["columns"], c["rows"], c["indexColumns"]) == c["symbolSize"], c
    print(json.dumps({"source": "Tests/Fixtures/quilt/make_vectors.py", "symbolSizeCases": symbol_cases, "quilts": cases}, indent=1))


if __name__ == "__main__":
    main()
