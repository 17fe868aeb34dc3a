#!/usr/bin/env python3
"""Times OPA's own evaluator in process (through opa-ref's library) on one policy.

usage: opa_inprocess.py OPA_REF_DIR POLICY.rego [PREFIX:]DATA.json INPUT.json PATH [COMPILE_RUNS] [EVAL_RUNS]

Prints JSON: parse+compile time (add_policy + first evaluation, which compiles in
OPA's Go bridge) and per-decision evaluation time of data.<PATH> on a warm engine.
The figures include the ctypes/JSON bridge cost of each call, which is measured
separately (an evaluation of a trivial constant document) and reported too.
"""
import json
import os
import statistics
import sys
import time


def main():
    ref_dir, policy, data_file, input_file, path = sys.argv[1:6]
    compile_runs = int(sys.argv[6]) if len(sys.argv) > 6 else 50
    eval_runs = int(sys.argv[7]) if len(sys.argv) > 7 else 2000
    sys.path.insert(0, ref_dir)
    import importlib.machinery, importlib.util
    loader = importlib.machinery.SourceFileLoader("opa_ref", os.path.join(ref_dir, "opa-ref"))
    spec = importlib.util.spec_from_loader("opa_ref", loader)
    opa_ref = importlib.util.module_from_spec(spec)
    loader.exec_module(opa_ref)
    OpaEngine, _, _ = opa_ref.engine_class()

    src = open(policy).read()
    prefix = ""
    if ":" in data_file and not os.path.exists(data_file):
        prefix, data_file = data_file.split(":", 1)
    data = json.load(open(data_file))
    for part in reversed([p for p in prefix.split(".") if p]):
        data = {part: data}
    inp = json.load(open(input_file))

    compile_samples = []
    for _ in range(compile_runs):
        t = time.perf_counter()
        eng = OpaEngine()
        eng.add_policy("policy.rego", src)
        eng.add_data(data)
        eng.eval_document(path, inp)  # the bridge compiles lazily on first evaluation
        compile_samples.append(time.perf_counter() - t)
        eng.close()

    eng = OpaEngine()
    eng.add_policy("policy.rego", src)
    eng.add_policy("noop.rego", "package bench_noop\nv := 1\n")
    eng.add_data(data)
    for _ in range(10):
        eng.eval_document(path, inp)
    samples = []
    for _ in range(eval_runs):
        t = time.perf_counter()
        eng.eval_document(path, inp)
        samples.append(time.perf_counter() - t)
    noop = []
    for _ in range(eval_runs):
        t = time.perf_counter()
        eng.eval_document("bench_noop.v", inp)
        noop.append(time.perf_counter() - t)

    def stats(xs):
        xs = sorted(xs)
        return {"mean": round(statistics.mean(xs) * 1e6, 1), "median": round(xs[len(xs) // 2] * 1e6, 1),
                "p99": round(xs[min(len(xs) - 1, int(len(xs) * 0.99))] * 1e6, 1), "runs": len(xs)}

    print(json.dumps({"compile_us": stats(compile_samples), "eval_us": stats(samples),
                      "bridge_noop_eval_us": stats(noop)}))


if __name__ == "__main__":
    main()
