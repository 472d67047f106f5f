"""Reads enwanda's lm-eval layout back as lm-eval's own tools read it, and checks it.

usage: lmeval_layout_check.py OUTPUT_DIR PRINTED_TABLE_FILE

Written from lm-evaluation-harness 0.4: lm_eval/utils.py (make_table, sanitize_model_name,
hash_string, get_file_datetime), lm_eval/loggers/evaluation_tracker.py (file names, task_hashes,
save_results_samples' arguments/resps layout), lm_eval/api/metrics.py (mean, mean_stderr) and
lm_eval/api/task.py (multiple_choice process_results: acc, acc_norm). Prints one line per check;
exits 1 on any failure.
"""
import glob
import hashlib
import json
import math
import os
import re
import sys

failures = 0


def check(name, ok, detail=""):
    global failures
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else f": {detail}"))
    failures += 0 if ok else 1


def hash_string(s):  # lm_eval/utils.py
    return hashlib.sha256(s.encode("utf-8")).hexdigest()


def make_table_rows(result_dict, column="results"):
    """lm_eval/utils.py make_table's value matrix (0.4.x: keys in the file's order, metrics sorted)."""
    values = []
    for k, dic in result_dict[column].items():
        dic = dict(dic)
        version = result_dict["versions"].get(k, "    N/A")
        n = str(result_dict.get("n-shot", " ").get(k, " "))
        higher_is_better = result_dict.get("higher_is_better", {}).get(k, {})
        if "alias" in dic:
            k = dic.pop("alias")
        for mf, v in sorted(dic.items()):
            m, _, f = mf.partition(",")
            if m.endswith("_stderr"):
                continue
            hib = {True: "↑", False: "↓"}.get(higher_is_better.get(m), "")
            v = "%.4f" % v if isinstance(v, float) else v
            if m + "_stderr" + "," + f in dic:
                se = dic[m + "_stderr" + "," + f]
                se = "   N/A" if se == "N/A" else "%.4f" % se
                values.append([k, version, f, n, m, hib, v, "±", se])
            else:
                values.append([k, version, f, n, m, hib, v, "", ""])
            k = ""
            version = ""
    return values


def cell(v):
    """a value as pytablewriter shows it: an integral float without '.0'"""
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    return str(v)


def table_cells(text):
    """the rows of a markdown table (after its header and rule) as lists of stripped cells"""
    rows = [line for line in text.splitlines() if line.startswith("|")]
    return [[c.strip() for c in r.strip("|").split("|")] for r in rows[2:]]


out_dir, printed_file = sys.argv[1], sys.argv[2]
results_files = sorted(glob.glob(os.path.join(out_dir, "**", "results_*.json"), recursive=True))
check("one results_<date>.json", len(results_files) == 1, results_files)
path = results_files[0]
res = json.load(open(path, encoding="utf-8"))
date = path[path.rfind("_") + 1:].replace(".json", "")  # get_file_datetime
check("the file name's date is isoformat() with ':' as '-'",
      re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d(\.\d{6})?", date) is not None, date)
sanitized = re.sub(r"[\"<>:/|\\?*\[\]]+", "__", res["model_name"])
check("the directory is the model name sanitised", os.path.basename(os.path.dirname(path)) == sanitized
      and res["model_name_sanitized"] == sanitized, (os.path.dirname(path), sanitized))
for key in ("results", "group_subtasks", "configs", "versions", "n-shot", "higher_is_better", "n-samples", "config",
            "date", "task_hashes", "model_name", "total_evaluation_time_seconds"):
    check(f"key {key}", key in res)
for key in ("model", "model_args", "batch_size", "device", "limit", "random_seed", "numpy_seed", "torch_seed",
            "fewshot_seed", "add_bos_token"):
    check(f"config.{key}", key in res["config"])

# the printed table is make_table's
want = [[cell(c).strip() for c in row] for row in make_table_rows(res)]  # cells as the markdown holds them
got = table_cells(open(printed_file, encoding="utf-8").read())
check("enwanda's printed table is make_table(results)", got == want, f"\n{got}\n!=\n{want}")

# the samples: file names, lm-eval's keys and hashes, and the metrics they give
for task, entry in res["results"].items():
    files = glob.glob(os.path.join(os.path.dirname(path), f"samples_{task}_{date}.jsonl"))
    check(f"{task}: samples_{task}_<date>.jsonl beside the results", len(files) == 1, files)
    samples = [json.loads(line) for line in open(files[0], encoding="utf-8")]
    check(f"{task}: n-samples.effective documents", len(samples) == res["n-samples"][task]["effective"])
    keys_ok = all(list(s)[:11] == ["doc_id", "doc", "target", "arguments", "resps", "filtered_resps", "filter", "metrics",
                                   "doc_hash", "prompt_hash", "target_hash"] for s in samples)
    check(f"{task}: evaluate()'s keys in its order", keys_ok, list(samples[0]))
    hashes_ok = all(s["doc_hash"] == hash_string(json.dumps(s["doc"], indent=2, ensure_ascii=False))
                    and s["prompt_hash"] == hash_string(s["arguments"]["gen_args_0"]["arg_0"])
                    and s["target_hash"] == hash_string(str(s["target"])) for s in samples)
    check(f"{task}: doc_hash, prompt_hash, target_hash", hashes_ok)
    check(f"{task}: task_hashes", res["task_hashes"][task] ==
          hash_string("".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in samples)))
    # process_results for multiple_choice from the logged log-likelihoods
    metric_names = [m for m in ("acc", "acc_norm") if f"{m},none" in entry]
    items = {m: [] for m in metric_names}
    for s in samples:
        lls = [float(r[0]) for r in s["filtered_resps"]]
        choices = [s["arguments"][f"gen_args_{i}"]["arg_1"][1:] for i in range(len(lls))]
        if task == "winogrande":  # multiple_inputs: the contexts differ, the gold is the doc's answer
            gold = {"1": 0, "2": 1}[s["doc"]["answer"]]
            lengths = [float(len(s["arguments"][f"gen_args_{i}"]["arg_0"])) for i in range(len(lls))]
        else:
            gold = int(s["target"])
            lengths = [float(len(c)) for c in choices]
        pred = max(range(len(lls)), key=lambda i: (lls[i], -i))
        items["acc"].append(1.0 if pred == gold else 0.0)
        if "acc_norm" in items:
            norm = [ll / n for ll, n in zip(lls, lengths)]
            items["acc_norm"].append(1.0 if max(range(len(norm)), key=lambda i: (norm[i], -i)) == gold else 0.0)
        check_doc = all(s[m] == items[m][-1] for m in metric_names)
        if not check_doc:
            check(f"{task}: doc {s['doc_id']}'s metrics", False, s)
    for m in metric_names:
        xs = items[m]
        mean = sum(xs) / len(xs)
        stderr = (math.sqrt(sum((x - mean) ** 2 for x in xs) / (len(xs) - 1)) / math.sqrt(len(xs))) if len(xs) > 1 else "N/A"
        got_se = entry[f"{m}_stderr,none"]
        check(f"{task}: {m} = mean of the samples' {m}", abs(entry[f"{m},none"] - mean) < 1e-12, (entry[f"{m},none"], mean))
        check(f"{task}: {m}_stderr = mean_stderr", got_se == stderr if isinstance(stderr, str)
              else abs(got_se - stderr) < 1e-12, (got_se, stderr))
print(f"{failures} failed")
sys.exit(1 if failures else 0)
