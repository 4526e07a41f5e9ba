#!/usr/bin/env python3
"""SPDX 2.3 JSON SBOM of the default kennel rootfs, and a checker for it.

    sbom.py generate --tree DIR --tarball FILE --sha256 HEX ... --out FILE
    sbom.py validate FILE

`generate` lists every Debian package installed in DIR (dpkg-query on the
tree's own dpkg database), each with its version, architecture, source
package, a purl and, when the .deb was seen during the build, the .deb's
sha256; plus the Claude Code npm package (version, integrity, tarball URL).
Everything in the document is derived from its inputs: the namespace comes
from the tarball digest and the creation time from SOURCE_DATE_EPOCH, so the
same rootfs always gives the same bytes.

`validate` checks the document is well-formed JSON carrying the fields SPDX
2.3 requires (and that every package is reachable from the document through
DESCRIBES/CONTAINS).  It is a structural check, not a full SPDX validator.
"""

import argparse
import base64
import datetime
import json
import re
import subprocess
import sys
import urllib.parse

TOOL = "kennel-build-rootfs-1"


def spdx_id(prefix, *parts, seen):
    raw = "-".join(parts)
    ident = "SPDXRef-" + prefix + "-" + re.sub(r"[^A-Za-z0-9.-]", "-", raw)
    base, n = ident, 2
    while ident in seen:
        ident = f"{base}-{n}"
        n += 1
    seen.add(ident)
    return ident


def dpkg_packages(tree):
    fmt = "${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\t${source:Version}\\t${Maintainer}\\t${Homepage}\\n"
    out = subprocess.run(
        ["dpkg-query", "--admindir=" + tree + "/var/lib/dpkg", "-W", "-f=" + fmt],
        check=True, capture_output=True, text=True,
        env={"LC_ALL": "C", "PATH": "/usr/bin:/bin:/usr/sbin:/sbin"},
    ).stdout
    pkgs = []
    for line in out.splitlines():
        status, name, version, arch, src, srcver, maint, home = line.split("\t")
        if not status.startswith("ii"):
            continue
        pkgs.append(dict(name=name, version=version, arch=arch, source=src,
                         source_version=srcver, maintainer=maint, homepage=home))
    pkgs.sort(key=lambda p: (p["name"], p["arch"]))
    return pkgs


def read_debs(path):
    """`sha256  NAME_VERSION_ARCH.deb` lines (sha256sum output) -> dict."""
    debs = {}
    if not path:
        return debs
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            digest, fname = line.split(None, 1)
            fname = fname.lstrip("*").rsplit("/", 1)[-1]
            if not fname.endswith(".deb"):
                continue
            parts = fname[:-4].split("_")
            if len(parts) != 3:
                continue
            name, version, arch = (urllib.parse.unquote(p) for p in parts)
            debs[(name, version, arch)] = (digest, fname)
    return debs


def purl_deb(p):
    q = urllib.parse.quote
    purl = f"pkg:deb/debian/{q(p['name'], safe='')}@{q(p['version'], safe='')}?arch={p['arch']}"
    if p["source"] and p["source"] != p["name"]:
        purl += "&upstream=" + q(p["source"], safe="")
    return purl + "&distro=debian-12"


