#!/usr/bin/env python3
# docker_files.py: contrib/docker checked without a container engine (none
# runs here; issue 17):
#   - every COPY/ADD source of both Dockerfiles exists in the source tree
#     (stage copies aside) and the build stage names no file .dockerignore
#     leaves out;
#   - every Debian package they install exists in the archive (apt-cache
#     show), and the runtime stage installs the package of every shared
#     library the built binaries link (objdump NEEDED -> dpkg -S);
#   - docker-compose.yml parses (python3-yaml) and is consistent: its
#     Dockerfiles exist, every depends_on names a service, the demo cluster
#     is there (testpool, coordinator, two workers, a certs job running the
#     certificate script), and each worker's certificate is one the certs
#     job makes, with every volume declared.
import fnmatch
import os
import re
import shutil
import subprocess

import yaml

from rpc_lib import B, S, diag, done, ok

D = os.path.join(S, "contrib", "docker")


def instructions(path):
    """(instruction, arguments) of a Dockerfile, continuations joined."""
    out, cur = [], ""
    for line in open(path):
        s = line.rstrip("\n")
        if not cur and (not s.strip() or s.lstrip().startswith("#")):
            continue
        if s.endswith("\\"):
            cur += s[:-1] + " "
            continue
        cur += s
        m = re.match(r"\s*(\w+)\s+(.*)", cur)
        if m:
            out.append((m.group(1).upper(), m.group(2).strip()))
        cur = ""
    return out


ignore = [l.strip() for l in open(os.path.join(S, ".dockerignore"))
          if l.strip() and not l.startswith("#")]
apt_cache = shutil.which("apt-cache")
packages = {}
for name in ("Dockerfile.coordinator", "Dockerfile.worker"):
    path = os.path.join(D, name)
    ok(os.path.exists(path), "%s exists" % name)
    ins = instructions(path)
    froms = [a for i, a in ins if i == "FROM"]
    ok(len(froms) == 2 and froms[0].startswith("debian:bookworm") and
       froms[1].startswith("debian:bookworm"),
       "%s: a build and a runtime stage, both Debian bookworm (%s)" % (name, froms))
    for i, a in ins:
        if i not in ("COPY", "ADD"):
            continue
        args = [x for x in a.split() if not x.startswith("--chown")]
        if args[0].startswith("--from="):
            continue
        for src in args[:-1]:
            ok(os.path.exists(os.path.join(S, src)),
               "%s: %s source %s exists in the tree" % (name, i, src))
    runs = " ".join(a for i, a in ins if i == "RUN")
    # packages: the words after "apt-get install ... --no-install-recommends"
    # up to the next "&&"
    stage_pkgs = []
    for m in re.finditer(r"apt-get install\s+([^&]*)", runs):
        stage_pkgs.append([w for w in m.group(1).split()
                           if not w.startswith("-")])
    packages[name] = stage_pkgs
    names = sorted({p for ps in stage_pkgs for p in ps})
    if apt_cache is not None and names:
        # one query for all (apt-cache is slow to start)
        r = subprocess.run([apt_cache, "show", "--no-all-versions"] + names,
                           capture_output=True, text=True)
        known = set(re.findall(r"^Package: (\S+)", r.stdout, re.M))
        for p in names:
            ok(p in known, "%s: package %s is in the archive" % (name, p))
    # the build stage reads these from the context
    for f in ("autogen.sh", "configure.ac", "Makefile.am", "contrib/gen_certs.sh"):
        ok(not any(fnmatch.fnmatch(f, g) for g in ignore),
           "%s: .dockerignore keeps %s" % (name, f))
if apt_cache is None:
    ok(True, "# SKIP apt-cache is not here: package names not checked")

