"""The deepreduce architectures written in plain PyTorch, for cross-checks in bench/ only.

Same layer order, widths, strides and shortcuts as spec/model_spec.cpp + nn/model.cpp; the
benchmark prints both parameter counts so a mismatch shows.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F

STAGES = {
    "resnet18": (64, [(64, 2, 1), (128, 2, 2), (256, 2, 2), (512, 2, 2)]),
    "resnet34": (64, [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]),
}


def scale(w, alpha):
    return max(1, int(w * alpha + 1e-9))


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride, relu=True):
        super().__init__()
        # Modules, not calls, so that a cross-check can swap a ReLU for a masked one.
        self.act1 = nn.ReLU() if relu else nn.Identity()
        self.act2 = nn.ReLU() if relu else nn.Identity()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.proj = None
        if stride != 1 or cin != cout:
            self.proj = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = self.act1(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.act2(out + (self.proj(x) if self.proj is not None else x))


class ResNet(nn.Module):
    # culled: stage names ("stem", "s1".."s4") whose ReLUs are removed, as deepreduce's cull.
    def __init__(self, arch="resnet18", alpha=1.0, classes=10, in_channels=3, culled=(), blocks=None):
        super().__init__()
        stem, stages = STAGES[arch]
        if blocks:  # blocks per stage, as deepreduce's --blocks
            stages = [(w, b, s) for (w, _, s), b in zip(stages, blocks)]
        c = scale(stem, alpha)
        self.stem = nn.Sequential(nn.Conv2d(in_channels, c, 3, 1, 1, bias=False), nn.BatchNorm2d(c),
                                  nn.Identity() if "stem" in culled else nn.ReLU())
        blocks = []
        for k, (width, n, stride) in enumerate(stages):
            w = scale(width, alpha)
            for j in range(n):
                blocks.append(BasicBlock(c, w, stride if j == 0 else 1, relu=f"s{k + 1}" not in culled))
                c = w
        self.blocks = nn.Sequential(*blocks)
        self.fc = nn.Linear(c, classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
