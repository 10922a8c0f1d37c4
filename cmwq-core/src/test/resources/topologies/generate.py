import os, zipfile, io

def cpulist(cpus):
    cpus = sorted(cpus); out = []; i = 0
    while i < len(cpus):
        j = i
        while j + 1 < len(cpus) and cpus[j+1] == cpus[j] + 1: j += 1
        out.append(str(cpus[i]) if i == j else f"{cpus[i]}-{cpus[j]}"); i = j + 1
    return ",".join(out)

def write(zpath, ncpus, siblings_of, l3_of, node_of, pkg_of, core_id_of):
    z = zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED)
    def f(path, text): z.writestr(path, text + "\n")
    f("cpu/possible", cpulist(range(ncpus)))
    f("cpu/online", cpulist(range(ncpus)))
    nodes = {}
    for c in range(ncpus):
        nodes.setdefault(node_of(c), []).append(c)
        d = f"cpu/cpu{c}/"
        sib = siblings_of(c)
        f(d + "topology/thread_siblings_list", cpulist(sib))
        f(d + "topology/core_cpus_list", cpulist(sib))
        f(d + "topology/core_id", str(core_id_of(c)))
        f(d + "topology/physical_package_id", str(pkg_of(c)))
        for idx, (lvl, typ, shared) in enumerate([(1, "Data", sib), (1, "Instruction", sib), (2, "Unified", sib), (3, "Unified", l3_of(c))]):
            f(d + f"cache/index{idx}/level", str(lvl))
            f(d + f"cache/index{idx}/type", typ)
            f(d + f"cache/index{idx}/shared_cpu_list", cpulist(shared))
        z.writestr(zipfile.ZipInfo(d + f"node{node_of(c)}/"), "")
    for n, cs in nodes.items():
        f(f"node/node{n}/cpulist", cpulist(cs))
    z.close()

# 2 sockets x 32 cores x 2 threads, Intel numbering: siblings c and c+64; 8 L3 per socket of 4 cores.
def core(c): return c % 64                  # global core 0..63 (socket*32 + k)
write("two-socket-128cpu-16l3.zip", 128,
      lambda c: [core(c), core(c) + 64],
      lambda c: [x for x in range(128) if core(x) // 4 == core(c) // 4],
      lambda c: core(c) // 32, lambda c: core(c) // 32, lambda c: core(c) % 32)
# Ryzen 9 3900X: 12 cores / 24 threads, siblings c and c+12; 4 CCX L3s of 3 cores.
def rcore(c): return c % 12
write("ryzen-3900x-24cpu-4l3.zip", 24,
      lambda c: [rcore(c), rcore(c) + 12],
      lambda c: [x for x in range(24) if rcore(x) // 3 == rcore(c) // 3],
      lambda c: 0, lambda c: 0, lambda c: rcore(c))
