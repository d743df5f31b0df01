"""An independent Wide ResNet in plain PyTorch, counted with forward hooks.

Written from the description of Zagoruyko & Komodakis's CIFAR code (not
deepreduce's): a 3x3 stem conv 3->16 with no BN or ReLU after it; three stages
of (depth-4)/6 pre-activation blocks of widths 16k, 32k, 64k, stride 2 at the
first block of stages 2 and 3; each block BN-ReLU-conv3x3-BN-ReLU-conv3x3, with
a 1x1 conv shortcut taken from the first BN-ReLU's output where the width
changes; a final BN-ReLU, global average pool and a linear layer.

Prints one JSON object: relus (ReLU outputs per image), macs (conv and linear
multiply-accumulates per image), params (trainable), relu_layers.
tests/spec/reference_counts_test.cpp holds deepreduce's analytic counts to it.

Usage: wide_resnet_reference.py DEPTH K CLASSES [INPUT_SIZE]
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


class Block(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin)
        self.relu1 = nn.ReLU()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.relu2 = nn.ReLU()
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.equal = cin == cout
        self.shortcut = None if self.equal else nn.Conv2d(cin, cout, 1, stride, 0, bias=False)

    def forward(self, x):
        a = self.relu1(self.bn1(x))
        out = self.conv2(self.relu2(self.bn2(self.conv1(a))))
        return out + (x if self.equal else self.shortcut(a))


class WideResNet(nn.Module):
    def __init__(self, depth, k, classes):
        super().__init__()
        n = (depth - 4) // 6
        widths = [16, 16 * k, 32 * k, 64 * k]
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        blocks = []
        for stage in range(3):
            for i in range(n):
                cin = widths[stage] if i == 0 else widths[stage + 1]
                blocks.append(Block(cin, widths[stage + 1], (1 if stage == 0 else 2) if i == 0 else 1))
        self.blocks = nn.Sequential(*blocks)
        self.bn = nn.BatchNorm2d(widths[3])
        self.relu = nn.ReLU()
        self.fc = nn.Linear(widths[3], classes)

    def forward(self, x):
        x = self.relu(self.bn(self.blocks(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def main():
    depth, k, classes = (int(a) for a in sys.argv[1:4])
    size = int(sys.argv[4]) if len(sys.argv) > 4 else 32
    net = WideResNet(depth, k, classes).eval()
    counts = {"relus": 0, "macs": 0, "relu_layers": 0}

    def on_relu(module, inputs, output):
        counts["relus"] += output.numel() // output.shape[0]
        counts["relu_layers"] += 1

    def on_conv(module, inputs, output):
        per_output = (module.in_channels // module.groups) * module.kernel_size[0] * module.kernel_size[1]
        counts["macs"] += (output.numel() // output.shape[0]) * per_output

    def on_linear(module, inputs, output):
        counts["macs"] += (output.numel() // output.shape[0]) * module.in_features

    for m in net.modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(on_relu)
        elif isinstance(m, nn.Conv2d):
            m.register_forward_hook(on_conv)
        elif isinstance(m, nn.Linear):
            m.register_forward_hook(on_linear)
    with torch.no_grad():
        net(torch.zeros(2, 3, size, size))  # a batch of 2: per-image counts cannot be confused with totals
    counts["params"] = sum(p.numel() for p in net.parameters())
    print(json.dumps(counts))


if __name__ == "__main__":
    main()
