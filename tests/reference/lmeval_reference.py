#!/usr/bin/python3
"""Independent reference for enwanda's MMLU, written from lm-evaluation-harness 0.4's definitions:
lm_eval/tasks/mmlu/_generate_configs.py (SUBJECTS and their categories, each subject's description),
lm_eval/tasks/mmlu/default/_default_template_yaml (doc_to_text, choices A-D, target answer, dev as
the few-shot split with the first_n sampler), lm_eval/api/samplers.py (ContextSampler.get_context:
examples joined by the fewshot delimiter "\\n\\n" and followed by it, target delimiter " "),
lm_eval/api/task.py (fewshot_context = description + examples + doc_to_text), lm_eval/api/metrics.py
(mean, mean_stderr, aggregate_subtask_metrics weighted by size, pooled_sample_stderr), and the group
YAMLs (mmlu over mmlu_stem, mmlu_other, mmlu_social_sciences, mmlu_humanities). The model and the
pair encoding are reference.py's.

LAMBADA (OpenAI's) from lm_eval/tasks/lambada/lambada_openai.yaml (doc_to_text
"{{text.split(' ')[:-1]|join(' ')}}", doc_to_target "{{' '+text.split(' ')[-1]}}", metrics perplexity and
acc), lm_eval/models/huggingface.py HFLM._loglikelihood_tokens (is_greedy: the argmax of the logits at
every continuation position equals the continuation token, `(greedy_tokens == cont_toks).all()`) and
lm_eval/api/metrics.py (perplexity aggregation: exp(-mean(loglikelihoods)); acc: mean of is_greedy).

usage: lmeval_reference.py mmlu --model DIR --dir MMLU_DIR --num-fewshot N --result ENWANDA.json
                                [--lmeval-results results_<date>.json] [--no-bos]
       lmeval_reference.py lambada-data --model DIR --data OUT.jsonl
           (writes documents, some ending in the word the model predicts greedily)
       lmeval_reference.py lambada --model DIR --data FILE --result ENWANDA.json [--lmeval-results R] [--no-bos]
Prints what it compared; exits 1 when a log-likelihood differs by more than 1e-5 or any accuracy,
group value, perplexity (relative 1e-5) or stderr differs.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from reference import Llama, encode_pair, load_model  # noqa: E402

SUBJECTS = {
    "abstract_algebra": "stem", "anatomy": "stem", "astronomy": "stem", "business_ethics": "other",
    "clinical_knowledge": "other", "college_biology": "stem", "college_chemistry": "stem",
    "college_computer_science": "stem", "college_mathematics": "stem", "college_medicine": "other",
    "college_physics": "stem", "computer_security": "stem", "conceptual_physics": "stem",
    "econometrics": "social_sciences", "electrical_engineering": "stem", "elementary_mathematics": "stem",
    "formal_logic": "humanities", "global_facts": "other", "high_school_biology": "stem",
    "high_school_chemistry": "stem", "high_school_computer_science": "stem",
    "high_school_european_history": "humanities", "high_school_geography": "social_sciences",
    "high_school_government_and_politics": "social_sciences", "high_school_macroeconomics": "social_sciences",
    "high_school_mathematics": "stem", "high_school_microeconomics": "social_sciences", "high_school_physics": "stem",
    "high_school_psychology": "social_sciences", "high_school_statistics": "stem", "high_school_us_history": "humanities",
    "high_school_world_history": "humanities", "human_aging": "other", "human_sexuality": "social_sciences",
    "international_law": "humanities", "jurisprudence": "humanities", "logical_fallacies": "humanities",
    "machine_learning": "stem", "management": "other", "marketing": "other", "medical_genetics": "other",
    "miscellaneous": "other", "moral_disputes": "humanities", "moral_scenarios": "humanities", "nutrition": "other",
    "philosophy": "humanities", "prehistory": "humanities", "professional_accounting": "other",
    "professional_law": "humanities", "professional_medicine": "other", "professional_psychology": "social_sciences",
    "public_relations": "social_sciences", "security_studies": "social_sciences", "sociology": "social_sciences",
    "us_foreign_policy": "social_sciences", "virology": "other", "world_religions": "humanities",
}
CHOICES = ["A", "B", "C", "D"]


def doc_to_text(doc):
    q = doc["question"].strip()
    return f"{q}\nA. {doc['choices'][0]}\nB. {doc['choices'][1]}\nC. {doc['choices'][2]}\nD. {doc['choices'][3]}\nAnswer:"


def fewshot_context(subject, dev, doc, n):
    description = f"The following are multiple choice questions (with answers) about {' '.join(subject.split('_'))}.\n\n"
    labeled = ""
    if n > 0:
        shots = [d for d in dev[:n] if d != doc][:n]  # FirstNSampler.sample(n), then x != doc
        labeled = "\n\n".join(doc_to_text(d) + " " + CHOICES[d["answer"]] for d in shots) + "\n\n"
    return description + labeled + doc_to_text(doc)


def mean_stderr(xs):
    if len(xs) < 2:
        return "N/A"
    mu = sum(xs) / len(xs)
    return math.sqrt(sum((x - mu) ** 2 for x in xs) / (len(xs) - 1)) / math.sqrt(len(xs))


def aggregate(members):  # [(value, stderr, size)] -> weight_by_size mean, pooled_sample_stderr, size
    sizes = [s for _, _, s in members]
    value = sum(v * s for v, _, s in members) / sum(sizes)
    if any(se == "N/A" for _, se, _ in members):
        return value, "N/A", sum(sizes)
    var = sum((s - 1) * se ** 2 * s for _, se, s in members) / (sum(sizes) - len(sizes))
    return value, math.sqrt(var / sum(sizes)), sum(sizes)


def read_jsonl(path):
    return [json.loads(line) for line in open(path, encoding="utf-8") if line.strip()]


def cmd_mmlu(args):
    import sentencepiece as spm
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.model, "tokenizer.model"))
    prefix = [] if args.no_bos else [sp.bos_id()]
    result = json.load(open(args.result))
    ok, worst = True, 0.0
    per_subject = {}
    with torch.no_grad():
        for subject in SUBJECTS:
            test_path = os.path.join(args.dir, subject, "test.jsonl")
            if not os.path.exists(test_path):
                continue
            dev = read_jsonl(os.path.join(args.dir, subject, "dev.jsonl")) if args.num_fewshot > 0 else []
            docs = read_jsonl(test_path)
            got = result["tasks"][f"mmlu_{subject}"]["examples"]
            accs = []
            for e, doc in enumerate(docs):
                ctx = fewshot_context(subject, dev, doc, args.num_fewshot)
                lls = []
                for c in CHOICES:
                    cenc, cont = encode_pair(sp, ctx, " " + c, prefix)
                    lp = model.forward(torch.tensor([(cenc + cont)[:-1]]))[0].double()
                    lls.append(sum(lp[len(cenc) - 1 + k, t].item() for k, t in enumerate(cont)))
                worst = max([worst] + [abs(a - b) for a, b in zip(lls, got[e]["logliks"])])
                accs.append(1.0 if int(np.argmax(lls)) == doc["answer"] else 0.0)
            acc = sum(accs) / len(accs)
            per_subject[subject] = (acc, mean_stderr(accs), len(accs))
            if acc != result["tasks"][f"mmlu_{subject}"]["acc"]:
                ok = False
                print(f"FAIL mmlu_{subject}: reference acc {acc}, enwanda {result['tasks'][f'mmlu_{subject}']['acc']}")
    ok = ok and worst <= 1e-5
    print(f"mmlu {args.num_fewshot}-shot: {len(per_subject)} subjects, max |loglik diff| {worst:.3e}")
    # the groups: each category over its subjects, mmlu over the categories
    categories = {}
    for subject, m in per_subject.items():
        categories.setdefault(SUBJECTS[subject], []).append(m)
    groups = {f"mmlu_{c}": aggregate(ms) for c, ms in sorted(categories.items())}
    groups["mmlu"] = aggregate(list(groups.values()))

    def same(a, b):
        return (a == "N/A" and b in ("N/A", None)) or (isinstance(a, float) and b is not None and b != "N/A"
                                                        and abs(a - b) <= 1e-12)
    for g, (value, se, size) in groups.items():
        mine = result["groups"][g]
        good = same(value, mine["acc"]) and same(se, mine["acc_stderr"]) and size == mine["n"]
        print(f"{'ok  ' if good else 'FAIL'} {g}: reference acc {value:.6f} ± {se}, n {size}; "
              f"enwanda {mine['acc']:.6f} ± {mine['acc_stderr']}, n {mine['n']}")
        ok = ok and good
    if args.lmeval_results:
        lm = json.load(open(args.lmeval_results))
        for g, (value, se, size) in groups.items():
            entry = lm["groups"][g]
            good = same(value, entry["acc,none"]) and same(se, entry["acc_stderr,none"])
            print(f"{'ok  ' if good else 'FAIL'} lm-eval layout {g}: acc,none {entry['acc,none']} acc_stderr,none {entry['acc_stderr,none']}")
            ok = ok and good
        for subject, (acc, se, n) in per_subject.items():
            entry = lm["results"][f"mmlu_{subject}"]
            good = same(acc, entry["acc,none"]) and same(se, entry["acc_stderr,none"]) and \
                lm["n-shot"][f"mmlu_{subject}"] == args.num_fewshot and entry["alias"] == "  - " + subject
            if not good:
                print(f"FAIL lm-eval layout mmlu_{subject}: {entry}")
            ok = ok and good
    return 0 if ok else 1


def lambada_split(text):
    words = text.split(" ")
    return " ".join(words[:-1]), " " + words[-1]


def load_sp(model_dir):
    import sentencepiece as spm
    return spm.SentencePieceProcessor(model_file=os.path.join(model_dir, "tokenizer.model"))


def score(model, sp, prefix, context, continuation):
    """(loglikelihood, is_greedy) of the continuation, as HFLM._loglikelihood_tokens computes them"""
    cenc, cont = encode_pair(sp, context, continuation, prefix)
    lp = model.forward(torch.tensor([(cenc + cont)[:-1]]))[0]
    rows = lp[len(cenc) - 1:len(cenc) - 1 + len(cont)]
    ll = sum(rows[k, t].double().item() for k, t in enumerate(cont))
    greedy = bool((rows.argmax(dim=-1) == torch.tensor(cont)).all())
    return ll, greedy


def cmd_lambada_data(args):
    """Documents for the test: plain texts, one of a single word (empty context), one with a double
    space (split(' ') keeps the empty word), and texts whose last word is the model's greedy next token."""
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    sp = load_sp(args.model)
    words = "the river rose over old stone bridge while a quiet bird sang of rain and light".split()
    texts = ["the river rose over the old stone bridge", "word", "a quiet  bird sang", "rain and light fell"]
    greedy = 0
    with torch.no_grad():
        for i in range(400):
            if greedy >= 3:
                break
            ctx = " ".join(words[(i * 5 + k * 3) % len(words)] for k in range(2 + i % 4))
            lp = model.forward(torch.tensor([[sp.bos_id()] + sp.encode(ctx)]))[0, -1]
            piece = sp.id_to_piece(int(lp.argmax()))
            if not piece.startswith("\u2581") or not piece[1:].isalpha():
                continue
            text = ctx + " " + piece[1:]
            if text not in texts and score(model, sp, [sp.bos_id()], *lambada_split(text))[1]:
                texts.append(text)
                greedy += 1
    with open(args.data, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    print(f"lambada data: {len(texts)} documents, {greedy} ending in the greedy word")
    return 0 if greedy > 0 else 1


def cmd_lambada(args):
    cfg, w = load_model(args.model)
    model = Llama(cfg, w)
    sp = load_sp(args.model)
    prefix = [] if args.no_bos else [sp.bos_id()]
    mine = json.load(open(args.result))["tasks"]["lambada_openai"]
    ok, worst = True, 0.0
    lls, greedy = [], []
    with torch.no_grad():
        for e, doc in enumerate(read_jsonl(args.data)):
            ll, g = score(model, sp, prefix, *lambada_split(doc["text"]))
            lls.append(ll)
            greedy.append(g)
            got = mine["examples"][e]
            worst = max(worst, abs(ll - got["logliks"][0]))
            if g != got["is_greedy"]:
                ok = False
                print(f"FAIL document {e}: reference is_greedy {g}, enwanda {got['is_greedy']}")
    acc = sum(1.0 if g else 0.0 for g in greedy) / len(greedy)
    ppl = math.exp(-sum(lls) / len(lls))
    ok = ok and worst <= 1e-5 and acc == mine["acc"] and abs(ppl - mine["perplexity"]) <= 1e-5 * ppl
    print(f"lambada_openai: {len(lls)} documents ({sum(greedy)} greedy), max |loglik diff| {worst:.3e}; reference acc {acc}, "
          f"perplexity {ppl:.6f}; enwanda acc {mine['acc']}, perplexity {mine['perplexity']:.6f}")
    if args.lmeval_results:
        entry = json.load(open(args.lmeval_results))["results"]["lambada_openai"]
        good = entry["acc,none"] == acc and abs(entry["perplexity,none"] - ppl) <= 1e-5 * ppl and \
            entry["acc_stderr,none"] == mean_stderr([1.0 if g else 0.0 for g in greedy])
        print(f"{'ok  ' if good else 'FAIL'} lm-eval layout: {entry}")
        ok = ok and good
    if args.samples:
        for e, line in enumerate(open(args.samples, encoding="utf-8")):
            s = json.loads(line)
            (ll_text, greedy_text), = s["resps"][0]  # str() of each of (loglikelihood, is_greedy)
            good = abs(float(ll_text) - lls[e]) <= 1e-5 and greedy_text == str(greedy[e]) and \
                s["filtered_resps"] == s["resps"][0] and s["acc"] == (1.0 if greedy[e] else 0.0) and \
                abs(s["perplexity"] - lls[e]) <= 1e-5 and s["target"] == lambada_split(s["doc"]["text"])[1] and \
                s["metrics"] == ["perplexity", "acc"]
            if not good:
                ok = False
                print(f"FAIL samples document {e}: {s['resps']} {s['target']!r}; reference ll {lls[e]!r}, is_greedy {greedy[e]}")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=["mmlu", "lambada-data", "lambada"])
    ap.add_argument("--model", required=True)
    ap.add_argument("--dir")
    ap.add_argument("--num-fewshot", type=int, default=0)
    ap.add_argument("--result")
    ap.add_argument("--data")
    ap.add_argument("--samples")
    ap.add_argument("--lmeval-results")
    ap.add_argument("--no-bos", action="store_true")
    args = ap.parse_args()
    sys.exit({"mmlu": cmd_mmlu, "lambada-data": cmd_lambada_data, "lambada": cmd_lambada}[args.command](args))


if __name__ == "__main__":
    main()