# runtime libraries of what each image ships
def needed(binary):
    r = subprocess.run(["objdump", "-p", binary], capture_output=True, text=True)
    return [l for l in re.findall(r"NEEDED\s+(\S+)", r.stdout)
            if not l.startswith(("libc.so", "libm.so", "ld-linux", "libpthread",
                                 "libdl.so", "librt.so", "libgcc_s",
                                 "libstdc++"))]


def packages_of(libs):
    """The Debian package of each library, with one dpkg -S."""
    if not libs:
        return set()
    q = subprocess.run(["dpkg", "-S"] + ["*/" + l for l in libs],
                       capture_output=True, text=True)
    pkgs = {line.split(":")[0] for line in q.stdout.splitlines()}
    found = {line.rsplit("/", 1)[-1] for line in q.stdout.splitlines()}
    return pkgs | {"?" + l for l in libs if l not in found}


sanitized = any(l.startswith(("libasan", "libubsan"))
                for l in needed(os.path.join(B, "src/worker/coopmine-worker")))
if sanitized:
    ok(True, "# SKIP a sanitizer build links more than the images' build "
          "does: runtime libraries are checked in a plain build")
elif shutil.which("objdump") and shutil.which("dpkg"):
    for name, bins in (("Dockerfile.coordinator",
                        ["src/coordinator/coopmine-coordinator",
                         "src/cli/coopmine-cli", "src/testpool/coopmine-testpool"]),
                       ("Dockerfile.worker", ["src/worker/coopmine-worker"])):
        libs = set()
        for b in bins:
            libs |= set(needed(os.path.join(B, b)))
        want = packages_of(sorted(libs))
        runtime = set(packages[name][-1]) if packages[name] else set()
        missing = sorted(want - runtime)
        ok(not missing, "%s: the runtime stage installs every library "
           "package the binaries link (%s; missing: %s)"
           % (name, " ".join(sorted(want)), missing or "none"))
else:
    ok(True, "# SKIP objdump or dpkg missing: runtime libraries not checked")

# --- the compose file ------------------------------------------------------------
with open(os.path.join(D, "docker-compose.yml")) as f:
    c = yaml.safe_load(f)
ok(isinstance(c, dict) and "services" in c, "docker-compose.yml parses")
svc = c.get("services", {})
for want in ("testpool", "coordinator", "worker-1", "worker-2", "certs"):
    ok(want in svc, "service %s is there" % want)
for n, s in svc.items():
    b = s.get("build")
    if b:
        ctx = os.path.normpath(os.path.join(D, b.get("context", ".")))
        ok(ctx == os.path.normpath(S) and
           os.path.exists(os.path.join(ctx, b["dockerfile"])),
           "%s builds %s from the top of the tree" % (n, b.get("dockerfile")))
    deps = s.get("depends_on", {})
    for d in (deps if isinstance(deps, (list, dict)) else []):
        ok(d in svc, "%s depends on %s, a service" % (n, d))
    for v in s.get("volumes", []):
        vol = v.split(":")[0]
        ok(vol.startswith(("/", ".")) or vol in (c.get("volumes") or {}),
           "%s: volume %s is declared" % (n, vol))
certs_cmd = svc["certs"]["entrypoint"] + svc["certs"]["command"]
ok("coopmine-certs" in certs_cmd and "coordinator" in certs_cmd,
   "the certs job runs the certificate script with the coordinator's name")
coord_cmd = " ".join(svc["coordinator"]["command"])
ok("stratum+tcp://testpool:" in coord_cmd, "the coordinator mines on the testpool")
for w in ("worker-1", "worker-2"):
    cmd = " ".join(svc[w]["command"])
    ok(w in certs_cmd and "--worker-id=%s" % w in cmd and
       "/%s.crt" % w in cmd and "--coordinator=coordinator:" in cmd,
       "%s: its certificate is made by certs, it dials the coordinator" % w)
ok(svc["coordinator"]["depends_on"]["certs"]["condition"] ==
   "service_completed_successfully", "the coordinator waits for the certificates")
diag("compose services: %s" % sorted(svc))
done()
