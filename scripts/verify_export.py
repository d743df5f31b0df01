#!/usr/bin/python3
"""Checks exported networks in another runtime: runs every exported ONNX network of a folder in OpenCV's dnn module on the
test images deepreduce measured it on (export-model --test-set) and compares
the accuracy with the top-1 stored for its trial (the sidecar's "top1"); checks
each graph with onnx.checker and counts the ReLU elements it evaluates
(shape inference) against the stored count.

Usage: /usr/bin/python3 scripts/verify_export.py DIR     (after export-model --db STORE --front --test-set --out DIR)
Prints one line per network and exits 1 if any accuracy differs.
"""
import json
import os
import sys

import cv2
import numpy as np
import onnx


def main():
    folder = sys.argv[1]
    bad = 0
    names = sorted(f for f in os.listdir(folder) if f.endswith(".onnx"))
    if not names:
        print(f"no .onnx files in {folder}")
        return 1
    for name in names:
        path = os.path.join(folder, name)
        side = json.load(open(path + ".json"))
        shape = side["input"]["shape"]
        images = np.fromfile(path + ".test.f32", dtype=np.float32).reshape([-1] + shape[1:])
        labels = np.fromfile(path + ".test.i64", dtype=np.int64)
        # ONNX's own checker, and the ReLU elements the graph evaluates (shape inference).
        model = onnx.load(path)
        onnx.checker.check_model(model, full_check=True)
        inferred = onnx.shape_inference.infer_shapes(model, strict_mode=True)
        dims = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim]
                for v in list(inferred.graph.value_info) + list(inferred.graph.output)}
        relus = sum(int(np.prod(dims[n.output[0]][1:])) for n in inferred.graph.node if n.op_type == "Relu")
        net = cv2.dnn.readNetFromONNX(path)
        batch = shape[0]
        correct = 0
        for start in range(0, len(images) - len(images) % batch, batch):
            net.setInput(images[start:start + batch])
            logits = net.forward()
            correct += int((logits.argmax(axis=1) == labels[start:start + batch]).sum())
        counted = len(images) - len(images) % batch
        top1 = 100.0 * correct / counted
        same = abs(top1 - side["top1"]) < 1e-6 and counted == len(images) and relus == side["relus"]
        bad += not same
        print(f"{name}: checker ok; OpenCV top-1 {top1:.2f} on {counted} images, stored {side['top1']:.2f}; "
              f"ReLUs in the graph {relus}, stored {side['relus']}: {'same' if same else 'DIFFERENT'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
