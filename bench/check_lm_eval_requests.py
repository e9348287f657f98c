#!/usr/bin/env python3
"""Independent check of `lmlab eval --write-requests` against lm-eval 0.4.x's request text.

Rebuilds every (context, continuation) request of the nine zero-shot tasks from the raw task
files with lm-eval's templates, written here in Python from lm_eval/tasks/*/ (hellaswag utils.py,
piqa, winogrande preprocess_winogrande.py, arc, openbookqa, super_glue copa utils.py and boolq
default.yaml, lambada_openai), plus the documented repairs of the llm-foundry / llama.cpp
conversions (docs/eval.md), then compares them with lmlab's, request by request.

    lmlab eval --checkpoint CK --tasks hellaswag,...,lambada --write-requests req.jsonl
    python3 bench/check_lm_eval_requests.py --eval-dir ../shared/data/eval --requests req.jsonl

Standard library only. Exit status 1 when any request differs.
"""
import argparse, collections, gzip, json, re, sys


def hellaswag_preprocess(text):  # lm_eval/tasks/hellaswag/utils.py
    text = text.strip()
    text = text.replace(" [title]", ". ")
    text = re.sub("\\[.*?\\]", "", text)
    return text.replace("  ", " ")


def hellaswag(d):
    lines = gzip.open(f"{d}/hellaswag/hellaswag_val_full.txt.gz", "rt", encoding="utf-8").read().split("\n")
    while lines and lines[-1] == "":
        lines.pop()
    for i in range(0, len(lines), 6):
        label, ctx = lines[i].split(": ", 1)
        # ctx = ctx_a + " " + ctx_b: ctx_b is the lower-case, unfinished fragment after the last
        # sentence end (the file lost the boundary; docs/eval.md)
        m = re.match(r"^(.*[.!?]) ([a-z][^\n]*)$", ctx)
        if m and not m.group(2).endswith((".", "!", "?")) and not re.search(r"[.!?] ", m.group(2)):
            ctx = m.group(1) + " " + m.group(2).capitalize()
        query = hellaswag_preprocess(label + ": " + ctx)
        yield [(query, " " + hellaswag_preprocess(e)) for e in lines[i + 2:i + 6]]


def piqa(d):
    for line in open(f"{d}/piqa/valid.jsonl", encoding="utf-8"):
        doc = json.loads(line)
        ctx = f"Question: {doc['goal']}\nAnswer:"
        yield [(ctx, " " + doc["sol1"]), (ctx, " " + doc["sol2"])]


def winogrande(d):
    for line in open(f"{d}/winogrande/dev.jsonl", encoding="utf-8"):
        doc = json.loads(line)
        idx = doc["sentence"].index("_")
        target = " " + doc["sentence"][idx + 1:].strip()
        yield [(doc["sentence"][:idx] + doc[o], target) for o in ("option1", "option2")]


def mosaic(path):
    for line in open(path, encoding="utf-8"):
        if line.strip():
            yield json.loads(line)


def arc(d, which):
    for doc in mosaic(f"{d}/arc/arc_{which}_test.mosaic.jsonl"):  # query = "Question: {question}"
        yield [(doc["query"] + "\nAnswer:", " " + c) for c in doc["choices"]]


def openbookqa(d):
    for doc in mosaic(f"{d}/openbookqa/openbookqa_test.mosaic.jsonl"):
        yield [(doc["query"], " " + c) for c in doc["choices"]]


def copa(d):
    for doc in mosaic(f"{d}/copa/copa.mosaic.jsonl"):
        premise_minus_period, connector = doc["query"].rsplit(", ", 1)
        ctx = premise_minus_period + f" {connector}"
        yield [(ctx, " " + " " + c[0].lower() + c[1:]) for c in doc["choices"]]


def boolq(d):
    for doc in mosaic(f"{d}/boolq/boolq_dev.mosaic.jsonl"):
        body = doc["query"][len("Passage: "):]
        passage, question = body.rsplit("\nQuestion: ", 1)
        passage, question = passage.replace("\nQuestion", " question"), question.replace("\nQuestion", " question")
        ctx = f"{passage}\nQuestion: {question[:-1]}?\nAnswer:"
        yield [(ctx, " no"), (ctx, " yes")]


def lambada(d):
    for doc in mosaic(f"{d}/lambada/lambada_openai_test.mosaic.jsonl"):
        text = doc["context"] + " " + doc["continuation"]
        words = text.split(" ")
        yield [(" ".join(words[:-1]), " " + words[-1])]


TASKS = {"hellaswag": hellaswag, "piqa": piqa, "winogrande": winogrande,
         "arc_easy": lambda d: arc(d, "easy"), "arc_challenge": lambda d: arc(d, "challenge"),
         "openbookqa": openbookqa, "copa": copa, "boolq": boolq, "lambada": lambada}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--eval-dir", required=True)
    ap.add_argument("--requests", required=True, help="lmlab eval --write-requests output")
    a = ap.parse_args()
    ours = collections.defaultdict(dict)
    for line in open(a.requests, encoding="utf-8"):
        r = json.loads(line)
        ours[r["task"]][(r["item"], r["choice"])] = (r["context"], r["continuation"])
    bad = 0
    for task, got in ours.items():
        same = differ = 0
        for item, choices in enumerate(TASKS[task](a.eval_dir)):
            for choice, want in enumerate(choices):
                if (item, choice) not in got:
                    continue
                if got[(item, choice)] == want:
                    same += 1
                else:
                    differ += 1
                    if differ <= 3:
                        print(f"{task} item {item} choice {choice}:\n  lmlab   {got[(item, choice)]!r}\n  lm-eval {want!r}")
        missing = len(got) - same - differ
        print(f"{task:14s} {same:6d} identical, {differ:4d} different, {missing} not rebuilt")
        bad += differ + missing
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
