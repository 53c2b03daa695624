"""Build the text benchmark's corpus: Debian's package descriptions, classified by archive section.

Source: the package lists of Debian 12 "bookworm" (main, amd64), fetched by ``apt-get update`` into a
private folder (the system's own lists are left alone): ``Packages`` gives each binary package's
section and the checksum of its description, ``Translation-en`` the English description itself.
A document is a description (the one-line synopsis and the long text); its class is the package's
section (``libs``, ``python``, ``doc``, ``rust``, ...). A text shared by several packages is kept
once; the few texts listed under two sections are dropped. The ``--classes`` largest sections are
kept (24 by default: the fewest that make at least 50,000 documents).

Features: lower-cased words of two or more letters or digits (scikit-learn's default tokens) and
their bigrams, hashed to 2^20 features by scikit-learn's ``HashingVectorizer`` (MurmurHash3, counts,
no alternating signs); then sublinear tf-idf (``1 + log tf`` times idf, idf from the training part
only) and L2-normalised rows, as text classifiers commonly use. Split: stratified 80/20, seed 0.

Writes ``train.svm`` and ``test.svm`` (one-based indices, values to 7 significant digits), and
``manifest.json`` with the class names, sizes and the SHA-256 of every input and output file. With
``--raw``, also the same documents as text: ``train.csv`` and ``test.csv`` (columns ``section`` and
``description``, the description's lines kept, quoted as CSV does) and ``train.txt`` and ``test.txt``
in fastText's format (``__label__SECTION`` then the description on one line).

Usage: python benchmarks/make_text_corpus.py OUT_DIR [--lists DIR] [--classes 24] [--raw]
"""

from __future__ import annotations

import argparse
import collections
import csv
import hashlib
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import HashingVectorizer, TfidfTransformer
from sklearn.model_selection import train_test_split

N_FEATURES = 2**20
PACKAGES = "deb.debian.org_debian_dists_bookworm_main_binary-amd64_Packages"
TRANSLATIONS = "deb.debian.org_debian_dists_bookworm_main_i18n_Translation-en"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--lists", type=Path, help="a folder holding the two lists (default: fetch them)")
    parser.add_argument("--classes", type=int, default=24)
    parser.add_argument("--raw", action="store_true", help="also write the texts: train/test .csv and .txt (fastText)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        lists = args.lists or fetch_lists(Path(tmp))
        texts, labels, names = corpus(lists / PACKAGES, lists / TRANSLATIONS, args.classes)
        sources = {name: sha256(lists / name) for name in (PACKAGES, TRANSLATIONS)}
    print(f"{len(texts)} documents, {len(names)} classes")
    idx = np.arange(len(texts))
    train, test = train_test_split(idx, test_size=0.2, stratify=labels, random_state=0)
    hashing = HashingVectorizer(n_features=N_FEATURES, ngram_range=(1, 2), alternate_sign=False, norm=None,
                                dtype=np.float64)
    counts = hashing.transform(texts)
    tfidf = TfidfTransformer(sublinear_tf=True).fit(counts[train])
    args.out.mkdir(parents=True, exist_ok=True)
    outputs = {}
    for name, rows in (("train.svm", train), ("test.svm", test)):
        x = tfidf.transform(counts[rows]).astype(np.float32).tocsr()
        x.sort_indices()
        write_svmlight(args.out / name, x, labels[rows])
        outputs[name] = {"rows": len(rows), "nnz": int(x.nnz), "sha256": sha256(args.out / name)}
        print(f"{name}: {len(rows)} rows, {x.nnz} non-zeros")
        if args.raw:
            for written in write_raw(args.out, name.removesuffix(".svm"), [texts[i] for i in rows],
                                     [names[k] for k in labels[rows]]):
                outputs[written.name] = {"rows": len(rows), "sha256": sha256(written)}
    manifest = {"source": "Debian 12 bookworm main amd64: Packages (Section) and Translation-en (descriptions)",
                "sources_sha256": sources, "n_features": N_FEATURES, "classes": names, "files": outputs}
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")


def fetch_lists(folder: Path) -> Path:
    """Debian's package lists with English descriptions, fetched by apt into ``folder``/lists."""
    lists = folder / "lists"
    (lists / "partial").mkdir(parents=True)
    (folder / "cache" / "archives" / "partial").mkdir(parents=True)
    subprocess.run(["apt-get", "-q", "-o", f"Dir::State::Lists={lists}", "-o", f"Dir::Cache={folder / 'cache'}",
                    "-o", "Acquire::Languages=en", "-o", "Acquire::GzipIndexes=false", "update"], check=True)
    return lists


def corpus(packages: Path, translations: Path, n_classes: int) -> tuple[list[str], np.ndarray, list[str]]:
    """The distinct descriptions of the ``n_classes`` largest sections, their class indices and the names."""
    described = {f["Description-md5"].strip(): f["Description-en"] for f in stanzas(translations)}
    sections: dict[str, set[str]] = collections.defaultdict(set)
    for f in stanzas(packages):
        text = described.get(f.get("Description-md5", "").strip())
        if text is not None and "Section" in f:
            sections[text].add(f["Section"].strip().split("/")[-1])  # "contrib/net" is "net"
    single = sorted((text, s.pop()) for text, s in sections.items() if len(s) == 1)
    sizes = collections.Counter(section for _, section in single)
    names = sorted(name for name, _ in sizes.most_common(n_classes))
    index = {name: i for i, name in enumerate(names)}
    kept = [(text, index[section]) for text, section in single if section in index]
    return [description(text) for text, _ in kept], np.array([c for _, c in kept]), names


def description(field: str) -> str:
    """A Debian description field as plain text: the synopsis, then the long text (" ." lines are breaks)."""
    lines = [line.strip() for line in field.splitlines()]
    return "\n".join("" if line == "." else line for line in lines)


def stanzas(path: Path):
    """The fields of each stanza of a Debian control file, continuation lines joined."""
    fields: dict[str, str] = {}
    key = None
    with path.open(encoding="utf-8") as f:
        for line in f:
            if line == "\n":
                if fields:
                    yield fields
                fields, key = {}, None
            elif line[0] in " \t" and key is not None:
                fields[key] += line
            else:
                key, _, value = line.partition(":")
                fields[key] = value.strip() + "\n"
    if fields:
        yield fields


def write_svmlight(path: Path, x, y: np.ndarray) -> None:
    """Rows of the CSR ``x`` as ``label index:value ...`` with one-based indices."""
    with path.open("w") as f:
        for r in range(x.shape[0]):
            lo, hi = x.indptr[r], x.indptr[r + 1]
            pairs = " ".join(f"{k + 1}:{v:.7g}" for k, v in zip(x.indices[lo:hi].tolist(), x.data[lo:hi].tolist(),
                                                                 strict=True))
            f.write(f"{y[r]} {pairs}\n")


def write_raw(folder: Path, stem: str, texts: list[str], sections: list[str]) -> list[Path]:
    """The documents as ``STEM.csv`` (``section,description``) and ``STEM.txt`` (fastText's format)."""
    table, fasttext = folder / f"{stem}.csv", folder / f"{stem}.txt"
    with table.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["section", "description"])
        writer.writerows(zip(sections, texts, strict=True))
    with fasttext.open("w", encoding="utf-8") as f:
        f.writelines(f"__label__{section} {' '.join(text.split())}\n" for section, text in zip(sections, texts,
                                                                                              strict=True))
    return [table, fasttext]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


if __name__ == "__main__":
    main()