def generate(a):
    created = datetime.datetime.fromtimestamp(int(a.epoch), datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    seen = set()
    debs = read_debs(a.debs)
    packages, rels = [], []

    root_id = "SPDXRef-rootfs"
    seen.add(root_id)
    packages.append({
        "SPDXID": root_id,
        "name": "kennel-rootfs",
        "versionInfo": "sha256:" + a.sha256,
        "packageFileName": a.tarball_name,
        "downloadLocation": "NOASSERTION",
        "filesAnalyzed": False,
        "checksums": [{"algorithm": "SHA256", "checksumValue": a.sha256}],
        "primaryPackagePurpose": "CONTAINER",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "builtDate": created,
        "comment": ("kennel default root filesystem (zstd-compressed pax tar; uncompressed tar sha256 "
                    + a.tar_sha256 + "). Debian " + a.suite + " " + a.arch + " from: " + a.apt_sources + "."),
    })
    rels.append({"spdxElementId": "SPDXRef-DOCUMENT", "relationshipType": "DESCRIBES",
                 "relatedSpdxElement": root_id})

    for p in dpkg_packages(a.tree):
        ident = spdx_id("deb", p["name"], p["arch"], seen=seen)
        pkg = {
            "SPDXID": ident,
            "name": p["name"],
            "versionInfo": p["version"],
            "supplier": "Organization: Debian",
            "downloadLocation": "NOASSERTION",
            "filesAnalyzed": False,
            "sourceInfo": f"built from Debian source package {p['source']} {p['source_version']}",
            "licenseConcluded": "NOASSERTION",
            "licenseDeclared": "NOASSERTION",
            "copyrightText": "NOASSERTION",
            "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                              "referenceLocator": purl_deb(p)}],
            "comment": "architecture: " + p["arch"],
        }
        if p["homepage"]:
            pkg["homepage"] = p["homepage"]
        deb = debs.get((p["name"], p["version"], p["arch"]))
        if deb:
            # The archive's (pool) file name: the version without its epoch.
            pkg["packageFileName"] = f"{p['name']}_{p['version'].split(':', 1)[-1]}_{p['arch']}.deb"
            pkg["checksums"] = [{"algorithm": "SHA256", "checksumValue": deb[0]}]
        packages.append(pkg)
        rels.append({"spdxElementId": root_id, "relationshipType": "CONTAINS", "relatedSpdxElement": ident})

    # The Claude Code native package from npm.
    algo, _, b64 = a.npm_integrity.partition("-")
    if algo != "sha512":
        sys.exit("sbom: npm integrity must be sha512-...")
    npm_id = spdx_id("npm", a.npm_name.lstrip("@").replace("/", "-"), seen=seen)
    checksums = [{"algorithm": "SHA512", "checksumValue": base64.b64decode(b64).hex()}]
    if a.npm_shasum:
        checksums.append({"algorithm": "SHA1", "checksumValue": a.npm_shasum})
    lic_ref = "LicenseRef-claude-code"
    license_text = open(a.npm_license_file, encoding="utf-8").read().strip() if a.npm_license_file else ""
    packages.append({
        "SPDXID": npm_id,
        "name": a.npm_name,
        "versionInfo": a.npm_version,
        "supplier": "Organization: Anthropic PBC",
        "originator": "Organization: Anthropic PBC",
        "downloadLocation": a.npm_tarball_url or "NOASSERTION",
        "filesAnalyzed": False,
        "checksums": checksums,
        "primaryPackagePurpose": "APPLICATION",
        "licenseConcluded": "NOASSERTION",
        "licenseDeclared": lic_ref if license_text else "NOASSERTION",
        "copyrightText": "NOASSERTION",
        "homepage": "https://www.npmjs.com/package/" + a.npm_wrapper,
        "externalRefs": [{"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl",
                          "referenceLocator": "pkg:npm/" + urllib.parse.quote(a.npm_name, safe="/") + "@" + a.npm_version}],
        "comment": (f"native binary of {a.npm_wrapper} {a.npm_version} (its optional dependency {a.npm_name}); "
                    f"npm integrity {a.npm_integrity}; installed as /usr/local/bin/claude, sha256 {a.binary_sha256}."),
    })
    rels.append({"spdxElementId": root_id, "relationshipType": "CONTAINS", "relatedSpdxElement": npm_id})

    doc = {
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": "kennel-rootfs-sha256-" + a.sha256,
        "documentNamespace": "https://kennel.invalid/spdx/kennel-rootfs/sha256-" + a.sha256,
        "creationInfo": {
            "created": created,
            "creators": ["Tool: " + TOOL, "Organization: kennel"],
            "comment": "Generated by rootfs/recipe/sbom.py from scripts/build-rootfs; created = SOURCE_DATE_EPOCH.",
        },
        "packages": packages,
        "relationships": rels,
    }
    if license_text:
        doc["hasExtractedLicensingInfos"] = [{
            "licenseId": lic_ref, "name": "Claude Code license (LICENSE.md of the npm package)",
            "extractedText": license_text,
        }]
    text = json.dumps(doc, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    with open(a.out, "w", encoding="utf-8") as f:
        f.write(text)
    problems = check(doc)
    if problems:
        sys.exit("sbom: generated document is invalid:\n  " + "\n  ".join(problems))
    print(f"sbom: {a.out}: {len(packages) - 2} Debian packages + 1 npm package")


ID_RE = re.compile(r"^SPDXRef-[A-Za-z0-9.-]+$")
DATE_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
CREATOR_RE = re.compile(r"^(Tool|Organization|Person): .+")


def check(doc):
    p = []
    if not isinstance(doc, dict):
        return ["document is not a JSON object"]
    if doc.get("spdxVersion") != "SPDX-2.3":
        p.append("spdxVersion is not SPDX-2.3")
    if doc.get("dataLicense") != "CC0-1.0":
        p.append("dataLicense is not CC0-1.0")
    if doc.get("SPDXID") != "SPDXRef-DOCUMENT":
        p.append("SPDXID is not SPDXRef-DOCUMENT")
    if not isinstance(doc.get("name"), str) or not doc["name"]:
        p.append("name missing")
    ns = doc.get("documentNamespace")
    if not isinstance(ns, str) or not re.match(r"^[a-z][a-z0-9+.-]*://", ns) or "#" in ns:
        p.append("documentNamespace missing or not an absolute URI without '#'")
    ci = doc.get("creationInfo")
    if not isinstance(ci, dict):
        p.append("creationInfo missing")
    else:
        if not isinstance(ci.get("created"), str) or not DATE_RE.match(ci["created"]):
            p.append("creationInfo.created missing or not YYYY-MM-DDThh:mm:ssZ")
        cr = ci.get("creators")
        if not isinstance(cr, list) or not cr or not all(isinstance(c, str) and CREATOR_RE.match(c) for c in cr):
            p.append("creationInfo.creators missing or malformed")
    pkgs = doc.get("packages")
    ids = {"SPDXRef-DOCUMENT"}
    if not isinstance(pkgs, list) or not pkgs:
        p.append("packages missing or empty")
        pkgs = []
    for i, pkg in enumerate(pkgs):
        where = f"packages[{i}]"
        if not isinstance(pkg, dict):
            p.append(where + " is not an object")
            continue
        ident = pkg.get("SPDXID")
        if not isinstance(ident, str) or not ID_RE.match(ident):
            p.append(where + ": bad SPDXID")
        elif ident in ids:
            p.append(where + ": duplicate SPDXID " + ident)
        else:
            ids.add(ident)
        for field in ("name", "versionInfo", "downloadLocation", "licenseConcluded", "copyrightText"):
            if not isinstance(pkg.get(field), str) or not pkg[field]:
                p.append(f"{where} ({pkg.get('name')}): {field} missing")
        if pkg.get("filesAnalyzed", True) is not False and "packageVerificationCode" not in pkg:
            p.append(f"{where}: filesAnalyzed must be false without packageVerificationCode")
        for c in pkg.get("checksums", []):
            if c.get("algorithm") not in ("SHA1", "SHA256", "SHA512") or not re.match(r"^[0-9a-f]+$", c.get("checksumValue", "")):
                p.append(f"{where}: malformed checksum")
    rels = doc.get("relationships")
    if not isinstance(rels, list):
        p.append("relationships missing")
        rels = []
    described = [r.get("relatedSpdxElement") for r in rels
                 if r.get("spdxElementId") == "SPDXRef-DOCUMENT" and r.get("relationshipType") == "DESCRIBES"]
    if not described:
        p.append("no SPDXRef-DOCUMENT DESCRIBES relationship")
    for r in rels:
        for end in ("spdxElementId", "relatedSpdxElement"):
            if r.get(end) not in ids:
                p.append(f"relationship refers to unknown element {r.get(end)}")
    reach, todo = set(), list(described)
    while todo:
        e = todo.pop()
        if e in reach:
            continue
        reach.add(e)
        todo += [r["relatedSpdxElement"] for r in rels
                 if r.get("spdxElementId") == e and r.get("relationshipType") in ("CONTAINS", "DESCRIBES")]
    for pkg in pkgs:
        if isinstance(pkg, dict) and pkg.get("SPDXID") not in reach:
            p.append(f"package {pkg.get('SPDXID')} not reachable from the document")
    for lic in doc.get("hasExtractedLicensingInfos", []):
        if not re.match(r"^LicenseRef-[A-Za-z0-9.-]+$", lic.get("licenseId", "")) or not lic.get("extractedText"):
            p.append("malformed hasExtractedLicensingInfos entry")
    return p


def validate(a):
    try:
        with open(a.file, encoding="utf-8") as f:
            doc = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"sbom: {a.file}: {e}")
    problems = check(doc)
    if problems:
        sys.exit(f"sbom: {a.file}: not a valid SPDX 2.3 document:\n  " + "\n  ".join(problems))
    print(f"sbom: {a.file}: SPDX 2.3 OK, {len(doc['packages'])} packages, {len(doc['relationships'])} relationships")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    g = sub.add_parser("generate")
    g.add_argument("--tree", required=True)
    g.add_argument("--tarball-name", required=True)
    g.add_argument("--sha256", required=True)
    g.add_argument("--tar-sha256", required=True)
    g.add_argument("--epoch", required=True)
    g.add_argument("--suite", required=True)
    g.add_argument("--arch", required=True)
    g.add_argument("--apt-sources", required=True)
    g.add_argument("--debs")
    g.add_argument("--npm-name", required=True)
    g.add_argument("--npm-wrapper", required=True)
    g.add_argument("--npm-version", required=True)
    g.add_argument("--npm-integrity", required=True)
    g.add_argument("--npm-shasum")
    g.add_argument("--npm-tarball-url")
    g.add_argument("--npm-license-file")
    g.add_argument("--binary-sha256", required=True)
    g.add_argument("--out", required=True)
    v = sub.add_parser("validate")
    v.add_argument("file")
    a = ap.parse_args()
    if not re.match(r"^[0-9a-f]{64}$", getattr(a, "sha256", "0" * 64)):
        sys.exit("sbom: --sha256 must be 64 hex digits")
    (generate if a.cmd == "generate" else validate)(a)


if __name__ == "__main__":
    main()
